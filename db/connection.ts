// Opening the SQLCipher 4 database with a raw 256-bit key. Raw, not a
// passphrase: the key file's scrypt already did the slow part, and any
// SQLCipher 4 tool (DB Browser for SQLite among them) opens the file given the
// same key: `PRAGMA cipher_compatibility = 4; PRAGMA key = "x'<64 hex>'";`.

import Database from 'better-sqlite3-multiple-ciphers';
import { closeSync, existsSync } from 'node:fs';
import { StoreError, StoreErrorCode, fromSqliteError } from './errors.js';
import { keepPrivate, openNewFile } from './files.js';

export type Db = Database.Database;

/** How long a write waits for another process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

function keyed(path: string, storeKey: Uint8Array, readonly: boolean, fileMustExist: boolean): Db {
  const db = new Database(path, { readonly, fileMustExist });
  try {
    db.pragma(`cipher = 'sqlcipher'`);
    db.pragma('legacy = 4');
    // The key lives in this JS string only for the call; JS cannot zero strings.
    db.pragma(`key = "x'${Buffer.from(storeKey).toString('hex')}'"`);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Opens an existing database read-only (a backup's copy being described before a restore). */
export function openForReading(path: string, storeKey: Uint8Array): Db {
  return keyed(path, storeKey, true, true);
}

/**
 * Opens read-only and reads the schema, which proves the key and the first
 * page's HMAC without writing a byte. Then reads every page of every table
 * and index (quick_check), so that a page altered or cut off anywhere in the
 * file is refused here, before an unlock writes anything, and not later, after
 * the store has been written to. (It costs about 150 ms per 100,000 devices.)
 * An empty file is refused too: a real store always has a schema. Returns the
 * schema version.
 */
export function probe(path: string, storeKey: Uint8Array): number {
  let db: Db | undefined;
  try {
    db = keyed(path, storeKey, true, true);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) throw new StoreError(StoreErrorCode.STORE_CORRUPT, 'The database file is empty: it holds no KeyLadder schema. Restore it from a backup.');
    const check = db.pragma('quick_check') as Array<{ quick_check: string }>;
    if (check.length !== 1 || check[0]?.quick_check !== 'ok') {
      throw new StoreError(StoreErrorCode.STORE_CORRUPT, 'The database file failed its integrity check (a page does not authenticate, or is missing): it is damaged or was altered. Restore it from a backup.');
    }
    return version;
  } catch (e) {
    throw e instanceof StoreError ? e : fromSqliteError(e, 'The database file');
  } finally {
    db?.close();
  }
}

/** Opens a connection for writing and applies `pragmas`; any failure closes it again. */
function openWith(path: string, storeKey: Uint8Array, mustExist: boolean, pragmas: readonly string[]): Db {
  // A new database starts as an empty owner-only file (SQLite takes an empty file for an empty
  // database); an existing one, and its -wal and -shm, are made owner-only before and after opening.
  if (!mustExist && !existsSync(path)) closeSync(openNewFile(path));
  keepPrivate(path);
  const db = keyed(path, storeKey, false, mustExist);
  try {
    for (const p of pragmas) db.pragma(p);
    keepPrivate(path);
    return db;
  } catch (e) {
    db.close();
    throw fromSqliteError(e, 'The database file', path);
  }
}

/**
 * A second connection for walCheckpointer.ts's thread: it only checkpoints
 * (which fsyncs the database file), and waits rather than fails when the
 * main connection holds a lock.
 */
export function openForCheckpoints(path: string, storeKey: Uint8Array): Db {
  return openWith(path, storeKey, true, [`busy_timeout = ${BUSY_TIMEOUT_MS}`, 'synchronous = FULL', 'wal_autocheckpoint = 0']);
}

/** Opens for writing, in WAL mode with full fsync: a crash loses no committed transaction. */
export function openForWriting(path: string, storeKey: Uint8Array, create: boolean): Db {
  return openWith(path, storeKey, !create, [
    'journal_mode = WAL',
    'synchronous = FULL',
    'foreign_keys = ON',
    `busy_timeout = ${BUSY_TIMEOUT_MS}`,
    'temp_store = MEMORY',
    // 16 MiB of decrypted pages to start with; KeyStore sizes it to the fleet once open (cacheKibFor).
    'cache_size = -16384',
    'secure_delete = ON',
  ]);
}
