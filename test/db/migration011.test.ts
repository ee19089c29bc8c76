// Migration 011 (issue 22 item 3): the audit log records who acted (actor)
// and why (reason), both covered by the chain's MAC. Entries written before
// the migration are not rewritten and still verify; adding, removing or
// changing an actor or a reason, in a new entry or an old one, breaks the
// chain; audit archives and list carry the two.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { migration011 } from '../../db/migrations/011_audit_actor.js';
import { AuditRepository } from '../../db/repositories/audit.js';
import { checkAuditArchive, writeAuditArchive } from '../../db/auditArchive.js';
import { tempDir } from '../support/services.js';

const before011 = MIGRATIONS.filter((m) => m.version < 11);
const KEY = randomBytes(32);
const STORE_ID = 'store-011';
const dir = tempDir('keyladder-m011-');
afterAll(() => KEY.fill(0));

/**
 * The log as a KeyLadder before schema 11 wrote it: each entry MACed over
 * [seq, at, action, outcome, subject, details] after the previous MAC, the
 * head in meta (db/repositories/audit.ts before this change, written out here
 * because that code now writes the new columns).
 */
function oldStore(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, before011);
  expect(schemaVersion(db)).toBe(before011[before011.length - 1]!.version);
  let mac = Buffer.alloc(32);
  const rows = [
    { at: '2026-12-01T10:00:00.000Z', action: 'store.create', outcome: 'ok', subject: null, details: '{"schema":8}' },
    { at: '2026-12-01T10:00:01.000Z', action: 'device.provision', outcome: 'ok', subject: 'ESN-OLD', details: '{"kcv":"ABCDEF"}' },
    { at: '2026-12-01T10:00:02.000Z', action: 'exchange', outcome: 'ok', subject: 'ESN-OLD', details: '{"mechanism":"PSK"}' },
    { at: '2026-12-01T10:00:03.000Z', action: 'device.revoke', outcome: 'ok', subject: 'ESN-OLD', details: '{}' },
  ];
  rows.forEach((r, i) => {
    mac = createHmac('sha256', KEY).update(mac).update(JSON.stringify([i + 1, r.at, r.action, r.outcome, r.subject, r.details]), 'utf8').digest();
    db.prepare('INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, ?, ?, ?, ?, ?, ?)').run(i + 1, r.at, r.action, r.outcome, r.subject, r.details, mac);
  });
  db.prepare(`INSERT INTO meta (key, value) VALUES ('audit_head', ?)`).run(`${rows.length}:${mac.toString('hex')}`);
  return db;
}

/** An old store migrated to 11, with new entries by an actor, one with a reason, and a device's exchange. */
function migratedWithNewEntries(): { db: Database.Database; audit: AuditRepository } {
  const db = oldStore();
  expect(migrate(db, [...before011, migration011])).toEqual([11]);
  const audit = new AuditRepository(db, KEY, STORE_ID);
  expect(audit.verify()).toMatchObject({ ok: true, entries: 4 });
  audit.actor = 'alice@factory-host';
  audit.append({ at: '2026-12-07T10:00:00.000Z', action: 'device.provision', outcome: 'ok', subject: 'ESN-NEW', details: { kcv: '123456' } });
  audit.append({ at: '2026-12-07T10:00:01.000Z', action: 'device.revoke', outcome: 'ok', subject: 'ESN-NEW', details: {}, reason: 'returned from the field, board damaged' });
  audit.appendUnattributed([{ at: '2026-12-07T10:00:02.000Z', action: 'exchange', outcome: 'ok', subject: 'ESN-NEW', details: { mechanism: 'PSK' } }]);
  return { db, audit };
}

/** Lets a test edit rows as an attacker with the store key would (the trigger is no defence against one). */
const tamper = (db: Database.Database, sql: string, ...args: unknown[]) => {
  db.exec('DROP TRIGGER IF EXISTS audit_no_update');
  db.prepare(sql).run(...args);
};

