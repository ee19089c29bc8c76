// The in-app responder's recent traffic, for the Responder screen's charts: a
// ring of one slot per second over the last minutes, each with its answered
// and refused counts and a latency histogram. Fixed size whatever the load:
// recording is two array writes, and a snapshot sums at most WINDOW slots.

/** Upper bounds of the latency buckets, in milliseconds (the last bucket is everything slower). */
export const LATENCY_BOUNDS_MS = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000] as const;
/** Seconds the ring keeps. */
export const METRICS_WINDOW_S = 300;

/**
 * What a request was: a /v1/keyx ladder exchange (answered or refused), or an
 * MSL message answered with a key exchange (first contact or renewal), with
 * data only (under the master token), as a handshake, or refused.
 */
export const TRAFFIC_KINDS = ['ladder', 'mslKeyExchange', 'mslData', 'mslHandshake', 'mslRefused'] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

export interface ResponderMetrics {
  /** The second the last slot stands for (epoch seconds), and how many seconds the series covers. */
  readonly now: number;
  readonly windowSeconds: number;
  /** Per second, oldest first: requests answered and refused (ladder and MSL), and how many of them were MSL messages. */
  readonly perSecond: ReadonlyArray<{ readonly ok: number; readonly refused: number; readonly msl: number }>;
  /** Requests over the window by kind. */
  readonly kinds: Readonly<Record<TrafficKind, number>>;
  /** Requests per latency bucket over the window; `bounds[i]` is bucket i's upper bound, the last bucket has none. */
  readonly histogram: { readonly bounds: readonly number[]; readonly counts: readonly number[] };
  /** Estimated from the histogram (interpolated inside a bucket); null without traffic. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly total: number;
}

interface Slot {
  second: number;
  ok: number;
  refused: number;
  readonly buckets: number[];
  readonly kinds: number[];
}

const bucketOf = (ms: number): number => {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return i < 0 ? LATENCY_BOUNDS_MS.length : i;
};

/** The q-quantile of a histogram, interpolated linearly inside its bucket (as Prometheus' histogram_quantile). */
export function quantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      // The open-ended last bucket has no upper bound to interpolate to: its lower bound is what we know.
      if (i >= LATENCY_BOUNDS_MS.length) return low;
      return low + (LATENCY_BOUNDS_MS[i]! - low) * ((rank - seen) / n);
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

export class MetricsRing {
  readonly #slots: Slot[];

  constructor(private readonly nowMs: () => number = () => Date.now(), private readonly window = METRICS_WINDOW_S) {
    this.#slots = Array.from({ length: window }, () => ({ second: -1, ok: 0, refused: 0, buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), kinds: new Array<number>(TRAFFIC_KINDS.length).fill(0) }));
  }

  #slot(second: number): Slot {
    const slot = this.#slots[second % this.window]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.ok = 0;
      slot.refused = 0;
      slot.buckets.fill(0);
      slot.kinds.fill(0);
    }
    return slot;
  }

  /** One request; without a kind it is a ladder exchange. */
  record(ok: boolean, latencyMs: number, kind: TrafficKind = 'ladder'): void {
    const slot = this.#slot(Math.floor(this.nowMs() / 1000));
    if (ok) slot.ok += 1;
    else slot.refused += 1;
    slot.buckets[bucketOf(latencyMs)]! += 1;
    slot.kinds[TRAFFIC_KINDS.indexOf(kind)]! += 1;
  }

  snapshot(): ResponderMetrics {
    const now = Math.floor(this.nowMs() / 1000);
    const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    const kinds = new Array<number>(TRAFFIC_KINDS.length).fill(0);
    const perSecond: Array<{ ok: number; refused: number; msl: number }> = [];
    for (let second = now - this.window + 1; second <= now; second++) {
      const slot = this.#slots[((second % this.window) + this.window) % this.window]!;
      if (slot.second !== second) {
        perSecond.push({ ok: 0, refused: 0, msl: 0 });
        continue;
      }
      perSecond.push({ ok: slot.ok, refused: slot.refused, msl: slot.ok + slot.refused - slot.kinds[0]! });
      slot.buckets.forEach((n, i) => (counts[i]! += n));
      slot.kinds.forEach((n, i) => (kinds[i]! += n));
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const byKind = Object.fromEntries(TRAFFIC_KINDS.map((k, i) => [k, kinds[i]!])) as Record<TrafficKind, number>;
    return { now, windowSeconds: this.window, perSecond, kinds: byKind, histogram: { bounds: [...LATENCY_BOUNDS_MS], counts }, p50Ms: quantile(counts, 0.5), p99Ms: quantile(counts, 0.99), total };
  }
}
