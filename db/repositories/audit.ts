// The audit log: append-only and hash-chained. Each row carries
// mac = HMAC-SHA256(audit key, previous mac || the row's canonical JSON), and
// the head of the chain (last seq and mac) is kept in `meta` and moved in the
// same transaction as every append. Editing, deleting (in the middle or at the
// end) or reordering rows breaks the chain or disagrees with the head.
// The audit key is derived from the store key, so the chain cannot be rebuilt
// without it.

import { createHmac } from 'node:crypto';
import { checkpointHolds, makeCheckpoint } from '../checkpoint.js';
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

/**
 * Where the log was trimmed (audit archive): the last archived entry, its MAC,
 * and the archive file's SHA-256. A checkpoint (db/checkpoint.ts) of that
 * entry, MACed under the store's audit key, so it cannot be moved or forged.
 */
export interface AuditCut {
  readonly seq: number;
  readonly mac: Buffer;
  readonly at: string;
  readonly archiveSha256: string;
}

/** An entry as stored, with its MAC: what an archive file holds. */
export interface ChainedAuditRow extends AuditRow {
  readonly details: AuditDetails;
  readonly mac: Buffer;
}

export interface ChainCheck {
  readonly ok: boolean;
  readonly entries: number;
  /** The entries before this one are in archive files (audit archive); 0 when none was trimmed. */
  readonly archivedThrough?: number;
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
  /** The backup's own stamp (BackupStamp), when it had one. */
  readonly backupId?: string;
}

/**
 * A backup stamps its copy of the database (never the store itself) with this
 * meta row. A KeyLadder restore takes it out of the database it puts in place
 * and names the backup in its `store.restore` record; so a store that still
 * carries one was copied into place by hand, past the restore's record, and
 * does not verify (a rollback that would otherwise pass).
 */
const BACKUP_STAMP_KEY = 'backup';

export interface BackupStamp {
  readonly backupId: string;
  readonly at: string;
}

