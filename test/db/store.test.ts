// The encrypted store itself: create, unlock, lock; what a wrong passphrase, a
// foreign, damaged, truncated or tampered file and a store from a newer
// KeyLadder each get (a clear code, and not one byte written); passphrase
// changes; backup and restore (and a restore interrupted half-way); verify();
// and the raw-key recovery path.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../../db/store.js';
import { StoreError } from '../../db/errors.js';
import { readKeyFile, unwrapStoreKey } from '../../db/keyfile.js';
import { LATEST_VERSION } from '../../db/migrations/index.js';
import { createServices } from '../../electron/services/index.js';
import { PASSPHRASE, TEST_KDF_LOG_N, openTestServices, tempDir } from '../support/services.js';
import { deriveVector, exchange1 } from '../support/vectors.js';
import {
  DB, KEYFILE, PAGE_SIZE, changedFiles, dumpStore, dumpTables, flipByte, hashFiles, keyTables, openRaw, rawKeysIn, storeHashes, storeKeyOf,
} from '../support/storeFiles.js';

const OTHER = 'another passphrase, also long';

const dirs: string[] = [];
const scratch = (): string => {
  const d = tempDir('keyladder-store-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Copies a locked store to a fresh folder. */
function copyStore(from: string): string {
  const to = scratch();
  cpSync(from, to, { recursive: true });
  return to;
}

const flip = (b: Buffer, i: number): void => {
  b[i] = b[i]! ^ 1;
};

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<Error> {
  let error: unknown;
  try {
    if (typeof promise === 'function') await promise();
    else await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
  expect((error as Error).message.length).toBeGreaterThan(10);
  return error as Error;
}

const v = deriveVector();
const kpwOnly = '00112233445566778899aabbccddeeff';
const kissuerHex = exchange1().inputs['msl_wrapping_key_hex (Kissuer)'];

/** The keys provisioned into the fixture, by name, for scanning the files. */
const KNOWN_KEYS = new Map<string, Uint8Array>([
  ['vector kpe', Buffer.from(v.kpe_hex, 'hex')],
  ['vector kph', Buffer.from(v.kph_hex, 'hex')],
  ['vector kpw', Buffer.from(v.kpw_hex, 'hex')],
  ['kpw-only', Buffer.from(kpwOnly, 'hex')],
  ['kde', Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex')],
  ['kdh', Buffer.from('b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf', 'hex')],
  ['kissuer (msl)', Buffer.from(kissuerHex, 'hex')],
]);

/** A locked store with devices (known and generated keys), a group and three Kissuer generations. */
let fixture: string;
let fixtureHashes: Record<string, string>;

beforeAll(async () => {
  const t = await openTestServices({ dir: scratch() });
  const s = t.services;
  s.groups.add('model-a', { kind: 'kde-kdh', kde: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', kdh: 'b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf' });
  s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex }, group: 'model-a' });
  s.devices.provision({ identity: 'ESN-KPW-ONLY', keys: { kind: 'kpw', kpw: kpwOnly } });
  const rows = ['identity,group'];
  for (let i = 0; i < 1500; i++) rows.push(`ESN-FIXTURE-${String(i).padStart(5, '0')},${i % 2 ? 'model-a' : ''}`);
  await s.devices.import(rows.join('\n'), 'csv');
  s.issuers.rotate(30);
  s.issuers.importMsl(kissuerHex);
  await s.exchanges.simulate(v.identity, { rungs: 3 });
  s.close();
  fixture = t.dir;
  fixtureHashes = hashFiles(fixture);
  expect(Object.keys(fixtureHashes).sort()).toEqual([DB, KEYFILE, 'keyladder.lock']);
});

describe('create, unlock, lock', () => {
  it('creates a store that unlocks with its passphrase and holds what was written', async () => {
    const dir = scratch();
    const created = await KeyStore.create(dir, PASSPHRASE, () => {}, { kdfLogN: TEST_KDF_LOG_N });
    expect(created.isOpen).toBe(true);
    created.lock();
    expect(KeyStore.exists(dir)).toBe(true);
    const key = readKeyFile(join(dir, KEYFILE));
    expect(key.kdf).toMatchObject({ name: 'scrypt', logN: TEST_KDF_LOG_N, r: 8, p: 1 });
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      expect(store.audit.list({ limit: 10 }).map((r) => r.action).reverse()).toEqual(['store.create', 'store.unlock']);
      expect(store.verify().audit.ok).toBe(true);
    } finally {
      store.lock();
    }
  });

  it('refuses a second create in the same folder, and a weak passphrase, without touching the store', async () => {
    const dir = copyStore(fixture);
    await expectCode(KeyStore.create(dir, PASSPHRASE, () => {}, { kdfLogN: TEST_KDF_LOG_N }), 'STORE_EXISTS');
    await expectCode(KeyStore.create(scratch(), 'short', () => {}, { kdfLogN: TEST_KDF_LOG_N }), 'WEAK_PASSPHRASE');
    expect(hashFiles(dir)).toEqual(fixtureHashes);
  });

  it('refuses scrypt parameters below OWASP unless tests say so explicitly', async () => {
    const saved = process.env['KEYLADDER_ALLOW_WEAK_KDF'];
    delete process.env['KEYLADDER_ALLOW_WEAK_KDF'];
    try {
      const dir = scratch();
      await expectCode(KeyStore.create(dir, PASSPHRASE, () => {}, { kdfLogN: 10 }), 'WEAK_KDF');
      expect(existsSync(join(dir, KEYFILE))).toBe(false);
      // A key file that names weak parameters is refused too (someone lowered N to make guessing cheap).
      await expectCode(KeyStore.unlock(copyStore(fixture), PASSPHRASE), 'KEYFILE_CORRUPT');
    } finally {
      process.env['KEYLADDER_ALLOW_WEAK_KDF'] = saved;
    }
  });

  it('lock forgets the keys: the record and audit keys are zeroed and every service call is STORE_LOCKED', async () => {
    const dir = copyStore(fixture);
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    const sealKey = (store.sealer as unknown as { key: Buffer }).key;
    const auditKey = (store as unknown as { auditKey: Buffer }).auditKey;
    expect(sealKey.equals(Buffer.alloc(32))).toBe(false);
    expect(auditKey.equals(Buffer.alloc(32))).toBe(false);
    store.lock();
    expect(store.isOpen).toBe(false);
    expect(sealKey.equals(Buffer.alloc(32))).toBe(true);
    expect(auditKey.equals(Buffer.alloc(32))).toBe(true);
    await expectCode(() => store.transaction(() => 1), 'STORE_LOCKED');
    await expectCode(() => store.verify(), 'STORE_LOCKED');
    await expectCode(() => store.unsafeDatabase(), 'STORE_LOCKED');
    await expectCode(() => store.backup(join(scratch(), 'b')), 'STORE_LOCKED');
    await expectCode(store.changePassphrase(PASSPHRASE, OTHER), 'STORE_LOCKED');
    store.lock(); // twice is harmless
  });

  it('every service refuses with STORE_LOCKED once the store is locked, and exchanges answer STORE_LOCKED', async () => {
    const dir = copyStore(fixture);
    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: true });
    await s.store.unlock(PASSPHRASE);
    const wrapReq = JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    const ok = s.exchanges.respond(wrapReq);
    expect(ok.ok).toBe(true);
    const bundle = await s.issuers.exportToPeer([3], { kind: 'passphrase', passphrase: OTHER });
    s.store.lock();
    expect(s.store.status()).toMatchObject({ exists: true, unlocked: false });
    const calls: Array<[string, () => unknown]> = [
      ['devices.provision', () => s.devices.provision({ identity: 'X1', keys: { kind: 'generate' } })],
      ['devices.import', () => s.devices.import('identity\nX2\n', 'csv')],
      ['devices.list', () => s.devices.list()],
      ['devices.get', () => s.devices.get(v.identity)],
      ['devices.revoke', () => s.devices.revoke(v.identity)],
      ['devices.exportBundle', () => s.devices.exportBundle([v.identity], { kind: 'passphrase', passphrase: OTHER })],
      ['groups.add', () => s.groups.add('g2', { kind: 'generate' })],
      ['groups.list', () => s.groups.list()],
      ['issuers.list', () => s.issuers.list()],
      ['issuers.rotate', () => s.issuers.rotate()],
      ['issuers.retire', () => s.issuers.retire(1)],
      ['issuers.destroy', () => s.issuers.destroy(1)],
      ['issuers.importMsl', () => s.issuers.importMsl(kpwOnly)],
      ['issuers.exportToPeer', () => s.issuers.exportToPeer([3], { kind: 'passphrase', passphrase: OTHER })],
      ['issuers.importFromPeer', () => s.issuers.importFromPeer(bundle, { kind: 'passphrase', passphrase: OTHER })],
      ['exchanges.simulate', () => s.exchanges.simulate(v.identity)],
      ['audit.list', () => s.audit.list()],
      ['audit.verify', () => s.audit.verify()],
      ['store.verify', () => s.store.verify()],
      ['store.backup', () => s.store.backup(join(scratch(), 'b'))],
      ['store.changePassphrase', () => s.store.changePassphrase(PASSPHRASE, OTHER)],
    ];
    for (const [name, call] of calls) {
      let code: string | undefined;
      try {
        await call();
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code, name).toBe('STORE_LOCKED');
    }
    const refused = s.exchanges.respond(wrapReq);
    expect(refused).toMatchObject({ ok: false, code: 'STORE_LOCKED' });
    const check = await s.exchanges.checkResponse(wrapReq, ok.json);
    expect(check.ok).toBe(false);
    expect(check.error?.code).toBe('STORE_LOCKED');
    // The exchange answered before the lock was flushed on the way out, not lost (the simulated rungs are tests, not counted).
    await s.store.unlock(PASSPHRASE);
    expect(s.devices.get(v.identity).exchangeCount).toBe(1);
    s.close();
  });
});

