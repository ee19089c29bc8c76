// Helpers of the MSL server tests: MSL's own sample server config, a second
// runtime on a test's store (another process's view of it), and raw writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { ROOT } from './cli.js';
import { PASSPHRASE, TEST_KDF_LOG_N, type TestServices } from './services.js';
import { DB, openRaw, storeKeyOf } from './storeFiles.js';

/** The settings of MSL's sample server config (test/vectors/msl-messages/mslsrv.cfg), by name. */
export function mslServerConfig(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'test', 'vectors', 'msl-messages', 'mslsrv.cfg'), 'utf8');
  return Object.fromEntries(text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => {
    const [name, ...value] = l.trim().split(/\s+/);
    return [name!, value.join(' ')];
  }));
}

/** A second runtime unlocked on `test`'s store, on the test's clock. The caller closes it. */
export async function secondRuntime(test: TestServices): Promise<KeyLadderRuntime> {
  const runtime = createServices({ storeDir: test.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, now: () => test.clock.now });
  await runtime.store.unlock(PASSPHRASE);
  return runtime;
}

/**
 * Runs one statement on `test`'s database as no sequence of calls would soon leave it (a
 * sequence number at 2^53, a store from before schema 8): through the recovery path, the store
 * locked meanwhile and unlocked again after.
 */
export async function rawWrite(test: TestServices, sql: string, ...params: unknown[]): Promise<void> {
  test.services.store.lock();
  const key = await storeKeyOf(test.dir, PASSPHRASE);
  const db = openRaw(join(test.dir, DB), key, { readonly: false });
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
    key.fill(0);
  }
  await test.services.store.unlock(PASSPHRASE);
}
