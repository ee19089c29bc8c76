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

import type { AuditRecord } from '../../db/repositories/audit.js';

export const INDIVIDUAL_PER_MINUTE = 20;
const WINDOW_MS = 60_000;
/** Clients tracked in one minute, at most; the rest share one bucket. */
const MAX_CLIENTS = 10_000;
const OTHERS = '(other clients)';

interface Tally {
  individual: number;
  counted: number;
  readonly codes: Map<string, number>;
  readonly from: string;
  to: string;
}

export class RefusalAggregator {
  private tallies = new Map<string, Tally>();
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
      this.windowStart = now.getTime();
    }
    const key = this.tallies.has(client) || this.tallies.size < MAX_CLIENTS ? client : OTHERS;
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      tally = { individual: 0, counted: 0, codes: new Map(), from: now.toISOString(), to: now.toISOString() };
      this.tallies.set(key, tally);
    }
    if (individual && tally.individual < INDIVIDUAL_PER_MINUTE) {
      tally.individual += 1;
      return true;
    }
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

  /** Records the aggregates of the current minute, and starts afresh. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const tallies = this.tallies;
    this.tallies = new Map();
    for (const [client, t] of tallies) {
      if (t.counted === 0) continue;
      const codes = [...t.codes].map(([c, n]) => `${c}=${n}`).join(',');
      this.emit({ at: t.to, action: 'exchange', outcome: 'refused', subject: null, details: { mechanism: null, profile: null, code: 'AGGREGATE', reason: null, client, count: t.counted, codes, from: t.from, to: t.to } });
    }
  }
}