describe('a wrong passphrase', () => {
  it('is WRONG_PASSPHRASE, leaves the files byte-identical, and is entered into the audit log at the next good unlock', async () => {
    const dir = copyStore(fixture);
    for (const attempt of ['wrong passphrase number 1', 'wrong passphrase number 2']) {
      await expectCode(KeyStore.unlock(dir, attempt), 'WRONG_PASSPHRASE');
    }
    const after = hashFiles(dir);
    expect(storeHashes(dir)).toEqual({ db: fixtureHashes[DB], key: fixtureHashes[KEYFILE] });
    // Only the note of the failed attempts (times, nothing else) was added beside the store.
    expect(changedFiles(fixtureHashes, after, dir)).toEqual(['failed-unlocks.log']);
    expect(readFileSync(join(dir, 'failed-unlocks.log'), 'utf8')).toMatch(/^(\d{4}-\d\d-\d\dT[\d:.]+Z\n){2}$/);

    const store = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      const recent = store.audit.list({ limit: 3 }).reverse();
      expect(recent.map((r) => [r.action, r.outcome])).toEqual([['store.unlock-failed', 'refused'], ['store.unlock-failed', 'refused'], ['store.unlock', 'ok']]);
      expect(recent[0]!.details).toEqual({ reason: 'WRONG_PASSPHRASE' });
      expect(store.audit.verify().ok).toBe(true);
    } finally {
      store.lock();
    }
    expect(existsSync(join(dir, 'failed-unlocks.log'))).toBe(false);
  });

  it('is entered once when two processes unlock one after the other before the note is gone', async () => {
    const dir = copyStore(fixture);
    await expectCode(KeyStore.unlock(dir, 'wrong passphrase number 1'), 'WRONG_PASSPHRASE');
    const note = readFileSync(join(dir, 'failed-unlocks.log'), 'utf8');
    const first = await KeyStore.unlock(dir, PASSPHRASE);
    // What a second worker of `serve --workers N` sees if it unlocks between the first's commit
    // and its removal of the note: the note, still there.
    writeFileSync(join(dir, 'failed-unlocks.log'), note);
    const second = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      const actions = second.audit.list({ limit: 10 }).reverse().map((r) => r.action);
      expect(actions.filter((a) => a === 'store.unlock-failed')).toHaveLength(1);
      expect(actions.slice(-3)).toEqual(['store.unlock-failed', 'store.unlock', 'store.unlock']);
      expect(second.audit.verify().ok).toBe(true);
    } finally {
      second.lock();
      first.lock();
    }
  });
});

