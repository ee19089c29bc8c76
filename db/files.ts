// Where a store's files live, and how we replace one without a torn write.

import { accessSync, chmodSync, closeSync, constants, copyFileSync, fsyncSync, linkSync, lstatSync, openSync, renameSync, statSync, unlinkSync, writeSync, existsSync, rmSync } from 'node:fs';
import { StoreError, StoreErrorCode } from './errors.js';
import { dirname, join, resolve } from 'node:path';

export const DB_FILE = 'keyladder.db';
export const KEY_FILE = 'keyladder.key.json';
/** Failed unlocks are noted here (time only), because the database cannot be opened without the key. */
export const FAILED_UNLOCKS_FILE = 'failed-unlocks.log';
export const RESTORE_DIR = 'restore-pending';
export const RESTORE_READY = 'READY';
/** Held shared by every process that has the store open, exclusive by a restore or rekey (db/storeHold.ts). */
export const LOCK_FILE = 'keyladder.lock';

export const storeFiles = (dir: string) => ({
  db: join(dir, DB_FILE),
  wal: join(dir, `${DB_FILE}-wal`),
  shm: join(dir, `${DB_FILE}-shm`),
  key: join(dir, KEY_FILE),
  failedUnlocks: join(dir, FAILED_UNLOCKS_FILE),
  restore: join(dir, RESTORE_DIR),
  lock: join(dir, LOCK_FILE),
});

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` to `path` so that a crash leaves either the old or the new file, never a mix. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  removeIfExists(tmp);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Makes the database and its -wal and -shm files the owner's only, whatever
 * the folder's mode or the umask: SQLite creates the -wal and -shm with the
 * database file's mode, so a 0600 database keeps them 0600 too.
 */
export function keepPrivate(dbPath: string): void {
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) ownerOnly(path);
}

/** chmod 0600, never through a symbolic link. */
function ownerOnly(path: string): void {
  try {
    if (!lstatSync(path).isSymbolicLink()) chmodSync(path, 0o600);
  } catch {
    // Not there (yet): nothing to tighten. (Windows has no such modes.)
  }
}

/**
 * Makes every file of the store in `dir` the owner's only: the database with
 * its -wal and -shm, the key file and the failed-unlock note. Stores made by
 * an older KeyLadder may have left them at the umask's mode (0644); a key file
 * readable by others is an offline passphrase-guessing target.
 */
export function keepStorePrivate(dir: string): void {
  const files = storeFiles(dir);
  keepPrivate(files.db);
  ownerOnly(files.key);
  ownerOnly(files.failedUnlocks);
}

/** Opens a file that must not exist yet, for writing, owner-only; never through a symbolic link. */
export function openNewFile(path: string): number {
  // O_EXCL with O_CREAT fails on an existing path, a symbolic link included (POSIX), so a link planted at
  // a predictable name is never followed.
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
}

const unwritable = (path: string, why: string): StoreError => new StoreError(StoreErrorCode.FILE_UNWRITABLE, `Cannot write the output file '${path}': ${why}.`);

/** Why the folder that is to hold `path` cannot take a new file, or undefined if it can. */
function folderProblem(path: string): string | undefined {
  const folder = dirname(resolve(path));
  try {
    if (!statSync(folder).isDirectory()) return `'${folder}' is not a folder`;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `the folder '${folder}' does not exist`;
    if (code === 'ENOTDIR') return `part of the path '${folder}' is a file, not a folder`;
    return `the folder '${folder}' cannot be reached (${code ?? 'unknown error'})`;
  }
  try {
    accessSync(folder, constants.W_OK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS' ? `the folder '${folder}' is on a read-only disk` : `the folder '${folder}' is not writable for this user`;
  }
  return undefined;
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  EROFS: 'the disk is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENAMETOOLONG: 'its name is too long for this file system',
  EIO: 'the disk reported an input/output error',
  EACCES: 'this user may not write there',
  EPERM: 'this user may not write there',
};

/**
 * The operator's sentence for a failed write of `path` (FILE_UNWRITABLE), or
 * `error` itself when it is no file-system refusal we can explain. The folder
 * is looked at again, as it may have gone since checkOutput.
 */
export function asUnwritable(error: unknown, path: string): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const known = code in WRITE_FAILURES || code === 'ENOENT' || code === 'ENOTDIR' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_FULL' || code === 'SQLITE_READONLY';
  if (!known) return error;
  const why = folderProblem(path) ?? WRITE_FAILURES[code] ?? (code === 'SQLITE_FULL' ? WRITE_FAILURES.ENOSPC! : `the file could not be created (${code})`);
  return unwritable(path, why);
}

/**
 * Refuses to write over `path` unless `force`, and refuses a symbolic link
 * even then; and refuses a folder that cannot take the file, so that an
 * export fails before the store is unlocked rather than after its work.
 */
export function checkOutput(path: string, force: boolean): void {
  const problem = folderProblem(path);
  if (problem !== undefined) throw unwritable(path, problem);
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    return; // nothing there
  }
  if (link) throw new StoreError(StoreErrorCode.FILE_EXISTS, `${path} is a symbolic link; KeyLadder does not write through links. Choose another file.`);
  if (!force) throw new StoreError(StoreErrorCode.FILE_EXISTS, `${path} already exists. Choose another file, or add --force to replace it.`);
}

/**
 * Moves a finished temporary file to `path`: atomically over an existing file
 * with `force` (rename replaces a link itself, never its target), else with a
 * hard link, which fails if `path` appeared in the meantime (O_EXCL's rule,
 * without ever leaving a half-written file at `path`).
 */
export function publishFile(tmp: string, path: string, force: boolean): void {
  checkOutput(path, force);
  if (force) renameSync(tmp, path);
  else {
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreError(StoreErrorCode.FILE_EXISTS, `${path} already exists. Choose another file, or add --force to replace it.`);
      throw e;
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // Already moved by rename, or gone.
      }
    }
  }
  fsyncDir(dirname(path));
}

/** Writes a new owner-only file at `path` (see publishFile), crash-safely. */
/** Content written as it is made (a bundle too large to hold twice): it calls `write` with each piece, in order. */
export type ChunkProducer = (write: (chunk: Uint8Array) => void) => void;

export function writeNewFile(path: string, data: string | Uint8Array | ChunkProducer, force: boolean): void {
  checkOutput(path, force);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openNewFile(tmp);
    try {
      if (typeof data === 'function') data((chunk) => writeAll(fd, chunk));
      else writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    publishFile(tmp, path, force);
  } catch (e) {
    throw asUnwritable(e, path);
  }
}

/**
 * What was at a path before a write replaced it, kept until the write is
 * known to stand: an export's file is taken back when its audit record fails,
 * and with --force (the app always forces, once its save dialog asked) the
 * file it replaced is the operator's own, which must come back, not vanish.
 */
export interface PreviousFile {
  /** Puts back what was there: the kept file, renamed over the new one, or nothing (the new one is removed). */
  putBack(): void;
  /** The new file stands: the kept copy is dropped. */
  forget(): void;
}

/** Link errors that mean "this file system has no hard links" (FAT, exFAT, some network shares), not "this cannot be written". */
export const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/**
 * Keeps the regular file at `path` under a sibling name, before it is
 * replaced: `<name>.keyladder-previous-<pid>`, which an operator recognises
 * if a crash leaves it behind. It is a hard link (the same file, so the same
 * owner and mode as the operator's file, and no copy of its bytes), made with
 * link(2), which like O_EXCL never replaces or follows what is at the new
 * name; where the file system has no hard links, an owner-only copy made with
 * COPYFILE_EXCL. Nothing there (or no regular file): nothing is kept, and
 * putBack removes what the write made.
 */
export function keepPrevious(path: string): PreviousFile {
  let regular: boolean;
  try {
    regular = lstatSync(path).isFile();
  } catch {
    return { putBack: () => rmSync(path, { force: true }), forget: () => undefined };
  }
  // A folder or a device is never replaced (the rename over it fails), so there is nothing to keep or take back.
  if (!regular) return { putBack: () => undefined, forget: () => undefined };
  const folder = dirname(path);
  let kept: string | undefined;
  for (let n = 0; kept === undefined; n++) {
    const name = `${path}.keyladder-previous-${process.pid}${n === 0 ? '' : `-${n}`}`;
    try {
      linkSync(path, name);
      kept = name;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST' && n < 100) continue;
      if (!NO_HARD_LINKS.has(code)) throw e;
      copyFileSync(path, name, constants.COPYFILE_EXCL);
      chmodSync(name, 0o600);
      kept = name;
    }
  }
  // The kept name must be on disk before the rename over `path` is, or a crash between them could lose both.
  fsyncDir(folder);
  const saved = kept;
  return {
    putBack: () => {
      try {
        renameSync(saved, path);
        fsyncDir(folder);
      } catch {
        // Called while an error is on its way to the operator; that error is the one to report. The
        // kept file stays under its recognisable name.
      }
    },
    forget: () => {
      try {
        unlinkSync(saved);
      } catch {
        // Gone already, or left under its recognisable name: the new file stands either way.
      }
    },
  };
}

/**
 * writeNewFile that can be taken back: the file it replaces (with `force`)
 * is kept until the caller calls forget() (the write stands) or putBack()
 * (it does not). A failed write leaves the old file as it was.
 */
/** writeSync may write less than asked (a pipe, a signal): the rest goes after. */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done, chunk.length - done);
}

export function writeNewFileUndoably(path: string, data: string | Uint8Array | ChunkProducer, force: boolean): PreviousFile {
  checkOutput(path, force);
  let previous: PreviousFile;
  try {
    previous = keepPrevious(path);
  } catch (e) {
    throw asUnwritable(e, path);
  }
  try {
    writeNewFile(path, data, force);
  } catch (e) {
    previous.forget();
    throw e;
  }
  return previous;
}

export function removeIfExists(path: string): void {
  if (existsSync(path)) rmSync(path, { force: true, recursive: true });
}
