// Store files and output files (issue 11, item 19): every store file is the
// owner's only whatever the folder's mode and the umask, and --out and backup
// files never replace an existing file without --force, never write through a
// symbolic link, and are created exclusively.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import { writeNewFile, writeNewFileUndoably } from '../../db/files.js';
import { openTestServices, PASSPHRASE, tempDir, type TestServices } from '../support/services.js';
import { runsHere } from '../support/skips.js';

const posix = process.platform !== 'win32';
const mode = (path: string): number => statSync(path).mode & 0o777;

let t: TestServices | undefined;
let umask: number | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  t?.cleanup();
  t = undefined;
  if (umask !== undefined) process.umask(umask);
  umask = undefined;
});

describe.runIf(runsHere(posix, 'POSIX only: Windows has no owner-only file modes to check'))('store files are 0600', () => {
  it('in a world-writable folder under umask 0: the database, its -wal and -shm, the key file and the failed-unlock log', async () => {
    umask = process.umask(0);
    const dir = join(tempDir('keyladder-perms-'), 'store');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    t = await openTestServices({ dir });
    t.services.devices.provision({ identity: 'ESN-PERMS', keys: { kind: 'generate' } });
    t.services.store.lock();
    await expect(t.services.store.unlock('not the passphrase at all')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    // The note of a failed unlock waits beside the store until the next unlock enters it into the audit log.
    expect(mode(join(dir, 'failed-unlocks.log'))).toBe(0o600);
    await t.services.store.unlock(PASSPHRASE);
    t.services.devices.provision({ identity: 'ESN-PERMS-2', keys: { kind: 'generate' } });
    const files = ['keyladder.db', 'keyladder.db-wal', 'keyladder.db-shm', 'keyladder.key.json'];
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(Object.fromEntries(files.map((f) => [f, mode(join(dir, f)).toString(8)]))).toEqual(Object.fromEntries(files.map((f) => [f, '600'])));
  });

  it('an existing store whose files were left 0644 (an older KeyLadder) is tightened at unlock', async () => {
    t = await openTestServices();
    t.services.store.lock();
    for (const f of ['keyladder.db', 'keyladder.key.json', 'failed-unlocks.log']) {
      const path = join(t.dir, f);
      if (!existsSync(path)) writeFileSync(path, '');
      chmodSync(path, 0o644);
    }
    await expect(t.services.store.unlock('not the passphrase at all')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(mode(join(t.dir, 'failed-unlocks.log'))).toBe(0o600);
    await t.services.store.unlock(PASSPHRASE);
    expect(mode(join(t.dir, 'keyladder.db'))).toBe(0o600);
    expect(mode(join(t.dir, 'keyladder.key.json'))).toBe(0o600);
  });

  it('the key file alone at 0644 is tightened by a successful unlock, and by a refused one without a byte changed', async () => {
    t = await openTestServices();
    t.services.store.lock();
    const keyFile = join(t.dir, 'keyladder.key.json');
    const before = readFileSync(keyFile);
    chmodSync(keyFile, 0o644);
    await expect(t.services.store.unlock('not the passphrase at all')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(mode(keyFile)).toBe(0o600);
    expect(readFileSync(keyFile).equals(before)).toBe(true);
    chmodSync(keyFile, 0o644);
    await t.services.store.unlock(PASSPHRASE);
    expect(mode(keyFile)).toBe(0o600);
  });
});

describe('output files', () => {
  it('writeNewFile creates an owner-only file, refuses an existing one without force, and a symbolic link always', () => {
    const dir = tempDir('keyladder-out-');
    const out = join(dir, 'bundle.jwe');
    writeNewFile(out, 'first', false);
    expect(readFileSync(out, 'utf8')).toBe('first');
    if (posix) expect(mode(out)).toBe(0o600);
    expect(() => writeNewFile(out, 'second', false)).toThrow(expect.objectContaining({ code: 'FILE_EXISTS', message: expect.stringContaining('--force') }));
    expect(readFileSync(out, 'utf8')).toBe('first');
    writeNewFile(out, 'second', true);
    expect(readFileSync(out, 'utf8')).toBe('second');
    if (posix) {
      const target = join(dir, 'victim');
      writeFileSync(target, 'do not touch');
      const link = join(dir, 'link.jwe');
      symlinkSync(target, link);
      for (const force of [false, true]) expect(() => writeNewFile(link, 'attack', force)).toThrow(expect.objectContaining({ code: 'FILE_EXISTS', message: expect.stringContaining('symbolic link') }));
      expect(readFileSync(target, 'utf8')).toBe('do not touch');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
  });

  it('backup: FILE_EXISTS for an existing file unless force, a symbolic link never, and nothing is written or audited', async () => {
    t = await openTestServices();
    const dir = tempDir('keyladder-backup-out-');
    const file = join(dir, 'store.klbackup');
    writeFileSync(file, 'an older backup');
    const backups = () => t!.services.audit.list({ action: 'store.backup', limit: 100 }).length;
    await expect(t.services.store.backup(file)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(readFileSync(file, 'utf8')).toBe('an older backup');
    expect(backups()).toBe(0);
    await t.services.store.backup(file, undefined, true);
    expect(readFileSync(file).subarray(0, 18).toString()).toBe('KEYLADDER-BACKUP-1');
    expect(backups()).toBe(1);
    if (posix) {
      const target = join(dir, 'victim');
      writeFileSync(target, 'do not touch');
      symlinkSync(target, join(dir, 'link.klbackup'));
      await expect(t.services.store.backup(join(dir, 'link.klbackup'), undefined, true)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
      expect(readFileSync(target, 'utf8')).toBe('do not touch');
      expect(backups()).toBe(1);
    }
  });
});

describe('a forced write can be taken back: the file it replaced is kept aside until the write stands', () => {
  const kept = (dir: string) => readdirSync(dir).filter((name) => name.includes('.keyladder-previous-'));

  it('putBack restores the replaced file, forget drops the kept copy; with nothing there, putBack removes the new file', () => {
    const dir = tempDir('keyladder-undo-');
    const file = join(dir, 'export.jwe');
    writeFileSync(file, 'previous');
    const undone = writeNewFileUndoably(file, 'new', true);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(kept(dir)).toEqual([`export.jwe.keyladder-previous-${process.pid}`]);
    undone.putBack();
    expect(readFileSync(file, 'utf8')).toBe('previous');
    expect(kept(dir)).toEqual([]);

    const stands = writeNewFileUndoably(file, 'newer', true);
    stands.forget();
    expect(readFileSync(file, 'utf8')).toBe('newer');
    expect(kept(dir)).toEqual([]);

    const fresh = join(dir, 'fresh.jwe');
    writeNewFileUndoably(fresh, 'new', false).putBack();
    expect(existsSync(fresh)).toBe(false);
  });

  it('a kept name already taken (a crash left one behind) is never replaced: the next free name is used', () => {
    const dir = tempDir('keyladder-undo-');
    const file = join(dir, 'export.jwe');
    writeFileSync(file, 'previous');
    const stale = `${file}.keyladder-previous-${process.pid}`;
    writeFileSync(stale, 'left by a crash');
    const undone = writeNewFileUndoably(file, 'new', true);
    expect(readFileSync(stale, 'utf8')).toBe('left by a crash');
    undone.putBack();
    expect(readFileSync(file, 'utf8')).toBe('previous');
    expect(kept(dir)).toEqual([`export.jwe.keyladder-previous-${process.pid}`]);
  });

  it('a write that fails leaves the old file and no kept copy', () => {
    const dir = tempDir('keyladder-undo-');
    const file = join(dir, `${'n'.repeat(240)}.jwe`);
    writeFileSync(file, 'previous');
    let code: unknown;
    try {
      writeNewFileUndoably(file, 'new', true);
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe('FILE_UNWRITABLE');
    expect(readFileSync(file, 'utf8')).toBe('previous');
    expect(kept(dir)).toEqual([]);
  });

  it('a forced backup whose audit record fails puts back the backup it replaced', async () => {
    t = await openTestServices();
    const dir = tempDir('keyladder-backup-undo-');
    const file = join(dir, 'store.klbackup');
    writeFileSync(file, 'an older backup');
    const store = (t.services.store as unknown as { session: { store(): KeyStore } }).session.store();
    vi.spyOn(store.audit, 'append').mockImplementationOnce(() => { throw new Error('the audit log cannot be written'); });
    await expect(t.services.store.backup(file, undefined, true)).rejects.toThrow('the audit log cannot be written');
    expect(readFileSync(file, 'utf8')).toBe('an older backup');
    expect(kept(dir)).toEqual([]);
    await t.services.store.backup(file, undefined, true);
    expect(readFileSync(file).subarray(0, 18).toString()).toBe('KEYLADDER-BACKUP-1');
    expect(kept(dir)).toEqual([]);
  });
});
