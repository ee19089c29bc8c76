// Migration 007 (issue 19, item 12): signing keys pinned before it keep both
// roles they were accepted for; encryption keys get none; a revocation list
// source records its signer and its newest list's digest, one source per signer.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { migration007 } from '../../db/migrations/007_signer_bindings.js';

const before007 = MIGRATIONS.filter((m) => m.version < 7);

describe('migration 007', () => {
  it('gives keys pinned before it the roles they had, and binds each signer to one source', () => {
    const db = new Database(':memory:');
    migrate(db, before007);
    const add = db.prepare(`INSERT INTO recipients (kid, label, use, thumbprint, public_jwk, added_at) VALUES (?, NULL, ?, ?, '{}', 'now')`);
    add.run('old-sig', 'sig', 'T1');
    add.run('old-enc', 'enc', 'T2');
    db.prepare(`INSERT INTO peer_lists (source, list_at, received_at, entries) VALUES ('P', '2026-01-01T00:00:00.000Z', 'now', 3)`).run();

    expect(migrate(db, [...before007, migration007])).toEqual([7]);
    expect(schemaVersion(db)).toBe(7);
    expect(db.prepare('SELECT kid, roles FROM recipients ORDER BY kid').all()).toEqual([{ kid: 'old-enc', roles: null }, { kid: 'old-sig', roles: 'revocations issuer-export' }]);
    expect(db.prepare('SELECT source, signer, digest, entries FROM peer_lists').all()).toEqual([{ source: 'P', signer: null, digest: null, entries: 3 }]);
    db.prepare(`UPDATE peer_lists SET signer = 'Q-key' WHERE source = 'P'`).run();
    const list = db.prepare(`INSERT INTO peer_lists (source, list_at, received_at, entries, signer) VALUES (?, 'at', 'now', 0, ?)`);
    expect(() => list.run('R', 'Q-key')).toThrow(/UNIQUE/);
    list.run('S', null);
    list.run('U', null);
    db.close();
  });

  it('binds each upgraded source to the one signer its signed imports in the audit log name, where that is unambiguous', () => {
    const db = new Database(':memory:');
    migrate(db, before007);
    const key = db.prepare(`INSERT INTO recipients (kid, label, use, thumbprint, public_jwk, added_at) VALUES (?, NULL, ?, ?, '{}', 'now')`);
    for (const [kid, use] of [['P', 'sig'], ['Q', 'sig'], ['R', 'sig'], ['E', 'enc']] as const) key.run(kid, use, `T-${kid}`);
    const source = db.prepare(`INSERT INTO peer_lists (source, list_at, received_at, entries) VALUES (?, 'at', 'now', 0)`);
    for (const s of ['p-store', 'two-signers', 'q-store', 'q-forged', 'gone-store', 'unsigned-store', 'enc-store']) source.run(s);
    let seq = 0;
    const audit = db.prepare(`INSERT INTO audit_log (seq, at, action, outcome, subject, details, mac) VALUES (?, 'at', ?, ?, NULL, ?, x'00')`);
    const imported = (details: Record<string, unknown>, action = 'revocation.import', outcome = 'ok') => audit.run(++seq, action, outcome, JSON.stringify(details));
    imported({ source: 'p-store', entries: 1, signer: 'P' });
    imported({ source: 'p-store', entries: 2, signer: 'P' });
    imported({ source: 'p-store', entries: 2, unsigned: true });
    // Two kids signed for it: nothing says which speaks for it.
    imported({ source: 'two-signers', signer: 'R' });
    imported({ source: 'two-signers', signer: 'removed-kid' });
    // Q signed for its own store and claimed another: Q is bound to neither.
    imported({ source: 'q-store', signer: 'Q' });
    imported({ source: 'q-forged', signer: 'Q' });
    imported({ source: 'gone-store', signer: 'removed-kid-2' });
    imported({ source: 'unsigned-store', unsigned: true });
    imported({ source: 'enc-store', signer: 'E' });
    imported({ source: 'unsigned-store', signer: 'R' }, 'revocation.export');
    imported({ source: 'unsigned-store', signer: 'R' }, 'revocation.import', 'refused');

    migrate(db, [...before007, migration007]);
    expect(Object.fromEntries((db.prepare('SELECT source, signer FROM peer_lists').all() as Array<{ source: string; signer: string | null }>).map((r) => [r.source, r.signer]))).toEqual({
      'p-store': 'T-P', 'two-signers': null, 'q-store': null, 'q-forged': null, 'gone-store': null, 'unsigned-store': null, 'enc-store': null,
    });
    expect(db.prepare('SELECT kid, list_source FROM recipients WHERE list_source IS NOT NULL').all()).toEqual([]);
    db.close();
  });

  it('runs in one transaction: a failure leaves the store at the version before', () => {
    const db = new Database(':memory:');
    migrate(db, before007);
    const version = schemaVersion(db);
    db.exec(`CREATE TABLE boom (x) ; CREATE UNIQUE INDEX peer_lists_signer ON boom(x)`);
    expect(() => migrate(db, [...before007, migration007])).toThrow(/peer_lists_signer/);
    expect(schemaVersion(db)).toBe(version);
    expect(db.prepare(`SELECT name FROM pragma_table_info('recipients') WHERE name = 'roles'`).all()).toEqual([]);
    db.close();
  });
});
