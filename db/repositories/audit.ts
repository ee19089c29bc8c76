// The audit log: append-only and hash-chained. Each row carries
// mac = HMAC-SHA256(audit key, previous mac || the row's canonical JSON), and
// the head of the chain (last seq and mac) is kept in `meta` and moved in the
// same transaction as every append. Editing, deleting (in the middle or at the
// end) or reordering rows breaks the chain or disagrees with the head.
// The audit key is derived from the store key, so the chain cannot be rebuilt
// without it.

import { createHmac } from 'node:crypto';
import type { Db } from '../connection.js';

export type AuditDetails = Record<string, string | number | boolean | null>;

export interface AuditRecord {
  readonly at: string;
  readonly action: string;
  readonly outcome: 'ok' | 'refused';
  readonly subject: string | null;
  readonly details: AuditDetails;
}

export interface AuditRow extends AuditRecord {
  readonly seq: number;
}

export interface AuditFilter {
  readonly action?: string;
  /** Leave these actions out (the CLI's own unlocks, by default). */
  readonly excludeActions?: readonly string[];
  readonly subject?: string;
  readonly outcome?: 'ok' | 'refused';
  readonly beforeSeq?: number;
  readonly limit: number;
}

export interface ChainCheck {
  readonly ok: boolean;
  readonly entries: number;
  readonly brokenAt?: number;
  readonly problem?: string;
}

const GENESIS: Buffer = Buffer.alloc(32);
const HEAD_KEY = 'audit_head';
/**
 * A restore stamps the database it puts in place with this meta row (which
 * restore, when, from how many bytes) before the swap; the chain must then
 * end its story of restores with a `store.restore` record of the same id
 * (verify), so a restored store whose record is missing does not verify.
 */
const RESTORE_STAMP_KEY = 'restored';

export interface RestoreStamp {
  readonly restoreId: string;
  readonly restoredAt: string;
  readonly bytes: number;
}

