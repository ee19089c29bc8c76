// Exchange bookkeeping and audit records, written in batches.
//
// Every answer (and every refusal) appends an audit record and updates the
// device's bookkeeping and the issuing generation's count. Writing each in its
// own transaction would cost an fsync and a page encryption per exchange, so:
//   - audit records are buffered and appended in one transaction when 256
//     have gathered or 20 ms have passed;
//   - bookkeeping is coalesced per device (a count, and the latest exchange)
//     and written once a second, at most 256 devices per transaction: a lab
//     of 10,000 devices would otherwise stall the responder for one long
//     write each second. The rest follow with the next batches (every 20 ms
//     at the latest), oldest first.
// Everything pending is written before any read of devices, generations or
// the audit log, before the store locks, and when the server stops. A crash
// can lose at most the last 20 ms of audit records and the last second of
// counters (a power cut: the batches since the last checkpoint, as these
// commits are not fsynced); it never loses or tears a key change, which is
// written at once with a full fsync. A batch whose write fails is kept, in
// order, and tried again: within 20 ms when another writer held the lock, a
// second later when the log could not be written; until it is written, a
// crash would lose it too. When another process holds the write lock (a long `device
// import` on a live store), a batched write does not wait for it: it fails at
// once, so the responder's event loop never blocks on the lock, and exchanges
// go on being answered while their records wait (up to MAX_PENDING_AUDIT).
//
// Under the 'summary' exchange policy (audit policy --exchanges summary, read
// in each batch's transaction), a batch counts its plain answered exchanges
// into exchange_counts (per device per hour) instead of appending them; each
// hour, once past, is closed into one exchange.summary row per device by the
// next batch. Refusals and the device counters are written as under 'full'.

import type { ExchangeObserver } from './exchangeObserver.js';
import { isSqliteBusy } from '../../db/errors.js';
import { hourOf, summarisable, type AuditRecord } from '../../db/repositories/audit.js';
import type { ExchangeMark } from '../../db/repositories/devices.js';
import type { RegistryUpdate } from '../../db/repositories/wrapdata.js';
import type { KeyStore } from '../../db/store.js';
import type { Mechanism } from '../ladder/messages.js';
import { PendingRegistry } from './wrapdataRegistry.js';
import { SERIAL_RETENTION_MS } from '../../db/repositories/mslTokens.js';

export interface ExchangeRecord {
  readonly audit: AuditRecord;
  /** For answered exchanges of a provisioned device. */
  readonly device?: { readonly id: number; readonly at: string; readonly mechanism: Mechanism };
  /** For answered exchanges: the generation that issued the new wrapdata. */
  readonly generation?: number;
  /** For answered exchanges of a provisioned device: what the wrapdata registry learns. */
  readonly registry?: RegistryUpdate;
  /** For every answered exchange, test ones included: the generation the new wrapdata was issued under. */
  readonly issuedUnder?: number;
  /** An MSL first contact: the new master token's serial number, recorded at sequence 0 with this batch. */
  readonly mslSerial?: MslSerialRow;
}

export interface MslSerialRow {
  readonly serial: number;
  readonly identity: string;
  readonly at: string;
  readonly expiresAt: string;
}

export interface RecorderLimits {
  readonly auditBatch: number;
  readonly auditDelayMs: number;
  readonly statsDelayMs: number;
  /** Devices whose counters one transaction writes, at most (a flush writes them all). */
  readonly statsBatch: number;
}

const BATCHED: RecorderLimits = { auditBatch: 256, auditDelayMs: 20, statsDelayMs: 1000, statsBatch: 256 };
/** At most this many audit records wait in memory; beyond it, exchanges are refused. */
export const MAX_PENDING_AUDIT = 100_000;
/** After a failed write, the batch is tried again this much later. */
const RETRY_MS = 1000;
const IMMEDIATE: RecorderLimits = { auditBatch: 1, auditDelayMs: 0, statsDelayMs: 0, statsBatch: Number.POSITIVE_INFINITY };

export class ExchangeRecorder {
  private audit: AuditRecord[] = [];
  /** New master-token serials, written with the audit batch that records their first contact. */
  private serials: MslSerialRow[] = [];
  private marks = new Map<number, { at: string; mechanism: Mechanism; generation: number; count: number }>();
  private perGeneration = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  /** The last write failed; the next is its retry. */
  private retrying = false;
  private statsWrittenAt = Date.now();
  /** Counters were due and are still being written out, statsBatch devices at a time. */
  private draining = false;
  private readonly limits: RecorderLimits;
  /** Registry updates go with the audit batch; until written, lookups in this process see them here. */
  readonly registry = new PendingRegistry();
  /** Set when a write failed for a reason other than a busy lock; cleared by the next write that succeeds. */
  private failing: { readonly since: string; readonly error: string } | undefined;
  /** Exchanges refused while the log could not be written, per code, with the first and last time. */
  private refusedWhileUnavailable = new Map<string, { count: number; from: string; to: string }>();

