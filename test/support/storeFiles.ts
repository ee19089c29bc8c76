// Looking at a store from outside: hashes of its files, its raw store key, and
// a dump of every table read through the recovery path (a second, read-only
// SQLCipher 4 connection opened with the raw key), so a test can show that a
// refused operation changed nothing.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { readKeyFile, unwrapStoreKey } from '../../db/keyfile.js';

export const DB = 'keyladder.db';
export const KEYFILE = 'keyladder.key.json';
export const PAGE_SIZE = 4096;

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** sha256 of every file under `dir` (recursively), by relative path. */
export function hashFiles(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, hashFiles(path, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = sha256(readFileSync(path));
  }
  return out;
}

/** The hashes of the two files that are the store: the database and the key file. */
export function storeHashes(dir: string): { db: string | undefined; key: string | undefined } {
  const h = hashFiles(dir);
  return { db: h[DB], key: h[KEYFILE] };
}

/**
 * Files that appeared or changed between two hashFiles() results, leaving out
 * SQLite's own empty housekeeping files (a read-only open of a WAL database
 * creates an empty -wal and an -shm beside it).
 */
export function changedFiles(before: Record<string, string>, after: Record<string, string>, dir: string): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => {
    if (before[n] === after[n]) return false;
    if (before[n] === undefined && n.endsWith('-shm')) return false;
    if (before[n] === undefined && n.endsWith('-wal') && statSync(join(dir, n)).size === 0) return false;
    return true;
  }).sort();
}

export async function storeKeyOf(dir: string, passphrase: string): Promise<Buffer> {
  return unwrapStoreKey(readKeyFile(join(dir, KEYFILE)), passphrase);
}

/** The recovery path of the README: any SQLCipher 4 reader, given the raw store key. */
export function openRaw(dbPath: string, storeKey: Uint8Array, options: { readonly?: boolean } = {}): Database.Database {
  const db = new Database(dbPath, { readonly: options.readonly ?? true, fileMustExist: true });
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  db.pragma(`key = "x'${Buffer.from(storeKey).toString('hex')}'"`);
  return db;
}

export type Row = Record<string, unknown>;
export type Dump = Record<string, Row[]>;

/** Every row of every table, BLOBs as hex, in rowid order (a WITHOUT ROWID table: by its first column, the key). */
export function dumpTables(db: Database.Database): Dump {
  const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string; sql: string }>;
  const dump: Dump = {};
  for (const { name: t, sql } of tables) {
    const rows = db.prepare(`SELECT * FROM "${t}" ORDER BY ${/WITHOUT ROWID/i.test(sql) ? '1' : 'rowid'}`).all() as Row[];
    dump[t] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : v])));
  }
  return dump;
}

/** A dump of the committed state of the store in `dir`, readable while the store is open elsewhere. */
export async function dumpStore(dir: string, passphrase: string): Promise<Dump> {
  const key = await storeKeyOf(dir, passphrase);
  const db = openRaw(join(dir, DB), key);
  try {
    return dumpTables(db);
  } finally {
    db.close();
    key.fill(0);
  }
}

/** The key tables of a dump (everything but the audit log and its head). */
export function keyTables(dump: Dump): Dump {
  return {
    devices: dump['devices'] ?? [],
    model_groups: dump['model_groups'] ?? [],
    issuer_generations: dump['issuer_generations'] ?? [],
  };
}

/** XORs one byte of a file in place. */
export function flipByte(path: string, offset: number, mask = 0x5a): void {
  const bytes = readFileSync(path);
  if (offset >= bytes.length) throw new Error(`offset ${offset} is past the end of ${path} (${bytes.length})`);
  bytes[offset] = bytes[offset]! ^ mask;
  writeFileSync(path, bytes);
}

/** The ways a key can be written down: hex in both cases, Base64 and Base64url. */
export function keyForms(key: Uint8Array): string[] {
  const b = Buffer.from(key);
  const hex = b.toString('hex');
  const b64 = b.toString('base64');
  return [hex, hex.toUpperCase(), b64, b64.replace(/=+$/, ''), b.toString('base64url')];
}

/** Which of the keys (by label) appear, in any of their forms, in `text`. */
export function keysIn(text: string, keys: ReadonlyMap<string, Uint8Array>): string[] {
  const found: string[] = [];
  for (const [label, key] of keys) if (keyForms(key).some((f) => text.includes(f))) found.push(label);
  return found;
}

/** Which of the keys (by label) appear as raw bytes in `bytes`. */
export function rawKeysIn(bytes: Uint8Array, keys: ReadonlyMap<string, Uint8Array>): string[] {
  const haystack = Buffer.from(bytes);
  const found: string[] = [];
  for (const [label, key] of keys) {
    if (haystack.includes(Buffer.from(key))) found.push(label);
    else if (keyForms(key).some((f) => haystack.includes(Buffer.from(f, 'latin1')))) found.push(label);
  }
  return found;
}
