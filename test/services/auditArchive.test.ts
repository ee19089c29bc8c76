// Audit retention (issue 19, item 8): `audit archive` moves the entries older
// than a date to an archive file and trims them, leaving a MACed checkpoint at
// the cut. The kept log still verifies and starts where the archive ends; the
// archive proves itself; tampering with either, a trim without its archive,
// and a crash at each step are caught or leave a store that verifies.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import { openTestServices, PASSPHRASE, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
let other: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  other?.cleanup();
  t = other = undefined;
});

const storeOf = (x: TestServices): KeyStore => (x.services.store as unknown as { session: { store(): KeyStore } }).session.store();
const raw = (x: TestServices): Database => storeOf(x).unsafeDatabase();
const DAY = 86_400_000;

/** A store with entries from "now" (the early part) and ten days on (the late part); returns the date between them. */
async function storeWithHistory(): Promise<{ x: TestServices; cutoff: string }> {
  const x = await openTestServices();
  x.clock.now = new Date();
  const s = x.services;
  for (let i = 0; i < 5; i++) s.devices.provision({ identity: `ESN-OLD-${i}`, keys: { kind: 'generate' } });
  s.devices.revoke('ESN-OLD-0');
  const cutoff = new Date(x.clock.now.getTime() + 5 * DAY).toISOString();
  x.clock.advanceDays(10);
  s.devices.provision({ identity: 'ESN-NEW', keys: { kind: 'generate' } });
  return { x, cutoff };
}

describe('audit archive', () => {
  it('moves the old entries to a file and trims them; the kept log verifies from the cut, and the archive proves itself', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const before = s.audit.verify();
    expect(before.ok).toBe(true);
    const file = join(tempDir('keyladder-archive-'), 'audit-1.jsonl');
    const r = s.audit.archive(cutoff, file);
    expect(r.from).toBe(1);
    expect(r.to).toBeGreaterThanOrEqual(7);
    expect(r.entries).toBe(r.to);
    // Gone from the store, and the store still verifies, with its cut named.
    expect(raw(x).prepare('SELECT min(seq) FROM audit_log').pluck().get()).toBe(r.to + 1);
    const after = s.audit.verify();
    expect(after).toMatchObject({ ok: true, archivedThrough: r.to });
    expect(s.store.verify()).toMatchObject({ ok: true });
    const record = s.audit.list({ action: 'audit.archive' })[0]!;
    expect(record.details).toMatchObject({ from: 1, to: r.to, sha256: r.sha256 });
    // The archive: every MAC recomputed, recorded by the log, and the kept log starts after it.
    expect(s.audit.verifyArchive(file)).toMatchObject({ ok: true, from: 1, to: r.to, entries: r.to, macsChecked: true, recorded: true, continuesInStore: true });
    // The revocation is in the archive, as it was in the log.
    expect(readFileSync(file, 'utf8')).toMatch(/"action":"device.revoke","outcome":"ok","subject":"ESN-OLD-0"/);
    // The store goes on: a new entry chains after the kept ones.
    s.devices.provision({ identity: 'ESN-LATER', keys: { kind: 'generate' } });
    expect(s.audit.verify().ok).toBe(true);
  });

  it('a second archive starts where the first ended: both verify, and the log goes on from the second', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const dir = tempDir('keyladder-archive-');
    const first = s.audit.archive(cutoff, join(dir, 'a1.jsonl'));
    x.clock.advanceDays(10);
    s.devices.revoke('ESN-NEW');
    x.clock.advanceDays(1);
    const second = s.audit.archive(new Date(x.clock.now.getTime() - 1000).toISOString(), join(dir, 'a2.jsonl'));
    expect(second.from).toBe(first.to + 1);
    expect(s.audit.verify()).toMatchObject({ ok: true, archivedThrough: second.to });
    // The first archive's record was archived with the second: it is still proved by its MACs.
    expect(s.audit.verifyArchive(join(dir, 'a1.jsonl'))).toMatchObject({ ok: true, macsChecked: true, continuesInStore: false });
    expect(s.audit.verifyArchive(join(dir, 'a2.jsonl'))).toMatchObject({ ok: true, macsChecked: true, recorded: true, continuesInStore: true });
    // The second archive's first entry chains from the first's last MAC.
    const header = JSON.parse(readFileSync(join(dir, 'a2.jsonl'), 'utf8').split('\n')[0]!) as { prev: string };
    const lastOfFirst = readFileSync(join(dir, 'a1.jsonl'), 'utf8').trim().split('\n').at(-1)!;
    expect(header.prev).toBe((JSON.parse(lastOfFirst) as { mac: string }).mac);
  });

  it('archives a long log in slices of at most MAX_ARCHIVE_ENTRIES, each run taking the next, all chained', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const dir = tempDir('keyladder-archive-');
    const first = s.audit.archive(cutoff, join(dir, 's1.jsonl'), undefined, 3);
    expect(first).toMatchObject({ from: 1, to: 3, entries: 3, more: true });
    const second = s.audit.archive(cutoff, join(dir, 's2.jsonl'), undefined, 3);
    expect(second).toMatchObject({ from: 4, to: 6, more: true });
    let last = second;
    for (let n = 3; last.more; n++) last = s.audit.archive(cutoff, join(dir, `s${n}.jsonl`), undefined, 3);
    expect(s.audit.verify()).toMatchObject({ ok: true, archivedThrough: last.to });
    for (const f of ['s1.jsonl', 's2.jsonl']) expect(s.audit.verifyArchive(join(dir, f))).toMatchObject({ ok: true, macsChecked: true });
    // What was archived is what was older than the date: the late part stays.
    expect(s.audit.list({ subject: 'ESN-NEW' }).map((e) => e.action)).toContain('device.provision');
  });

  it('refuses a date with nothing before it, a bad date, and an existing file, changing nothing', async () => {
    const { x } = await storeWithHistory();
    t = x;
    const s = x.services;
    const dir = tempDir('keyladder-archive-');
    const head = () => raw(x).prepare('SELECT count(*) FROM audit_log').pluck().get();
    const rows = head();
    expect(() => s.audit.archive('2001-01-01', join(dir, 'none.jsonl'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/No entry of the log is older than 2001-01-01T00:00:00.000Z/) }));
    expect(() => s.audit.archive('yesterday', join(dir, 'bad.jsonl'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    writeFileSync(join(dir, 'taken.jsonl'), 'mine');
    expect(() => s.audit.archive('2099-01-01', join(dir, 'taken.jsonl'))).toThrow(expect.objectContaining({ code: 'FILE_EXISTS' }));
    expect(readFileSync(join(dir, 'taken.jsonl'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'none.jsonl'))).toBe(false);
    expect(head()).toBe(rows);
    expect(s.audit.verify()).not.toHaveProperty('archivedThrough');
  });
});

