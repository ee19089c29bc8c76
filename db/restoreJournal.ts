// The restore journal: how a restore or a rekey swaps a staged database and
// key file in for the store's own, so that a crash at any point leaves either
// the old store or the new one, and (for a restore) never a restored store
// without its `store.restore` audit record (issue 19, item 3).
//
// restore-pending/ holds the staged keyladder.db and keyladder.key.json, then
// READY, a marker that says which operation it is. Before READY, a crash
// leaves the old store: the staging is discarded. From READY on, the swap
// rolls forward: each step below is idempotent. A rekey's record is already in
// the staged database (db/rekey.ts), so its journal ends with the swap. A
// restore's record can only be written into the restored database once it is
// in place and unlocked, so after the swap READY stays, alone, until the next
// unlock (the restore's own, or any other process's after a crash) has
// written the record in its unlock transaction; KeyStore.unlock then removes
// the journal.

import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DB_FILE, KEY_FILE, RESTORE_READY, fsyncDir, removeIfExists, storeFiles, writeFileAtomic } from './files.js';

/** What READY says. A restore names itself, so that its record is written once (details.restoreId). */
export type RestoreMarker =
  | { readonly kind: 'restore'; readonly restoreId: string; readonly restoredAt: string; readonly bytes: number; readonly backupId?: string; readonly actor?: string | null; readonly reason?: string }
  | { readonly kind: 'rekey' };

const paths = (dir: string) => {
  const restore = storeFiles(dir).restore;
  return { restore, ready: join(restore, RESTORE_READY), db: join(restore, DB_FILE), key: join(restore, KEY_FILE) };
};

/** Marks the staging complete: from here on, the swap rolls forward. */
export function markReady(dir: string, marker: RestoreMarker): void {
  writeFileAtomic(paths(dir).ready, `${JSON.stringify(marker)}\n`);
  fsyncDir(paths(dir).restore);
}

function readMarker(dir: string): RestoreMarker {
  const text = readFileSync(paths(dir).ready, 'utf8');
  // 'ready' was the marker of KeyLadder before issue 19: such a swap owes no record it could name.
  if (text.trim() === 'ready') return { kind: 'rekey' };
  let parsed: Partial<RestoreMarker>;
  try {
    parsed = JSON.parse(text) as Partial<RestoreMarker>;
  } catch {
    return { kind: 'rekey' }; // written atomically, so never half; a foreign one names no record either
  }
  if (parsed.kind === 'restore' && typeof parsed.restoreId === 'string' && typeof parsed.restoredAt === 'string' && typeof parsed.bytes === 'number') {
    return {
      kind: 'restore', restoreId: parsed.restoreId, restoredAt: parsed.restoredAt, bytes: parsed.bytes, ...(typeof parsed.backupId === 'string' ? { backupId: parsed.backupId } : {}),
      ...(typeof parsed.actor === 'string' || parsed.actor === null ? { actor: parsed.actor } : {}), ...(typeof parsed.reason === 'string' ? { reason: parsed.reason } : {}),
    };
  }
  return { kind: 'rekey' };
}

/**
 * Whether the journal holds files to move or to discard: only a process that
 * holds the store alone may then open it (StoreHold.exclusive), since the
 * database file is about to change. A journal of READY alone (a restore whose
 * record is owed) needs no swap.
 */
export function needsSwap(dir: string): boolean {
  const p = paths(dir);
  if (!existsSync(p.restore)) return false;
  if (!existsSync(p.ready) || existsSync(p.db) || existsSync(p.key)) return true;
  // Swapped, and only a restore's READY stays (its record owed); any other is left to remove.
  return readMarker(dir).kind !== 'restore';
}

/**
 * Rolls a journaled swap forward (READY present) or discards the staging (no
 * READY). Call holding the store alone. Each step is idempotent.
 */
export function finishSwap(dir: string): void {
  const p = paths(dir);
  const files = storeFiles(dir);
  if (!existsSync(p.ready)) {
    removeIfExists(p.restore);
    return;
  }
  const marker = readMarker(dir);
  if (existsSync(p.db)) {
    // A stale WAL would be replayed into the restored database: drop it first.
    removeIfExists(files.wal);
    removeIfExists(files.shm);
    renameSync(p.db, files.db);
  }
  if (existsSync(p.key)) renameSync(p.key, files.key);
  fsyncDir(dir);
  if (marker.kind === 'restore') return; // READY stays until the record is written (owedRestore)
  rmSync(p.restore, { recursive: true, force: true });
}

/** The restore whose record the next unlock must write, once the swap is done; undefined if none. */
export function owedRestore(dir: string): Extract<RestoreMarker, { kind: 'restore' }> | undefined {
  if (needsSwap(dir) || !existsSync(paths(dir).ready)) return undefined;
  const marker = readMarker(dir);
  return marker.kind === 'restore' ? marker : undefined;
}

/** The journal is done with: called once the restore's record is committed. */
export function closeJournal(dir: string): void {
  removeIfExists(paths(dir).restore);
}
