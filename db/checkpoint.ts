// Audit checkpoints: proof, kept outside the store, of how far its audit
// chain had grown. Copying back an old keyladder.db (which revives revoked
// devices and destroyed Kissuer generations), deleting its WAL after a commit,
// or cutting the chain's tail and rewriting its head all leave a store whose
// own verify passes. A checkpoint taken earlier catches each: the store is
// behind it (its chain is shorter), or does not contain it (the entry at the
// checkpoint's number has another MAC: the chain was cut and grown again).
//
// The checkpoint is the head (entry number and MAC) and the store's id, MACed
// under a subkey of the store's audit key, so it cannot be forged for, or
// moved to, another store; it holds no key and no audit content.

import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { StoreError, StoreErrorCode } from './errors.js';

export const CHECKPOINT_FORMAT = 'keyladder-audit-checkpoint';

export interface AuditCheckpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly storeId: string;
  /** The chain's last entry when the checkpoint was taken, and its MAC (hex). */
  readonly seq: number;
  readonly mac: string;
  readonly at: string;
  /** HMAC-SHA256 (hex) over the fields above, under the checkpoint subkey. */
  readonly tag: string;
}

type Unsigned = Omit<AuditCheckpoint, 'tag'>;

const checkpointKey = (auditKey: Uint8Array): Buffer => Buffer.from(hkdfSync('sha256', auditKey, Buffer.alloc(0), 'keyladder audit checkpoint v1', 32));

const tagOf = (auditKey: Uint8Array, c: Unsigned): Buffer => {
  const key = checkpointKey(auditKey);
  try {
    return createHmac('sha256', key).update(JSON.stringify([c.format, c.version, c.storeId, c.seq, c.mac, c.at])).digest();
  } finally {
    key.fill(0);
  }
};

export function makeCheckpoint(auditKey: Uint8Array, storeId: string, head: { seq: number; mac: Buffer }, at: string): AuditCheckpoint {
  const unsigned: Unsigned = { format: CHECKPOINT_FORMAT, version: 1, storeId, seq: head.seq, mac: head.mac.toString('hex'), at };
  return { ...unsigned, tag: tagOf(auditKey, unsigned).toString('hex') };
}

/** Whether `c`'s tag is this store's MAC over its fields (the audit cut, db/repositories/audit.ts, is such a checkpoint). */
export function checkpointHolds(auditKey: Uint8Array, c: AuditCheckpoint): boolean {
  const tag = Buffer.from(c.tag, 'hex');
  const expected = tagOf(auditKey, c);
  return tag.length === expected.length && timingSafeEqual(expected, tag);
}

const invalid = (message: string) => new StoreError(StoreErrorCode.CHECKPOINT_INVALID, message);

/** Parses checkpoint text and checks its MAC for this store; a checkpoint of another store or an altered one is refused. */
export function readCheckpoint(text: string, auditKey: Uint8Array, storeId: string): AuditCheckpoint {
  let c: Partial<AuditCheckpoint>;
  try {
    c = JSON.parse(text) as Partial<AuditCheckpoint>;
  } catch {
    throw invalid('The checkpoint file is not JSON.');
  }
  if (typeof c !== 'object' || c === null || c.format !== CHECKPOINT_FORMAT || c.version !== 1 || typeof c.storeId !== 'string' || !Number.isSafeInteger(c.seq) || (c.seq ?? -1) < 0
    || typeof c.mac !== 'string' || !/^[0-9a-f]{64}$/.test(c.mac) || typeof c.at !== 'string' || typeof c.tag !== 'string' || !/^[0-9a-f]{64}$/.test(c.tag)) {
    throw invalid('The file is no KeyLadder audit checkpoint.');
  }
  if (c.storeId !== storeId) throw invalid('The checkpoint belongs to another store.');
  const expected = tagOf(auditKey, c as Unsigned);
  if (!timingSafeEqual(expected, Buffer.from(c.tag, 'hex'))) throw invalid('The checkpoint was altered, or was not made by this store.');
  return c as AuditCheckpoint;
}

/** What is wrong with a store whose chain is `head`, held against an earlier checkpoint; empty when the store is at or past it. */
export function rollbackProblems(checkpoint: Pick<AuditCheckpoint, 'seq' | 'mac' | 'at'>, head: { seq: number }, macAt: (seq: number) => Buffer | undefined, archivedThrough = 0): string[] {
  if (head.seq < checkpoint.seq) {
    return [`The store is behind the checkpoint of ${checkpoint.at}: its audit log ends at entry ${head.seq}, the checkpoint saw entry ${checkpoint.seq}. An older copy of the database (or of its WAL) was put back, or entries were cut.`];
  }
  if (checkpoint.seq === 0) return [];
  // An entry moved to an archive (audit archive) is no longer here: the store is past it, and the
  // archive, whose end the kept chain is proved to start from, is where that entry is checked.
  if (checkpoint.seq < archivedThrough) return [];
  const mac = macAt(checkpoint.seq);
  if (mac === undefined || !mac.equals(Buffer.from(checkpoint.mac, 'hex'))) {
    return [`The store does not contain the checkpoint of ${checkpoint.at}: its entry ${checkpoint.seq} is not the one the checkpoint saw. The log was cut and written again, or this is another history.`];
  }
  return [];
}
