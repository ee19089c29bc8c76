// The exchange recorder's batching: audit records in batches, counters
// coalesced per device and written a bounded number of devices at a time
// (so that one write never stalls the responder for long), oldest first,
// and everything on flush.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import type { ExchangeMark } from '../../db/repositories/devices.js';
import { ExchangeRecorder, type RecorderLimits } from '../../electron/services/exchangeRecorder.js';

interface Written {
  audit: number;
  marks: ExchangeMark[];
  generations: Map<number, number>;
  /** The MSL master-token serials inserted by this transaction. */
  serials?: number[];
}

/**
 * `busy()` says whether the next transaction fails, writing nothing: true as SQLite's SQLITE_BUSY
 * would (another writer), or the SQLite code to fail with (SQLITE_FULL: the log cannot be written).
 */
function fakeStore(writes: Written[], busy: () => boolean | string = () => false, subjects: string[] = []): () => KeyStore {
  let current: Written | undefined;
  const store = {
    transaction(fn: () => void) {
      const failure = busy();
      if (failure !== false) throw Object.assign(new Error('database is locked'), { code: failure === true ? 'SQLITE_BUSY' : failure });
      current = { audit: 0, marks: [], generations: new Map() };
      fn();
      writes.push(current);
    },
    audit: {
      append: (...records: { subject: string }[]) => { current!.audit += records.length; subjects.push(...records.map((r) => r.subject)); },
      // Device exchanges are no operator's action: the recorder writes them without an actor (migration 011).
      appendUnattributed: (records: readonly { subject: string }[]) => { current!.audit += records.length; subjects.push(...records.map((r) => r.subject)); },
      // The 'full' policy (test/services/exchangeSummary.test.ts covers 'summary' on a real store).
      exchangePolicy: () => 'full',
      hasClosableSummaries: () => false,
      closeSummaries: () => 0,
    },
    devices: { markExchanges: (marks: ExchangeMark[]) => { current!.marks.push(...marks); } },
    issuers: { addExchanges: (counts: Map<number, number>) => { for (const [g, n] of counts) current!.generations.set(g, n); } },
    wrapdata: { apply: () => undefined },
    mslTokens: {
      insert: (row: { serial: number }) => { (current!.serials ??= []).push(row.serial); return true; },
      pruneExpired: () => 0,
    },
  };
  return () => store as unknown as KeyStore;
}

const exchange = (device: number, at = `t${device}`) => ({
  audit: { at, action: 'exchange', outcome: 'ok' as const, subject: `D${device}`, details: {} },
  generation: 1,
  device: { id: device, at, mechanism: 'PSK' as const },
});

afterEach(() => vi.useRealTimers());

