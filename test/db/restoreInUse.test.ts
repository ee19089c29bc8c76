// Restore under a store that is open (issue 19, item 1). A restore is refused
// with STORE_IN_USE, changing nothing, while any other holder has the store
// open; the test (db/storeHold.ts) is the one rekey uses. And a store whose
// database file is replaced under it by other means stops answering
// (STORE_REPLACED) instead of serving the old, deleted file.
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyStore } from '../../db/store.js';
import { StoreHold } from '../../db/storeHold.js';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { PASSPHRASE, TEST_KDF_LOG_N, openTestServices, tempDir, type TestServices } from '../support/services.js';
import { hashFiles } from '../support/storeFiles.js';

let t: TestServices | undefined;
const others: KeyLadderRuntime[] = [];
afterEach(() => {
  for (const o of others.splice(0)) o.close();
  t?.cleanup();
  t = undefined;
});

const until = async (test: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (!test() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
  return test();
};

/** A store with a backup of it taken before a device is revoked. */
async function storeWithBackup(): Promise<{ s: KeyLadderRuntime; dir: string; backup: string }> {
  t = await openTestServices();
  const s = t.services;
  s.devices.provision({ identity: 'ESN-REVOKED-AFTER', keys: { kind: 'generate' } });
  const backup = join(tempDir('keyladder-restore-in-use-'), 'b.klbackup');
  await s.store.backup(backup);
  s.devices.revoke('ESN-REVOKED-AFTER');
  return { s, dir: t.dir, backup };
}

describe('restore while the store is open', () => {
  it('is refused with STORE_IN_USE while another holder has the store open, changing nothing; it goes through once that holder is gone', async () => {
    const { s, dir, backup } = await storeWithBackup();
    // `s` holds the store open, as `serve` or the app would; the restore comes from another opener.
    const before = hashFiles(dir);
    await expect(KeyStore.restore(dir, backup, PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE', message: expect.stringMatching(/Nothing was changed/) });
    expect(hashFiles(dir)).toEqual(before);
    expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
    // The holder goes on answering from the one file there is, with the revocation in it.
    expect(s.devices.get('ESN-REVOKED-AFTER').status).toBe('revoked');
    s.store.lock();
    await KeyStore.restore(dir, backup, PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    expect(s.devices.get('ESN-REVOKED-AFTER').status).toBe('active');
    expect(s.audit.list({ action: 'store.restore', limit: 5 })).toHaveLength(1);
    expect(s.store.verify()).toMatchObject({ ok: true });
  });

  it('the app\'s own restore (StoreService) locks its own store first, then is refused while another holder has it', async () => {
    const { s, dir, backup } = await storeWithBackup();
    const other = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    others.push(other);
    await other.store.unlock(PASSPHRASE);
    await expect(s.store.restore(backup, PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE' });
    expect(other.devices.get('ESN-REVOKED-AFTER').status).toBe('revoked');
    other.store.lock();
    await s.store.restore(backup, PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    expect(s.devices.get('ESN-REVOKED-AFTER').status).toBe('active');
  });

  it('rekey and restore share the test: each is refused while the other kind of holder is open', async () => {
    const { s, dir } = await storeWithBackup();
    // An exclusive holder (a restore under way) keeps rekey out; a shared one (an open store) keeps restore out.
    expect(() => StoreHold.exclusive(dir, 'restore')).toThrow(expect.objectContaining({ code: 'STORE_IN_USE' }));
    s.store.lock();
    const alone = StoreHold.exclusive(dir, 'restore');
    alone.release();
    await s.store.unlock(PASSPHRASE);
    const other = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    others.push(other);
    await other.store.unlock(PASSPHRASE);
    await expect(s.store.rekey(PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE' });
    // The refused rekey took its own hold back: a restore is still refused.
    other.store.lock();
    expect(() => StoreHold.exclusive(dir, 'restore')).toThrow(expect.objectContaining({ code: 'STORE_IN_USE' }));
  });
});

describe('a database file replaced under an open store', () => {
  it('is noticed within about a second: the store locks itself, says STORE_REPLACED, calls onStoreReplaced, and leaves the new file whole', async () => {
    const { dir, backup } = await storeWithBackup();
    t!.services.store.lock();
    // A second copy of the store, to be put in place by hand (what an older KeyLadder or a `cp` does).
    const copyDir = tempDir('keyladder-replaced-');
    await KeyStore.restore(copyDir, backup, PASSPHRASE);
    let replaced = 0;
    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, onStoreReplaced: () => { replaced += 1; } });
    others.push(s);
    await s.store.unlock(PASSPHRASE);
    expect(s.devices.get('ESN-REVOKED-AFTER').status).toBe('revoked');
    // As KeyLadder's restore did before issue 19: the -wal and -shm removed, the new file renamed in.
    copyFileSync(join(copyDir, 'keyladder.db'), join(dir, 'keyladder.db.new'));
    for (const f of ['keyladder.db-wal', 'keyladder.db-shm']) rmSync(join(dir, f), { force: true });
    renameSync(join(dir, 'keyladder.db.new'), join(dir, 'keyladder.db'));
    // Another process opens the new file and writes to it (its -wal) before the first one notices.
    const newcomer = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    others.push(newcomer);
    await newcomer.store.unlock(PASSPHRASE);
    newcomer.devices.provision({ identity: 'ESN-IN-THE-NEW-FILE', keys: { kind: 'generate' } });
    expect(await until(() => replaced > 0, 2500)).toBe(true);
    expect(replaced).toBe(1);
    expect(s.store.status().unlocked).toBe(false);
    expect(() => s.devices.get('ESN-REVOKED-AFTER')).toThrow(expect.objectContaining({ code: 'STORE_REPLACED' }));
    const psk = JSON.stringify({ identity: 'ESN-REVOKED-AFTER', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    expect(s.exchanges.respond(psk)).toMatchObject({ ok: false, code: 'STORE_REPLACED' });
    // Unlocking again opens the file now in place, which is whole.
    await s.store.unlock(PASSPHRASE);
    expect(s.devices.get('ESN-REVOKED-AFTER').status).toBe('active');
    // The old connection's close neither checkpointed into nor deleted the new file's -wal.
    expect(s.devices.get('ESN-IN-THE-NEW-FILE').status).toBe('active');
    expect(s.store.verify()).toMatchObject({ ok: true });
  });
});
