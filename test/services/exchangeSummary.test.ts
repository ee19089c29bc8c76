// The 'summary' exchange policy (issue 19, item 8): answered exchanges are
// counted per device per hour and become one exchange.summary row each once
// the hour is past, so a flood writes a bounded number of rows; refusals stay
// one row each, and the device counters are right under either policy.
import type { Database } from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import { summarisable } from '../../db/repositories/audit.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const raw = (x: TestServices): Database => (x.services.store as unknown as { session: { store(): KeyStore } }).session.store().unsafeDatabase();
const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
const rowsOf = (x: TestServices, action: string, outcome = 'ok') => raw(x).prepare('SELECT count(*) FROM audit_log WHERE action = ? AND outcome = ?').pluck().get(action, outcome) as number;
const HOUR = 3_600_000;

async function flood(batch: boolean, policy: 'full' | 'summary', perDevice: number): Promise<TestServices> {
  const x = await openTestServices({ batch });
  x.clock.now = new Date('2026-12-07T09:10:00.000Z');
  const s = x.services;
  for (const id of ['ESN-A', 'ESN-B']) s.devices.provision({ identity: id, keys: { kind: 'generate' } });
  s.audit.setExchangePolicy(policy);
  for (let i = 0; i < perDevice; i++) {
    x.clock.now = new Date(x.clock.now.getTime() + 1000);
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    expect(s.exchanges.respond(psk('ESN-B')).ok).toBe(true);
  }
  for (let i = 0; i < 3; i++) expect(s.exchanges.respond(psk('ESN-UNKNOWN')).ok).toBe(false);
  return x;
}

describe('the summary exchange policy', () => {
  for (const batch of [true, false]) {
    it(`under a flood writes one row per device per hour, refusals each, and counters right (${batch ? 'batched, as serve' : 'unbatched'})`, async () => {
      t = await flood(batch, 'summary', 400);
      const s = t.services;
      expect(s.audit.exchangePolicy()).toBe('summary');
      const before = raw(t).prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
      // 800 answers, no row each; the hour's counts wait in exchange_counts.
      expect(rowsOf(t, 'exchange')).toBe(0);
      expect(rowsOf(t, 'exchange', 'refused')).toBe(3);
      expect(storeCounts(t)).toEqual([{ subject: 'ESN-A', count: 400 }, { subject: 'ESN-B', count: 400 }]);
      // Device counters are written as under 'full'.
      expect(s.devices.get('ESN-A')).toMatchObject({ exchangeCount: 400 });
      expect(s.devices.get('ESN-B')).toMatchObject({ exchangeCount: 400, lastExchangeAt: t.clock.now.toISOString() });
      // The hour ends: the next write (here a read's flush) closes it into one row per device.
      t.clock.now = new Date(t.clock.now.getTime() + HOUR);
      const summaries = s.audit.list({ action: 'exchange.summary' });
      expect(summaries.map((e) => [e.subject, e.details['count'], e.details['from'], e.details['to']]).sort()).toEqual([
        ['ESN-A', 400, '2026-12-07T09:00:00.000Z', '2026-12-07T10:00:00.000Z'],
        ['ESN-B', 400, '2026-12-07T09:00:00.000Z', '2026-12-07T10:00:00.000Z'],
      ]);
      expect(storeCounts(t)).toEqual([]);
      expect(raw(t).prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(before + 2);
      expect(s.audit.verify().ok).toBe(true);
      // A second look closes nothing twice.
      s.audit.list({});
      expect(s.audit.list({ action: 'exchange.summary' })).toHaveLength(2);
    });
  }

  it('is off by default (a row per answer), is audited when set, and survives a lock and a rekey with its open hour', async () => {
    t = await flood(false, 'full', 5);
    const s = t.services;
    expect(rowsOf(t, 'exchange')).toBe(10);
    expect(storeCounts(t)).toEqual([]);
    s.audit.setExchangePolicy('summary');
    expect(s.audit.list({ action: 'audit.policy' })[0]!.details).toEqual({ exchanges: 'summary', previous: 'full' });
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    expect(rowsOf(t, 'exchange')).toBe(10);
    await s.store.rekey(PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    expect(storeCounts(t)).toEqual([{ subject: 'ESN-A', count: 1 }]);
    expect(s.audit.exchangePolicy()).toBe('summary');
    expect(() => s.audit.setExchangePolicy('none' as 'full')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // Back to full: answers are rows again, and the open hour is still summarised when it ends.
    s.audit.setExchangePolicy('full');
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    expect(rowsOf(t, 'exchange')).toBe(11);
    t.clock.now = new Date(t.clock.now.getTime() + HOUR);
    expect(s.audit.list({ action: 'exchange.summary' }).map((e) => [e.subject, e.details['count']])).toEqual([['ESN-A', 1]]);
  });
});

describe('what the summary policy counts', () => {
  it('plain answered exchanges only: never refusals, test exchanges or possible clones', () => {
    const at = '2026-12-07T09:00:00.000Z';
    expect(summarisable({ at, action: 'exchange', outcome: 'ok', subject: 'D', details: { mechanism: 'PSK' } })).toBe(true);
    expect(summarisable({ at, action: 'exchange', outcome: 'ok', subject: 'D', details: { wrapdata: 'superseded', possibleClone: true } })).toBe(false);
    expect(summarisable({ at, action: 'exchange', outcome: 'refused', subject: 'D', details: { code: 'DEVICE_REVOKED' } })).toBe(false);
    expect(summarisable({ at, action: 'exchange.test', outcome: 'ok', subject: 'D', details: {} })).toBe(false);
    for (const wrapdata of ['migrated', 'retry', 'superseded']) expect(summarisable({ at, action: 'exchange', outcome: 'ok', subject: 'D', details: { mechanism: 'WRAP', wrapdata } })).toBe(false);
    expect(summarisable({ at, action: 'exchange', outcome: 'ok', subject: 'D', details: { mechanism: 'WRAP', wrapdata: 'latest' } })).toBe(true);
  });
});

function storeCounts(x: TestServices): Array<{ subject: string; count: number }> {
  return raw(x).prepare('SELECT subject, sum(count) AS count FROM exchange_counts GROUP BY subject ORDER BY subject').all() as Array<{ subject: string; count: number }>;
}
