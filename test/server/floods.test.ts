// Floods (issue 11, item 9): a per-client rate limit (429 with Retry-After),
// and refused requests past a threshold audited as one aggregate row per
// client per minute, so that a flood no longer grows the store by a row each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../electron/server/rateLimit.js';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { request as httpRequest } from 'node:http';
import { GLOBAL_INDIVIDUAL_PER_MINUTE, INDIVIDUAL_PER_MINUTE, MAX_CLIENT_AGGREGATES } from '../../electron/services/refusalAggregator.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { skipWithReason } from '../support/skips.js';

describe('RateLimiter', () => {
  it('lets a burst through, then one request per 1/rate seconds, each client on its own', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1]);
    expect(limiter.take('b')).toBe(0);
    now += 500; // one token back
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 1]);
    now += 10_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1]);
  });

  it('keeps at most 100,000 clients, dropping the least recently seen', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, () => 0);
    expect(limiter.take('first')).toBe(0);
    for (let i = 0; i < 100_000; i++) limiter.take(`spray-${i}`);
    expect(limiter.clients).toBe(100_000);
    // "first" was dropped, so it starts again with a full bucket.
    expect(limiter.take('first')).toBe(0);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError);
  });
});

describe('over HTTP', () => {
  let t: TestServices;
  beforeAll(async () => {
    t = await openTestServices({ batch: true });
  });
  afterAll(() => t.cleanup());

  /** The refusal budgets are a minute's: each test starts its own (the store's clock moves; reads do not reset them). */
  const nextMinute = () => {
    t.clock.now = new Date(t.clock.now.getTime() + 60_000);
  };
  const post = (url: string, body: string) => fetch(`${url}/v1/keyx`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers 429 RATE_LIMITED with Retry-After past the client\'s rate, before any exchange', async () => {
    const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, rateLimit: { perSecond: 0.001, burst: 5 } });
    const url = await server.listen();
    try {
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push(await post(url, '{}'));
      expect(statuses.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 429, 429, 429]);
      expect(Number(statuses[5]!.headers.get('retry-after'))).toBeGreaterThan(100);
      expect(((await statuses[5]!.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    } finally {
      await server.close();
    }
  });

  it(`a flood of refused requests: ${INDIVIDUAL_PER_MINUTE} rows, then one aggregate row for the client's minute, door refusals included`, async () => {
    const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, rateLimit: { perSecond: 0.001, burst: 300 } });
    const url = await server.listen();
    nextMinute();
    try {
      const before = t.services.audit.list({ action: 'exchange', limit: 1000 }).length;
      for (let i = 0; i < 320; i++) await post(url, '{"identity":');
      t.services.exchanges.flush();
      const rows = t.services.audit.list({ action: 'exchange', limit: 1000 }).slice(0, -before || undefined);
      const added = t.services.audit.list({ action: 'exchange', limit: 1000 }).length - before;
      expect(added).toBe(INDIVIDUAL_PER_MINUTE + 1);
      const aggregate = rows.find((r) => r.details['code'] === 'AGGREGATE')!;
      expect(aggregate.details).toMatchObject({ client: expect.stringMatching(/127\.0\.0\.1/), count: 320 - INDIVIDUAL_PER_MINUTE });
      // 300 reached the exchange service (280 counted as MSL_PARSE_ERROR); 20 were refused at the door.
      expect(aggregate.details['codes']).toBe(`MSL_PARSE_ERROR=${300 - INDIVIDUAL_PER_MINUTE},RATE_LIMITED=20`);
      expect(t.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
  });

  /** A POST from a given loopback address (Linux answers the whole of 127/8). */
  const postFrom = (url: string, localAddress: string, body: string) => new Promise<number>((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/v1/keyx', localAddress, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });

  it('refusals spread over 300 source addresses (25 each) are aggregated globally: bounded rows, every refusal counted, a real device still answered (issue 19, item 9)', async (ctx) => {
    t.services.devices.provision({ identity: 'ESN-FLOOD-REAL', keys: { kind: 'generate' } });
    const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0 });
    const url = await server.listen();
    // Linux answers the whole of 127/8; a system that binds only 127.0.0.1 cannot play 300 sources.
    if ((await postFrom(url, '127.0.1.1', '{}').catch(() => 0)) === 0) {
      await server.close();
      skipWithReason(ctx, 'this system answers only 127.0.0.1, not the whole of 127/8: 300 source addresses cannot be played');
    }
    const keyx = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    nextMinute();
    try {
      t.services.exchanges.flush();
      const before = t.services.audit.list({ action: 'exchange', limit: 10_000 }).length;
      const sources = Array.from({ length: 300 }, (_, i) => `127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`);
      const real: number[] = [];
      for (let round = 0; round < 25; round++) {
        // Ten at a time; a real device (its own address) exchanges once a round, in the thick of it.
        for (let i = 0; i < sources.length; i += 10) {
          const statuses = await Promise.all(sources.slice(i, i + 10).map((s) => postFrom(url, s, keyx(`ESN-NOBODY-${s}`))));
          expect(new Set(statuses)).toEqual(new Set([403]));
        }
        real.push(await postFrom(url, '127.0.9.9', keyx('ESN-FLOOD-REAL')));
      }
      expect(real).toEqual(Array(25).fill(200));
      t.services.exchanges.flush();
      const added = t.services.audit.list({ action: 'exchange', limit: 10_000 }).slice(0, -before || undefined);
      const refused = added.filter((r) => r.outcome === 'refused');
      const aggregates = refused.filter((r) => r.details['code'] === 'AGGREGATE');
      expect(added.filter((r) => r.outcome === 'ok')).toHaveLength(25);
      expect(refused.length - aggregates.length).toBe(GLOBAL_INDIVIDUAL_PER_MINUTE);
      expect(aggregates.length).toBeLessThanOrEqual(MAX_CLIENT_AGGREGATES + 1);
      expect(refused.length - aggregates.length + aggregates.reduce((n, r) => n + Number(r.details['count']), 0)).toBe(300 * 25);
      expect(t.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
  }, 120_000);
});
