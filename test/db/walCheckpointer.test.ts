// Checkpoints on a worker thread: while it runs, the main connection never
// checkpoints (its automatic checkpoints are off) and yet the database file
// takes the WAL's pages; stop() returns only once the worker's connection is
// closed; a worker that fails gives the main connection its automatic
// checkpoints back.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openForWriting } from '../../db/connection.js';
import { StoreHold } from '../../db/storeHold.js';
import { WalCheckpointer } from '../../db/walCheckpointer.js';

// npm test builds dist first (test/globalSetup.ts), so the built worker is there.
const BUILT_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'db', 'checkpointWorker.js');
const dir = mkdtempSync(join(tmpdir(), 'keyladder-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('WalCheckpointer', () => {
  it('checkpoints on its own thread, and stop() waits for its connection to close', async () => {
    const path = join(dir, 'a.db');
    const key = randomBytes(32);
    const db = openForWriting(path, key, true);
    db.exec('CREATE TABLE t (x BLOB)');
    const checkpointer = WalCheckpointer.start(db, path, key, 50, BUILT_WORKER);
    expect(checkpointer).toBeDefined();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    db.transaction(() => { for (let i = 0; i < 2000; i++) insert.run(randomBytes(1000)); })();
    // Only the worker can have copied these pages into the database file.
    await until(() => statSync(path).size > before + 1_500_000);

    checkpointer!.stop();
    // Nothing else holds the database now: a TRUNCATE checkpoint empties the WAL at once.
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    expect(result!.busy).toBe(0);
    expect(statSync(`${path}-wal`).size).toBe(0);
    db.close();
  });

  it('a worker that fails hands checkpoints back to the main connection', async () => {
    const path = join(dir, 'b.db');
    const key = randomBytes(32);
    const db = openForWriting(path, key, true);
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, "throw new Error('cannot open');\n");
    const checkpointer = WalCheckpointer.start(db, path, key, 50, broken);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await until(() => db.pragma('wal_autocheckpoint', { simple: true }) === 1000);
    checkpointer!.stop(); // already stopped: returns at once
    db.close();
  });

  it('empties a WAL past 10,000 frames (SQLite would only reuse it, and with several writing processes never did)', async () => {
    const path = join(dir, 'd.db');
    const key = randomBytes(32);
    const db = openForWriting(path, key, true);
    db.exec('CREATE TABLE t (x BLOB)');
    const checkpointer = WalCheckpointer.start(db, path, key, 50, BUILT_WORKER);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const row = randomBytes(1000);
    // About 12,000 pages in one transaction: past the bound at the worker's next look.
    db.transaction(() => { for (let i = 0; i < 45_000; i++) insert.run(row); })();
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(10_000 * 4096);
    // A PASSIVE checkpoint copies the pages but leaves the WAL file as long as it was; the
    // TRUNCATE past the bound empties it.
    await until(() => statSync(`${path}-wal`).size === 0, 5_000);
    expect((db.prepare('SELECT count(*) FROM t').pluck().get() as number)).toBe(45_000);
    checkpointer!.stop();
    db.close();
  });

  it('a thread that does not confirm its close in time keeps the store held until it has exited (issue 19, item 1)', async () => {
    const storeDir = join(dir, 'held');
    mkdirSync(storeDir);
    const path = join(storeDir, 'keyladder.db');
    const key = randomBytes(32);
    const db = openForWriting(path, key, true);
    // A thread that never answers 'stop': stop() gives up waiting and terminates it.
    const stubborn = join(dir, 'stubborn-worker.mjs');
    writeFileSync(stubborn, 'setInterval(() => {}, 1000);\n');
    const hold = StoreHold.shared(storeDir);
    const checkpointer = WalCheckpointer.start(db, path, key, 50, stubborn, 100);
    const closing = checkpointer!.stop();
    expect(closing).toBeInstanceOf(Promise);
    let exited = false;
    void closing!.then(() => { exited = true; });
    hold.releaseAfter(closing!);
    hold.release(); // what lock() does next: no effect until the thread is gone
    // Termination is asynchronous: the thread may still have its connection open, so a restore is refused.
    expect(exited).toBe(false);
    expect(() => StoreHold.exclusive(storeDir, 'restore')).toThrow(expect.objectContaining({ code: 'STORE_IN_USE' }));
    await closing;
    // Gone: the hold has let go.
    await until(() => { try { StoreHold.exclusive(storeDir, 'restore').release(); return true; } catch { return false; } }, 2_000);
    expect(checkpointer!.stop()).toBeUndefined();
    db.close();
  });

  it('without the built worker (sources run directly), SQLite keeps checkpointing by itself', () => {
    const path = join(dir, 'c.db');
    const key = randomBytes(32);
    const db = openForWriting(path, key, true);
    expect(WalCheckpointer.start(db, path, key, 50, join(dir, 'no-such-worker.js'))).toBeUndefined();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });
});
