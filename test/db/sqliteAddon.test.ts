// What the store relies on from the SQLite addon (better-sqlite3-multiple-ciphers),
// checked on the addon itself so that an upgrade that changes one of them fails
// here, by name, rather than somewhere deep in a store test: the SQLCipher 4
// configuration and raw key of db/connection.ts (and a wrong key refused), the
// file unreadable without it, secure_delete, WAL, the online backup API, user
// functions, and which prebuilt binary is loaded.
import Database from 'better-sqlite3-multiple-ciphers';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/services.js';

const KEY = Buffer.alloc(32, 0x5a);
const OTHER = Buffer.alloc(32, 0xa5);

/** The same three pragmas as db/connection.ts's keyed(). */
function keyed(path: string, key: Buffer, options: Database.Options = {}): Database.Database {
  const db = new Database(path, options);
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  db.pragma(`key = "x'${key.toString('hex')}'"`);
  return db;
}

function newStore(): string {
  const path = join(tempDir('keyladder-addon-'), 'a.db');
  const db = keyed(path, KEY);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  db.prepare('INSERT INTO t (v) VALUES (?)').run('a secret row');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}

describe('the SQLite addon', () => {
  it('is the Node-API build from prebuilds/ for this platform (nothing compiled at install)', () => {
    const require = createRequire(import.meta.url);
    const root = join(require.resolve('better-sqlite3-multiple-ciphers'), '..', '..');
    const binding = require(join(root, 'lib', 'binding.js')) as { getPrebuildPath(): string | null };
    const prebuild = binding.getPrebuildPath();
    expect(prebuild).not.toBeNull();
    expect(relative(root, prebuild!).split(/[\\/]/)[0]).toBe('prebuilds');
    expect(existsSync(join(root, 'build'))).toBe(false);
    // A Node-API module registers through napi_register_module_v1, never a NODE_MODULE_VERSION symbol.
    const bytes = readFileSync(prebuild!).toString('latin1');
    expect(bytes).toContain('napi_register_module_v1');
    expect(bytes).not.toMatch(/node_register_module_v\d+/);
  });

  it('writes SQLCipher 4 pages under the raw key: no plaintext header, no plaintext row', () => {
    const bytes = readFileSync(newStore());
    expect(bytes.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    expect(bytes.includes(Buffer.from('a secret row'))).toBe(false);
  });

  it('reads back under the same key, and refuses another key with SQLITE_NOTADB', () => {
    const path = newStore();
    const db = keyed(path, KEY, { readonly: true });
    expect(db.prepare('SELECT v FROM t').pluck().get()).toBe('a secret row');
    expect(db.pragma('cipher_integrity_check')).toEqual([]);
    db.close();
    const wrong = keyed(path, OTHER, { readonly: true });
    expect(() => wrong.prepare('SELECT count(*) FROM sqlite_master').get()).toThrow(expect.objectContaining({ code: 'SQLITE_NOTADB' }));
    wrong.close();
  });

  it('keeps secure_delete and WAL as db/connection.ts sets them', () => {
    const db = keyed(newStore(), KEY);
    expect(db.pragma('secure_delete = ON', { simple: true })).toBe(1);
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses an online backup of the encrypted store into a plain file (db/ copies through ATTACH ... KEY instead)', async () => {
    const db = keyed(newStore(), KEY);
    const copy = join(tempDir('keyladder-addon-'), 'b.db');
    await expect(db.backup(copy)).rejects.toThrow(/incompatible source and target/);
    const written = existsSync(copy) ? readFileSync(copy) : Buffer.alloc(0);
    expect(written.includes(Buffer.from('a secret row'))).toBe(false);
    db.close();
  });

  it('runs user functions', () => {
    const db = keyed(newStore(), KEY);
    db.function('twice', { deterministic: true }, (x: unknown) => Number(x) * 2);
    expect(db.prepare('SELECT twice(21)').pluck().get()).toBe(42);
    db.close();
  });
});
