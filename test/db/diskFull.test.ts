// A full disk is no damaged store (issue 19, item 17): every door used to say
// STORE_CORRUPT "Restore it from a backup", steering the operator toward a
// rollback. It is DISK_FULL, saying that nothing was lost; and the store, once
// space returns, is whole.
import { describe, expect, it, afterEach } from 'vitest';
import { StoreErrorCode, fromSqliteError } from '../../db/errors.js';
import { describeError } from '../../electron/services/errors.js';
import { fillDisk, freeDisk } from '../support/fullDisk.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

describe('a full disk', () => {
  it('maps SQLite\'s SQLITE_FULL and the file system\'s ENOSPC and EDQUOT to DISK_FULL, never to STORE_CORRUPT', () => {
    for (const code of ['SQLITE_FULL', 'ENOSPC', 'EDQUOT']) {
      const e = fromSqliteError(Object.assign(new Error('x'), { code }), 'The database file');
      expect(e.code, code).toBe(StoreErrorCode.DISK_FULL);
      expect(e.message, code).toMatch(/disk is full/);
      expect(e.message, code).toMatch(/Nothing was lost/);
      expect(e.message, code).not.toMatch(/backup/i);
    }
    // Damage is still damage.
    expect(fromSqliteError(Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT' }), 'The database file').code).toBe(StoreErrorCode.STORE_CORRUPT);
  });

  it('every door reports a raw full-disk error from a plain file write (a key file, a staged restore) as DISK_FULL', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) {
      const described = describeError(Object.assign(new Error(`${code}: no space left on device, write`), { code }));
      expect(described.code, code).toBe('DISK_FULL');
      expect(described.message, code).toMatch(/disk is full/);
    }
    // Other errors keep their codes.
    expect(describeError(Object.assign(new Error('x'), { code: 'EACCES' })).code).toBe('EACCES');
  });

  it('a store change that needs a page the disk does not have is refused with DISK_FULL, changes nothing, and works once space returns', async () => {
    t = await openTestServices();
    const s = t.services;
    for (let i = 0; i < 5; i++) s.devices.provision({ identity: `ESN-DISK-${i}`, keys: { kind: 'generate' } });
    const before = s.devices.list({ limit: 1000 }).items.length;
    fillDisk(s);
    let refused: unknown;
    let added = 0;
    try {
      for (; added < 2000; added++) s.devices.provision({ identity: `ESN-MORE-${added}`, keys: { kind: 'generate' } });
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(/disk is full.*Nothing was lost/) });
    expect((refused as Error).message).not.toMatch(/backup/i);
    freeDisk(s);
    // The refused one is not there; every one before it is.
    expect(() => s.devices.get(`ESN-MORE-${added}`)).toThrow(expect.objectContaining({ code: 'DEVICE_NOT_FOUND' }));
    expect(s.devices.list({ limit: 1000 }).items.length).toBe(before + added);
    expect(s.store.verify()).toMatchObject({ ok: true });
    s.devices.provision({ identity: 'ESN-AFTER-SPACE', keys: { kind: 'generate' } });
    expect(s.devices.get('ESN-AFTER-SPACE').status).toBe('active');
  });
});