describe('a folder or file that is not a good store', () => {
  /** Unlocks and expects `code`, with the store's two files exactly as they were. */
  async function refused(dir: string, code: string, passphrase = PASSPHRASE): Promise<Error> {
    const before = hashFiles(dir);
    const error = await expectCode(KeyStore.unlock(dir, passphrase), code);
    expect(error).toBeInstanceOf(StoreError);
    // A wrong passphrase (or a key file that no passphrase opens) is noted beside the store, and only that.
    expect(changedFiles(before, hashFiles(dir), dir)).toEqual(code === 'WRONG_PASSPHRASE' ? ['failed-unlocks.log'] : []);
    expect(storeHashes(dir)).toEqual({ db: before[DB], key: before[KEYFILE] });
    return error;
  }

  it('an empty folder, a missing folder, and a folder of other files: STORE_NOT_FOUND', async () => {
    const empty = scratch();
    // The app shows this message too, so it names no command nor option of the CLI (the CLI adds those).
    expect((await refused(empty, 'STORE_NOT_FOUND')).message).toBe(`No KeyLadder store in ${empty}: create one there, or choose the folder that holds it.`);
    await expectCode(KeyStore.unlock(join(scratch(), 'nothing-here'), PASSPHRASE), 'STORE_NOT_FOUND');
    const other = scratch();
    writeFileSync(join(other, 'notes.txt'), 'hello');
    writeFileSync(join(other, DB), 'not a database');
    await refused(other, 'STORE_NOT_FOUND');
  });

  it('a key file that is garbage, foreign JSON, or damaged: NOT_A_STORE / KEYFILE_CORRUPT', async () => {
    const garbage = copyStore(fixture);
    writeFileSync(join(garbage, KEYFILE), Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x81]));
    await refused(garbage, 'NOT_A_STORE');

    const foreign = copyStore(fixture);
    writeFileSync(join(foreign, KEYFILE), JSON.stringify({ name: 'some other app', version: 3 }));
    await refused(foreign, 'NOT_A_STORE');

    const text = readFileSync(join(fixture, KEYFILE), 'utf8');
    const file = JSON.parse(text) as Record<string, Record<string, unknown>>;
    for (const damage of [
      (f: typeof file) => { f['wrappedStoreKey']!['iv'] = '!!not base64!!'; },
      (f: typeof file) => { delete f['kdf']; },
      (f: typeof file) => { f['kdf']!['logN'] = 3; },
      (f: typeof file) => { f['kdf']!['r'] = 1; },
      (f: typeof file) => { f['wrappedStoreKey']!['alg'] = 'none'; },
    ]) {
      const dir = copyStore(fixture);
      const copy = JSON.parse(text) as typeof file;
      damage(copy);
      writeFileSync(join(dir, KEYFILE), JSON.stringify(copy));
      await refused(dir, 'KEYFILE_CORRUPT');
    }

    const truncated = copyStore(fixture);
    writeFileSync(join(truncated, KEYFILE), text.slice(0, text.length / 2));
    await refused(truncated, 'NOT_A_STORE');

    const future = copyStore(fixture);
    writeFileSync(join(future, KEYFILE), JSON.stringify({ ...JSON.parse(text), version: 2 }));
    await refused(future, 'STORE_TOO_NEW');
  });

  it('a key file whose wrapped key, tag or KDF parameters were altered: refused as a wrong passphrase (nothing opens)', async () => {
    const text = readFileSync(join(fixture, KEYFILE), 'utf8');
    for (const field of ['ciphertext', 'tag', 'iv'] as const) {
      const dir = copyStore(fixture);
      const f = JSON.parse(text) as { wrappedStoreKey: Record<string, string> };
      const bytes = Buffer.from(f.wrappedStoreKey[field]!, 'base64');
      bytes[0] = bytes[0]! ^ 1;
      f.wrappedStoreKey[field] = bytes.toString('base64');
      writeFileSync(join(dir, KEYFILE), JSON.stringify(f));
      await refused(dir, 'WRONG_PASSPHRASE');
    }
    // Raising N is allowed by the parameters, but the wrap is bound to them.
    const dir = copyStore(fixture);
    const f = JSON.parse(text) as { kdf: { logN: number } };
    f.kdf.logN += 1;
    writeFileSync(join(dir, KEYFILE), JSON.stringify(f));
    await refused(dir, 'WRONG_PASSPHRASE');
  });

  it('a key file without its database is STORE_CORRUPT; a database without its key file is no store', async () => {
    const noDb = copyStore(fixture);
    rmSync(join(noDb, DB));
    await refused(noDb, 'STORE_CORRUPT');
    const noKey = copyStore(fixture);
    rmSync(join(noKey, KEYFILE));
    await refused(noKey, 'STORE_NOT_FOUND');
  });

  it('a database of random bytes, a plain SQLite file, or an empty one: STORE_CORRUPT', async () => {
    const size = statSync(join(fixture, DB)).size;
    const random = copyStore(fixture);
    writeFileSync(join(random, DB), Buffer.from(Array.from({ length: size }, () => Math.floor(Math.random() * 256))));
    await refused(random, 'STORE_CORRUPT');

    const plain = copyStore(fixture);
    rmSync(join(plain, DB));
    const { default: Database } = await import('better-sqlite3-multiple-ciphers');
    const p = new Database(join(plain, DB));
    p.exec('CREATE TABLE devices (identity TEXT); INSERT INTO devices VALUES (\'x\'); PRAGMA user_version = 1;');
    p.close();
    await refused(plain, 'STORE_CORRUPT');

    // An empty file would open as an empty database; it must not be taken for a new store.
    const empty = copyStore(fixture);
    truncateSync(join(empty, DB), 0);
    await refused(empty, 'STORE_CORRUPT');
  });

  it('the database of another store (another store key): STORE_CORRUPT, and the other store is untouched', async () => {
    const other = await openTestServices({ dir: scratch() });
    other.services.close();
    const dir = copyStore(fixture);
    cpSync(join(other.dir, DB), join(dir, DB));
    await refused(dir, 'STORE_CORRUPT');
    // And the other way round: our key file with the other database, under our passphrase.
    const swapped = copyStore(other.dir);
    cpSync(join(fixture, KEYFILE), join(swapped, KEYFILE));
    await refused(swapped, 'STORE_CORRUPT');
  });

  it('a truncated database: STORE_CORRUPT, byte-identical', async () => {
    const size = statSync(join(fixture, DB)).size;
    for (const length of [100, PAGE_SIZE, PAGE_SIZE + 1000, Math.floor(size / PAGE_SIZE / 2) * PAGE_SIZE, size - PAGE_SIZE, size - 1]) {
      const dir = copyStore(fixture);
      truncateSync(join(dir, DB), length);
      await refused(dir, 'STORE_CORRUPT');
    }
  });

  it('flipped bytes in any page (first, second, middle, last, several): STORE_CORRUPT before anything is written', async () => {
    const pages = statSync(join(fixture, DB)).size / PAGE_SIZE;
    expect(pages).toBeGreaterThan(50);
    const cases: number[][] = [[0], [1], [2], [3], [5], [Math.floor(pages / 3)], [Math.floor(pages / 2)], [pages - 2], [pages - 1], [4, Math.floor(pages / 2), pages - 1]];
    for (const offsetInPage of [20, 1000, PAGE_SIZE - 40]) {
      for (const list of cases) {
        const dir = copyStore(fixture);
        for (const p of list) flipByte(join(dir, DB), p * PAGE_SIZE + offsetInPage);
        await refused(dir, 'STORE_CORRUPT');
      }
    }
  });

  it('a store whose schema is newer than this KeyLadder: STORE_TOO_NEW and nothing written', async () => {
    const dir = copyStore(fixture);
    const key = await storeKeyOf(dir, PASSPHRASE);
    const db = openRaw(join(dir, DB), key, { readonly: false });
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    key.fill(0);
    const error = await refused(dir, 'STORE_TOO_NEW');
    expect(error.message).toMatch(/newer KeyLadder/);
  });
});