/** Writes the restore's stamp into a database about to be swapped in (KeyStore.restore). */
export function stampRestore(db: Db, stamp: RestoreStamp): void {
  db.prepare(`INSERT INTO meta (key, value) VALUES ('${RESTORE_STAMP_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(stamp));
}

const canonical = (seq: number, r: AuditRecord, details: string): string => JSON.stringify([seq, r.at, r.action, r.outcome, r.subject, details]);

export class AuditRepository {
  private readonly insert;
  private readonly readHead;
  private readonly writeHead;

  constructor(private readonly db: Db, private readonly key: Buffer) {
    this.insert = db.prepare('INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.readHead = db.prepare(`SELECT value FROM meta WHERE key = '${HEAD_KEY}'`).pluck();
    this.writeHead = db.prepare(`INSERT INTO meta (key, value) VALUES ('${HEAD_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  }

  private mac(prev: Buffer, text: string): Buffer {
    return createHmac('sha256', this.key).update(prev).update(text, 'utf8').digest();
  }

  /** The chain's head: the last entry's number and MAC (0 and zeros for an empty log). */
  head(): { seq: number; mac: Buffer } {
    const value = this.readHead.get() as string | undefined;
    if (value === undefined) return { seq: 0, mac: GENESIS };
    const [seq, mac] = value.split(':');
    return { seq: Number(seq), mac: Buffer.from(mac ?? '', 'hex') };
  }

  /** Appends records in order. Call inside the transaction of the change they describe. */
  append(...records: AuditRecord[]): void {
    this.write(records);
  }

  /**
   * Appends entries that keep their numbers (a rekey copies the chain under a
   * new key, db/rekey.ts): each must continue the chain, so none is skipped.
   */
  appendAt(records: ReadonlyArray<AuditRecord & { readonly seq: number }>): void {
    this.write(records);
  }

  private write(records: ReadonlyArray<AuditRecord & { readonly seq?: number }>): void {
    if (records.length === 0) return;
    const run = () => {
      let { seq, mac } = this.head() as { seq: number; mac: Buffer };
      for (const r of records) {
        if (r.seq !== undefined && r.seq !== seq + 1) throw new Error(`audit entry ${r.seq} does not continue the chain at ${seq}`);
        seq += 1;
        const details = JSON.stringify(r.details);
        mac = this.mac(mac, canonical(seq, r, details));
        this.insert.run(seq, r.at, r.action, r.outcome, r.subject, details, mac);
      }
      this.writeHead.run(`${seq}:${mac.toString('hex')}`);
    };
    if (this.db.inTransaction) run();
    // IMMEDIATE, as KeyStore.transaction: the head is read and moved under the write lock.
    else this.db.transaction(run).immediate();
  }

  /** The MAC of entry `seq`, if the log holds it. */
  macAt(seq: number): Buffer | undefined {
    return this.db.prepare('SELECT mac FROM audit_log WHERE seq = ?').pluck().get(seq) as Buffer | undefined;
  }

  /** The stamp of the last restore that put this database in place, if any. */
  restoreStamp(): RestoreStamp | undefined {
    const value = this.db.prepare(`SELECT value FROM meta WHERE key = '${RESTORE_STAMP_KEY}'`).pluck().get() as string | undefined;
    return value === undefined ? undefined : (JSON.parse(value) as RestoreStamp);
  }

  /** The id (details.restoreId) of the last `store.restore` record; null for one without (older KeyLadder); undefined if none. */
  lastRestoreId(): string | null | undefined {
    const details = this.db.prepare(`SELECT details FROM audit_log WHERE action = 'store.restore' ORDER BY seq DESC LIMIT 1`).pluck().get() as string | undefined;
    if (details === undefined) return undefined;
    const id = (JSON.parse(details) as AuditDetails)['restoreId'];
    return typeof id === 'string' ? id : null;
  }

  /** Whether the log records the restore `restoreId` (so that a rolled-forward restore is recorded once). */
  recordsRestore(restoreId: string): boolean {
    return this.db.prepare(`SELECT 1 FROM audit_log WHERE action = 'store.restore' AND json_extract(details, '$.restoreId') = ? LIMIT 1`).get(restoreId) !== undefined;
  }

  /** The times of the entries of `action` at any of `times` (one per entry). */
  timesOf(action: string, times: readonly string[]): string[] {
    const unique = [...new Set(times)];
    const found: string[] = [];
    // In slices: SQLite takes at most 32,766 parameters, and a guessing attack leaves many notes.
    for (let i = 0; i < unique.length; i += 500) {
      const slice = unique.slice(i, i + 500);
      found.push(...(this.db.prepare(`SELECT at FROM audit_log WHERE action = ? AND at IN (${slice.map(() => '?').join(', ')})`).pluck().all(action, ...slice) as string[]));
    }
    return found;
  }

  list(filter: AuditFilter): AuditRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.action) { where.push('action = ?'); args.push(filter.action); }
    if (filter.excludeActions?.length) { where.push(`action NOT IN (${filter.excludeActions.map(() => '?').join(', ')})`); args.push(...filter.excludeActions); }
    if (filter.subject) { where.push('subject = ?'); args.push(filter.subject); }
    if (filter.outcome) { where.push('outcome = ?'); args.push(filter.outcome); }
    if (filter.beforeSeq !== undefined) { where.push('seq < ?'); args.push(filter.beforeSeq); }
    const sql = `SELECT seq, at, action, outcome, subject, details FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit) as Array<Omit<AuditRow, 'details'> & { details: string }>).map((row) => ({ ...row, details: JSON.parse(row.details) as AuditDetails }));
  }

  /**
   * The first entry at or after `at`. Entries are appended in time order,
   * give or take the second that buffered exchange records may wait, so a
   * binary search over seq finds it in a few indexed reads, not a scan.
   */
  firstSeqSince(at: string): number {
    const atOf = this.db.prepare('SELECT at FROM audit_log WHERE seq = ?').pluck();
    let low = 1;
    let high = this.head().seq + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const found = atOf.get(mid) as string | undefined;
      if (found !== undefined && found >= at) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /**
   * Refused exchanges since `at`, by code, counted in SQL over the action
   * index. A row that aggregates one client's refusals (code AGGREGATE, at
   * most one a minute per client) counts for each of the codes it lists.
   */
  refusalsByCode(at: string): Array<{ code: string; count: number }> {
    const from = this.firstSeqSince(at);
    const where = `action = 'exchange' AND outcome = 'refused' AND seq >= ? AND at >= ?`;
    const counts = new Map<string, number>();
    const add = (code: string, n: number) => counts.set(code, (counts.get(code) ?? 0) + n);
    const grouped = this.db.prepare(`SELECT json_extract(details, '$.code') AS code, sum(coalesce(json_extract(details, '$.count'), 1)) AS count
      FROM audit_log WHERE ${where} AND coalesce(json_extract(details, '$.code'), '') != 'AGGREGATE' GROUP BY 1`).all(from, at) as Array<{ code: string | null; count: number }>;
    for (const row of grouped) add(row.code ?? 'UNKNOWN', row.count);
    const aggregates = this.db.prepare(`SELECT json_extract(details, '$.codes') FROM audit_log WHERE ${where} AND json_extract(details, '$.code') = 'AGGREGATE'`).pluck().all(from, at) as Array<string | null>;
    for (const codes of aggregates) {
      for (const pair of (codes ?? '').split(',')) {
        const [code, n] = pair.split('=');
        if (code && Number(n) > 0) add(code, Number(n));
      }
    }
    return [...counts].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  verify(): ChainCheck {
    let prev: Buffer = GENESIS;
    let expected = 1;
    let entries = 0;
    const rows = this.db.prepare('SELECT seq, at, action, outcome, subject, details, mac FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow & { details: string; mac: Buffer }>;
    for (const row of rows) {
      if (row.seq !== expected) return { ok: false, entries, brokenAt: expected, problem: `Entry ${expected} is missing (the next one is ${row.seq}): rows were deleted.` };
      const mac = this.mac(prev, canonical(row.seq, { ...row, details: {} }, row.details));
      if (!mac.equals(row.mac)) return { ok: false, entries, brokenAt: row.seq, problem: `Entry ${row.seq} does not match the chain: it, or an entry before it, was edited or reordered.` };
      prev = mac;
      expected += 1;
      entries += 1;
    }
    const head = this.head();
    if (head.seq !== entries || !head.mac.equals(prev)) {
      return { ok: false, entries, brokenAt: entries + 1, problem: `The log ends at entry ${entries}, but its head says ${head.seq}: entries at the end were deleted or the head was altered.` };
    }
    const stamp = this.restoreStamp();
    if (stamp !== undefined && this.lastRestoreId() !== stamp.restoreId) {
      return {
        ok: false,
        entries,
        problem: `The store was restored from a backup (${stamp.restoredAt}), but its audit log has no record of that restore: the restore was cut short before its record, or the database file was put in place outside KeyLadder. What was changed after the backup (revocations among it) is not in this store.`,
      };
    }
    return { ok: true, entries };
  }
}
