// The store's error catalogue. Every failure an operator can meet has a stable
// code and a message that says what to do. Messages never hold key material.

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
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }
}

/** Maps what SQLite says about an unreadable or altered file to our codes. */
export function fromSqliteError(error: unknown, what: string): StoreError {
  const code = (error as { code?: string } | null)?.code ?? '';
  if (code === 'SQLITE_NOTADB') {
    return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} cannot be decrypted with this store's key: it is damaged, altered, or belongs to another store. Restore it from a backup.`);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} failed its integrity check (a page does not authenticate): it is damaged or was altered. Restore it from a backup.`);
  }
  return new StoreError(StoreErrorCode.STORE_CORRUPT, `${what} could not be read (${code || 'unknown error'}). Restore it from a backup.`);
}