describe('changing the passphrase', () => {
  it('re-wraps the same store key: the old passphrase fails, the new one works, the database is not rewritten', async () => {
    const dir = copyStore(fixture);
    const keyBefore = await storeKeyOf(dir, PASSPHRASE);
    const fileBefore = readKeyFile(join(dir, KEYFILE));
    const dbBefore = readFileSync(join(dir, DB));

    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N });
    await s.store.unlock(PASSPHRASE);
    // A wrong current passphrase, and a weak new one, change nothing.
    await expectCode(s.store.changePassphrase('not the passphrase!', OTHER), 'WRONG_PASSPHRASE');
    await expectCode(s.store.changePassphrase(PASSPHRASE, 'short'), 'WEAK_PASSPHRASE');
    expect(storeHashes(dir).key).toBe(fixtureHashes[KEYFILE]);
    await s.store.changePassphrase(PASSPHRASE, OTHER);
    s.store.lock();

    await expectCode(KeyStore.unlock(dir, PASSPHRASE), 'WRONG_PASSPHRASE');
    const keyAfter = await storeKeyOf(dir, OTHER);
    expect(keyAfter.equals(keyBefore)).toBe(true);
    const fileAfter = readKeyFile(join(dir, KEYFILE));
    expect(fileAfter.storeId).toBe(fileBefore.storeId);
    expect(fileAfter.kdf.salt).not.toBe(fileBefore.kdf.salt);
    expect(fileAfter.wrappedStoreKey.ciphertext).not.toBe(fileBefore.wrappedStoreKey.ciphertext);

    // The database was not re-encrypted: the same raw key opens it, and only
    // the few pages the audit records touched differ.
    const dbAfter = readFileSync(join(dir, DB));
    const pages = dbBefore.length / PAGE_SIZE;
    let changed = 0;
    for (let p = 0; p < Math.min(pages, dbAfter.length / PAGE_SIZE); p++) {
      if (!dbBefore.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE).equals(dbAfter.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE))) changed++;
    }
    expect(changed).toBeLessThanOrEqual(12);
    expect(pages).toBeGreaterThan(100);
    const raw = openRaw(join(dir, DB), keyBefore);
    expect(raw.prepare('SELECT count(*) FROM devices').pluck().get()).toBe(1502);
    raw.close();

    const store = await KeyStore.unlock(dir, OTHER);
    try {
      const actions = store.audit.list({ limit: 4 }).map((r) => r.action);
      expect(actions).toContain('store.passphrase-change');
      expect(store.verify().ok).toBe(true);
    } finally {
      store.lock();
    }
  });

  it('removes the temporary key-file copy a crash in mid-change left behind, once the store unlocks', async () => {
    const dir = copyStore(fixture);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that is gone
    writeFileSync(join(dir, `${KEYFILE}.tmp-${dead}`), 'half a key file');
    writeFileSync(join(dir, `${KEYFILE}.tmp-${process.pid}`), 'ours, still being written');
    // Refused unlocks touch nothing.
    await expectCode(KeyStore.unlock(dir, 'not the passphrase'), 'WRONG_PASSPHRASE');
    expect(existsSync(join(dir, `${KEYFILE}.tmp-${dead}`))).toBe(true);
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    store.lock();
    expect(existsSync(join(dir, `${KEYFILE}.tmp-${dead}`))).toBe(false);
    expect(existsSync(join(dir, `${KEYFILE}.tmp-${process.pid}`))).toBe(true);
  });
});

