// Refusals aggregated globally as well as per client (issue 19, item 9):
// refusals spread over many addresses are held to one budget of individual
// rows a minute, and to a bounded number of aggregate rows.
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../db/repositories/audit.js';
import { GLOBAL_INDIVIDUAL_PER_MINUTE, INDIVIDUAL_PER_MINUTE, MAX_CLIENT_AGGREGATES, OTHER_CLIENTS, RefusalAggregator } from '../../electron/services/refusalAggregator.js';

const aggregators: RefusalAggregator[] = [];
afterEach(() => {
  for (const a of aggregators.splice(0)) a.flush();
});

function aggregator() {
  const rows: AuditRecord[] = [];
  const clock = { ms: Date.parse('2026-12-07T10:00:00.000Z') };
  const a = new RefusalAggregator((r) => rows.push(r), () => new Date(clock.ms));
  aggregators.push(a);
  return { a, rows, clock };
}

/** Every refusal is in the log once: as a row of its own, or in an aggregate's count. */
const accounted = (individual: number, rows: AuditRecord[]) => individual + rows.reduce((n, r) => n + Number(r.details['count']), 0);

describe('RefusalAggregator', () => {
  it('300 sources × 25 refusals in a minute: 200 rows of their own, at most 101 aggregates, every refusal counted', () => {
    const { a, rows } = aggregator();
    let individual = 0;
    for (let round = 0; round < 25; round++) {
      for (let source = 0; source < 300; source++) if (a.admit(`127.0.${source >> 8}.${source & 255}`, 'ENTITY_NOT_FOUND')) individual += 1;
    }
    a.flush();
    expect(individual).toBe(GLOBAL_INDIVIDUAL_PER_MINUTE);
    expect(rows.length).toBeLessThanOrEqual(MAX_CLIENT_AGGREGATES + 1);
    expect(rows.map((r) => r.details['client'])).toContain(OTHER_CLIENTS);
    expect(accounted(individual, rows)).toBe(300 * 25);
    expect(rows.every((r) => r.details['code'] === 'AGGREGATE' && /^ENTITY_NOT_FOUND=\d+$/.test(String(r.details['codes'])))).toBe(true);
  });

  it('still holds one client to its own budget', () => {
    const { a, rows } = aggregator();
    const admitted = Array.from({ length: 25 }, () => a.admit('10.0.0.1', 'ENTITY_REVOKED')).filter(Boolean).length;
    a.flush();
    expect(admitted).toBe(INDIVIDUAL_PER_MINUTE);
    expect(rows.map((r) => [r.details['client'], r.details['count']])).toEqual([['10.0.0.1', 25 - INDIVIDUAL_PER_MINUTE]]);
  });

  it('a flush (any read of the store) writes the aggregates but hands nobody a fresh budget; the next minute does', () => {
    const { a, rows, clock } = aggregator();
    for (let i = 0; i < GLOBAL_INDIVIDUAL_PER_MINUTE; i++) expect(a.admit(`10.1.${i >> 8}.${i & 255}`, 'ENTITY_NOT_FOUND')).toBe(true);
    a.flush();
    expect(rows).toEqual([]);
    expect(a.admit('10.2.0.1', 'ENTITY_NOT_FOUND')).toBe(false);
    a.flush();
    expect(a.admit('10.2.0.2', 'ENTITY_NOT_FOUND')).toBe(false);
    a.flush();
    expect(rows.map((r) => r.details['count'])).toEqual([1, 1]);
    clock.ms += 60_000;
    expect(a.admit('10.2.0.3', 'ENTITY_NOT_FOUND')).toBe(true);
  });
});