describe('an archived log catches', () => {
  async function archived(): Promise<{ x: TestServices; file: string; to: number }> {
    const { x, cutoff } = await storeWithHistory();
    const file = join(tempDir('keyladder-archive-'), 'audit.jsonl');
    const { to } = x.services.audit.archive(cutoff, file);
    return { x, file, to };
  }

  it('an edited, removed or added archive entry, and an archive of another store', async () => {
    const a = await archived();
    t = a.x;
    const lines = readFileSync(a.file, 'utf8').split('\n');
    const edited = lines.map((l) => l.replace('"subject":"ESN-OLD-0"', '"subject":"ESN-OLD-1"')).join('\n');
    expect(edited).not.toBe(lines.join('\n'));
    writeFileSync(`${a.file}.edited`, edited);
    expect(t.services.audit.verifyArchive(`${a.file}.edited`)).toMatchObject({ ok: false, recorded: false, problem: expect.stringMatching(/does not match the chain/) });
    writeFileSync(`${a.file}.removed`, [...lines.slice(0, 3), ...lines.slice(4)].join('\n'));
    expect(t.services.audit.verifyArchive(`${a.file}.removed`)).toMatchObject({ ok: false, problem: expect.stringMatching(/Entry 3 is missing from the archive/) });
    writeFileSync(`${a.file}.short`, [...lines.slice(0, -3), ''].join('\n'));
    expect(t.services.audit.verifyArchive(`${a.file}.short`)).toMatchObject({ ok: false, problem: expect.stringMatching(/cut short/) });
    other = await openTestServices();
    expect(() => other!.services.audit.verifyArchive(a.file)).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID', message: 'The archive belongs to another store.' }));
    expect(() => other!.services.audit.verifyArchive(join(tempDir('x-'), 'missing'))).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID' }));
  });

  it('an edited kept entry', async () => {
    const a = await archived();
    t = a.x;
    const db = raw(a.x);
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare(`UPDATE audit_log SET details = '{}' WHERE seq = ?`).run(a.to + 1);
    expect(t.services.audit.verify()).toMatchObject({ ok: false, brokenAt: a.to + 1 });
  });

  it('a cut moved or its MAC altered by hand', async () => {
    const a = await archived();
    t = a.x;
    const db = raw(a.x);
    db.prepare('UPDATE audit_cut SET seq = seq - 1').run();
    expect(t.services.audit.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/The archive cut at entry \d+ does not authenticate/) });
    db.prepare('UPDATE audit_cut SET seq = seq + 1, mac = zeroblob(32)').run();
    expect(t.services.audit.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/does not authenticate/) });
  });

  it('a trim without its archive: entries deleted by hand, or a cut the store MACed but no archive recorded', async () => {
    t = await openTestServices();
    t.clock.now = new Date();
    for (let i = 0; i < 4; i++) t.services.devices.provision({ identity: `ESN-${i}`, keys: { kind: 'generate' } });
    const store = storeOf(t);
    const db = raw(t);
    // The trigger refuses deleting entries past the cut (there is none yet).
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq <= 2').run()).toThrow(/only archived entries may be trimmed/);
    // A trim through the repository, with a genuine cut checkpoint, but no archive file or record.
    store.transaction(() => store.audit.trimThrough({ seq: 3, mac: store.audit.macAt(3)!, at: new Date().toISOString(), archiveSha256: '0'.repeat(64) }));
    expect(t.services.audit.verify()).toMatchObject({ ok: false, archivedThrough: 3, problem: expect.stringMatching(/trimmed at entry 3, but no audit.archive record names that cut/) });
  });

  it('entries deleted past the cut', async () => {
    const a = await archived();
    t = a.x;
    const db = raw(a.x);
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(a.to + 1);
    expect(t.services.audit.verify()).toMatchObject({ ok: false, problem: `Entry ${a.to + 1} is missing (the next one is ${a.to + 2}): rows were deleted.` });
  });
});