describe('migration 011: actor and reason in the audit chain', () => {
  it('adds the columns to a store at the schema before, leaving the old entries as they were (no actor, no reason), and they still verify', () => {
    const db = oldStore();
    const macs = db.prepare('SELECT mac FROM audit_log ORDER BY seq').pluck().all();
    expect(migrate(db, [...before011, migration011])).toEqual([11]);
    expect(schemaVersion(db)).toBe(11);
    const columns = (db.prepare(`SELECT name FROM pragma_table_info('audit_log')`).pluck().all() as string[]);
    expect(columns).toEqual(expect.arrayContaining(['actor', 'reason']));
    expect(db.prepare('SELECT count(*) FROM audit_log WHERE actor IS NOT NULL OR reason IS NOT NULL').pluck().get()).toBe(0);
    expect(db.prepare('SELECT mac FROM audit_log ORDER BY seq').pluck().all()).toEqual(macs);
    expect(new AuditRepository(db, KEY, STORE_ID).verify()).toEqual({ ok: true, entries: 4 });
  });

  it('records the actor and the reason of new entries, none on a device exchange, and the whole chain (old and new) verifies', () => {
    const { db, audit } = migratedWithNewEntries();
    expect(audit.verify()).toEqual({ ok: true, entries: 7 });
    const rows = db.prepare('SELECT seq, action, actor, reason FROM audit_log ORDER BY seq').all();
    expect(rows).toEqual([
      { seq: 1, action: 'store.create', actor: null, reason: null },
      { seq: 2, action: 'device.provision', actor: null, reason: null },
      { seq: 3, action: 'exchange', actor: null, reason: null },
      { seq: 4, action: 'device.revoke', actor: null, reason: null },
      { seq: 5, action: 'device.provision', actor: 'alice@factory-host', reason: null },
      { seq: 6, action: 'device.revoke', actor: 'alice@factory-host', reason: 'returned from the field, board damaged' },
      { seq: 7, action: 'exchange', actor: null, reason: null },
    ]);
  });

  it.each([
    ['a new entry\'s actor changed', `UPDATE audit_log SET actor = 'mallory@elsewhere' WHERE seq = 5`, 5],
    ['a new entry\'s actor removed', `UPDATE audit_log SET actor = NULL WHERE seq = 5`, 5],
    ['a new entry\'s reason changed', `UPDATE audit_log SET reason = 'routine' WHERE seq = 6`, 6],
    ['a new entry\'s reason removed (actor kept)', `UPDATE audit_log SET reason = NULL WHERE seq = 6`, 6],
    ['an actor added to an entry written before the migration', `UPDATE audit_log SET actor = 'alice@factory-host' WHERE seq = 4`, 4],
    ['a reason added to an entry written before the migration', `UPDATE audit_log SET reason = 'x' WHERE seq = 2`, 2],
    ['an actor added to a device\'s exchange', `UPDATE audit_log SET actor = 'alice@factory-host' WHERE seq = 7`, 7],
    ['actor and reason swapped', `UPDATE audit_log SET actor = reason, reason = actor WHERE seq = 6`, 6],
  ])('detects %s', (_what, sql, at) => {
    const { db, audit } = migratedWithNewEntries();
    tamper(db, sql);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: at });
  });

  it('lists the actor and the reason, and filters by actor', () => {
    const { audit } = migratedWithNewEntries();
    const all = audit.list({ limit: 10 });
    expect(all.map((e) => e.actor)).toEqual([null, 'alice@factory-host', 'alice@factory-host', null, null, null, null]);
    expect(all.find((e) => e.seq === 6)).toMatchObject({ actor: 'alice@factory-host', reason: 'returned from the field, board damaged' });
    expect(audit.list({ actor: 'alice@factory-host', limit: 10 }).map((e) => e.seq)).toEqual([6, 5]);
    expect(audit.list({ actor: 'nobody@nowhere', limit: 10 })).toEqual([]);
  });

  it('archives old and new entries with their actors, the archive verifies, and an actor edited in the file is found', () => {
    const { audit } = migratedWithNewEntries();
    const path = join(dir, `archive-${Date.now()}.jsonl`);
    const written = writeAuditArchive(audit, STORE_ID, { from: 1, to: 7, prev: Buffer.alloc(32) }, path, '2026-12-07T11:00:00.000Z');
    expect(written.entries).toBe(7);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ version: 2 });
    expect(lines[6]).toMatchObject({ seq: 6, actor: 'alice@factory-host', reason: 'returned from the field, board damaged' });
    expect(lines[2]).not.toHaveProperty('actor');
    expect(checkAuditArchive(path, audit, STORE_ID, true)).toMatchObject({ ok: true, entries: 7 });
    const edited = join(dir, `edited-${Date.now()}.jsonl`);
    writeFileSync(edited, readFileSync(path, 'utf8').replace('"actor":"alice@factory-host","reason"', '"actor":"bob@factory-host","reason"'));
    expect(checkAuditArchive(edited, audit, STORE_ID, true)).toMatchObject({ ok: false, problem: expect.stringContaining('Entry 6 of the archive does not match') });
    const stripped = join(dir, `stripped-${Date.now()}.jsonl`);
    writeFileSync(stripped, readFileSync(path, 'utf8').replace(',"actor":"alice@factory-host","details"', ',"details"').replace('"actor":"alice@factory-host",', ''));
    expect(checkAuditArchive(stripped, audit, STORE_ID, true)).toMatchObject({ ok: false });
  });
});
