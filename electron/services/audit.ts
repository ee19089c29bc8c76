// Reading and verifying the audit log (appends happen with each change).

import { checkAuditArchive, writeAuditArchive } from '../../db/auditArchive.js';
import type { AuditCheckpoint } from '../../db/checkpoint.js';
import { EXCHANGE_POLICIES, type ExchangePolicy } from '../../db/repositories/audit.js';
import type { AuditApi } from './api.js';
import type { Delivery } from './delivery.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger } from './keyInput.js';
import { signAsKeyLadder } from './keyring.js';
import type { StoreSession } from './session.js';
import type { AuditEntry, AuditQuery, AuditVerification } from './types.js';

/** The JWS header's typ of a signed audit export. */
export const AUDIT_EXPORT_TYP = 'keyladder-audit+jws';
/**
 * Entries in one archive file at most (some 210 MB of log): the trim is one
 * transaction, whose WAL holds every page it frees, so a log archived late
 * is archived in slices, each run taking the next (the result says `more`).
 */
export const MAX_ARCHIVE_ENTRIES = 1_000_000;
/** The longest actor filter (recorded actors are at most 128 characters: actor.ts). */
const MAX_ACTOR_FILTER = 200;
/** Entries in one export at most: the JWS is built in memory. */
const MAX_EXPORT_ENTRIES = 100_000;

export interface SignedAuditExport {
  /** A compact JWS (ES256 by this KeyLadder's signing key, kid in the header); its payload is AuditExportPayload. */
  readonly jws: string;
  readonly from: number;
  readonly to: number;
  readonly signer: string;
}

/** What the JWS signs: entries from..to and the chain's MAC at `to`, which `audit checkpoint` and `verify --checkpoint` speak of too. */
export interface AuditExportPayload {
  readonly format: 'keyladder-audit-export';
  readonly version: 1;
  readonly storeId: string;
  readonly exportedAt: string;
  readonly from: number;
  readonly to: number;
  readonly head: { readonly seq: number; readonly mac: string };
  readonly entries: readonly AuditEntry[];
}

/** What `audit archive` did: entries from..to moved to `file` (SHA-256 hex), the log trimmed before `to + 1`. */
export interface AuditArchiveResult {
  readonly file: string;
  readonly from: number;
  readonly to: number;
  readonly entries: number;
  readonly sha256: string;
  /** Entries before the date remain (MAX_ARCHIVE_ENTRIES per run): run it again. */
  readonly more: boolean;
}

/** What `audit verify --archive` found. */
export interface AuditArchiveVerification {
  readonly ok: boolean;
  readonly from: number;
  readonly to: number;
  readonly entries: number;
  readonly sha256: string;
  /** Every entry's MAC was computed again under the store's audit key (false for an archive written before a rekey). */
  readonly macsChecked: boolean;
  /** An audit.archive record of the store's chain names this file's SHA-256 (or the cut does). */
  readonly recorded: boolean;
  /** The store's kept log starts right after this archive's last entry, from its MAC. */
  readonly continuesInStore: boolean;
  readonly problem?: string;
}

/** The stages of an archive, for the crash tests: after the file is in place, after its record, inside the trim. */
export type ArchiveStage = 'written' | 'recorded' | 'trimming';