/** Writes a backup's stamp into its copy, attached to the store's connection as `schema` (KeyStore.backup). */
export function stampBackup(db: Db, schema: string, stamp: BackupStamp): void {
  db.prepare(`INSERT INTO "${schema}".meta (key, value) VALUES ('${BACKUP_STAMP_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(stamp));
}

/** Takes a backup's stamp out of a database about to be restored, and returns it (undefined for a backup made before stamps). */
export function takeBackupStamp(db: Db): BackupStamp | undefined {
  const stamp = readBackupStamp(db);
  db.prepare(`DELETE FROM meta WHERE key = '${BACKUP_STAMP_KEY}'`).run();
  return stamp;
}

function readBackupStamp(db: Db): BackupStamp | undefined {
  const value = db.prepare(`SELECT value FROM meta WHERE key = '${BACKUP_STAMP_KEY}'`).pluck().get() as string | undefined;
  return value === undefined ? undefined : (JSON.parse(value) as BackupStamp);
}

/** Writes the restore's stamp into a database about to be swapped in (KeyStore.restore). */
export function stampRestore(db: Db, stamp: RestoreStamp): void {
  db.prepare(`INSERT INTO meta (key, value) VALUES ('${RESTORE_STAMP_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(stamp));
}

const POLICY_KEY = 'exchange_audit_policy';

/**
 * What the log keeps of answered exchanges: 'full', a row each (the default);
 * 'summary', one exchange.summary row per device per hour (counted in
 * exchange_counts until the hour is past). Refusals, test exchanges and
 * answers flagged as possible clones, migrated or retried are always a row each.
 */
export type ExchangePolicy = 'full' | 'summary';
export const EXCHANGE_POLICIES: readonly ExchangePolicy[] = ['full', 'summary'];

/** The Overview's MSL counts (AuditRepository.mslMessagesSince), exported for their query-plan test. */
export const MSL_COUNT_SQL = `SELECT count(*) FROM audit_log WHERE action = 'msl' AND seq >= ?`;
export const MSL_REFUSALS_SQL = `SELECT json_extract(details, '$.code') AS code, count(*) AS count FROM audit_log WHERE action = 'msl' AND outcome = 'refused' AND seq >= ? GROUP BY 1`;

export const LAST_MSL_MESSAGE_SQL = `SELECT at, outcome, json_extract(details, '$.code') AS code FROM audit_log WHERE subject = ? AND action != 'exchange' AND action = 'msl' ORDER BY seq DESC LIMIT 1`;

/** The start of the UTC hour `at` falls in (ISO 8601). */
export const hourOf = (at: string): string => `${at.slice(0, 13)}:00:00.000Z`;

/**
 * Wrapdata verdicts the operator must be able to find one by one: a migration from MSL's own
 * responder (the door a revoked device would use), a superseded wrapdata (a replay or a clone),
 * and a retry (a lost answer, or a copy's first use).
 */
const NOTABLE_WRAPDATA: ReadonlySet<unknown> = new Set(['migrated', 'superseded', 'root-replayed', 'retry']);

/** Whether a record may be counted into its hour's summary under the 'summary' policy. */
export const summarisable = (r: AuditRecord): boolean =>
  r.action === 'exchange' && r.outcome === 'ok' && r.details['possibleClone'] !== true && !NOTABLE_WRAPDATA.has(r.details['wrapdata']);

/** The cut of the log in `db` (no key needed: its checkpoint is checked by verify). */
export const readCut = (db: Db): AuditCut | undefined => db.prepare('SELECT seq, mac, at, archive_sha256 AS archiveSha256 FROM audit_cut WHERE id = 1').get() as AuditCut | undefined;

const canonical = (seq: number, r: AuditRecord, details: string): string => JSON.stringify([seq, r.at, r.action, r.outcome, r.subject, details]);

export class AuditRepository {
  private readonly insert;
  private readonly readHead;
  private readonly writeHead;
  private policyStmt: { get(): unknown } | undefined;
  private countStmt: { run(...args: unknown[]): unknown } | undefined;

  constructor(private readonly db: Db, private readonly key: Buffer, private readonly storeId: string) {
    this.insert = db.prepare('INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.readHead = db.prepare(`SELECT value FROM meta WHERE key = '${HEAD_KEY}'`).pluck();
    this.writeHead = db.prepare(`INSERT INTO meta (key, value) VALUES ('${HEAD_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  }

  private mac(prev: Buffer, text: string): Buffer {
    return createHmac('sha256', this.key).update(prev).update(text, 'utf8').digest();
  }

  /** The MAC an entry must carry after `prev` (an archive file is checked with it). */
  macOf(prev: Buffer, row: AuditRecord & { readonly seq: number }, details: string = JSON.stringify(row.details)): Buffer {
    return this.mac(prev, canonical(row.seq, row, details));
  }

  /** Where the log was trimmed, or undefined when it never was. */
  cut(): AuditCut | undefined {
    return readCut(this.db);
  }

  private cutHolds(cut: AuditCut): boolean {
    const tag = this.db.prepare('SELECT tag FROM audit_cut WHERE id = 1').pluck().get() as string;
    return checkpointHolds(this.key, { ...makeCheckpoint(this.key, this.storeId, cut, cut.at), tag });
  }

  private writeCut(cut: AuditCut): void {
    const { tag } = makeCheckpoint(this.key, this.storeId, cut, cut.at);
    this.db.prepare(`INSERT INTO audit_cut (id, seq, mac, at, archive_sha256, tag) VALUES (1, @seq, @mac, @at, @archiveSha256, @tag)
      ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, at = excluded.at, archive_sha256 = excluded.archive_sha256, tag = excluded.tag`).run({ ...cut, tag });
  }

  /**
   * Deletes the entries up to `cut.seq`, which an archive file (SHA-256
   * `cut.archiveSha256`) holds, and leaves the cut's checkpoint in their place.
   * Call inside one transaction with the checks that the archive is recorded.
   */
  trimThrough(cut: AuditCut): number {
    if (!this.db.inTransaction) throw new Error('trimThrough runs inside a transaction');
    const mac = this.macAt(cut.seq);
    if (mac === undefined || !mac.equals(cut.mac)) throw new Error(`audit entry ${cut.seq} is not the one archived`);
    const from = (this.cut()?.seq ?? 0) + 1;
    // A restore's stamp asks verify for its store.restore record; once the trim moves that record
    // into the archive (which proves it), the kept log can no longer show it, so the stamp goes too.
    const stamp = this.restoreStamp();
    if (stamp !== undefined && this.restoreRecordSeq(stamp.restoreId) !== undefined && this.restoreRecordSeq(stamp.restoreId)! <= cut.seq) {
      this.db.prepare(`DELETE FROM meta WHERE key = '${RESTORE_STAMP_KEY}'`).run();
    }
    // The trigger (migration 006) lets these through only once the cut is moved past them.
    this.writeCut(cut);
    return this.db.prepare('DELETE FROM audit_log WHERE seq >= ? AND seq <= ?').run(from, cut.seq).changes;
  }

  /**
   * A rekey's copy of a trimmed log (db/rekey.ts) starts at the same cut: the
   * kept entries chain from the same MAC, so the archive still ends where the
   * kept part starts; the cut's checkpoint is MACed under the new key.
   */
  startAfterCut(cut: AuditCut): void {
    if (this.head().seq !== 0) throw new Error('a cut starts an empty log only');
    this.writeCut(cut);
    this.writeHead.run(`${cut.seq}:${cut.mac.toString('hex')}`);
  }

  /** The entries `from` to `to` with their MACs, in order (an archive file is written from them). */
  *chained(from: number, to: number): IterableIterator<ChainedAuditRow> {
    const rows = this.db.prepare('SELECT seq, at, action, outcome, subject, details, mac FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq').iterate(from, to) as IterableIterator<Omit<ChainedAuditRow, 'details'> & { details: string }>;
    for (const row of rows) yield { ...row, details: JSON.parse(row.details) as AuditDetails };
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

  /** What the log keeps of answered exchanges (see ExchangePolicy). Read at each batch: another process may change it. */
  exchangePolicy(): ExchangePolicy {
    this.policyStmt ??= this.db.prepare(`SELECT value FROM meta WHERE key = '${POLICY_KEY}'`).pluck();
    return this.policyStmt.get() === 'summary' ? 'summary' : 'full';
  }

  setExchangePolicy(policy: ExchangePolicy): void {
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('${POLICY_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(policy);
  }

  /** Counts answered exchanges into their device's hour (the 'summary' policy). Call inside the batch's transaction. */
  countExchanges(records: readonly AuditRecord[]): void {
    this.countStmt ??= this.db.prepare(`INSERT INTO exchange_counts (subject, hour, count, first_at, last_at) VALUES (?, ?, 1, ?, ?)
      ON CONFLICT(subject, hour) DO UPDATE SET count = count + 1, first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`);
    for (const r of records) this.countStmt.run(r.subject ?? '', hourOf(r.at), r.at, r.at);
  }

  /**
   * Appends one exchange.summary entry per device for each hour that ended
   * before `now`, and drops those counts: in one transaction, so an hour is
   * either counted here or summarised in the chain, never both or neither.
   */
  closeSummaries(now: string): number {
    const hour = hourOf(now);
    const run = () => {
      const closed = this.db.prepare('SELECT subject, hour, count, first_at AS firstAt, last_at AS lastAt FROM exchange_counts WHERE hour < ? ORDER BY hour, subject').all(hour) as Array<{ subject: string; hour: string; count: number; firstAt: string; lastAt: string }>;
      if (closed.length === 0) return 0;
      this.append(...closed.map((c): AuditRecord => ({
        at: now, action: 'exchange.summary', outcome: 'ok', subject: c.subject === '' ? null : c.subject,
        details: { from: c.hour, to: new Date(Date.parse(c.hour) + 3_600_000).toISOString(), count: c.count, first: c.firstAt, last: c.lastAt },
      })));
      this.db.prepare('DELETE FROM exchange_counts WHERE hour < ?').run(hour);
      return closed.length;
    };
    return this.db.inTransaction ? run() : this.db.transaction(run).immediate();
  }

  /** Whether an hour before `now`'s waits to be closed into summary rows. */
  hasClosableSummaries(now: string): boolean {
    return this.db.prepare('SELECT 1 FROM exchange_counts WHERE hour < ? LIMIT 1').get(hourOf(now)) !== undefined;
  }

  /** The MAC of entry `seq`, if the log holds it (or it is the last archived one, whose MAC the cut keeps). */
  macAt(seq: number): Buffer | undefined {
    const mac = this.db.prepare('SELECT mac FROM audit_log WHERE seq = ?').pluck().get(seq) as Buffer | undefined;
    if (mac !== undefined) return mac;
    const cut = this.cut();
    return cut?.seq === seq ? cut.mac : undefined;
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

  /** The seq of the store.restore record of `restoreId`, if the kept log holds it. */
  private restoreRecordSeq(restoreId: string): number | undefined {
    return this.db.prepare(`SELECT seq FROM audit_log WHERE action = 'store.restore' AND json_extract(details, '$.restoreId') = ? ORDER BY seq DESC LIMIT 1`).pluck().get(restoreId) as number | undefined;
  }

  /** Whether a store.restore record names the backup `backupId` (details.backupId). */
  private recordsBackupRestore(backupId: string): boolean {
    return this.db.prepare(`SELECT 1 FROM audit_log WHERE action = 'store.restore' AND json_extract(details, '$.backupId') = ? LIMIT 1`).get(backupId) !== undefined;
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
    let low = (this.cut()?.seq ?? 0) + 1;
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

  /**
   * MSL messages (action `msl`; the operator's simulated ones, audited as `exchange.test`, left out) since
   * `at`: how many, and the refused ones by MSL error name. The count reads
   * the audit_action index alone (no row is read); the refusals come from the
   * audit_refused partial index (migration 009), which holds refused rows
   * only. The window starts at the first entry at or after `at` (entries are
   * appended in time order).
   */
  mslMessagesSince(at: string): { messages: number; refused: number; byCode: Array<{ code: string; count: number }> } {
    const from = this.firstSeqSince(at);
    const messages = this.db.prepare(MSL_COUNT_SQL).pluck().get(from) as number;
    const byCode = (this.db.prepare(MSL_REFUSALS_SQL).all(from) as Array<{ code: string | null; count: number }>)
      .map((r) => ({ code: r.code ?? 'UNKNOWN', count: r.count }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
    return { messages, refused: byCode.reduce((n, c) => n + c.count, 0), byCode };
  }

  /** The identity's last MSL message (action msl), over the audit_subject index (whose rows are those of every action but exchange). */
  lastMslMessage(identity: string): { at: string; outcome: string; code: string | null } | undefined {
    return this.db.prepare(LAST_MSL_MESSAGE_SQL).get(identity) as { at: string; outcome: string; code: string | null } | undefined;
  }

  verify(): ChainCheck {
    // A trimmed log starts after its cut: a checkpoint of the last archived entry, MACed by this store.
    const cut = this.cut();
    const archivedThrough = cut?.seq ?? 0;
    // Only a trimmed log says where its archive ends (a whole log's result stays as it was).
    const trimmed = cut === undefined ? {} : { archivedThrough };
    if (cut !== undefined && !this.cutHolds(cut)) {
      return { ok: false, entries: 0, brokenAt: cut.seq + 1, ...trimmed, problem: `The archive cut at entry ${cut.seq} does not authenticate: it was altered, or was not made by this store.` };
    }
    let prev: Buffer = cut?.mac ?? GENESIS;
    let expected = archivedThrough + 1;
    let entries = 0;
    let archiveRecorded = false;
    const rows = this.db.prepare('SELECT seq, at, action, outcome, subject, details, mac FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow & { details: string; mac: Buffer }>;
    for (const row of rows) {
      if (row.seq !== expected) {
        const problem = row.seq < expected
          ? `Entry ${row.seq} is before the archive cut at entry ${archivedThrough}: the cut was moved.`
          : `Entry ${expected} is missing (the next one is ${row.seq}): rows were deleted.`;
        return { ok: false, entries, brokenAt: expected, ...trimmed, problem };
      }
      const mac = this.mac(prev, canonical(row.seq, { ...row, details: {} }, row.details));
      if (!mac.equals(row.mac)) return { ok: false, entries, brokenAt: row.seq, ...trimmed, problem: `Entry ${row.seq} does not match the chain: it, or an entry before it, was edited or reordered.` };
      // The trim's own record: the archive of exactly this cut, with this file's digest, was written first.
      if (cut !== undefined && row.action === 'audit.archive' && row.outcome === 'ok') {
        const d = JSON.parse(row.details) as AuditDetails;
        if (d['to'] === cut.seq && d['mac'] === cut.mac.toString('hex') && d['sha256'] === cut.archiveSha256) archiveRecorded = true;
      }
      prev = mac;
      expected += 1;
      entries += 1;
    }
    const head = this.head();
    if (head.seq !== expected - 1 || !head.mac.equals(prev)) {
      return { ok: false, entries, brokenAt: expected, ...trimmed, problem: `The log ends at entry ${expected - 1}, but its head says ${head.seq}: entries at the end were deleted or the head was altered.` };
    }
    if (cut !== undefined && !archiveRecorded) {
      return { ok: false, entries, brokenAt: cut.seq + 1, ...trimmed, problem: `The log was trimmed at entry ${cut.seq}, but no audit.archive record names that cut and its archive file: entries were removed without an archive.` };
    }
    const stamp = this.restoreStamp();
    if (stamp !== undefined && this.lastRestoreId() !== stamp.restoreId) {
      return {
        ok: false,
        entries,
        ...trimmed,
        problem: `This database was put in place by a KeyLadder restore (${stamp.restoredAt}), but its audit log does not record that restore (a restore's record is written at its swap, or by the roll-forward at the next unlock after a crash): the file was copied into place outside KeyLadder, or the record was removed. What was changed after the backup (revocations among it) is not in this store.`,
      };
    }
    const backup = readBackupStamp(this.db);
    if (backup !== undefined && !this.recordsBackupRestore(backup.backupId)) {
      return {
        ok: false,
        entries,
        ...trimmed,
        problem: `This database is a backup's copy (backup of ${backup.at}) put in place outside KeyLadder: no store.restore record names that backup, and a KeyLadder restore would have. What was changed after the backup (revocations among it) is not in this store. Restore the store with \`keyladder restore\`, or from a newer backup.`,
      };
    }
    return { ok: true, entries, ...trimmed };
  }
}
