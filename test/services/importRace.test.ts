// Two imports of the same file racing (issue 22, item 6): the one that writes
// second is refused with the clean DEVICE_EXISTS report, row by row, and
// nothing of it is written; never SQLite's raw SQLITE_CONSTRAINT_UNIQUE.
import { afterEach, describe, expect, it } from 'vitest';
import { createServices } from '../../electron/services/index.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => t?.cleanup());

const csv = ['identity,kpw', 'RACE-0001,00112233445566778899aabbccddeeff', 'RACE-0002,102132435465768798a9babbdcddeeff', 'RACE-0003,2032435465768798a9babbdcddeeff10'].join('\n');

describe('an import racing another', () => {
  it('an identity committed by another process between the checks and the write: DEVICE_EXISTS report, nothing imported', async () => {
    t = await openTestServices();
    // The other process: a second connection to the same store.
    const other = createServices({ storeDir: t.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    await other.store.unlock(PASSPHRASE);
    try {
      let raced = false;
      // The last 'checking' progress comes after every row was checked, just before the write: the
      // other process's import of the same file commits there.
      const report = await t.services.devices.import(csv, 'csv', (p) => {
        if (p.phase === 'checking' && p.done === p.total && !raced) {
          raced = true;
          other.devices.provision({ identity: 'RACE-0002', keys: { kind: 'generate' } });
        }
      });
      expect(raced).toBe(true);
      expect(report.imported).toBe(0);
      expect(report.failed).toEqual([{ row: 3, identity: 'RACE-0002', code: 'DEVICE_EXISTS', message: 'Device "RACE-0002" is already provisioned.' }]);
      // All or nothing: RACE-0001 and RACE-0003 were not written either.
      expect(t.services.devices.list().items.map((d) => d.identity)).toEqual(['RACE-0002']);
      const imports = t.services.audit.list({ action: 'device.import' });
      expect(imports.map((e) => e.outcome)).toEqual(['refused']);
    } finally {
      other.close();
    }
  });
});
