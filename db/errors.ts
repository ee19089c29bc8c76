// The store's error catalogue. Every failure an operator can meet has a stable
// code and a message that says what to do. Messages never hold key material.

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export const StoreErrorCode = {
  STORE_NOT_FOUND: 'STORE_NOT_FOUND',
  STORE_EXISTS: 'STORE_EXISTS',
  NOT_A_STORE: 'NOT_A_STORE',
  KEYFILE_CORRUPT: 'KEYFILE_CORRUPT',
  WRONG_PASSPHRASE: 'WRONG_PASSPHRASE',
  STORE_CORRUPT: 'STORE_CORRUPT',
  STORE_TOO_NEW: 'STORE_TOO_NEW',
  STORE_LOCKED: 'STORE_LOCKED',
  WEAK_PASSPHRASE: 'WEAK_PASSPHRASE',
  WEAK_KDF: 'WEAK_KDF',
  BACKUP_INVALID: 'BACKUP_INVALID',
  /** A backup of another store (another storeId) given to restore without --other-store. */
  BACKUP_OTHER_STORE: 'BACKUP_OTHER_STORE',
  RECORD_SEAL_INVALID: 'RECORD_SEAL_INVALID',
  /** An output file already exists (and --force was not given), or is a symbolic link. */
  FILE_EXISTS: 'FILE_EXISTS',
  /** An output file's folder is missing, not a folder, or not writable (or the disk is full). */
  FILE_UNWRITABLE: 'FILE_UNWRITABLE',
  /** An audit checkpoint file that is malformed, altered, or of another store. */
  CHECKPOINT_INVALID: 'CHECKPOINT_INVALID',
  /** An audit archive file that is not one, is of another store, or cannot be read. */
  ARCHIVE_INVALID: 'ARCHIVE_INVALID',
  /** Another process has the store open (rekey needs it alone). */
  STORE_IN_USE: 'STORE_IN_USE',
  /** The disk (or the quota) is full: a write failed, nothing was lost, and the store is not damaged. */
  DISK_FULL: 'DISK_FULL',
  /** The database file was replaced (a restore by another process) while this process had it open. */
  STORE_REPLACED: 'STORE_REPLACED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }
}

/**
 * Whether an error is a full disk or quota: SQLite's SQLITE_FULL (better-sqlite3 passes SQLite's
 * extended code, so SQLITE_FULL itself), or ENOSPC / EDQUOT from a plain file write.
 */
export function isDiskFull(error: unknown, path?: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return true;
  // Growing the -shm file on a full disk fails as SQLITE_IOERR_SHMSIZE (or another I/O error), not
  // SQLITE_FULL: then the file system itself says whether it has room left.
  return path !== undefined && typeof code === 'string' && code.startsWith('SQLITE_IOERR') && noSpaceLeft(path);
}

function noSpaceLeft(path: string): boolean {
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < MIN_FREE_BYTES;
  } catch {
    return false;
  }
}

/** Less free space than this (a few of SQLite's pages and a WAL frame) counts as a full disk. */
const MIN_FREE_BYTES = 64 * 1024;

/**
 * A full disk is no damage: the write failed whole (SQLite rolled its transaction back), so the
 * operator is told to free space, never to restore a backup, which would throw away good data.
 */
export function diskFullError(what: string): StoreError {
  return new StoreError(StoreErrorCode.DISK_FULL, `${what} could not be written: the disk is full. Nothing was lost and the store is not damaged; free some space where the store lives, then try again.`);
}

/** A store that locked itself because its database file was replaced under it (db/store.ts, watchOtherWriters). */
export function storeReplacedError(): StoreError {
  return new StoreError(StoreErrorCode.STORE_REPLACED, 'The store\'s database file was replaced by another process (a restore, or a copy) while this one had it open: it stopped answering from the old file. Unlock the store again to use the file now in place.');
}

/** Maps what SQLite says about an unreadable or altered file to our codes. */
export function fromSqliteError(error: unknown, what: string, path?: string): StoreError {
  const code = (error as { code?: string } | null)?.code ?? '';
  if (isDiskFull(error, path)) return diskFullError(what);
  if (code === 'SQLITE_NOTADB') {
    return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} cannot be decrypted with this store's key: it is damaged, altered, or belongs to another store. Restore it from a backup.`);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} failed its integrity check (a page does not authenticate): it is damaged or was altered. Restore it from a backup.`);
  }
  return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} could not be read (${code || 'unknown error'}). Restore it from a backup.`);
}

/** Whether SQLite refused because another connection holds a lock (busy or locked), not because anything is wrong. */
export const isSqliteBusy = (error: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown } | null)?.code ?? ''));