describe('a crash during audit archive', () => {
  for (const stage of ['written', 'recorded', 'trimming'] as const) {
    it(`at "${stage}" leaves a store that verifies with every entry, and a second run archives`, async () => {
      const { x, cutoff } = await storeWithHistory();
      t = x;
      const s = x.services;
      const dir = tempDir('keyladder-archive-');
      const count = () => raw(x).prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
      const rows = count();
      expect(() => s.audit.archive(cutoff, join(dir, 'crashed.jsonl'), (at) => {
        if (at === stage) throw new Error(`crash at ${at}`);
      })).toThrow(`crash at ${stage}`);
      // The file was written and fsynced before anything else: it stands, and proves itself.
      expect(s.audit.verifyArchive(join(dir, 'crashed.jsonl'))).toMatchObject({ ok: true, recorded: stage !== 'written', continuesInStore: false });
      // Nothing was trimmed.
      expect(count()).toBe(rows + (stage === 'written' ? 0 : 1));
      expect(s.audit.verify()).toMatchObject({ ok: true });
      expect(s.audit.verify()).not.toHaveProperty('archivedThrough');
      // The store is locked and unlocked again (a process restart), and the archive run again.
      s.store.lock();
      await s.store.unlock(PASSPHRASE);
      const r = s.audit.archive(cutoff, join(dir, 'again.jsonl'));
      expect(s.audit.verify()).toMatchObject({ ok: true, archivedThrough: r.to });
      expect(s.audit.verifyArchive(join(dir, 'again.jsonl'))).toMatchObject({ ok: true, continuesInStore: true });
    });
  }
});

describe('a trimmed log and', () => {
  it('rekey: the copy starts at the same cut; the archive is proved by its SHA-256, its MACs being under the old key', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const file = join(tempDir('keyladder-archive-'), 'audit.jsonl');
    const { to } = s.audit.archive(cutoff, file);
    await s.store.rekey(PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    expect(s.audit.verify()).toMatchObject({ ok: true, archivedThrough: to });
    expect(s.audit.verifyArchive(file)).toMatchObject({ ok: true, macsChecked: false, recorded: true, continuesInStore: true });
    // An edited copy is not the file the chain names, and its MACs do not hold.
    writeFileSync(`${file}.edited`, readFileSync(file, 'utf8').replace('"subject":"ESN-OLD-0"', '"subject":"ESN-OLD-1"'));
    expect(s.audit.verifyArchive(`${file}.edited`)).toMatchObject({ ok: false, recorded: false });
  });

  it('audit export: starts at the cut by default, and refuses a range in the archived part', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const { to } = s.audit.archive(cutoff, join(tempDir('keyladder-archive-'), 'audit.jsonl'));
    const whole = await s.audit.exportSigned();
    expect(whole.from).toBe(to + 1);
    const payload = JSON.parse(Buffer.from(whole.jws.split('.')[1]!, 'base64url').toString('utf8')) as { from: number; entries: Array<{ seq: number }> };
    expect(payload.entries[0]!.seq).toBe(to + 1);
    await expect(s.audit.exportSigned({ from: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: `Entries 1 to ${to} are archived (audit archive) and no longer in the store: export from ${to + 1} on.` });
  });

  it('checkpoints: one taken before the trim, and one at the cut, still hold; a rollback behind them is still caught', async () => {
    const { x, cutoff } = await storeWithHistory();
    t = x;
    const s = x.services;
    const early = JSON.stringify(s.audit.checkpoint());
    const { to } = s.audit.archive(cutoff, join(tempDir('keyladder-archive-'), 'audit.jsonl'));
    expect(s.store.verify(early)).toMatchObject({ ok: true });
    const atCut = storeOf(x).auditCheckpoint('2026-12-07T00:00:00.000Z');
    // A checkpoint of the head at the cut: the cut keeps that entry's MAC.
    expect(storeOf(x).rollbackProblems({ ...atCut, seq: to, mac: storeOf(x).audit.macAt(to)!.toString('hex') })).toEqual([]);
    const late = JSON.stringify(s.audit.checkpoint());
    const db = raw(x);
    db.exec('DROP TRIGGER audit_no_delete');
    const head = storeOf(x).audit.head().seq;
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(head);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(`${head - 1}:${storeOf(x).audit.macAt(head - 1)!.toString('hex')}`);
    expect(s.store.verify(late).ok).toBe(false);
  });
});