describe('backup and restore', () => {
  it('round-trips: the restored store holds exactly what was backed up, and its audit chain continues', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    await s.store.unlock(PASSPHRASE);
    const progress: number[] = [];
    await s.store.backup(backupFile, (p) => progress.push(p.done));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    s.store.lock();
    const atBackup = await dumpStore(dir, PASSPHRASE);

    // Change the store after the backup, then restore.
    await s.store.unlock(PASSPHRASE);
    s.devices.provision({ identity: 'AFTER-BACKUP', keys: { kind: 'generate' } });
    s.devices.revoke(v.identity);
    s.issuers.rotate(1);
    s.store.lock();
    await s.store.restore(backupFile, PASSPHRASE);
    expect(s.store.status().unlocked).toBe(false);
    const restored = await dumpStore(dir, PASSPHRASE);
    expect(keyTables(restored)).toEqual(keyTables(atBackup));
    // The audit log at backup time (which ends with the backup's own record) is a prefix of the restored one.
    const before = atBackup['audit_log']!;
    expect(restored['audit_log']!.slice(0, before.length - 1)).toEqual(before.slice(0, before.length - 1));
    await s.store.unlock(PASSPHRASE);
    expect(() => s.devices.get('AFTER-BACKUP')).toThrow(expect.objectContaining({ code: 'DEVICE_NOT_FOUND' }));
    expect(s.devices.get(v.identity).status).toBe('active');
    expect(s.store.verify()).toMatchObject({ ok: true, audit: { ok: true } });
    expect(s.audit.list({ limit: 3 }).map((e) => e.action)).toContain('store.restore');
    s.close();
    expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
  });

  it('writes an encrypted file: no identity, no key, in any form, appears in its bytes', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    const storeKey = await storeKeyOf(dir, PASSPHRASE);
    store.backup(backupFile);
    store.lock();
    const bytes = readFileSync(backupFile);
    const text = bytes.toString('latin1');
    for (const identity of [v.identity, 'ESN-KPW-ONLY', 'ESN-FIXTURE-00042', 'model-a']) expect(text.includes(identity), identity).toBe(false);
    for (const action of ['device.provision', 'issuer.rotate', 'audit_log', 'CREATE TABLE']) expect(text.includes(action), action).toBe(false);
    expect(rawKeysIn(bytes, new Map([...KNOWN_KEYS, ['store key', storeKey]]))).toEqual([]);
  });

  it('refuses a tampered, truncated or foreign backup with BACKUP_INVALID and leaves the store as it was', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    store.backup(backupFile);
    store.lock();
    const good = readFileSync(backupFile);
    const storeBefore = hashFiles(dir);
    const variants: Array<[string, Buffer]> = [
      ['flipped byte in the database', (() => { const b = Buffer.from(good); flip(b, Math.floor(b.length / 2)); return b; })()],
      ['flipped byte in the key file part', (() => { const b = Buffer.from(good); flip(b, 40); return b; })()],
      ['flipped byte in the digest', (() => { const b = Buffer.from(good); flip(b, b.length - 1); return b; })()],
      ['truncated', good.subarray(0, good.length - 5000)],
      ['only the header', good.subarray(0, 30)],
      ['not a backup', Buffer.from('hello, I am a text file')],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [label, bytes] of variants) {
      const file = join(scratch(), 'tampered');
      writeFileSync(file, bytes);
      const e = await expectCode(KeyStore.restore(dir, file, PASSPHRASE), 'BACKUP_INVALID');
      expect(e.message, label).toMatch(/backup/i);
      expect(hashFiles(dir), label).toEqual(storeBefore);
    }
    await expectCode(KeyStore.restore(dir, join(scratch(), 'missing'), PASSPHRASE), 'BACKUP_INVALID');
    expect(hashFiles(dir)).toEqual(storeBefore);
  });

  it('refuses a backup altered by someone who also recomputed its checksum (the pages do not authenticate)', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    store.backup(backupFile);
    store.lock();
    const storeBefore = hashFiles(dir);
    const { createHash } = await import('node:crypto');
    const b = Buffer.from(readFileSync(backupFile));
    flip(b, b.length - 32 - 3 * PAGE_SIZE + 100); // inside the database, three pages from its end
    createHash('sha256').update(b.subarray(0, b.length - 32)).digest().copy(b, b.length - 32);
    const file = join(scratch(), 'recomputed');
    writeFileSync(file, b);
    await expectCode(KeyStore.restore(dir, file, PASSPHRASE), 'BACKUP_INVALID');
    expect(hashFiles(dir)).toEqual(storeBefore);
  });

  it('refuses a backup under a wrong passphrase (WRONG_PASSPHRASE), leaving the store as it was', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    store.backup(backupFile);
    store.lock();
    const storeBefore = hashFiles(dir);
    await expectCode(KeyStore.restore(dir, backupFile, 'not the right passphrase'), 'WRONG_PASSPHRASE');
    expect(hashFiles(dir)).toEqual(storeBefore);
  });

  /** Stages a restore the way KeyStore.restore does, as a crash would leave it. */
  function stage(dir: string, backupFile: string, parts: { db: boolean; key: boolean; ready: boolean }): void {
    const bytes = readFileSync(backupFile);
    const magic = 'KEYLADDER-BACKUP-1\n'.length;
    const keyLength = bytes.readUInt32BE(magic);
    const keyText = bytes.subarray(magic + 8, magic + 8 + keyLength);
    const dbBytes = bytes.subarray(magic + 8 + keyLength, bytes.length - 32);
    const pending = join(dir, 'restore-pending');
    mkdirSync(pending, { recursive: true });
    if (parts.db) writeFileSync(join(pending, DB), dbBytes);
    if (parts.key) writeFileSync(join(pending, KEYFILE), keyText);
    if (parts.ready) writeFileSync(join(pending, 'READY'), 'ready\n');
  }

  it('rolls an interrupted restore forward at the next unlock (READY present), from any point of the swap', async () => {
    const source = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const s = createServices({ storeDir: source, kdfLogN: TEST_KDF_LOG_N });
    await s.store.unlock(PASSPHRASE);
    s.devices.provision({ identity: 'ONLY-IN-BACKUP', keys: { kind: 'generate' } });
    await s.store.changePassphrase(PASSPHRASE, OTHER); // the backup has another passphrase than the store it replaces
    await s.store.backup(backupFile);
    s.close();
    const expected = keyTables(await dumpStore(source, OTHER));

    // Staged completely; staged with the database already moved into place.
    for (const parts of [{ db: true, key: true, ready: true }, { db: false, key: true, ready: true }]) {
      const dir = copyStore(fixture);
      if (!parts.db) {
        stage(dir, backupFile, { db: true, key: false, ready: false });
        cpSync(join(dir, 'restore-pending', DB), join(dir, DB));
        rmSync(join(dir, 'restore-pending'), { recursive: true });
      }
      stage(dir, backupFile, parts);
      const store = await KeyStore.unlock(dir, OTHER);
      store.lock();
      expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
      expect(keyTables(await dumpStore(dir, OTHER))).toEqual(expected);
    }
  });

  it('discards a restore that was interrupted before it was READY: the store is the old one', async () => {
    const dir = copyStore(fixture);
    const backupFile = join(scratch(), 'store.klbackup');
    const store = await KeyStore.unlock(copyStore(fixture), PASSPHRASE);
    store.backup(backupFile);
    store.lock();
    stage(dir, backupFile, { db: true, key: true, ready: false });
    const before = await dumpStore(dir, PASSPHRASE);
    const reopened = await KeyStore.unlock(dir, PASSPHRASE);
    reopened.lock();
    expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
    expect(keyTables(await dumpStore(dir, PASSPHRASE))).toEqual(keyTables(before));
    expect(storeHashes(dir).key).toBe(fixtureHashes[KEYFILE]);
  });
});

