// A backup's database carries a stamp (round 2, item 4): a KeyLadder restore
// takes it out and names the backup in its store.restore record, so the
// restored store verifies; the same database copied into place by hand keeps
// the stamp, no record names it, and `verify` fails, saying so.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PASSPHRASE, openTestServices, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

/** The database inside a backup file (db/store.ts, writeBackup): magic, key file length, key file, database, SHA-256. */
function databaseOf(backup: string): Buffer {
  const bytes = readFileSync(backup);
  const magic = 'KEYLADDER-BACKUP-1\n'.length;
  const keyLength = bytes.readUInt32BE(magic);
  return bytes.subarray(magic + 8 + keyLength, bytes.length - 32);
}

async function storeWithBackup(): Promise<{ backup: string; backupId: string }> {
  t = await openTestServices();
  const s = t.services;
  s.devices.provision({ identity: 'ESN-REVOKED-AFTER', keys: { kind: 'generate' } });
  const backup = join(tempDir('keyladder-backup-stamp-'), 'b.klbackup');
  await s.store.backup(backup);
  const [record] = s.audit.list({ action: 'store.backup', limit: 5 });
  s.devices.revoke('ESN-REVOKED-AFTER');
  return { backup, backupId: String(record!.details['backupId']) };
}

describe('backup stamps', () => {
  it('a KeyLadder restore names the backup in its record and takes the stamp out: the restored store verifies', async () => {
    const { backup, backupId } = await storeWithBackup();
    expect(backupId).toMatch(/^[0-9a-f]{32}$/);
    const s = t!.services;
    await s.store.restore(backup, PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    const restores = s.audit.list({ action: 'store.restore', limit: 5 });
    expect(restores).toHaveLength(1);
    expect(restores[0]!.details['backupId']).toBe(backupId);
    expect(s.store.verify()).toMatchObject({ ok: true });
  });

  it("a backup's database copied into place by hand does not verify, and says why", async () => {
    const { backup } = await storeWithBackup();
    const s = t!.services;
    expect(s.store.verify()).toMatchObject({ ok: true });
    s.store.lock();
    // The rollback by hand: the backup's database in place of the store's (the key is the same).
    for (const f of ['keyladder.db-wal', 'keyladder.db-shm']) rmSync(join(t!.dir, f), { force: true });
    writeFileSync(join(t!.dir, 'keyladder.db'), databaseOf(backup));
    await s.store.unlock(PASSPHRASE);
    // The revocation made after the backup is gone; verify says the file was put in place by hand.
    const result = s.store.verify();
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/backup's copy .* put in place outside KeyLadder: no store\.restore record names that backup/);
  });
});