  /** The hour whose past hours this process last closed into summary rows. */
  private closedHour = '';

  /** Told of every write (serve's metrics). */
  observer: ExchangeObserver | undefined;

  constructor(private readonly store: () => KeyStore, private readonly batched: boolean, limits?: RecorderLimits, private readonly now: () => Date = () => new Date()) {
    this.limits = limits ?? (batched ? BATCHED : IMMEDIATE);
  }

  /**
   * Why exchanges must be refused now, or undefined: a write failed and none
   * has succeeded since, or the buffer is full.
   */
  unavailable(): string | undefined {
    if (this.failing) return `The audit log cannot be written (${this.failing.error} since ${this.failing.since}); no exchange is answered until it can.`;
    if (this.audit.length >= MAX_PENDING_AUDIT) return `${this.audit.length} audit records wait to be written (the store's write lock is held elsewhere); no exchange is answered until they are.`;
    return undefined;
  }

  /** Counts an exchange refused because the log was unavailable: one aggregate record, not one each. */
  countRefusal(code: string, at: string): void {
    const seen = this.refusedWhileUnavailable.get(code);
    if (seen) {
      seen.count += 1;
      seen.to = at;
    } else this.refusedWhileUnavailable.set(code, { count: 1, from: at, to: at });
    if (this.timer === undefined) this.writeIn(RETRY_MS);
  }

  record(entry: ExchangeRecord): void {
    this.audit.push(entry.audit);
    if (entry.mslSerial) this.serials.push(entry.mslSerial);
    if (entry.registry) this.registry.add(entry.registry);
    if (entry.issuedUnder !== undefined) this.registry.noteIssued(entry.issuedUnder);
    if (entry.generation !== undefined) {
      this.perGeneration.set(entry.generation, (this.perGeneration.get(entry.generation) ?? 0) + 1);
      if (entry.device) {
        const previous = this.marks.get(entry.device.id);
        this.marks.set(entry.device.id, { at: entry.device.at, mechanism: entry.device.mechanism, generation: entry.generation, count: (previous?.count ?? 0) + 1 });
      }
    }
    // A full batch is written at once, unless the log cannot be written (a full disk): then its retry,
    // a second later, takes everything, and exchanges are refused meanwhile (unavailable()).
    if (this.audit.length >= this.limits.auditBatch && !this.retrying) this.write(false);
    // An audit record waits auditDelayMs at most, even when the next write was due later (counters, a retry).
    // (After a failed write, the retry keeps its pace.)
    else if (this.timer === undefined || (!this.retrying && this.timerDue > Date.now() + this.limits.auditDelayMs)) this.writeIn(this.limits.auditDelayMs);
  }

  /** Puts a failed write's counters back, merged with what came since. (Its audit records never left.) */
  private requeue(marks: ExchangeMark[], perGeneration: Map<number, number>): void {
    const later = this.marks;
    this.marks = new Map();
    for (const m of marks) this.marks.set(m.deviceId, { at: m.at, mechanism: m.mechanism, generation: m.generation, count: m.count });
    for (const [deviceId, m] of later) {
      const earlier = this.marks.get(deviceId);
      this.marks.set(deviceId, earlier ? { ...m, count: earlier.count + m.count } : m);
    }
    for (const [generation, n] of perGeneration) this.perGeneration.set(generation, (this.perGeneration.get(generation) ?? 0) + n);
    if (marks.length > 0) this.draining = true;
  }

  /** What is buffered: audit records, and devices whose counters wait. */
  pending(): { audit: number; devices: number } {
    return { audit: this.audit.length, devices: this.marks.size };
  }

  /** Writes everything pending now (before reads, before locking, at shutdown). */
  flush(): void {
    this.write(true);
  }