describe('verify()', () => {
  it('is ok for a sound store', async () => {
    const store = await KeyStore.unlock(copyStore(fixture), PASSPHRASE);
    try {
      expect(store.verify()).toEqual({ ok: true, problems: [], audit: { ok: true, entries: expect.any(Number) } });
    } finally {
      store.lock();
    }
  });

  it('detects bytes flipped in the file while the store is open', async () => {
    const pages = statSync(join(fixture, DB)).size / PAGE_SIZE;
    for (const page of [2, Math.floor(pages / 2), pages - 1]) {
      const dir = copyStore(fixture);
      const store = await KeyStore.unlock(dir, PASSPHRASE);
      try {
        store.unsafeDatabase().pragma('wal_checkpoint(TRUNCATE)');
        flipByte(join(dir, DB), page * PAGE_SIZE + 500);
        // Drop the page cache, so the check reads the file.
        store.unsafeDatabase().pragma('cache_size = 0');
        store.unsafeDatabase().pragma('shrink_memory');
        const report = store.verify();
        expect(report.ok, `page ${page}`).toBe(false);
        expect(report.problems.length).toBeGreaterThan(0);
      } finally {
        store.lock();
      }
    }
  });

  it('detects a second active Kissuer generation and a broken audit chain', async () => {
    const dir = copyStore(fixture);
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      const db = store.unsafeDatabase();
      db.exec('DROP INDEX issuer_one_active');
      db.prepare(`UPDATE issuer_generations SET status = 'active', grace_until = NULL WHERE generation = 2`).run();
      db.exec('DROP TRIGGER audit_no_update');
      db.prepare(`UPDATE audit_log SET action = 'store.nothing' WHERE seq = 2`).run();
      const report = store.verify();
      expect(report.ok).toBe(false);
      expect(report.problems.join('\n')).toMatch(/2 active Kissuer generations/);
      expect(report.audit).toMatchObject({ ok: false, brokenAt: 2 });
    } finally {
      store.lock();
    }
  });
});

