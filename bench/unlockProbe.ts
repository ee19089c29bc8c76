// The main thread's longest block while a store unlocks, printed as JSON for
// the unlock suite (bench/suites/unlock.ts), which runs this once under plain
// Node and once under the model of Electron's crypto (node --import
// test/support/electronCryptoModel.mjs), where Node's scrypt parameter check
// is a whole derivation on the calling thread.
//
//   before: the KDF as unlock ran it until now (crypto.scrypt from the calling
//           thread; deriveKekInThread is that code, kept as the fallback)
//   after:  KeyStore.unlock as it is (the KDF on a worker thread), whole

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOG_N, deriveKekInThread } from '../db/kdf.js';
import { KEY_FILE } from '../db/files.js';
import { readKeyFile } from '../db/keyfile.js';
import { KeyStore } from '../db/store.js';
import { longestBlock } from './eventLoop.js';

const PASSPHRASE = 'bench passphrase, not secret';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-bench-unlock-'));
  try {
    (await KeyStore.create(join(dir, 'store'), PASSPHRASE, () => {}, { kdfLogN: DEFAULT_LOG_N })).lock();
    const kdf = readKeyFile(join(dir, 'store', KEY_FILE)).kdf;
    const rounds = 3;
    const before: number[] = [], after: number[] = [], afterTotal: number[] = [];
    for (let i = 0; i < rounds; i++) {
      before.push((await longestBlock(async () => (await deriveKekInThread(PASSPHRASE, kdf)).fill(0))).blockMs);
      const a = await longestBlock(async () => (await KeyStore.unlock(join(dir, 'store'), PASSPHRASE)).lock());
      after.push(a.blockMs);
      afterTotal.push(a.totalMs);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    process.stdout.write(`${JSON.stringify({ logN: kdf.logN, beforeMs: median(before), afterMs: median(after), unlockMs: median(afterTotal) })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
