// Helpers of the MSL server tests: MSL's own sample server config, and a second
// runtime on a test's store (another process's view of it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { ROOT } from './cli.js';
import { PASSPHRASE, TEST_KDF_LOG_N, type TestServices } from './services.js';

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
