// Crash safety: a child process works on the store (bulk imports, Kissuer
// rotations, passphrase changes, restores) and is killed with SIGKILL at random
// points, 65 times in all. After every kill the store unlocks, has exactly one active
// Kissuer generation, holds no half-applied batch, and its audit log and
// integrity check pass.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeyFile, unwrapStoreKey } from '../../db/keyfile.js';
import { KeyStore } from '../../db/store.js';
import { createServices } from '../../electron/services/index.js';
import { Child, prepareBuild, sleep } from '../support/crashHarness.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';

const OTHER = 'the other passphrase of the two';
const ROWS = 5000;
const KILLS = { import: 20, rotate: 15, passphrase: 15, restore: 15 };

let build: { dir: string; cleanup(): void };
const dirs: string[] = [];
beforeAll(() => {
  build = prepareBuild();
});
afterAll(() => {
  build?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function newStore(setup?: (s: ReturnType<typeof createServices>) => void): Promise<string> {
  const dir = tempDir('keyladder-crash-');
  dirs.push(dir);
  const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
  await s.store.create(PASSPHRASE);
  setup?.(s);
  s.close();
  return dir;
}

/** What every kill must leave: a store that opens and checks out. Returns it unlocked; the caller locks it. */
async function checkStore(dir: string, passphrase: string, context: string): Promise<KeyStore> {
  const store = await KeyStore.unlock(dir, passphrase);
  try {
    expect(store.issuers.activeCount(), context).toBe(1);
    const report = store.verify();
    expect(report, context).toMatchObject({ ok: true, problems: [], audit: { ok: true } });
    return store;
  } catch (e) {
    store.lock();
    throw e;
  }
}

/** Files the store folder may hold after a crash and a clean re-open. */
function strayFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => !['keyladder.db', 'keyladder.key.json', 'keyladder.lock'].includes(f));
}