describe('ExchangeRecorder', () => {
  const limits: RecorderLimits = { auditBatch: 4, auditDelayMs: 20, statsDelayMs: 1000, statsBatch: 3 };

  it('writes counters at most statsBatch devices per transaction, oldest first, until all are written', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    const recorder = new ExchangeRecorder(fakeStore(writes), true, limits);
    vi.advanceTimersByTime(1000); // counters are due from the first write on
    for (const d of [1, 2, 3, 4, 5, 6, 7, 1]) recorder.record(exchange(d));
    // Two audit batches so far (4 + 4 records); each took at most 3 devices' counters, the oldest.
    expect(writes.map((w) => w.audit)).toEqual([4, 4]);
    expect(writes.map((w) => w.marks.map((m) => m.deviceId))).toEqual([[1, 2, 3], [4, 5, 6]]);
    // The rest follow by themselves, within the audit delay.
    vi.advanceTimersByTime(20);
    expect(writes[2]!.marks.map((m) => m.deviceId)).toEqual([7, 1]);
    expect(recorder.pending()).toEqual({ audit: 0, devices: 0 });
    // Device 1's second exchange came after its first was written: 1 + 1, never lost or doubled.
    const counts = new Map<number, number>();
    for (const w of writes) for (const m of w.marks) counts.set(m.deviceId, (counts.get(m.deviceId) ?? 0) + m.count);
    expect(counts).toEqual(new Map([[1, 2], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 1]]));
    const generation = writes.reduce((n, w) => n + (w.generations.get(1) ?? 0), 0);
    expect(generation).toBe(8);
  });

  it('writes an audit record within the audit delay even while the next write was due later, for counters', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    const recorder = new ExchangeRecorder(fakeStore(writes), true, { ...limits, auditBatch: 100 });
    recorder.record(exchange(1));
    vi.advanceTimersByTime(20);
    // Written; the device's counters now wait for their once-a-second write.
    expect(writes).toHaveLength(1);
    recorder.record(exchange(2));
    vi.advanceTimersByTime(20);
    expect(writes.map((w) => w.audit)).toEqual([1, 1]);
  });

  it("coalesces a device's exchanges within the second, and flush writes everything at once", () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    const recorder = new ExchangeRecorder(fakeStore(writes), true, { ...limits, auditBatch: 100 });
    for (let i = 0; i < 10; i++) recorder.record(exchange(i % 5, `t${i}`));
    vi.advanceTimersByTime(20);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ audit: 10, marks: [] }); // counters not due yet
    expect(recorder.pending()).toEqual({ audit: 0, devices: 5 });
    recorder.flush();
    expect(writes[1]!.marks).toHaveLength(5);
    expect(writes[1]!.marks.find((m) => m.deviceId === 0)).toMatchObject({ count: 2, at: 't5' });
    expect(recorder.pending()).toEqual({ audit: 0, devices: 0 });
  });

  it('keeps a batch whose write fails and writes it later, in order, nothing lost or doubled', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    const subjects: string[] = [];
    let locked = true;
    const recorder = new ExchangeRecorder(fakeStore(writes, () => locked, subjects), true, limits);
    vi.advanceTimersByTime(1000);
    // A full batch is due at the fourth record: the store is locked, and nothing throws at the caller.
    for (const d of [1, 2, 3, 4, 1]) expect(() => recorder.record(exchange(d))).not.toThrow();
    expect(writes).toHaveLength(0);
    expect(recorder.pending()).toEqual({ audit: 5, devices: 4 });
    vi.advanceTimersByTime(999);
    expect(writes).toHaveLength(0);
    locked = false;
    vi.advanceTimersByTime(1); // the retry
    recorder.flush();
    expect(subjects).toEqual(['D1', 'D2', 'D3', 'D4', 'D1']);
    const counts = new Map<number, number>();
    for (const w of writes) for (const m of w.marks) counts.set(m.deviceId, (counts.get(m.deviceId) ?? 0) + m.count);
    expect(counts).toEqual(new Map([[1, 2], [2, 1], [3, 1], [4, 1]]));
    expect(writes.reduce((n, w) => n + (w.generations.get(1) ?? 0), 0)).toBe(5);
    expect(recorder.pending()).toEqual({ audit: 0, devices: 0 });
  });

  it('when the log cannot be written, tries again once a second, not at every full batch', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    let attempts = 0;
    let full = true;
    const recorder = new ExchangeRecorder(fakeStore(writes, () => (attempts++, full ? 'SQLITE_FULL' : false)), true, limits);
    vi.advanceTimersByTime(1000);
    for (let i = 0; i < 4; i++) recorder.record(exchange(i % 7));
    expect(attempts).toBe(1);
    expect(recorder.unavailable()).toMatch(/cannot be written/);
    // Exchanges are refused meanwhile (the service asks unavailable()); records that still come
    // (refusals, counted) do not make it try at every batch.
    for (let i = 0; i < 36; i++) recorder.record(exchange(i % 7));
    expect(attempts).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(attempts).toBe(2);
    full = false;
    vi.advanceTimersByTime(1000);
    expect(writes.reduce((n, w) => n + w.audit, 0)).toBe(40);
    expect(recorder.unavailable()).toBeUndefined();
    // Written again, a full batch goes at once.
    for (let i = 0; i < 4; i++) recorder.record(exchange(i));
    expect(writes.at(-1)!.audit).toBe(4);
  });

  it('when another writer holds the lock, tries again within the audit delay and at each full batch, losing and reordering nothing', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    const subjects: string[] = [];
    let attempts = 0;
    let locked = true;
    const recorder = new ExchangeRecorder(fakeStore(writes, () => (attempts++, locked), subjects), true, limits);
    vi.advanceTimersByTime(1000);
    recorder.record(exchange(1));
    vi.advanceTimersByTime(20);
    expect(attempts).toBe(1);
    vi.advanceTimersByTime(20);
    expect(attempts).toBe(2);
    // A long hold: 20,000 records wait, and every full batch of 4 tries (each try fails at its
    // BEGIN; the waiting records are not moved, so a try costs the same at the end as at the start).
    for (let i = 0; i < 20_000; i++) recorder.record(exchange(i % 50, `u${i}`));
    expect(attempts).toBeGreaterThan(4_000);
    expect(recorder.unavailable()).toBeUndefined(); // another writer is no reason to refuse
    locked = false;
    vi.advanceTimersByTime(20);
    expect(writes.reduce((n, w) => n + w.audit, 0)).toBe(20_001);
    expect(subjects.slice(0, 3)).toEqual(['D1', 'D0', 'D1']);
    expect(subjects.at(-1)).toBe('D49');
  });

  it('writes an MSL first contact\'s serial in the batch that holds its audit record, once, after a failed try', () => {
    vi.useFakeTimers();
    const writes: Written[] = [];
    let locked = true;
    const recorder = new ExchangeRecorder(fakeStore(writes, () => locked), true, limits);
    const at = 't';
    recorder.record({ ...exchange(1), mslSerial: { serial: 77, identity: 'D1', at, expiresAt: at } });
    recorder.record(exchange(2));
    vi.advanceTimersByTime(20);
    expect(writes).toEqual([]);
    locked = false;
    vi.advanceTimersByTime(20);
    expect(writes.flatMap((w) => w.serials ?? [])).toEqual([77]);
    expect(writes.find((w) => w.serials)!.audit).toBe(2);
    recorder.flush();
    expect(writes.flatMap((w) => w.serials ?? [])).toEqual([77]);
  });

  it('lets a flush that cannot write throw, and keeps the records for the next one', () => {
    const writes: Written[] = [];
    let locked = true;
    const recorder = new ExchangeRecorder(fakeStore(writes, () => locked), true, { ...limits, auditBatch: 100 });
    recorder.record(exchange(1));
    expect(() => recorder.flush()).toThrow(/locked/);
    expect(recorder.pending()).toEqual({ audit: 1, devices: 1 });
    locked = false;
    recorder.flush();
    expect(writes).toEqual([{ audit: 1, marks: [expect.objectContaining({ deviceId: 1, count: 1 })], generations: new Map([[1, 1]]) }]);
  });

  it('unbatched (a one-shot command), a failed write reaches the caller', () => {
    const recorder = new ExchangeRecorder(fakeStore([], () => true), false);
    expect(() => recorder.record(exchange(1))).toThrow(/locked/);
  });
});
