// Migration 009 (issue 21, item 5): the Overview's MSL counts and a device's
// MSL facts stay cheap on a store with millions of audit rows. The index of
// refused rows and the index of master tokens by identity exist after the
// upgrade, and each query the Overview and devices.get run reads an index:
// checked with SQLite's own query plans, and timed on a million rows.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { migration009 } from '../../db/migrations/009_audit_refusals_index.js';
import { LAST_MSL_MESSAGE_SQL, MSL_COUNT_SQL, MSL_REFUSALS_SQL } from '../../db/repositories/audit.js';
import { MSL_LATEST_TOKEN_SQL } from '../../db/repositories/mslTokens.js';

const before009 = MIGRATIONS.filter((m) => m.version < 9);
const plan = (db: Database.Database, sql: string, ...params: unknown[]) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');

function upgraded(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, before009);
  expect(migrate(db, [...before009, migration009])).toEqual([9]);
  return db;
}

describe('migration 009', () => {
  it('adds the refusals index and the master tokens\' identity index to a store at schema 8', () => {
    const db = upgraded();
    expect(schemaVersion(db)).toBe(9);
    const indexes = db.prepare(`SELECT name, tbl_name AS tbl FROM sqlite_master WHERE type = 'index' AND name IN ('audit_refused', 'msl_tokens_identity') ORDER BY name`).all();
    expect(indexes).toEqual([{ name: 'audit_refused', tbl: 'audit_log' }, { name: 'msl_tokens_identity', tbl: 'msl_tokens' }]);
    db.close();
  });

  it('lets each MSL query of the Overview and devices.get read an index, never scan a table', () => {
    const db = upgraded();
    db.exec('ANALYZE');
    expect(plan(db, MSL_COUNT_SQL, 1)).toMatch(/SEARCH audit_log USING COVERING INDEX audit_action \(action=\? AND seq>\?\)/);
    expect(plan(db, MSL_REFUSALS_SQL, 1)).toMatch(/SEARCH audit_log USING INDEX audit_refused \(action=\? AND seq>\?\)/);
    expect(plan(db, LAST_MSL_MESSAGE_SQL, 'ESN-1')).toMatch(/SEARCH audit_log USING INDEX audit_subject \(subject=\?\)/);
    expect(plan(db, MSL_LATEST_TOKEN_SQL, 'ESN-1')).toMatch(/SEARCH msl_tokens USING INDEX msl_tokens_identity \(identity=\?\)/);
    for (const sql of [MSL_COUNT_SQL, MSL_REFUSALS_SQL, LAST_MSL_MESSAGE_SQL, MSL_LATEST_TOKEN_SQL]) expect(plan(db, sql, 1)).not.toMatch(/SCAN/);
    db.close();
  });

  it('counts a day of MSL messages among a million audit rows in milliseconds', () => {
    const db = upgraded();
    const insert = db.prepare(`INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, ?, ?, ?, ?, ?, x'00')`);
    const ROWS = 1_000_000;
    db.transaction(() => {
      for (let seq = 1; seq <= ROWS; seq++) {
        const at = new Date(Date.UTC(2026, 11, 1) + seq * 500).toISOString();
        // One row in ten an MSL message, one MSL message in a hundred refused.
        if (seq % 10 === 0) {
          const refused = seq % 1000 === 0;
          insert.run(seq, at, 'msl', refused ? 'refused' : 'ok', `ESN-${seq % 5000}`, refused ? '{"code":"ENTITY_NOT_FOUND","internalCode":104005}' : '{"scheme":"PSK"}');
        } else insert.run(seq, at, 'exchange', 'ok', `ESN-${seq % 5000}`, '{"mechanism":"WRAP"}');
      }
    })();
    db.exec('ANALYZE');
    // The last day: from the seq 24 h before the last row (the repository finds it by binary search over seq).
    const from = ROWS - (24 * 3600 * 2) + 1;
    const started = performance.now();
    const messages = db.prepare(MSL_COUNT_SQL).pluck().get(from) as number;
    const refusals = db.prepare(MSL_REFUSALS_SQL).all(from);
    const last = db.prepare(LAST_MSL_MESSAGE_SQL).get('ESN-0');
    const ms = performance.now() - started;
    console.log(`msl overview counts over ${ROWS.toLocaleString('en-US')} audit rows (a day: ${messages} MSL messages): ${ms.toFixed(1)} ms`);
    expect(messages).toBe(17_280);
    expect(refusals).toEqual([{ code: 'ENTITY_NOT_FOUND', count: 173 }]);
    expect(last).toMatchObject({ outcome: 'refused', code: 'ENTITY_NOT_FOUND' });
    expect(ms).toBeLessThan(250);
    db.close();
  }, 60_000);
});
