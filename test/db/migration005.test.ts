// Migration 005: the registry's lineages, the wrapdata devices migrated with
// from MSL's responder, and each Kissuer generation's first issue here. A
// store upgraded from schema 4 counts every generation that was ever active
// as having issued (it cannot know), so none of them opens to migration.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { WrapdataRepository } from '../../db/repositories/wrapdata.js';

const tag = (n: number) => Buffer.alloc(16, n);
const at = '2026-11-01T00:00:00.000Z';

/** A store at the current schema with one active generation (1) and one device (1). */
function oneDevice(): { db: Database.Database; repo: WrapdataRepository } {
  const db = new Database(':memory:');
  migrate(db);
  db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, activated_at) VALUES (1, 'active', 'msl', 'generated', x'00', 'AAAAAA', ?, ?)`).run(at, at);
  db.prepare(`INSERT INTO devices (id, identity, status, origin, kpw, kcv_kpw, created_at) VALUES (1, 'ESN-1', 'active', 'generated', x'00', 'AAAAAA', ?)`).run(at);
  return { db, repo: new WrapdataRepository(db) };
}

describe('migration 005', () => {
  it('upgrades a schema-4 store: old rows become roots, generations ever active count as issued, and the tables keep their invariants', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 4));
    const generation = db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, activated_at, grace_until)
      VALUES (?, ?, 'msl', ?, ?, 'AAAAAA', ?, ?, ?)`);
    generation.run(1, 'grace', 'imported-msl', Buffer.alloc(45), at, at, '2027-01-01T00:00:00.000Z'); // was active: may have issued
    generation.run(2, 'active', 'generated', Buffer.alloc(45), at, at, null);
    // Generation 3 was MSL's Kissuer, destroyed before the upgrade: its KCV lives on in its audit record only.
    db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, created_at, retired_at, destroyed_at) VALUES (3, 'destroyed', 'msl', 'imported-msl', ?, ?, ?)`).run(at, at, at);
    db.prepare(`INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (1, ?, 'issuer.destroy', 'ok', '3', '{"kcv":"C0FFEE"}', x'00')`).run(at);
    db.prepare(`INSERT INTO devices (id, identity, status, origin, kpw, kcv_kpw, created_at) VALUES (1, 'ESN-1', 'active', 'generated', x'00', 'AAAAAA', ?)`).run(at);
    db.prepare('INSERT INTO wrapdata_issued (tag, device_id, seq, presented, issued_at) VALUES (?, 1, 1, 1, ?), (?, 1, 2, 0, ?)').run(tag(1), at, tag(2), at);
    // ESN-1 climbed before the upgrade; ESN-2 only exchanged (its registry rows pruned or never kept); ESN-3 never did.
    db.prepare(`INSERT INTO devices (id, identity, status, origin, kpw, kcv_kpw, created_at) VALUES (2, 'ESN-2', 'active', 'generated', x'00', 'AAAAAA', ?), (3, 'ESN-3', 'active', 'generated', x'00', 'AAAAAA', ?)`).run(at, at);
    db.prepare(`INSERT INTO device_stats (device_id, exchange_count, last_mechanism, last_exchange_at) VALUES (1, 5, 'WRAP', ?), (2, 1, 'PSK', ?), (3, 0, NULL, NULL)`).run(at, at);

    expect(migrate(db, MIGRATIONS.slice(0, 5))).toEqual([5]);
    expect(schemaVersion(db)).toBe(5);
    const repo = new WrapdataRepository(db);
    expect(repo.historyOf(1).map((w) => w.parent)).toEqual([null, null]);
    // Its old rows are roots now, yet the device has climbed: it never counts as a newcomer to migrate.
    expect([1, 2, 3].map((d) => repo.climbedBeforeLineages(d))).toEqual([true, true, false]);
    expect(db.prepare('SELECT generation FROM issuer_first_issue ORDER BY generation').pluck().all()).toEqual([1, 2]);
    // The destroyed generation's KCV is kept where import-msl looks for known keys.
    expect(db.prepare('SELECT generation, kcv, former_kcv FROM issuer_generations ORDER BY generation').all()).toEqual([
      { generation: 1, kcv: 'AAAAAA', former_kcv: null },
      { generation: 2, kcv: 'AAAAAA', former_kcv: null },
      { generation: 3, kcv: null, former_kcv: 'C0FFEE' },
    ]);
    expect(repo.generationsOpenToMigration()).toEqual([]);
    expect(() => db.prepare('INSERT INTO wrapdata_issued (tag, device_id, seq, issued_at, parent) VALUES (?, 1, 3, ?, ?)').run(tag(3), at, Buffer.alloc(15))).toThrow(/CHECK/);
    // One migration per device.
    const migrated = db.prepare('INSERT INTO wrapdata_migrated (tag, device_id, generation, migrated_at) VALUES (?, 1, 1, ?)');
    migrated.run(tag(9), at);
    expect(() => migrated.run(tag(8), at)).toThrow(/UNIQUE/);
    expect(repo.ownerOf(tag(9))).toBe(1);
    db.close();
  });

  it('keeps roots and the lineage apart, three of each', () => {
    const { db, repo } = oneDevice();
    // A root, four WRAP answers climbing from it, then five roots (a stranger's PSK requests).
    const updates = [
      { deviceId: 1, at, generation: 1, issued: tag(1) },
      ...[2, 3, 4, 5].map((n) => ({ deviceId: 1, at, generation: 1, issued: tag(n), parent: tag(n - 1), presented: tag(n - 1) })),
      ...[11, 12, 13, 14, 15].map((n) => ({ deviceId: 1, at, generation: 1, issued: tag(n) })),
    ];
    db.transaction(() => repo.apply(updates, [1], at))();
    const history = repo.historyOf(1);
    expect(history.filter((w) => w.parent !== null).map((w) => w.tag[0])).toEqual([3, 4, 5]);
    expect(history.filter((w) => w.parent === null).map((w) => w.tag[0])).toEqual([13, 14, 15]);
    expect(db.prepare('SELECT generation FROM issuer_first_issue').pluck().all()).toEqual([1]);
    db.close();
  });

  it('prunes WRAP answers per lineage: one root climbing on never pushes another root\'s tip out; the last three lineages are kept (round 2)', () => {
    const { db, repo } = oneDevice();
    const chain = (root: number, from: number, to: number) => [
      { deviceId: 1, at, generation: 1, issued: tag(root) },
      ...Array.from({ length: to - from + 1 }, (_, i) => from + i).map((n) => ({ deviceId: 1, at, generation: 1, issued: tag(n), parent: tag(n === from ? root : n - 1), presented: tag(n === from ? root : n - 1) })),
    ];
    // The device climbs from root 1 (2, 3); a stranger climbs five rungs from its own root 10.
    db.transaction(() => repo.apply([...chain(1, 2, 3), ...chain(10, 11, 15)], [1], at))();
    const lineage = () => repo.historyOf(1).filter((w) => w.parent !== null).map((w) => w.tag[0]);
    expect(lineage()).toEqual([2, 3, 13, 14, 15]);
    expect(db.prepare('SELECT root FROM wrapdata_issued WHERE tag = ?').pluck().get(tag(15))).toEqual(tag(10));
    // Two more lineages: the one least recently climbed (the device's, here) goes; three are kept.
    db.transaction(() => repo.apply([...chain(20, 21, 21), ...chain(30, 31, 31)], [1], at))();
    expect(lineage()).toEqual([13, 14, 15, 21, 31]);
    db.close();
  });
});
