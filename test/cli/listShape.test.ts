// Every list command's --json has one shape (issue 22, item 8: `audit list`
// printed a bare array, `device list` an object): {"items": [...]}, with the
// paging members device list adds; `device list --all --json` is JSON lines.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-lists-');
const S = ['--store', join(dir, 'store')];

// [command line, the members besides "items" it has]
const LISTS: readonly (readonly [readonly string[], readonly string[]])[] = [
  [['audit', 'list'], []],
  [['device', 'list'], ['total', 'offset']],
  [['device', 'list', '--after', 'ESN-1'], ['next']],
  [['device', 'list', '--group', 'tv'], ['next']],
  [['group', 'list'], []],
  [['issuer', 'list'], []],
  [['recipient', 'list'], []],
  [['identity', 'list'], []],
  [['revocation', 'peers'], []],
  [['msl', 'keys', 'show'], []],
  [['msl', 'identity', 'show', '--all'], []],
];

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await cli([...S, 'group', 'add', 'tv'])).code).toBe(0);
  for (const id of ['ESN-1', 'ESN-2', 'ESN-3']) expect((await cli([...S, 'device', 'add', id, '--group', 'tv'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('list commands\' --json', () => {
  it.each(LISTS)('%j is {"items": [...]} and its paging members', async (args, more) => {
    const r = await cli([...S, ...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const value = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Array.isArray(value)).toBe(false);
    expect(Object.keys(value).sort()).toEqual(['items', ...more].sort());
    expect(Array.isArray(value['items'])).toBe(true);
    for (const item of value['items'] as unknown[]) expect(typeof item).toBe('object');
  });

  it('has items where the store has them', async () => {
    const items = async (args: string[]) => (JSON.parse((await cli([...S, ...args, '--json'])).stdout) as { items: unknown[] }).items;
    expect((await items(['device', 'list']))).toHaveLength(3);
    expect((await items(['issuer', 'list']))).toHaveLength(1);
    expect((await items(['group', 'list']))).toHaveLength(1);
    expect((await items(['audit', 'list'])).length).toBeGreaterThan(3);
  });

  it('device list --all --json stays JSON lines: one device a line', async () => {
    const r = await cli([...S, 'device', 'list', '--all', '--json']);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { identity: string });
    expect(lines.map((d) => d.identity)).toEqual(['ESN-1', 'ESN-2', 'ESN-3']);
  });

  it('the table holds every list command', () => {
    const lists = COMMANDS.filter((c) => / (list|peers)$/.test(c.name) || c.name === 'msl keys show').map((c) => c.name);
    const tabled = new Set(LISTS.map(([args]) => args.filter((w) => !w.startsWith('-') && !/^[A-Z]|^tv$/.test(w)).join(' ')));
    expect(lists.filter((n) => !tabled.has(n))).toEqual([]);
  });
});
