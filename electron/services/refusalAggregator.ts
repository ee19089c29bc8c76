// Refused requests from one client, counted rather than recorded one by one
// once there are many: a client flooding the responder with refused requests
// would otherwise grow the audit log by a row each (14 MB in 15 s at 2,200/s).
//
// Per client (its network address) and per minute, the first
// INDIVIDUAL_PER_MINUTE refused exchanges are recorded as usual; the rest are
// counted, per code, and recorded as one aggregate row when the minute ends
// (or at the next flush: before a read, a lock, a stop). Requests refused at
// the HTTP door before they became exchanges (rate limit, Host, Origin, …) are
// only ever counted. Every refusal is in the log, one way or the other, and
// the chain stays whole: aggregates are ordinary rows of it.
//
// The budget is global as well (issue 19, item 9): refusals spread over many
// addresses (300 sources × 25 refusals made 6,000 rows) would escape a budget
// per address alone. All clients together get GLOBAL_INDIVIDUAL_PER_MINUTE
// rows of their own a minute, and MAX_CLIENT_AGGREGATES clients an aggregate
// of their own; the rest share one aggregate, "(other clients)". So one
// process writes at most 200 + 100 + 1 refusal rows a minute, however many
// addresses send them (and, for each read of the store within the minute,
// the aggregates counted so far, at most 101 more). Answers are not changed: a refusal past the budget is
// answered as before (a 429 there would keep a refused device from learning
// to fall back, and under --uniform-refusals would tell decoys from answers).
// Successful exchanges never count against it.

import type { AuditRecord } from '../../db/repositories/audit.js';

export const INDIVIDUAL_PER_MINUTE = 20;
/** Refusals recorded one by one in a minute, all clients together. */
export const GLOBAL_INDIVIDUAL_PER_MINUTE = 200;
/** Clients with an aggregate of their own in one minute, at most; the rest share one. */
export const MAX_CLIENT_AGGREGATES = 100;
const WINDOW_MS = 60_000;
export const OTHER_CLIENTS = '(other clients)';

interface Tally {
  individual: number;
  counted: number;
  readonly codes: Map<string, number>;
  /** The first and last counted refusal since the last aggregate. */
  from: string;
  to: string;
}

export class RefusalAggregator {
  private tallies = new Map<string, Tally>();
  /** Refusals recorded one by one in this minute, all clients together. */
  private individual = 0;
  private windowStart = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: (record: AuditRecord) => void, private readonly now: () => Date) {}

  /**
   * Whether to record this refusal by itself (true), or it was counted in its
   * client's aggregate (false). `individual: false` always counts it.
   */
  admit(client: string, code: string, individual = true): boolean {
    const now = this.now();
    if (now.getTime() - this.windowStart >= WINDOW_MS) {
      this.flush();
      this.tallies = new Map();
      this.individual = 0;
      this.windowStart = now.getTime();
    }
    // The shared bucket is no client: its members are held to the global budget only.
    const key = this.tallies.has(client) || this.tallies.size < MAX_CLIENT_AGGREGATES ? client : OTHER_CLIENTS;
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      tally = { individual: 0, counted: 0, codes: new Map(), from: now.toISOString(), to: now.toISOString() };
      this.tallies.set(key, tally);
    }
    if (individual && this.individual < GLOBAL_INDIVIDUAL_PER_MINUTE && (key === OTHER_CLIENTS || tally.individual < INDIVIDUAL_PER_MINUTE)) {
      tally.individual += 1;
      this.individual += 1;
      return true;
    }
    if (tally.counted === 0) tally.from = now.toISOString();
    tally.counted += 1;
    tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
    tally.to = now.toISOString();
    // The minute's aggregates are recorded when it ends, even if the client has gone quiet.
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flushSafely(), Math.max(0, this.windowStart + WINDOW_MS - now.getTime()));
      this.timer.unref();
    }
    return false;
  }

  private flushSafely(): void {
    try {
      this.flush();
    } catch {
      // Emitting only hands records to the exchange recorder, which keeps them if it cannot write.
    }
  }

  /**
   * Records the aggregates counted so far. The minute's budgets stand (a
   * flush comes with every read of the store, which must not hand a flood a
   * fresh budget); they start afresh when the minute ends.
   */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [client, t] of this.tallies) {
      if (t.counted === 0) continue;
      const codes = [...t.codes].map(([c, n]) => `${c}=${n}`).join(',');
      const { counted: count, from, to } = t;
      t.counted = 0;
      t.codes.clear();
      this.emit({ at: to, action: 'exchange', outcome: 'refused', subject: null, details: { mechanism: null, profile: null, code: 'AGGREGATE', reason: null, client, count, codes, from, to } });
    }
  }
}
