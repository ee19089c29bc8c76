// The responder's traffic ring: per-second counts over a fixed window and a
// latency histogram whose p50 and p99 are read off its buckets.
import { describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS, MetricsRing, quantile, TRAFFIC_KINDS } from '../../electron/responderMetrics.js';

describe('the responder metrics ring', () => {
  it('counts answers and refusals per second, oldest first, and forgets what left the window', () => {
    let ms = 1_000_000_000;
    const ring = new MetricsRing(() => ms, 10);
    ring.record(true, 1);
    ring.record(false, 1);
    ms += 1000;
    ring.record(true, 3);
    ring.record(true, 3);
    let s = ring.snapshot();
    expect(s.perSecond).toHaveLength(10);
    expect(s.perSecond.slice(-2)).toEqual([{ ok: 1, refused: 1, msl: 0 }, { ok: 2, refused: 0, msl: 0 }]);
    expect(s.total).toBe(4);
    ms += 9000;
    s = ring.snapshot();
    expect(s.perSecond.slice(-10, -9)).toEqual([{ ok: 2, refused: 0, msl: 0 }]);
    expect(s.total).toBe(2);
    ms += 1000;
    expect(ring.snapshot().total).toBe(0);
    expect(ring.snapshot().p50Ms).toBeNull();
  });

  it('puts latencies in their buckets and reads p50 and p99 off them', () => {
    const ring = new MetricsRing(() => 5_000, 60);
    for (let i = 0; i < 98; i++) ring.record(true, 0.8);
    ring.record(true, 40);
    ring.record(true, 5000);
    const s = ring.snapshot();
    const bucket = (ms: number) => LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
    expect(s.histogram.counts[bucket(0.8)]).toBe(98);
    expect(s.histogram.counts[bucket(40)]).toBe(1);
    expect(s.histogram.counts[LATENCY_BOUNDS_MS.length]).toBe(1);
    expect(s.p50Ms).toBeGreaterThan(0.5);
    expect(s.p50Ms).toBeLessThanOrEqual(1);
    expect(s.p99Ms).toBeGreaterThan(20);
    expect(s.p99Ms).toBeLessThanOrEqual(50);
  });

  it('splits the requests by kind: ladder exchanges and MSL messages with key exchange, data, handshake, refused', () => {
    let ms = 2_000_000_000;
    const ring = new MetricsRing(() => ms, 10);
    ring.record(true, 1);
    ring.record(false, 1, 'ladder');
    ring.record(true, 1, 'mslKeyExchange');
    ring.record(true, 1, 'mslData');
    ring.record(true, 1, 'mslData');
    ring.record(true, 1, 'mslHandshake');
    ring.record(false, 1, 'mslRefused');
    expect(TRAFFIC_KINDS).toEqual(['ladder', 'mslKeyExchange', 'mslData', 'mslHandshake', 'mslRefused']);
    let s = ring.snapshot();
    expect(s.kinds).toEqual({ ladder: 2, mslKeyExchange: 1, mslData: 2, mslHandshake: 1, mslRefused: 1 });
    expect(s.perSecond.at(-1)).toEqual({ ok: 5, refused: 2, msl: 5 });
    expect(s.total).toBe(7);
    // A slot reused for a later second starts its kinds from zero.
    ms += 10_000;
    ring.record(true, 1, 'mslData');
    s = ring.snapshot();
    expect(s.kinds).toEqual({ ladder: 0, mslKeyExchange: 0, mslData: 1, mslHandshake: 0, mslRefused: 0 });
    expect(s.perSecond.at(-1)).toEqual({ ok: 1, refused: 0, msl: 1 });
  });

  it('interpolates a quantile inside its bucket', () => {
    const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    counts[3] = 10; // (1, 2] ms
    expect(quantile(counts, 0.5)).toBeCloseTo(1.5);
    expect(quantile(counts.map(() => 0), 0.5)).toBeNull();
  });
});