  private write(all: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Counters are due once a second; once due, they drain over as many writes as it takes.
    const statsDue = all || this.draining || Date.now() - this.statsWrittenAt >= this.limits.statsDelayMs;
    const nowIso = this.now().toISOString();
    // Past hours' counts are closed once per hour by each process (any flush closes them too).
    const closeHours = hourOf(nowIso) !== this.closedHour;
    if (this.audit.length === 0 && this.registry.size === 0 && this.refusedWhileUnavailable.size === 0 && !(statsDue && (this.perGeneration.size > 0 || this.marks.size > 0))) {
      // Nothing else to write: a transaction only when a past hour waits to be summarised (an indexed look).
      if (!closeHours) return;
      let closable: boolean;
      try {
        closable = this.store().audit.hasClosableSummaries(nowIso);
      } catch {
        return; // locked, or busy: a later write looks again
      }
      if (!closable) {
        this.closedHour = hourOf(nowIso);
        return;
      }
    }
    // The records stay where they are until their transaction commits: a write that fails (another
    // process holds the lock, for seconds maybe) then costs nothing but its failed BEGIN, however
    // many records wait. (Taking them out and putting them back copied them all at every attempt.)
    const audit = this.audit;
    const serials = this.serials;
    const aggregates = [...this.refusedWhileUnavailable].map(([code, r]): AuditRecord => ({
      at: r.to, action: 'exchange', outcome: 'refused', subject: null,
      details: { mechanism: null, profile: null, code, reason: 'AUDIT_UNAVAILABLE', count: r.count, from: r.from, to: r.to },
    }));
    const marks: ExchangeMark[] = [];
    let perGeneration = new Map<number, number>();
    if (statsDue) {
      const limit = all ? Number.POSITIVE_INFINITY : this.limits.statsBatch;
      // A Map iterates in insertion order: the devices waiting longest go first.
      for (const [deviceId, m] of this.marks) {
        if (marks.length >= limit) break;
        marks.push({ deviceId, ...m });
      }
      for (const m of marks) this.marks.delete(m.deviceId);
      perGeneration = this.perGeneration;
      this.perGeneration = new Map();
      this.draining = this.marks.size > 0;
      if (!this.draining) this.statsWrittenAt = Date.now();
    }
    const store = this.store();
    try {
      // Batched, the write never waits for another process's lock on the event loop: it fails
      // at once and is tried again (flushes, before a read or a lock, may wait).
      store.transaction(() => {
        if (store.audit.exchangePolicy() === 'summary') {
          store.audit.countExchanges(audit.filter(summarisable));
          store.audit.appendUnattributed([...audit.filter((r) => !summarisable(r)), ...aggregates]);
        } else store.audit.appendUnattributed(audit.length === 0 ? aggregates : aggregates.length === 0 ? audit : [...audit, ...aggregates]);
        if (closeHours) {
          store.audit.closeSummaries(nowIso);
          store.mslTokens.pruneExpired(new Date(Date.parse(nowIso) - SERIAL_RETENTION_MS).toISOString());
        }
        for (const row of serials) store.mslTokens.insert(row);
        store.wrapdata.apply(this.registry.taken(), this.registry.generationsIssued(), audit[0]?.at ?? new Date().toISOString());
        store.devices.markExchanges(marks);
        store.issuers.addExchanges(perGeneration);
      }, 'relaxed', this.batched && !all ? 'no-wait' : 'wait');
    } catch (error) {
      // Unbatched (a one-shot command): the caller learns it at once and does not answer, so
      // the record of what was not answered must not be kept.
      this.observer?.auditWrite?.(isBusy(error) ? 'busy' : 'failed', 0);
      if (!this.batched) {
        this.audit = [];
        this.serials = [];
        throw error;
      }
      // Nothing was written (one transaction): the records wait, in order, and the counters go
      // back, so that another process holding the write lock past the busy timeout (a large import
      // from the CLI) does not cost a responder its records.
      this.requeue(marks, perGeneration);
      if (isBusy(error)) {
        // Another writer (another `serve` worker, most often, between two of its own batches):
        // try again soon, and at the next full batch. A second's wait here would make the next
        // write a second's worth of records, and that write a stall of the responder's thread.
        if (this.timer === undefined) this.writeIn(this.limits.auditDelayMs);
      } else {
        // Anything else means the log cannot be written: exchanges are refused until it can,
        // and it is tried again once a second.
        this.failing ??= { since: new Date().toISOString(), error: sqliteCode(error) };
        this.retrying = true;
        if (this.timer === undefined) this.writeIn(RETRY_MS);
      }
      // Flushes (before a read, a lock, a stop) report it.
      if (all) throw error;
      return;
    }
    // Nothing can have been recorded during the transaction (it runs synchronously): all of it is written.
    this.observer?.auditWrite?.('ok', audit.length + aggregates.length);
    this.audit = [];
    this.serials = [];
    this.registry.written();
    this.retrying = false;
    this.failing = undefined;
    this.refusedWhileUnavailable.clear();
    if (closeHours) this.closedHour = hourOf(nowIso);
    // Counters still waiting: the next batch takes more of them (soon, if they are draining).
    if (this.marks.size > 0 && this.timer === undefined) this.writeIn(this.draining ? this.limits.auditDelayMs : this.limits.statsDelayMs);
  }

  /** The next batched write, `ms` from now (unless one is due sooner); the timer must not keep a process alive on its own. */
  private writeIn(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = Date.now() + ms;
    this.timer = setTimeout(() => this.write(false), ms);
    this.timer.unref();
  }
}

const sqliteCode = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'an unexpected error';
};

const isBusy = isSqliteBusy;