describe('the raw-key recovery path', () => {
  it('any SQLCipher 4 reader opens keyladder.db with the unwrapped store key, and no column holds a raw key', async () => {
    const dir = copyStore(fixture);
    const key = await unwrapStoreKey(readKeyFile(join(dir, KEYFILE)), PASSPHRASE);
    const db = openRaw(join(dir, DB), key);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
      expect(db.prepare('SELECT count(*) FROM devices').pluck().get()).toBe(1502);
      const device = db.prepare('SELECT * FROM devices WHERE identity = ?').get(v.identity) as Record<string, unknown>;
      expect(device['status']).toBe('active');
      expect(Buffer.isBuffer(device['kpw'])).toBe(true);
      expect((device['kpw'] as Buffer).length).toBe(1 + 12 + 16 + 16); // sealed: version, nonce, key, tag
      expect((device['kph'] as Buffer).length).toBe(1 + 12 + 32 + 16);

      // Scan every BLOB and TEXT value of every table for the keys we provisioned, in every form.
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      expect(tables).toEqual(expect.arrayContaining(['devices', 'model_groups', 'issuer_generations', 'audit_log', 'meta']));
      let scanned = 0;
      for (const t of tables) {
        for (const row of db.prepare(`SELECT * FROM "${t}"`).iterate() as IterableIterator<Record<string, unknown>>) {
          for (const [column, value] of Object.entries(row)) {
            if (value === null || typeof value === 'number' || typeof value === 'bigint') continue;
            const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
            const found = rawKeysIn(bytes, new Map([...KNOWN_KEYS, ['store key', key]]));
            expect(found, `${t}.${column}`).toEqual([]);
            scanned++;
          }
        }
      }
      expect(scanned).toBeGreaterThan(10_000);
      // The file itself, raw: no key, and no identity in clear (the whole file is encrypted).
      const file = readFileSync(join(dir, DB));
      expect(rawKeysIn(file, new Map([...KNOWN_KEYS, ['store key', key]]))).toEqual([]);
      expect(file.includes(Buffer.from(v.identity))).toBe(false);
      expect(file.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    } finally {
      db.close();
      key.fill(0);
    }
    // A wrong raw key reads nothing.
    const wrong = openRaw(join(dir, DB), Buffer.alloc(32, 7));
    expect(() => wrong.prepare('SELECT count(*) FROM sqlite_master').get()).toThrow(/not a database|file is not/i);
    wrong.close();
  });

  it('the recovery reader sees the same devices as the store', async () => {
    const dir = copyStore(fixture);
    const key = await storeKeyOf(dir, PASSPHRASE);
    const raw = openRaw(join(dir, DB), key);
    const store = await KeyStore.unlock(copyStore(fixture), PASSPHRASE);
    try {
      const viaStore = store.devices.list('', 0, 50).rows.map((r) => [r.identity, r.kcv_kpw]);
      const viaRaw = raw.prepare('SELECT identity, kcv_kpw FROM devices ORDER BY identity LIMIT 50').raw().all();
      expect(viaRaw).toEqual(viaStore);
      expect(dumpTables(raw)['issuer_generations']!.length).toBe(3);
    } finally {
      raw.close();
      store.lock();
      key.fill(0);
    }
  });
});

