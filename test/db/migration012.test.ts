// Migration 012 (issue 22): the epoch of a deleted identity, which the
// master tokens issued to its device carry (electron/services/mslEntities.ts).
// Tombstones from before count as one delete each, so the tokens of a device
// deleted before the upgrade (which carry no epoch: 0) stay refused.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { TombstoneRepository } from '../../db/repositories/tombstones.js';

const before012 = MIGRATIONS.filter((m) => m.version < 12);
const upTo012 = MIGRATIONS.filter((m) => m.version <= 12);

const addDevice = (db: Database.Database, identity: string): void => {
  db.prepare(`INSERT INTO devices (identity, status, origin, kpw, kcv_kpw, created_at) VALUES (?, 'active', 'generated', x'00', 'AAAAAA', 'now')`).run(identity);
};

describe('migration 012', () => {
  it('gives each existing tombstone one delete, and refuses a count below one', () => {
    const db = new Database(':memory:');
    migrate(db, before012);
    db.prepare(`INSERT INTO deleted_devices (identity, deleted_at, kcv_kpw) VALUES ('ESN-1', 'then', 'AAAAAA')`).run();
    expect(migrate(db, upTo012)).toEqual([12]);
    expect(schemaVersion(db)).toBe(12);
    const tombstones = new TombstoneRepository(db);
    expect(tombstones.epochOf('ESN-1')).toBe(1);
    expect(tombstones.epochOf('ESN-2')).toBe(0);
    expect(() => db.prepare(`INSERT INTO deleted_devices (identity, deleted_at, kcv_kpw, deletions) VALUES ('ESN-3', 'now', 'AAAAAA', 0)`).run()).toThrow(/CHECK/);
    db.close();
  });

  it('counts each delete of an identity: every device that held it has its own epoch', () => {
    const db = new Database(':memory:');
    migrate(db, upTo012);
    const tombstones = new TombstoneRepository(db);
    for (const expected of [1, 2, 3]) {
      addDevice(db, 'ESN-1');
      db.transaction(() => tombstones.bury('ESN-1', `at ${expected}`))();
      expect(tombstones.epochOf('ESN-1')).toBe(expected);
    }
    expect(tombstones.get('ESN-1')).toMatchObject({ deleted_at: 'at 3' });
    db.close();
  });
});
