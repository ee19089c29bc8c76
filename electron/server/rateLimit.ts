// A token bucket per client address: `perSecond` requests a second, bursts of
// up to `burst`. A client over its rate gets 429 with Retry-After, before any
// work is done for it. Buckets of clients gone quiet are dropped, and the map
// never holds more than MAX_CLIENTS (the oldest go first), so a spray of
// addresses cannot grow it without bound. Each `serve` worker keeps its own
// buckets: with N workers a client may reach N times the rate.

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 1000, burst: 2000 };
const MAX_CLIENTS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit, private readonly now: () => number = () => performance.now()) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new RangeError('A rate limit needs a positive rate and a burst of at least 1.');
  }

  /** 0 when the request may go ahead; else the seconds until it could (for Retry-After). */
  take(client: string): number {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.limit.burst, at: now };
    } else {
      this.buckets.delete(client); // re-inserted below: the Map stays in order of last use
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
      bucket.at = now;
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }

  get clients(): number {
    return this.buckets.size;
  }
}