describe('two processes on one store', () => {
  it("counters written late by two processes add up, and a device's latest exchange stays the latest", async () => {
    const dir = copyStore(fixture);
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      const id = store.devices.keys(v.identity)!.id;
      const before = store.devices.get(v.identity)!.exchange_count;
      // One worker's batch (later exchange) lands first, the other's (earlier) a moment after.
      store.transaction(() => store.devices.markExchanges([{ deviceId: id, at: '2026-12-01T10:00:02.000Z', mechanism: 'WRAP', generation: 2, count: 3 }]));
      store.transaction(() => store.devices.markExchanges([{ deviceId: id, at: '2026-12-01T10:00:01.000Z', mechanism: 'PSK', generation: 1, count: 2 }]));
      expect(store.devices.get(v.identity)).toMatchObject({ exchange_count: before + 5, last_exchange_at: '2026-12-01T10:00:02.000Z', last_mechanism: 'WRAP', last_generation: 2 });
      store.transaction(() => store.devices.markExchanges([{ deviceId: id, at: '2026-12-01T10:00:03.000Z', mechanism: 'PSK', generation: 2, count: 1 }]));
      expect(store.devices.get(v.identity)).toMatchObject({ exchange_count: before + 6, last_exchange_at: '2026-12-01T10:00:03.000Z', last_mechanism: 'PSK' });
    } finally {
      store.lock();
    }
  });

  it('a store transaction holds the write lock from its start, so another writer waits instead of failing halfway', async () => {
    const dir = copyStore(fixture);
    const key = await storeKeyOf(dir, PASSPHRASE);
    const other = openRaw(join(dir, DB), key, { readonly: false });
    other.pragma('busy_timeout = 0');
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      let otherCouldWrite: boolean | undefined;
      store.transaction(() => {
        // Nothing written yet in this transaction, and still no one else may begin to write.
        try {
          other.exec('BEGIN IMMEDIATE');
          other.exec('ROLLBACK');
          otherCouldWrite = true;
        } catch (e) {
          expect((e as { code?: string }).code).toBe('SQLITE_BUSY');
          otherCouldWrite = false;
        }
        store.audit.append({ at: new Date().toISOString(), action: 'test', outcome: 'ok', subject: null, details: {} });
      });
      expect(otherCouldWrite).toBe(false);
      // Once it has committed, the other connection writes freely.
      other.exec('BEGIN IMMEDIATE');
      other.exec('ROLLBACK');
      expect(store.verify().audit.ok).toBe(true);
    } finally {
      other.close();
      store.lock();
      key.fill(0);
    }
  });
});
