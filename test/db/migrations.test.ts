// Numbered migrations: each runs in one transaction with its user_version
// bump, so a failing one leaves the store at the version before it; a store
// from a newer KeyLadder is refused before anything is written.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS, migrate, refuseNewer, schemaVersion, type Migration } from '../../db/migrations/index.js';
import { migration001 } from '../../db/migrations/001_initial.js';
import { migration006 } from '../../db/migrations/006_audit_retention.js';

const memory = () => new Database(':memory:');
const tables = (db: Database.Database): string[] => db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];

describe('migrations', () => {
  it('are numbered 1, 2, … without gaps, and LATEST_VERSION is the last', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it('001 creates the schema, and a second run applies nothing', () => {
    const db = memory();
    expect(migrate(db, [migration001])).toEqual([1]);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(expect.arrayContaining(['audit_log', 'devices', 'issuer_generations', 'meta', 'model_groups']));
    expect(migrate(db, [migration001])).toEqual([]);
    // The schema keeps the invariants itself: one active generation, a destroyed one has no key.
    const insert = db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at) VALUES (?, ?, 'keyladder-v1', 'generated', ?, 'AAAAAA', 'now')`);
    insert.run(1, 'active', Buffer.alloc(45));
    expect(() => insert.run(2, 'active', Buffer.alloc(45))).toThrow(/UNIQUE/);
    expect(() => insert.run(3, 'destroyed', Buffer.alloc(45))).toThrow(/CHECK/);
    expect(() => insert.run(4, 'retired', null)).toThrow(/CHECK/);
    db.close();
  });

  it('run each in one transaction: a failing migration leaves user_version and the schema as they were', () => {
    const db = memory();
    migrate(db, [migration001]);
    const before = db.prepare('SELECT sql FROM sqlite_master ORDER BY name').pluck().all();
    const failing: Migration = {
      version: 2,
      name: 'fails half-way',
      up: (d) => {
        d.exec('CREATE TABLE half_done (x INTEGER)');
        d.exec(`INSERT INTO meta (key, value) VALUES ('half', 'done')`);
        d.exec('ALTER TABLE devices ADD COLUMN note TEXT');
        throw new Error('migration 2 failed');
      },
    };
    expect(() => migrate(db, [migration001, failing])).toThrow('migration 2 failed');
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare('SELECT sql FROM sqlite_master ORDER BY name').pluck().all()).toEqual(before);
    expect(db.prepare('SELECT count(*) FROM meta').pluck().get()).toBe(0);
    expect(db.inTransaction).toBe(false);
    db.close();
  });

  it('stop at the failing one: the ones before it stay applied', () => {
    const db = memory();
    const ok: Migration = { version: 2, name: 'adds a table', up: (d) => d.exec('CREATE TABLE two (x INTEGER)') };
    const bad: Migration = { version: 3, name: 'fails', up: (d) => { d.exec('CREATE TABLE three (x INTEGER)'); throw new Error('no'); } };
    expect(() => migrate(db, [migration001, ok, bad])).toThrow('no');
    expect(schemaVersion(db)).toBe(2);
    expect(tables(db)).toContain('two');
    expect(tables(db)).not.toContain('three');
    db.close();
  });

  it('refuse a store written by a newer KeyLadder, before running anything', () => {
    const db = memory();
    migrate(db, [migration001]);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    let ran = false;
    const next: Migration = { version: LATEST_VERSION + 2, name: 'must not run', up: () => { ran = true; } };
    expect(() => migrate(db, [...MIGRATIONS, next])).toThrow(expect.objectContaining({ code: 'STORE_TOO_NEW' }));
    expect(() => migrate(db)).toThrow(expect.objectContaining({ code: 'STORE_TOO_NEW' }));
    expect(ran).toBe(false);
    expect(schemaVersion(db)).toBe(LATEST_VERSION + 1);
    expect(() => refuseNewer(LATEST_VERSION)).not.toThrow();
    db.close();
  });

  it('006 adds the audit cut and the per-hour exchange counts, and lets a delete through only at or before the cut', () => {
    const db = memory();
    migrate(db, MIGRATIONS.filter((m) => m.version < 6));
    const insert = db.prepare(`INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, 'now', 'store.create', 'ok', NULL, '{}', zeroblob(32))`);
    for (let seq = 1; seq <= 5; seq++) insert.run(seq);
    expect(migrate(db, [migration006])).toEqual([6]);
    expect(tables(db)).toEqual(expect.arrayContaining(['audit_cut', 'exchange_counts']));
    // No cut: nothing may be deleted, as before.
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 1').run()).toThrow(/append-only/);
    db.prepare(`INSERT INTO audit_cut (id, seq, mac, at, archive_sha256, tag) VALUES (1, 3, zeroblob(32), 'now', '', '')`).run();
    expect(db.prepare('DELETE FROM audit_log WHERE seq <= 3').run().changes).toBe(3);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 4').run()).toThrow(/only archived entries may be trimmed/);
    expect(() => db.prepare('UPDATE audit_log SET at = 0 WHERE seq = 4').run()).toThrow(/append-only/);
    // One cut at most.
    expect(() => db.prepare(`INSERT INTO audit_cut (id, seq, mac, at, archive_sha256, tag) VALUES (2, 4, zeroblob(32), 'now', '', '')`).run()).toThrow(/CHECK/);
    db.close();
  });
});