export class AuditService implements AuditApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date = () => new Date()) {}

  /**
   * A checkpoint of the chain's head for the operator to keep outside the
   * store (`verify --checkpoint` holds the store against it later). Its own
   * audit record comes first, so the checkpoint covers it; with `delivery`,
   * the checkpoint (as JSON text) is delivered inside the record's
   * transaction, so a failed write rolls the record back.
   */
  checkpoint(delivery?: Delivery): AuditCheckpoint {
    this.session.flushPending();
    const store = this.session.store();
    const at = this.now().toISOString();
    let delivered = false;
    let checkpoint: AuditCheckpoint;
    try {
      checkpoint = store.transaction(() => {
        store.audit.append({ at, action: 'audit.checkpoint', outcome: 'ok', subject: null, details: { seq: store.audit.head().seq + 1 } });
        const made = store.auditCheckpoint(at);
        delivery?.write(JSON.stringify(made, null, 2));
        delivered = true;
        return made;
      });
    } catch (e) {
      // The commit failed after the file was written: no record, no file (the one it replaced comes back).
      if (delivered) delivery?.undo();
      throw e;
    }
    // Committed: the file stands, and what it replaced is dropped.
    delivery?.done();
    return checkpoint;
  }

  /**
   * Entries `from` to `to` (default: the whole log, this export's own record
   * included), signed by this KeyLadder, so anyone holding its public JWKS
   * can check them without the store. The record of the export comes first;
   * a range that does not exist is refused before it, changing nothing.
   *
   * With `delivery`, the JWS is delivered once signed. Its "ok" record is
   * inside what it signs, so it cannot wait for the file as other exports'
   * records do; a delivery that fails (a full or failing disk, after the
   * caller's checks) gets a second record, outcome "refused", naming the
   * failure's code (never the path), so the log does not end on an "ok" for
   * a file that was never written.
   */
  async exportSigned(range: { readonly from?: number; readonly to?: number } = {}, delivery?: Delivery): Promise<SignedAuditExport> {
    this.session.flushPending();
    const store = this.session.store();
    const last = store.audit.head().seq + 1;
    // A trimmed log starts after its cut: the entries before it are in archive files (audit archive).
    const first = (store.audit.cut()?.seq ?? 0) + 1;
    if (range.from !== undefined && Number.isSafeInteger(range.from) && range.from >= 1 && range.from < first) {
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Entries 1 to ${first - 1} are archived (audit archive) and no longer in the store: export from ${first} on.`);
    }
    const from = checkInteger(range.from ?? first, 'from', first, last);
    const to = checkInteger(range.to ?? last, 'to', from, last);
    if (to - from + 1 > MAX_EXPORT_ENTRIES) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Export at most ${MAX_EXPORT_ENTRIES.toLocaleString('en-US')} entries at a time (--from, --to).`);
    const at = this.now().toISOString();
    const payload = store.transaction((): AuditExportPayload => {
      store.audit.append({ at, action: 'audit.export', outcome: 'ok', subject: null, details: { from, to } });
      const entries = (store.audit.list({ beforeSeq: to + 1, limit: to - from + 1 }) as AuditEntry[]).reverse();
      return { format: 'keyladder-audit-export', version: 1, storeId: store.storeId, exportedAt: at, from, to, head: { seq: to, mac: store.audit.macAt(to)!.toString('hex') }, entries };
    });
    const { jws, kid } = await signAsKeyLadder(store, Buffer.from(JSON.stringify(payload), 'utf8'), { typ: AUDIT_EXPORT_TYP, cty: 'json' });
    if (delivery !== undefined) {
      try {
        delivery.write(jws);
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        try {
          store.audit.append({ at: this.now().toISOString(), action: 'audit.export', outcome: 'refused', subject: null, details: { from, to, reason: typeof code === 'string' ? code : 'WRITE_FAILED' } });
        } catch {
          // The write's failure is the one the operator must see; a log that cannot take this record either
          // will refuse the next operation in its own words.
        }
        throw e;
      }
      delivery.done();
    }
    return { jws, from, to, signer: kid };
  }

  /**
   * Retention: moves the entries older than `before` to a new archive file at
   * `path` and trims them from the store. In this order, so that a crash at
   * any point leaves a store that verifies: (1) the file is written, fsynced
   * and put in place (an existing file is never replaced); (2) the
   * audit.archive record, naming the range, the last entry's MAC and the
   * file's SHA-256, is committed; (3) one transaction moves the cut (a
   * checkpoint of the last archived entry, db/checkpoint.ts) and deletes the
   * archived entries. A crash before (3) commits leaves every entry in place.
   */
  archive(before: string, path: string, stage?: (s: ArchiveStage) => void, maxEntries = MAX_ARCHIVE_ENTRIES): AuditArchiveResult {
    const cutoff = checkDate(before);
    this.session.flushPending();
    const store = this.session.store();
    const cut = store.audit.cut();
    const from = (cut?.seq ?? 0) + 1;
    const due = Math.min(store.audit.firstSeqSince(cutoff) - 1, store.audit.head().seq);
    const to = Math.min(due, from + maxEntries - 1);
    if (to < from) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `No entry of the log is older than ${cutoff}${cut ? ` (entries up to ${cut.seq} are archived already)` : ''}. Nothing was written or changed.`);
    const at = this.now().toISOString();
    const written = writeAuditArchive(store.audit, store.storeId, { from, to, prev: cut?.mac ?? Buffer.alloc(32) }, path, at);
    stage?.('written');
    const details = { from, to, entries: written.entries, mac: written.mac.toString('hex'), sha256: written.sha256, before: cutoff };
    store.transaction(() => store.audit.append({ at, action: 'audit.archive', outcome: 'ok', subject: null, details }));
    stage?.('recorded');
    store.transaction(() => {
      // Another process may have archived meanwhile: then this archive is not where the cut is.
      if ((store.audit.cut()?.seq ?? 0) !== from - 1) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Another process archived the log meanwhile; this archive file stands, but the log was not trimmed by it. Run audit archive again.');
      store.audit.trimThrough({ seq: to, mac: written.mac, at, archiveSha256: written.sha256 });
      stage?.('trimming');
    });
    // The WAL held the freed pages: give the space back now (a reader elsewhere may hold it; then SQLite does it later).
    try {
      store.checkpoint();
    } catch {
      // Busy: the next checkpoint truncates it.
    }
    return { file: path, from, to, entries: written.entries, sha256: written.sha256, more: to < due };
  }

  /**
   * Checks an archive file against this store: its entries and their MACs
   * (under the store's audit key), that the chain records it (its SHA-256),
   * and whether the kept log starts where it ends. After a rekey the MACs
   * are under the old key: the file is then proved by its SHA-256 alone,
   * which the chain (re-MACed by the rekey) names.
   */
  verifyArchive(path: string): AuditArchiveVerification {
    this.session.flushPending();
    const store = this.session.store();
    const chain = store.audit.verify();
    const cut = store.audit.cut();
    const named = new Set<string>();
    if (chain.ok) {
      if (cut) named.add(cut.archiveSha256);
      for (const e of store.audit.list({ action: 'audit.archive', outcome: 'ok', limit: 1_000_000 })) named.add(String(e.details['sha256']));
    }
    let check = checkAuditArchive(path, store.audit, store.storeId, true);
    const recorded = named.has(check.sha256);
    // Byte for byte the file the chain names, whose MACs do not hold: MACed under an earlier key (a rekey since).
    if (!check.ok && recorded) check = checkAuditArchive(path, store.audit, store.storeId, false);
    const continuesInStore = check.ok && cut !== undefined && cut.seq === check.to && cut.mac.toString('hex') === check.mac;
    const problem = check.problem ?? (chain.ok ? undefined : `The store's own log does not verify (${chain.problem ?? 'see audit verify'}), so it cannot vouch for the archive.`);
    return { ok: check.ok && chain.ok, from: check.from, to: check.to, entries: check.entries, sha256: check.sha256, macsChecked: check.macsChecked, recorded, continuesInStore, ...(problem === undefined ? {} : { problem }) };
  }

  exchangePolicy(): ExchangePolicy {
    this.session.flushPending();
    return this.session.store().audit.exchangePolicy();
  }

  /** Sets what the log keeps of answered exchanges (audited); every batch after it, in any process, follows it. */
  setExchangePolicy(policy: ExchangePolicy): ExchangePolicy {
    if (!EXCHANGE_POLICIES.includes(policy)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The exchange policy is "full" or "summary".');
    this.session.flushPending();
    const store = this.session.store();
    store.transaction(() => {
      const previous = store.audit.exchangePolicy();
      store.audit.setExchangePolicy(policy);
      store.audit.append({ at: this.now().toISOString(), action: 'audit.policy', outcome: 'ok', subject: null, details: { exchanges: policy, previous } });
    });
    return policy;
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const limit = checkInteger(query.limit ?? 100, 'limit', 1, 10_000);
    if (query.outcome !== undefined && query.outcome !== 'ok' && query.outcome !== 'refused') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The outcome filter is "ok" or "refused".');
    if (query.beforeSeq !== undefined) checkInteger(query.beforeSeq, 'beforeSeq', 1, Number.MAX_SAFE_INTEGER);
    if (query.actor !== undefined && (typeof query.actor !== 'string' || query.actor === '' || query.actor.length > MAX_ACTOR_FILTER)) {
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The actor filter is the actor's name as listed (1 to ${MAX_ACTOR_FILTER} characters).`);
    }
    this.session.flushPending();
    return this.session.store().audit.list({ ...query, limit }) as AuditEntry[];
  }

  verify(): AuditVerification {
    this.session.flushPending();
    return this.session.store().audit.verify();
  }
}

/** An ISO 8601 date or time (UTC): what `--before` takes; returned as a full ISO timestamp. */
export function checkDate(value: string): string {
  const ok = typeof value === 'string' && /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z)?$/.test(value);
  const time = ok ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value) : Number.NaN;
  if (!Number.isFinite(time)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The date is YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.mmm]]Z (UTC).');
  return new Date(time).toISOString();
}
