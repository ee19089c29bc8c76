// The store a restore replaces is kept, not thrown away (issue 22, item 4): a
// restore of the wrong backup must be undoable. Before the swap, the store's
// database (with its -wal, if any) and key file are kept in a new owner-only
// folder beside them, `replaced-<time>/`, which is itself a store folder:
// `keyladder --store <it> ...` opens it with the passphrase it had, and a
// backup of it restores it. It stays until the operator deletes it.
//
// A replaced-<time>/ folder is always a whole store: the copy is built in
// restore-pending/ (the restore's staging), then renamed into place in one
// step. A crash while it is built leaves it there, in a staging without READY,
// which the next open discards with the rest (db/restoreJournal.ts); the store
// itself was not touched yet.

import { chmodSync, copyFileSync, constants, existsSync, linkSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NO_HARD_LINKS, fsyncDir, removeIfExists, storeFiles } from './files.js';

/** Keeps `from` at `to` (a new name): a hard link (the swap renames over `from`, so the old file lives on), else an owner-only copy. */
function keep(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    copyFileSync(from, to, constants.COPYFILE_EXCL);
  }
  chmodSync(to, 0o600);
}

/**
 * Keeps the store in `dir` before a restore replaces it, and returns the
 * folder, or null when there is no store to keep. Call holding the store
 * alone (no process writes it meanwhile). `at` (an ISO time) names the folder.
 */
export function keepReplacedStore(dir: string, at: string): string | null {
  const files = storeFiles(dir);
  if (!existsSync(files.db) || !existsSync(files.key)) return null;
  const partial = join(files.restore, 'replaced.partial');
  mkdirSync(files.restore, { recursive: true, mode: 0o700 });
  removeIfExists(partial);
  try {
    mkdirSync(partial, { mode: 0o700 });
    chmodSync(partial, 0o700);
    const kept = storeFiles(partial);
    keep(files.db, kept.db);
    // The swap drops the -wal (it would be replayed into the restored database): a copy, not a link,
    // since SQLite may truncate or reuse the file in place.
    if (existsSync(files.wal) && statSync(files.wal).size > 0) {
      copyFileSync(files.wal, kept.wal, constants.COPYFILE_EXCL);
      chmodSync(kept.wal, 0o600);
    }
    keep(files.key, kept.key);
    fsyncDir(partial);
    const base = join(dir, `replaced-${at.replace(/[:.]/g, '-')}`);
    let folder = base;
    for (let n = 1; existsSync(folder); n++) folder = `${base}-${n}`;
    renameSync(partial, folder);
    fsyncDir(files.restore);
    fsyncDir(dir);
    return folder;
  } catch (e) {
    // A refusal leaves the store folder as it was: no half-kept copy.
    removeIfExists(partial);
    throw e;
  }
}
