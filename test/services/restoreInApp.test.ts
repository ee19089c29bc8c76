// The app's restore (issue 19 item 1, round 2): its own store is locked only
// once the restore holds the store alone. A restore refused with STORE_IN_USE
// (`serve` has the store open) leaves the app as it was: unlocked, answering.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreHold } from '../../db/storeHold.js';
import { deriveVector } from '../support/vectors.js';
import { PASSPHRASE, openTestServices, type TestServices } from '../support/services.js';
import { tempDir } from '../support/tempDirs.js';

const v = deriveVector();
let opened: TestServices | undefined;
afterEach(() => {
  opened?.cleanup();
  opened = undefined;
});

describe('app restore under another process', () => {
  it('refused with STORE_IN_USE while another holder has the store open: the app stays unlocked and its store usable; once alone, the restore goes through', async () => {
    opened = await openTestServices();
    const s = opened.services;
    const backup = join(tempDir('keyladder-backup-'), 'store.klbackup');
    await s.store.backup(backup);
    s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    // What `serve` (a worker, or its supervisor) holds for as long as it runs.
    const serve = StoreHold.shared(opened.dir);
    try {
      await expect(s.store.restore(backup, PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE' });
      expect(s.store.status().unlocked).toBe(true);
      // Still the same store, reading and writing.
      expect(s.devices.list().items.map((d) => d.identity)).toEqual([v.identity]);
      s.devices.revoke(v.identity);
    } finally {
      serve.release();
    }
    await s.store.restore(backup, PASSPHRASE);
    expect(s.store.status().unlocked).toBe(false);
    await s.store.unlock(PASSPHRASE);
    // The backup's store: the device added after it is gone, and the log says it was restored.
    expect(s.devices.list().total).toBe(0);
    expect(s.store.verify().ok).toBe(true);
  });

  it('a wrong passphrase for the backup leaves the app unlocked too', async () => {
    opened = await openTestServices();
    const s = opened.services;
    const backup = join(tempDir('keyladder-backup-'), 'store.klbackup');
    await s.store.backup(backup);
    await expect(s.store.restore(backup, 'not the passphrase at all')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(s.store.status().unlocked).toBe(true);
  });
});
