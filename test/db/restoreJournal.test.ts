// A restore killed at any point (issue 19, item 3). Before READY the old store
// stays; from READY on the restore rolls forward at the next unlock, and that
// unlock writes the `store.restore` record, once. A restored store whose log
// lacks the record (the journal lost, or the file put in place by hand) does
// not pass `audit verify` or `store verify`. Each kill point is recreated the
// way KeyStore.restore leaves it, as the rekey crash test does.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openForWriting } from '../../db/connection.js';
import { parseKeyFile, unwrapStoreKey } from '../../db/keyfile.js';
import { stampRestore, takeBackupStamp } from '../../db/repositories/audit.js';
import { markReady, type RestoreMarker } from '../../db/restoreJournal.js';
import { KeyStore } from '../../db/store.js';
import { createServices } from '../../electron/services/index.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';

const DB = 'keyladder.db';
const KEYFILE = 'keyladder.key.json';
const dirs: string[] = [];
const scratch = (): string => {
  const d = tempDir('keyladder-restore-journal-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let base: string;
let backupFile: string;
beforeAll(async () => {
  // A store, its backup, then a revocation made after the backup: what a restore undoes.
  base = scratch();
  const s = createServices({ storeDir: base, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
  await s.store.create(PASSPHRASE);
  s.devices.provision({ identity: 'ESN-REVOKED-AFTER-BACKUP', keys: { kind: 'generate' } });
  backupFile = join(scratch(), 'b.klbackup');
  await s.store.backup(backupFile);
  s.devices.revoke('ESN-REVOKED-AFTER-BACKUP');
  s.close();
});

function copyBase(): string {
  const dir = scratch();
  cpSync(base, dir, { recursive: true });
  return dir;
}

function backupParts(): { keyText: string; dbBytes: Buffer } {
  const bytes = readFileSync(backupFile);
  const magic = 'KEYLADDER-BACKUP-1\n'.length;
  const keyLength = bytes.readUInt32BE(magic);
  return { keyText: bytes.subarray(magic + 8, magic + 8 + keyLength).toString('utf8'), dbBytes: Buffer.from(bytes.subarray(magic + 8 + keyLength, bytes.length - 32)) };
}

/** The steps of KeyStore.restore, in order; a kill after step `n` leaves the first n done. */
const STEPS = ['journal folder made', 'database staged', 'staged database stamped', 'key file staged', 'READY written', 'database swapped in', 'key file swapped in'] as const;

async function restoreUpTo(dir: string, n: number): Promise<RestoreMarker & { kind: 'restore' }> {
  const { keyText, dbBytes } = backupParts();
  const pending = join(dir, 'restore-pending');
  const marker: RestoreMarker & { kind: 'restore' } = { kind: 'restore' as const, restoreId: `test-${n}-${Date.now()}`, restoredAt: new Date().toISOString(), bytes: dbBytes.length };
  const steps: Array<() => Promise<void> | void> = [
    () => mkdirSync(pending, { mode: 0o700 }),
    () => writeFileSync(join(pending, DB), dbBytes),
    async () => {
      const key = await unwrapStoreKey(parseKeyFile(keyText), PASSPHRASE);
      const db = openForWriting(join(pending, DB), key, false);
      // As KeyStore.restore does: the backup's stamp out, its id into the restore's stamp and record.
      const backupId = takeBackupStamp(db)?.backupId;
      if (backupId !== undefined) Object.assign(marker, { backupId });
      stampRestore(db, { restoreId: marker.restoreId, restoredAt: marker.restoredAt, bytes: marker.bytes, ...(backupId !== undefined ? { backupId } : {}) });
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      key.fill(0);
    },
    () => writeFileSync(join(pending, KEYFILE), keyText),
    () => markReady(dir, marker),
    () => {
      for (const f of [`${DB}-wal`, `${DB}-shm`]) rmSync(join(dir, f), { force: true });
      renameSync(join(pending, DB), join(dir, DB));
    },
    () => renameSync(join(pending, KEYFILE), join(dir, KEYFILE)),
  ];
  for (const step of steps.slice(0, n)) await step();
  return marker;
}

async function opened(dir: string): Promise<KeyStore> {
  return KeyStore.unlock(dir, PASSPHRASE);
}

describe('a restore killed at any point', () => {
  for (let n = 0; n <= STEPS.length; n++) {
    const what = n === 0 ? 'before it began' : `after: ${STEPS[n - 1]}`;
    const rolledForward = n >= 5;
    it(`${what}: ${rolledForward ? 'rolls forward, and the next unlock writes the store.restore record once' : 'leaves the old store, with no record of a restore'}`, async () => {
      const dir = copyBase();
      const marker = await restoreUpTo(dir, n);
      const store = await opened(dir);
      try {
        expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
        const restores = store.audit.list({ action: 'store.restore', limit: 10 });
        expect(store.devices.get('ESN-REVOKED-AFTER-BACKUP')?.status).toBe(rolledForward ? 'active' : 'revoked');
        if (rolledForward) {
          expect(restores).toHaveLength(1);
          expect(restores[0]!.details).toMatchObject({ restoreId: marker.restoreId, bytes: marker.bytes });
        } else {
          expect(restores).toHaveLength(0);
        }
        expect(store.verify()).toMatchObject({ ok: true, problems: [] });
      } finally {
        store.lock();
      }
      // Unlocking again writes nothing more.
      const again = await opened(dir);
      try {
        expect(again.audit.list({ action: 'store.restore', limit: 10 })).toHaveLength(rolledForward ? 1 : 0);
      } finally {
        again.lock();
      }
    });
  }

  it('killed after the record was written but before the journal was removed: the record is not written twice', async () => {
    const dir = copyBase();
    const marker = await restoreUpTo(dir, STEPS.length);
    (await opened(dir)).lock();
    // The journal as it was just before its removal.
    mkdirSync(join(dir, 'restore-pending'));
    markReady(dir, marker);
    const store = await opened(dir);
    try {
      expect(store.audit.list({ action: 'store.restore', limit: 10 })).toHaveLength(1);
      expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
      expect(store.verify()).toMatchObject({ ok: true });
    } finally {
      store.lock();
    }
  });

  it('a rekey\'s journal left with READY alone (killed just before its removal) is removed at the next unlock', async () => {
    for (const ready of ['{"kind":"rekey"}\n', 'ready\n']) {
      const dir = copyBase();
      mkdirSync(join(dir, 'restore-pending'));
      writeFileSync(join(dir, 'restore-pending', 'READY'), ready);
      const store = await opened(dir);
      store.lock();
      expect(existsSync(join(dir, 'restore-pending')), ready).toBe(false);
    }
  });

  it('killed while READY was being written (its temporary copy only): the old store', async () => {
    const dir = copyBase();
    await restoreUpTo(dir, 4);
    writeFileSync(join(dir, 'restore-pending', 'READY.tmp-99999'), '{"kind":"re');
    const store = await opened(dir);
    try {
      expect(store.devices.get('ESN-REVOKED-AFTER-BACKUP')?.status).toBe('revoked');
      expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
    } finally {
      store.lock();
    }
  });

  it('a restored store whose log has no record of the restore (the journal lost, or the file put in place by hand) fails audit verify and store verify', async () => {
    const dir = copyBase();
    await restoreUpTo(dir, STEPS.length);
    rmSync(join(dir, 'restore-pending'), { recursive: true });
    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    try {
      await s.store.unlock(PASSPHRASE);
      expect(s.audit.list({ action: 'store.restore', limit: 10 })).toHaveLength(0);
      const audit = s.audit.verify();
      expect(audit.ok).toBe(false);
      expect(audit.problem).toMatch(/put in place by a KeyLadder restore .* does not record that restore/);
      const store = s.store.verify();
      expect(store.ok).toBe(false);
      expect(store.problems.join('\n')).toMatch(/does not record that restore/);
    } finally {
      s.close();
    }
  });

  it('a whole restore writes its record in the unlock that follows the swap, and the store verifies', async () => {
    const dir = copyBase();
    await KeyStore.restore(dir, backupFile, PASSPHRASE);
    const store = await opened(dir);
    try {
      const [record] = store.audit.list({ action: 'store.restore', limit: 10 });
      expect(record?.details).toMatchObject({ restoreId: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(store.audit.restoreStamp()?.restoreId).toBe(record?.details['restoreId']);
      expect(store.verify()).toMatchObject({ ok: true });
    } finally {
      store.lock();
    }
  });
});
