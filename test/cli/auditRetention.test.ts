// The CLI's audit retention (issue 19, item 8): audit policy, audit archive
// and audit verify --archive, as an operator types them.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';

const dir = tempDir('keyladder-retention-cli-');
const storeDir = join(dir, 'store');
const run = (args: string[]) => cli(['--store', storeDir, ...args]);
const json = async (args: string[]) => {
  const r = await run([...args, '--json']);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};

beforeAll(async () => {
  expect((await run(['init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await run(['group', 'add', 'MODEL-R'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit policy', () => {
  it('shows full by default, sets summary (audited), and refuses another word', async () => {
    expect((await json(['audit', 'policy'])).value).toEqual({ exchanges: 'full' });
    const set = await run(['audit', 'policy', '--exchanges', 'summary']);
    expect(set).toMatchObject({ code: 0, stdout: 'Answered exchanges are now audited: summary.\n' });
    expect((await json(['audit', 'list', '--action', 'audit.policy'])).value.items[0].details).toEqual({ exchanges: 'summary', previous: 'full' });
    const bad = await run(['audit', 'policy', '--exchanges', 'none']);
    expect(bad.code).toBe(2);
    expect((await json(['audit', 'policy'])).value).toEqual({ exchanges: 'summary' });
  });
});

describe('audit archive and audit verify --archive', () => {
  it('archives, trims, and both verify; a tampered archive does not; a bad date or a file in the way changes nothing', async () => {
    const out = join(dir, 'audit-1.jsonl');
    const before = storeHashes(storeDir);
    const badDate = await run(['audit', 'archive', '--before', 'last week', '--out', out]);
    expect(badDate.code).not.toBe(0);
    expect(badDate.stderr).toContain('[INVALID_ARGUMENT]');
    writeFileSync(join(dir, 'taken.jsonl'), 'mine');
    const taken = await run(['audit', 'archive', '--before', '2099-01-01', '--out', join(dir, 'taken.jsonl')]);
    expect(taken.stderr).toContain('[FILE_EXISTS]');
    expect(storeHashes(storeDir)).toEqual(before);

    const archived = await json(['audit', 'archive', '--before', '2099-01-01', '--out', out]);
    expect(archived.code).toBe(0);
    const { from, to, sha256 } = archived.value as { from: number; to: number; sha256: string };
    expect(from).toBe(1);
    const verify = await run(['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`(entries 1 to ${to} are in archive files; check them with --archive)`);
    const archive = await run(['audit', 'verify', '--archive', out]);
    expect(archive.code).toBe(0);
    expect(archive.stdout).toMatch(new RegExp(`^The archive verifies: entries 1 to ${to} .*every MAC checked\\. The log records this archive\\. The kept log starts right after it\\.`));
    expect((await json(['audit', 'list', '--action', 'audit.archive'])).value.items[0].details).toMatchObject({ from: 1, to, sha256 });

    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, readFileSync(out, 'utf8').replace('"action":"group.add"', '"action":"group.add "'));
    const caught = await run(['audit', 'verify', '--archive', tampered]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain('The archive does NOT verify: Entry');
  });
});