describe('crash safety (SIGKILL at random points)', () => {
  it(`bulk import of ${ROWS} devices: all or nothing, ${KILLS.import} kills`, async () => {
    const dir = await newStore((s) => s.groups.add('model-a', { kind: 'generate' }));
    let devices = 0;
    let importTime = 900;
    let writeTime = 60;
    let inWrite = 0;
    const log: string[] = [];
    for (let k = 0; k < KILLS.import; k++) {
      const child = new Child({ build: build.dir, store: dir, mode: 'import', passphrase: PASSPHRASE, rows: ROWS, prefix: `K${k}`, kdfLogN: TEST_KDF_LOG_N });
      await child.waitFor((l) => l === 'U');
      // Half the kills fall anywhere in the import, half in or around its write transaction.
      let delay: number;
      if (k % 2 === 0) {
        delay = Math.random() * importTime * 1.2;
        await sleep(delay);
      } else {
        await child.waitFor((l) => l === 'C');
        delay = Math.random() * writeTime * 1.5;
        if (delay > 1) await sleep(delay);
      }
      const last = child.last();
      await child.kill();
      if (last === 'C') inWrite++;
      const done = child.events.filter((e) => e.line.startsWith('I '));
      for (const e of done) {
        const [, total, write] = e.line.split(' ').map(Number);
        importTime = (importTime + total!) / 2;
        writeTime = (writeTime + write!) / 2;
      }
      // On a machine slower than the first guesses, no batch finishes and nothing above adapts:
      // widen the windows until one does, so that the kills also land after commits.
      if (done.length === 0) {
        importTime *= 1.5;
        writeTime *= 1.5;
      }
      const context = `kill ${k} after ${delay.toFixed(0)} ms, last event ${last}`;
      log.push(context);

      const store = await checkStore(dir, PASSPHRASE, context);
      try {
        const count = store.devices.count();
        const committed = (count - devices) / ROWS;
        // Every batch the child reported is in; the one in flight is wholly in or wholly out.
        expect([done.length, done.length + 1], context).toContain(committed);
        const inFlight = store.devices.list(`K${k}-${done.length}-`, 0, 1).total;
        expect([0, ROWS], context).toContain(inFlight);
        log[log.length - 1] += inFlight ? ': the batch in flight committed' : ': the batch in flight rolled back';
        // And each batch went in with its audit record, in the same transaction.
        expect(store.audit.list({ action: 'device.import', outcome: 'ok', limit: 10_000 }).length * ROWS, context).toBe(count);
        devices = count;
      } finally {
        store.lock();
      }
      expect(strayFiles(dir), context).toEqual([]);
    }
    // Some kills must have hit the write transaction, or the test proved little.
    expect(inWrite, log.join('\n')).toBeGreaterThanOrEqual(2);
    expect(devices).toBeGreaterThan(0);
    // Twenty child processes, each started, unlocked, importing and killed, and the store
    // reopened after each: about 40 s on an idle 2-core machine, more beside other work.
  }, 240_000);

  it(`Kissuer rotations (with retire and destroy): exactly one active generation, ${KILLS.rotate} kills`, async () => {
    const dir = await newStore();
    let generations = 1;
    for (let k = 0; k < KILLS.rotate; k++) {
      const child = new Child({ build: build.dir, store: dir, mode: 'rotate', passphrase: PASSPHRASE, prefix: '', kdfLogN: TEST_KDF_LOG_N });
      await child.waitFor((l) => l === 'U');
      const delay = Math.random() * 250;
      await sleep(delay);
      await child.kill();
      const reported = child.count('R ');
      const context = `kill ${k} after ${delay.toFixed(0)} ms, ${reported} rotations reported`;

      const store = await checkStore(dir, PASSPHRASE, context);
      try {
        const rows = store.issuers.list();
        expect([generations + reported, generations + reported + 1], context).toContain(rows.length);
        generations = rows.length;
        // Each generation came with its audit record; each destruction too, and erased its key.
        const created = ['issuer.create', 'issuer.rotate'].reduce((n, action) => n + store.audit.list({ action, limit: 10_000 }).length, 0);
        expect(created, context).toBe(rows.length);
        const destroyed = rows.filter((g) => g.status === 'destroyed');
        expect(store.audit.list({ action: 'issuer.destroy', limit: 10_000 }).length, context).toBe(destroyed.length);
        const keysLeft = store.unsafeDatabase().prepare(`SELECT count(*) FROM issuer_generations WHERE status = 'destroyed' AND (key IS NOT NULL OR kcv IS NOT NULL)`).pluck().get();
        expect(keysLeft, context).toBe(0);
        for (const g of rows) if (g.status === 'grace') expect(g.grace_until, context).toMatch(/^\d{4}-/);
      } finally {
        store.lock();
      }
      expect(strayFiles(dir), context).toEqual([]);
    }
    expect(generations).toBeGreaterThan(KILLS.rotate);
  });

  it(`passphrase changes: one of the two passphrases always opens the same store key, ${KILLS.passphrase} kills`, async () => {
    const dir = await newStore();
    const storeKey = await unwrapStoreKey(readKeyFile(join(dir, 'keyladder.key.json')), PASSPHRASE);
    let current = PASSPHRASE;
    let changes = 0;
    // A change costs two KDF runs, each on a worker thread of its own: on a slow
    // hour none may land within the first window. Widen it until changes do, so
    // that kills land before, inside and after commits.
    let window = 250;
    for (let k = 0; k < KILLS.passphrase; k++) {
      const other = current === PASSPHRASE ? OTHER : PASSPHRASE;
      const child = new Child({ build: build.dir, store: dir, mode: 'passphrase', passphrase: current, other, prefix: '', kdfLogN: TEST_KDF_LOG_N });
      await child.waitFor((l) => l === 'U');
      const delay = Math.random() * window;
      await sleep(delay);
      await child.kill();
      const reported = child.count('P ');
      if (reported === 0) window = Math.min(window * 1.5, 3_000);
      const context = `kill ${k} after ${delay.toFixed(0)} ms, ${reported} changes reported`;

      // Exactly one of the two passphrases opens the key file, and what it opens is the same store key.
      const file = readKeyFile(join(dir, 'keyladder.key.json'));
      const opened = await Promise.all([PASSPHRASE, OTHER].map((p) => unwrapStoreKey(file, p).then((key) => ({ p, key }), () => undefined)));
      const working = opened.filter((o) => o !== undefined);
      expect(working.length, context).toBe(1);
      expect(working[0]!.key.equals(storeKey), context).toBe(true);
      // Which one is consistent with the changes the child reported (one more may have landed unreported).
      const expected = [reported, reported + 1].map((n) => (n % 2 === 0 ? current : other));
      expect(expected, context).toContain(working[0]!.p);
      current = working[0]!.p;

      const store = await checkStore(dir, current, context);
      try {
        const audited = store.audit.list({ action: 'store.passphrase-change', limit: 10_000 }).length;
        // The audit record follows the key file: a crash between the two can lose the record, never invent one.
        expect([reported, reported + 1], context).toContain(audited - changes);
        changes = audited;
      } finally {
        store.lock();
      }
      // Not even the temporary copy of the key file a kill in mid-write leaves (the unlock removes it).
      expect(strayFiles(dir), context).toEqual([]);
    }
    expect(changes).toBeGreaterThan(KILLS.passphrase);
  });
  it(`restores (issue 19, item 3): the old store or the restored one, never a restored store without its record, ${KILLS.restore} kills`, async () => {
    // Two backups that differ in one device's status; restores alternate between them.
    let backups: string[] = [];
    const dir = await newStore((s) => {
      s.devices.provision({ identity: 'ESN-RESTORED', keys: { kind: 'generate' } });
    });
    {
      const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
      await s.store.unlock(PASSPHRASE);
      const folder = tempDir('keyladder-crash-backups-');
      dirs.push(folder);
      backups = [join(folder, 'active.klbackup'), join(folder, 'revoked.klbackup')];
      await s.store.backup(backups[0]!);
      s.devices.revoke('ESN-RESTORED');
      await s.store.backup(backups[1]!);
      s.close();
    }
    let window = 200;
    let restores = 0;
    let afterSwap = 0;
    for (let k = 0; k < KILLS.restore; k++) {
      const child = new Child({ build: build.dir, store: dir, mode: 'restore', passphrase: PASSPHRASE, backups, prefix: '', kdfLogN: TEST_KDF_LOG_N });
      await child.waitFor((l) => l === 'U');
      const delay = Math.random() * window;
      await sleep(delay);
      await child.kill();
      const reported = child.count('O ');
      restores += reported;
      if (reported === 0) window = Math.min(window * 1.5, 3_000);
      const context = `kill ${k} after ${delay.toFixed(0)} ms, ${reported} restores reported`;
      const store = await checkStore(dir, PASSPHRASE, context);
      try {
        // checkStore's verify includes the check that a stamped store's last restore record is its own.
        const stamp = store.audit.restoreStamp();
        if (stamp !== undefined) {
          expect(store.audit.recordsRestore(stamp.restoreId), context).toBe(true);
          afterSwap += 1;
        }
        expect(['active', 'revoked'], context).toContain(store.devices.get('ESN-RESTORED')?.status);
      } finally {
        store.lock();
      }
      // A restore keeps the store it replaces (issue 22, item 4), made before READY: each kept
      // folder is a whole store (database and key file), whatever the kill interrupted.
      const kept = strayFiles(dir).filter((f) => f.startsWith('replaced-'));
      for (const f of kept) expect(readdirSync(join(dir, f)).sort(), context).toEqual(expect.arrayContaining(['keyladder.db', 'keyladder.key.json']));
      expect(strayFiles(dir).filter((f) => !f.startsWith('replaced-')), context).toEqual([]);
    }
    // Restores did get through between kills (the window widens until they do): at least one per two
    // kills on average. (One per kill failed now and then on a loaded machine, with 15 for 15 kills.)
    expect(restores).toBeGreaterThan(KILLS.restore / 2);
    expect(afterSwap).toBeGreaterThan(0);
  }, 240_000);
});
