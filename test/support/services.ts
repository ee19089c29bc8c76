// A real store in a temporary folder, with a cheap KDF (tests only) and a
// clock the test can move.
import { rmSync } from 'node:fs';
import { tempDir } from './tempDirs.js';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';

process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
export const TEST_KDF_LOG_N = 10;
export const PASSPHRASE = 'correct horse battery staple';

export interface TestServices {
  readonly services: KeyLadderRuntime;
  readonly dir: string;
  readonly clock: { now: Date; advanceDays(days: number): void };
  cleanup(): void;
}

export { tempDir } from './tempDirs.js';

export async function openTestServices(options: { create?: boolean; batch?: boolean; dir?: string } = {}): Promise<TestServices> {
  const dir = options.dir ?? tempDir();
  const clock = {
    now: new Date('2026-11-23T12:00:00.000Z'),
    advanceDays(days: number) {
      this.now = new Date(this.now.getTime() + days * 86_400_000);
    },
  };
  const services = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: options.batch ?? false, now: () => clock.now });
  if (options.create ?? true) await services.store.create(PASSPHRASE);
  return {
    services,
    dir,
    clock,
    cleanup() {
      services.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
