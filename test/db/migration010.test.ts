// Migration 010 (issue 22): deleted devices' tombstones and the tags of their
// wrapdata. An upgraded store starts with none; one tombstone per identity,
// one row per tag, and a tag is 16 bytes as wrapdata_issued keeps it.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { migration010 } from '../../db/migrations/010_device_tombstones.js';

const before010 = MIGRATIONS.filter((m) => m.version < 10);

function upgraded(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, before010);
  expect(migrate(db, [...before010, migration010])).toEqual([10]);
  return db;
}

describe('migration 010', () => {
  it('adds the tombstone tables to an existing store, empty, leaving its devices as they were', () => {
    const db = new Database(':memory:');
    migrate(db, before010);
    db.prepare(`INSERT INTO devices (identity, status, origin, kpw, kcv_kpw, created_at) VALUES ('ESN-1', 'active', 'generated', x'00', 'AAAAAA', 'now')`).run();
    migrate(db, [...before010, migration010]);
    expect(schemaVersion(db)).toBe(10);
    expect(db.prepare('SELECT count(*) FROM deleted_devices').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM deleted_wrapdata').pluck().get()).toBe(0);
    expect(db.prepare('SELECT identity FROM devices').pluck().all()).toEqual(['ESN-1']);
    db.close();
  });

  it('keeps one tombstone per identity and 16-byte tags, each once', () => {
    const db = upgraded();
    const bury = db.prepare(`INSERT INTO deleted_devices (identity, deleted_at, kcv_kpw) VALUES (?, 'now', 'AAAAAA')`);
    bury.run('ESN-1');
    expect(() => bury.run('ESN-1')).toThrow(/UNIQUE/);
    expect(() => db.prepare(`INSERT INTO deleted_devices (identity, deleted_at) VALUES ('ESN-2', 'now')`).run()).toThrow(/NOT NULL/);
    const tag = db.prepare('INSERT INTO deleted_wrapdata (tag, identity) VALUES (?, ?)');
    tag.run(Buffer.alloc(16, 1), 'ESN-1');
    expect(() => tag.run(Buffer.alloc(16, 1), 'ESN-2')).toThrow(/UNIQUE|PRIMARY/);
    expect(() => tag.run(Buffer.alloc(15, 2), 'ESN-1')).toThrow(/CHECK/);
    db.close();
  });
});
