// What the MSL responder asks of the store per message (issue 20): the cached
// signer and master-token keys (a query that checks the generations, and
// copies of the keys), and the token bookkeeping, each check-and-record one
// fsynced transaction (synchronous=FULL): a non-replayable id accepted, a
// renewal, a new serial. And what `init` now adds: an RSA 2048 key pair.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { generateMslKeyPair } from '../../electron/services/mslRsaKeyInput.js';
import { registerSuite, type BenchCase } from '../harness.js';

const PASSPHRASE = 'bench passphrase, not secret';

let services: KeyLadderRuntime | undefined;
let dir: string | undefined;
process.on('exit', () => {
  services?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

registerSuite({
  name: 'msl-store',
  description: 'the MSL responder\'s store calls per message: cached signer and master-token keys, non-replayable ids, renewals, serials; and the RSA key pair init makes',
  async cases(): Promise<BenchCase[]> {
    // A cheap KDF: the unlock is not what is measured.
    process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
    dir = mkdtempSync(join(tmpdir(), 'keyladder-bench-msl-'));
    const s = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: false });
    services = s;
    await s.store.create(PASSPHRASE);
    const tokens = s.msl.tokens;
    const serial = tokens.allocateSerial('BENCH-CLIENT');
    let id = 0;
    let sequence = 0;
    const renewing = tokens.allocateSerial('BENCH-RENEW');
    return [
      { name: 'msl.store.server-signer', op: 'call', run: () => { s.msl.keys.serverSigner(); } },
      {
        name: 'msl.store.token-keys', op: 'call',
        run: () => { for (const k of s.msl.keys.tokenKeys()) { k.encryptionKey.fill(0); k.hmacKey.fill(0); } },
      },
      {
        name: 'msl.store.accept-nonreplayable-id', op: 'id',
        run: () => { if (tokens.acceptNonReplayableId(serial, 'BENCH-CLIENT', ++id) !== 'accepted') throw new Error('refused'); },
      },
      {
        name: 'msl.store.renewal', op: 'renewal',
        run: () => {
          const r = tokens.recordRenewal(renewing, 'BENCH-RENEW', sequence);
          if (!r.ok) throw new Error('refused');
          sequence = r.sequence;
        },
      },
      { name: 'msl.store.allocate-serial', op: 'serial', run: () => { tokens.allocateSerial('BENCH-CLIENT'); } },
      { name: 'msl.store.rsa2048-keypair', op: 'key pair', async: true, run: async () => { (await generateMslKeyPair()).pkcs8.fill(0); } },
    ];
  },
});
