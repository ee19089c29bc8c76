// Migration 008 (issue 20): the MSL server's identity generations, master-token
// key generations and token serials. The schema itself keeps the invariants the
// services rely on: one active generation of each, no key left in a destroyed
// generation, one generation per key id and per key pair, serials and
// sequence numbers within MSL's 0..2^53.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../db/migrations/index.js';
import { migration008 } from '../../db/migrations/008_msl_server.js';

const before008 = MIGRATIONS.filter((m) => m.version < 8);
const tables = (db: Database.Database): string[] => db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];

function upgraded(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, before008);
  expect(migrate(db, [...before008, migration008])).toEqual([8]);
  return db;
}

describe('migration 008', () => {
  it('adds the MSL tables to a store at schema 7, leaving them empty (an upgraded store has no MSL identity until the operator makes one)', () => {
    const db = upgraded();
    expect(schemaVersion(db)).toBe(8);
    expect(tables(db)).toEqual(expect.arrayContaining(['msl_identities', 'msl_token_keys', 'msl_tokens']));
    for (const t of ['msl_identities', 'msl_token_keys', 'msl_tokens']) expect(db.prepare(`SELECT count(*) FROM ${t}`).pluck().get()).toBe(0);
    db.close();
  });

  it('keeps one active identity, one key pair and key id per generation, and no private key in a destroyed one', () => {
    const db = upgraded();
    const add = db.prepare(`INSERT INTO msl_identities (generation, name, key_id, status, origin, bits, thumbprint, public_key, private_key, created_at) VALUES (?, 'keyladder', ?, ?, 'generated', 2048, ?, x'30', ?, 'now')`);
    add.run(1, 'k1', 'active', 'T1', Buffer.from([1]));
    expect(() => add.run(2, 'k2', 'active', 'T2', Buffer.from([1]))).toThrow(/UNIQUE/);
    expect(() => add.run(2, 'k1', 'retiring', 'T2', Buffer.from([1]))).toThrow(/UNIQUE/);
    expect(() => add.run(2, 'k2', 'retiring', 'T1', Buffer.from([1]))).toThrow(/UNIQUE/);
    expect(() => add.run(2, 'k2', 'destroyed', 'T2', Buffer.from([1]))).toThrow(/CHECK/);
    expect(() => add.run(2, 'k2', 'retiring', 'T2', null)).toThrow(/CHECK/);
    expect(() => add.run(2, 'k2', 'pinned', 'T2', Buffer.from([1]))).toThrow(/CHECK/);
    add.run(2, 'k2', 'destroyed', 'T2', null);
    db.close();
  });

  it('keeps one active master-token key generation, both keys or neither, and a grace end exactly while in grace', () => {
    const db = upgraded();
    const add = db.prepare(`INSERT INTO msl_token_keys (generation, status, origin, encryption_key, hmac_key, kcv_enc, kcv_hmac, created_at, grace_until) VALUES (?, ?, 'generated', ?, ?, 'AAAAAA', 'BBBBBB', 'now', ?)`);
    const k = Buffer.from([1]);
    add.run(1, 'active', k, k, null);
    expect(() => add.run(2, 'active', k, k, null)).toThrow(/UNIQUE/);
    expect(() => add.run(2, 'grace', k, k, null)).toThrow(/CHECK/);
    expect(() => add.run(2, 'retired', k, k, 'later')).toThrow(/CHECK/);
    expect(() => add.run(2, 'retired', k, null, null)).toThrow(/CHECK/);
    expect(() => add.run(2, 'destroyed', k, k, null)).toThrow(/CHECK/);
    add.run(2, 'grace', k, k, 'later');
    add.run(3, 'destroyed', null, null, null);
    db.close();
  });

  it('keeps serials and sequence numbers within 0..2^53 and each serial once', () => {
    const db = upgraded();
    const add = db.prepare(`INSERT INTO msl_tokens (serial, identity, sequence, issued_at, expires_at) VALUES (?, 'client1', ?, 'now', 'later')`);
    add.run(2 ** 53, 2 ** 53);
    add.run(0, 0);
    expect(() => add.run(0, 1)).toThrow(/UNIQUE|PRIMARY/);
    expect(() => add.run(2 ** 53 + 2, 0)).toThrow(/CHECK/);
    expect(() => add.run(-1, 0)).toThrow(/CHECK/);
    expect(() => add.run(5, -1)).toThrow(/CHECK/);
    db.close();
  });

  it('runs in one transaction: a failure leaves the store at schema 7', () => {
    const db = new Database(':memory:');
    migrate(db, before008);
    db.exec('CREATE TABLE boom (x); CREATE INDEX msl_tokens_expires ON boom(x)');
    expect(() => migrate(db, [...before008, migration008])).toThrow(/msl_tokens_expires/);
    expect(schemaVersion(db)).toBe(7);
    expect(tables(db)).not.toContain('msl_identities');
    db.close();
  });
});
