// Where a store's files live, and how we replace one without a torn write.

import { closeSync, fsyncSync, openSync, renameSync, writeSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DB_FILE = 'keyladder.db';
export const KEY_FILE = 'keyladder.key.json';
/** Failed unlocks are noted here (time only), because the database cannot be opened without the key. */
export const FAILED_UNLOCKS_FILE = 'failed-unlocks.log';
export const RESTORE_DIR = 'restore-pending';
export const RESTORE_READY = 'READY';

export const storeFiles = (dir: string) => ({
  db: join(dir, DB_FILE),
  wal: join(dir, `${DB_FILE}-wal`),
  shm: join(dir, `${DB_FILE}-shm`),
  key: join(dir, KEY_FILE),
  failedUnlocks: join(dir, FAILED_UNLOCKS_FILE),
  restore: join(dir, RESTORE_DIR),
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
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export function removeIfExists(path: string): void {
  if (existsSync(path)) rmSync(path, { force: true, recursive: true });
}
