// Restore, safely (issue 22, item 4): it shows what it is about to restore,
// asks (or needs --yes, and without a terminal refuses), keeps the replaced
// store as an owner-only safety copy named in its output, and refuses another
// store's backup without --other-store. Every refusal leaves the store as it was.
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcessAsync } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';
import { hasScript, onTerminal } from '../support/terminal.js';
import { deriveVector } from '../support/vectors.js';
import { skipsHere, NO_PTY } from '../support/skips.js';

const dir = tempDir('keyladder-restore-');
const storeDir = join(dir, 'store');
const otherDir = join(dir, 'other');
const S = ['--store', storeDir];
const backup = join(dir, 'one-device.klbak');
const otherBackup = join(dir, 'other-store.klbak');
const v = deriveVector();
const storeId = (d: string) => (JSON.parse(readFileSync(join(d, 'keyladder.key.json'), 'utf8')) as { storeId: string }).storeId;
const replacedFolders = () => readdirSync(storeDir).filter((n) => n.startsWith('replaced-'));
const deviceCount = async (d: string) => (JSON.parse((await cli(['--store', d, 'device', 'list', '--json'])).stdout) as { total: number }).total;

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await cli([...S, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) })).code).toBe(0);
  expect((await cli([...S, 'backup', backup])).code).toBe(0);
  expect((await cli(['--store', otherDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await cli(['--store', otherDir, 'backup', otherBackup])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('restore shows what it is about to restore, and asks', () => {
  it('without a terminal and without --yes: refused before anything is read, the store unchanged', async () => {
    const before = storeHashes(storeDir);
    const r = await cli([...S, 'restore', backup]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[USAGE_NOT_CONFIRMED]');
    expect(storeHashes(storeDir)).toEqual(before);
    expect(replacedFolders()).toEqual([]);
  });

  it('at a terminal: the preview, then "n" keeps the store as it was', async () => {
    const before = storeHashes(storeDir);
    const r = await cli([...S, 'restore', backup], { typed: ['no'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`About to restore ${backup}:`);
    expect(r.stderr).toMatch(/made: +\d{4}-\d\d-\d\dT/);
    expect(r.stderr).toContain(`store id:    ${storeId(storeDir)} (this store's own backup)`);
    expect(r.stderr).toContain('devices:     1');
    expect(r.stderr).toContain('Kissuer:     1 generation, 1 active');
    expect(r.stderr).toMatch(/audit head: +entry \d+ \(MAC [0-9a-f]{16}…\)/);
    expect(r.stdout).toContain('Not restored');
    expect(storeHashes(storeDir)).toEqual(before);
    expect(replacedFolders()).toEqual([]);
  });

  it('"y" restores, and keeps the replaced store in an owner-only folder named in the output, which opens', async () => {
    // A second device after the backup: the restore takes it away, the safety copy keeps it.
    expect((await cli([...S, 'device', 'add', 'after-the-backup', '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) })).code).toBe(0);
    expect(await deviceCount(storeDir)).toBe(2);
    const r = await cli([...S, 'restore', backup], { typed: ['y'] });
    expect(r.code, r.stderr).toBe(0);
    const folders = replacedFolders();
    expect(folders).toHaveLength(1);
    const kept = join(storeDir, folders[0]!);
    expect(r.stdout).toContain(`The replaced store is kept in ${kept}`);
    expect(statSync(kept).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(kept)) expect(statSync(join(kept, f)).mode & 0o777, f).toBe(0o600);
    expect(await deviceCount(storeDir)).toBe(1);
    expect(await deviceCount(kept)).toBe(2);
    expect((await cli([...S, 'verify'])).code).toBe(0);
    expect((await cli(['--store', kept, 'verify'])).code).toBe(0);
  });

  it('--json: the preview and the safety copy in the result, stdout clean JSON', async () => {
    const r = await cli([...S, 'restore', backup, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const value = JSON.parse(r.stdout) as { restored: boolean; safetyCopy: string; preview: { sameStore: boolean; devices: number; storeId: string } };
    expect(value.restored).toBe(true);
    expect(value.preview).toMatchObject({ sameStore: true, devices: 1, storeId: storeId(storeDir) });
    expect(value.safetyCopy.startsWith(join(storeDir, 'replaced-'))).toBe(true);
  });
});

describe('another store\'s backup', () => {
  it('is refused with BACKUP_OTHER_STORE without --other-store, even with --yes, changing nothing', async () => {
    const before = storeHashes(storeDir);
    const folders = replacedFolders();
    for (const args of [['restore', otherBackup, '--yes'], ['restore', otherBackup]]) {
      const r = await cli([...S, ...args], { typed: ['y'] });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[BACKUP_OTHER_STORE]');
      expect(r.stderr).toContain(storeId(otherDir));
      expect(r.stderr).toContain('--other-store');
    }
    expect(storeHashes(storeDir)).toEqual(before);
    expect(replacedFolders()).toEqual(folders);
  });

  it('is restored with --other-store, the preview saying it is another store\'s', async () => {
    const mine = storeId(storeDir);
    const r = await cli([...S, 'restore', otherBackup, '--other-store', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`ANOTHER store's backup (this store is ${mine})`);
    expect(storeId(storeDir)).toBe(storeId(otherDir));
    expect(await deviceCount(storeDir)).toBe(0);
  });
});

describe.skipIf(skipsHere(!hasScript(), NO_PTY))('on a real terminal', () => {
  it('Ctrl-C at the question: "Cancelled.", exit 130, the store unchanged', async () => {
    const before = storeHashes(storeDir);
    const folders = replacedFolders();
    const r = await onTerminal([...S, 'restore', otherBackup, '--other-store'], [{ when: '[y/N]', type: '\x03' }]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('About to restore');
    expect(r.output).toContain('Cancelled.');
    expect(storeHashes(storeDir)).toEqual(before);
    expect(replacedFolders()).toEqual(folders);
  });
});

describe('a backup racing a restore (issue 22, item 4)', () => {
  it('either completes, or is refused with a message that says the store is busy (STORE_IN_USE), never STORE_CORRUPT; the store verifies after', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const outcomes: Array<{ what: string; code: number; stderr: string }> = [];
    // The store's own backup as it is now (the tests above restored another store's).
    const own = join(dir, 'race-own.klbak');
    expect((await cli([...S, 'backup', own])).code).toBe(0);
    // Three rounds, and more (up to eight) until a restore and a backup have each gone through: on a
    // loaded machine the backups can hold the store through every restore of three rounds.
    const through = (what: string) => outcomes.some((o) => o.what === what && o.code === 0);
    for (let round = 0; round < 8 && (round < 3 || !through('restore') || !through('backup')); round++) {
      const restore = cliProcessAsync([...S, 'restore', own, '--yes']).then((r) => outcomes.push({ what: 'restore', ...r }));
      // Backups started before, during and after the restore's swap (a process starts in about 0.3 s here).
      const backups = [0, 150, 400, 800].map(async (delay, i) => {
        await sleep(delay);
        const r = await cliProcessAsync([...S, 'backup', join(dir, `race-${round}-${i}.klbak`)]);
        outcomes.push({ what: 'backup', ...r });
      });
      await Promise.all([restore, ...backups]);
    }
    for (const o of outcomes) {
      expect(o.stderr, `${o.what}: ${o.stderr}`).not.toContain('STORE_CORRUPT');
      expect(o.stderr, `${o.what}: ${o.stderr}`).not.toMatch(/damaged|INTERNAL_ERROR/);
      if (o.code !== 0) expect(o.stderr, `${o.what}: ${o.stderr}`).toMatch(/\[STORE_IN_USE\]/);
    }
    // At least one of each went through: the race was run, not avoided.
    expect(through('backup')).toBe(true);
    expect(through('restore')).toBe(true);
    expect((await cli([...S, 'verify'])).code).toBe(0);
  }, 420_000);
});

