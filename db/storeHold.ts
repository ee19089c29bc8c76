// Who has a store open: the one test that restore and rekey share before they
// replace the store's files (issue 19, item 1).
//
// Every process that opens a store (the app, each `serve` worker, each CLI
// command) holds a SHARED lock on a lock file beside it, `keyladder.lock`, for
// as long as its connection is open. A restore or a rekey takes an EXCLUSIVE
// lock on the same file, which the operating system grants only when no other
// process (and no other connection of this one) holds it, and keeps it across
// the whole swap: an opener arriving meanwhile waits (up to the busy timeout)
// and then opens the file now in place, never the one being replaced. So the
// check and the swap are one step, not a test followed by a race.
//
// Why a lock file and not the database itself: rekey's old test, leaving WAL
// mode (`journal_mode = DELETE` succeeds only for the last connection), needs
// the store key, and a restore does not have it (its passphrase opens the
// backup, which may have another key). And the database file is the very
// thing a restore replaces: a process holding the old, deleted file is
// invisible to any test made on the new one. The lock file is never replaced.
//
// The locks are SQLite's own (POSIX fcntl locks, LockFileEx on Windows), taken
// through a plain, empty SQLite file: SQLite already knows how to share them
// between connections of one process (closing one file descriptor would drop
// every POSIX lock of the process on that file), the kernel drops them when a
// process dies (a crashed holder never blocks a restore), and nothing is ever
// written to the file, so it holds no secret and cannot be damaged.

import Database from 'better-sqlite3-multiple-ciphers';
import { closeSync, existsSync } from 'node:fs';
import { BUSY_TIMEOUT_MS, type Db } from './connection.js';
import { StoreError, StoreErrorCode, isSqliteBusy } from './errors.js';
import { openNewFile, storeFiles } from './files.js';

const isBusy = isSqliteBusy;

function openLockFile(dir: string, waitMs: number): Db {
  const path = storeFiles(dir).lock;
  if (!existsSync(path)) {
    try {
      closeSync(openNewFile(path));
    } catch (e) {
      // Another opener made it first: the same empty file.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const db = new Database(path);
  db.pragma(`busy_timeout = ${waitMs}`);
  return db;
}

export class StoreHold {
  /** Set by releaseAfter: a connection this hold covers is still closing. */
  private pending: Promise<void> | undefined;

  private constructor(private db: Db | undefined, readonly exclusive: boolean) {}

  /**
   * Held for as long as a store is open. Waits up to the busy timeout for a
   * restore or rekey that holds the store alone, then STORE_IN_USE.
   */
  static shared(dir: string): StoreHold {
    const db = openLockFile(dir, BUSY_TIMEOUT_MS);
    try {
      // A read transaction keeps its SHARED lock until it ends.
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
      return new StoreHold(db, false);
    } catch (e) {
      db.close();
      if (isBusy(e)) throw new StoreError(StoreErrorCode.STORE_IN_USE, 'A restore or rekey of this store is under way in another process. Try again when it has finished.');
      throw e;
    }
  }

  /**
   * The store alone: refused with STORE_IN_USE (saying `then`, what to do
   * after stopping the others) while any other process, or another open store
   * of this one, has it open. `waitMs` waits for holders to go (a roll-forward
   * at unlock waits for a restore under way); a restore or rekey does not wait.
   */
  static exclusive(dir: string, then: string, waitMs = 0): StoreHold {
    const db = openLockFile(dir, waitMs);
    try {
      db.exec('BEGIN EXCLUSIVE');
      return new StoreHold(db, true);
    } catch (e) {
      db.close();
      if (isBusy(e)) throw new StoreError(StoreErrorCode.STORE_IN_USE, `Another process has the store open (the app, keyladder serve, or another command): stop it, then ${then}. Nothing was changed.`);
      throw e;
    }
  }

  /**
   * Lets go once `closing` settles, and not before, whoever calls release()
   * meanwhile: a connection of this process that is still closing (the WAL
   * checkpointer's thread being terminated) is covered until it is closed.
   */
  releaseAfter(closing: Promise<void>): void {
    if (this.db === undefined || this.pending !== undefined) return;
    const pending = closing.then(() => {
      this.pending = undefined;
      this.release();
    }, () => {
      this.pending = undefined;
      this.release();
    });
    this.pending = pending;
  }

  /** Lets go (idempotent); after releaseAfter, only once its connection is closed. */
  release(): void {
    if (this.pending !== undefined) return;
    const db = this.db;
    if (db === undefined) return;
    this.db = undefined;
    try {
      db.exec('ROLLBACK');
    } catch {
      // No transaction left: closing lets go all the same.
    }
    db.close();
  }
}
