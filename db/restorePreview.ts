// What a restore is about to put in place, told before it does (issue 22,
// item 4): the backup's date, its store id and whether it is this store's,
// its device and generation counts, and its audit head. Read from a private
// temporary copy of the backup's database, opened read-only; nothing of the
// store is touched.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openForReading, probe } from './connection.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { DB_FILE } from './files.js';

export interface BackupPreview {
  /** When the backup was made (its stamp); null for a backup made before stamps. */
  readonly backupAt: string | null;
  readonly backupId: string | null;
  /** The store the backup was made of (its key file's storeId). */
  readonly storeId: string;
  /** This folder's store's id, or null when there is no store here yet. */
  readonly currentStoreId: string | null;
  /** Whether the backup is of the store it would replace (false also when there is none). */
  readonly sameStore: boolean;
  readonly devices: number;
  /** Kissuer generations, every status (destroyed ones included), and the active one's number. */
  readonly generations: number;
  readonly activeGeneration: number | null;
  /** The audit chain's last entry: its number and the first 16 hex digits of its MAC. */
  readonly auditHead: { readonly seq: number; readonly mac: string };
  readonly bytes: number;
}

/** Counts in the backup's database (dbBytes, under storeKey). BACKUP_INVALID if its pages do not authenticate. */
export function describeBackupDatabase(dbBytes: Buffer, storeKey: Buffer): Omit<BackupPreview, 'storeId' | 'currentStoreId' | 'sameStore'> {
  const folder = mkdtempSync(join(tmpdir(), 'keyladder-preview-'));
  try {
    const path = join(folder, DB_FILE);
    writeFileSync(path, dbBytes, { mode: 0o600 });
    try {
      probe(path, storeKey);
    } catch (e) {
      if (e instanceof StoreError && e.code === StoreErrorCode.STORE_CORRUPT) throw new StoreError(StoreErrorCode.BACKUP_INVALID, 'The database in this backup does not authenticate under its key: the backup is damaged or was altered. Nothing was changed.');
      throw e;
    }
    const db = openForReading(path, storeKey);
    try {
      const one = (sql: string) => db.prepare(sql).pluck().get() as unknown;
      const stamp = one(`SELECT value FROM meta WHERE key = 'backup'`) as string | undefined;
      const parsed = stamp === undefined ? undefined : (JSON.parse(stamp) as { backupId?: string; at?: string });
      const head = one(`SELECT value FROM meta WHERE key = 'audit_head'`) as string | undefined;
      const [seq, mac] = head === undefined ? ['0', ''] : head.split(':');
      return {
        backupAt: parsed?.at ?? null,
        backupId: parsed?.backupId ?? null,
        devices: one('SELECT count(*) FROM devices') as number,
        generations: one('SELECT count(*) FROM issuer_generations') as number,
        activeGeneration: (one(`SELECT generation FROM issuer_generations WHERE status = 'active'`) as number | undefined) ?? null,
        auditHead: { seq: Number(seq), mac: (mac ?? '').slice(0, 16) },
        bytes: dbBytes.length,
      };
    } finally {
      db.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** A backup of another store, given without --other-store (BACKUP_OTHER_STORE): nothing is changed. */
export const otherStoreError = (dir: string, backupStoreId: string, currentStoreId: string): StoreError =>
  new StoreError(StoreErrorCode.BACKUP_OTHER_STORE, `This backup is of another store (id ${backupStoreId}), not of the store in ${dir} (id ${currentStoreId}): restoring it would replace this store with that one. Nothing was changed.`);
