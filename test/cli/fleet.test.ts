// Issue 22, items 1 and 2: batches by selector (--group, --prefix, --all,
// --ids-from, IDs) for device export, revoke and delete, device list by cursor
// and --all, and device delete with its tombstone. Each refusal changes nothing.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPassphraseExport } from '../support/factory.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-fleet-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const BUNDLE_PASS = 'bundle passphrase for the factory';
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const json = async (args: string[], options?: Parameters<typeof cli>[1]) => {
  const r = await cli([...S, ...args, '--json'], options);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const identities = async (): Promise<string[]> => {
  const r = await cli([...S, 'device', 'list', '--all', '--json']);
  expect(r.code).toBe(0);
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l).identity);
};
const auditCount = async (action: string): Promise<number> => (await json(['audit', 'list', '--action', action, '--limit', '1000'])).value.items.length;
const exportOf = async (args: string[], name: string) => {
  const out = join(dir, name);
  const r = await json(['device', 'export', ...args, '--out', out], { env: { KEYLADDER_BUNDLE_PASSPHRASE: BUNDLE_PASS } });
  return { r, out };
};
const bundleIdentities = async (path: string): Promise<string[]> => {
  const { readFileSync } = await import('node:fs');
  const { plaintext } = await openPassphraseExport(readFileSync(path, 'utf8').trim(), BUNDLE_PASS);
  return JSON.parse(Buffer.from(plaintext).toString('utf8')).payload.devices.map((d: { identity: string }) => d.identity);
};

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await cli([...S, 'group', 'add', 'model-a'])).code).toBe(0);
  expect((await cli([...S, 'group', 'add', 'model-empty'])).code).toBe(0);
  const rows = ['identity,group', ...Array.from({ length: 5 }, (_, i) => `LOT1-${i},model-a`), ...Array.from({ length: 4 }, (_, i) => `LOT2-${i},`)];
  expect((await cli([...S, 'device', 'import', file('fleet.csv', `${rows.join('\n')}\n`)])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('device list by cursor and --all', () => {
  it('--all streams every device as JSON lines in one run, in identity order', async () => {
    expect(await identities()).toEqual(['LOT1-0', 'LOT1-1', 'LOT1-2', 'LOT1-3', 'LOT1-4', 'LOT2-0', 'LOT2-1', 'LOT2-2', 'LOT2-3']);
    const text = await cli([...S, 'device', 'list', '--all', '--prefix', 'LOT2-']);
    expect(text.stdout.trim().split('\n')).toHaveLength(5);
    expect(text.stdout).toContain('4 devices');
  });

  it('--after pages by cursor to the end, with "next" until the last page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: { items: Array<{ identity: string }>; next: string | null } = (await json(['device', 'list', '--limit', '4', ...(after === null ? ['--after', '!'] : ['--after', after])])).value;
      seen.push(...page.items.map((d: { identity: string }) => d.identity));
      after = page.next;
      if (after === null) break;
    }
    expect(seen).toEqual(await identities());
    const group = (await json(['device', 'list', '--group', 'model-a', '--limit', '2'])).value;
    expect(group.items.map((d: { identity: string }) => d.identity)).toEqual(['LOT1-0', 'LOT1-1']);
    expect(group.next).toBe('LOT1-1');
  });

  it('refuses --all with --limit or --offset, and --group with --prefix', async () => {
    for (const args of [['--all', '--limit', '5'], ['--all', '--offset', '2'], ['--group', 'model-a', '--prefix', 'L']]) {
      const r = await json(['device', 'list', ...args]);
      expect(r.code).toBe(2);
      expect(r.value.error.code).toBe('USAGE_BAD_VALUE');
    }
  });
});

describe('device export by selector', () => {
  it('exports a group, a prefix, a list from a file or stdin, and --all', async () => {
    const group = await exportOf(['--group', 'model-a'], 'group.jwe');
    expect(group.r.code).toBe(0);
    expect(await bundleIdentities(group.out)).toEqual(['LOT1-0', 'LOT1-1', 'LOT1-2', 'LOT1-3', 'LOT1-4']);
    const prefix = await exportOf(['--prefix', 'LOT2-'], 'prefix.jwe');
    expect(await bundleIdentities(prefix.out)).toEqual(['LOT2-0', 'LOT2-1', 'LOT2-2', 'LOT2-3']);
    const list = await exportOf(['--ids-from', file('ids.txt', 'LOT2-1\r\nLOT1-3\n')], 'list.jwe');
    expect(list.r.value.devices).toBe(2);
    expect(await bundleIdentities(list.out)).toEqual(['LOT2-1', 'LOT1-3']);
    const out = join(dir, 'stdin.jwe');
    const piped = await json(['device', 'export', '--ids-from', '-', '--out', out], { stdin: 'LOT1-0\n', env: { KEYLADDER_BUNDLE_PASSPHRASE: BUNDLE_PASS } });
    expect(piped.code).toBe(0);
    expect(await bundleIdentities(out)).toEqual(['LOT1-0']);
    const all = await exportOf(['--all'], 'all.jwe');
    expect((await bundleIdentities(all.out))).toHaveLength(9);
  });

  it('refuses an empty group, a prefix matching nothing, and --ids-from with a blank line, a repeat or an unknown identity: no file, no audit record', async () => {
    const before = await auditCount('device.export');
    const cases: Array<[string[], string, RegExp]> = [
      [['--group', 'model-empty'], 'DEVICE_NOT_FOUND', /model group "model-empty" has no device/],
      [['--group', 'no-such-group'], 'GROUP_NOT_FOUND', /no-such-group/],
      [['--prefix', 'NOPE-'], 'DEVICE_NOT_FOUND', /starting with "NOPE-"/],
      [['--ids-from', file('blank.txt', 'LOT1-0\n\nLOT1-1\n')], 'IDENTITY_LIST_INVALID', /line 2 is blank/],
      [['--ids-from', file('dup.txt', 'LOT1-0\nLOT1-1\nLOT1-0\n')], 'IDENTITY_LIST_INVALID', /line 3 names "LOT1-0" again \(first on line 1\)/],
      [['--ids-from', file('unknown.txt', 'LOT1-0\nGHOST-1\n')], 'DEVICE_NOT_FOUND', /GHOST-1/],
      [['--ids-from', file('empty.txt', '')], 'IDENTITY_LIST_INVALID', /empty/],
    ];
    for (const [args, code, message] of cases) {
      const { r, out } = await exportOf(args, 'refused.jwe');
      expect(r.value.error.code, args.join(' ')).toBe(code);
      expect(r.value.error.message).toMatch(message);
      const { existsSync } = await import('node:fs');
      expect(existsSync(out)).toBe(false);
    }
    expect(await auditCount('device.export')).toBe(before);
  });

  it('takes one way of naming devices: two, or none, is a usage error', async () => {
    const two = await exportOf(['LOT1-0', '--group', 'model-a'], 'two.jwe');
    expect(two.r.code).toBe(2);
    expect(two.r.value.error.code).toBe('USAGE_BAD_VALUE');
    const none = await exportOf([], 'none.jwe');
    expect(none.r.value.error.code).toBe('USAGE_MISSING_ARGUMENT');
  });
});

describe('device revoke by selector', () => {
  it('prints the count and refuses without --yes, changing nothing', async () => {
    const r = await json(['device', 'revoke', '--prefix', 'LOT2-']);
    expect(r.code).toBe(2);
    expect(r.value.error.code).toBe('USAGE_NOT_CONFIRMED');
    expect(r.value.error.message).toContain('This revokes 4 devices');
    expect((await json(['device', 'show', 'LOT2-0'])).value.status).toBe('active');
  });

  it('revokes a selection with --yes, one audit row each, and counts those revoked already', async () => {
    expect((await json(['device', 'revoke', 'LOT2-3'])).value.status).toBe('revoked');
    const before = await auditCount('device.revoke');
    const r = await json(['device', 'revoke', '--prefix', 'LOT2-', '--yes']);
    expect(r.code).toBe(0);
    expect(r.value).toEqual({ revoked: 3, alreadyRevoked: 1 });
    expect(await auditCount('device.revoke')).toBe(before + 3);
    for (const id of ['LOT2-0', 'LOT2-1', 'LOT2-2']) expect((await json(['device', 'show', id])).value.status).toBe('revoked');
  });

  it('refuses a list with an unknown identity whole: nothing revoked', async () => {
    const r = await json(['device', 'revoke', '--ids-from', file('rv.txt', 'LOT1-0\nGHOST-2\n'), '--yes']);
    expect(r.value.error.code).toBe('DEVICE_NOT_FOUND');
    expect((await json(['device', 'show', 'LOT1-0'])).value.status).toBe('active');
  });
});

describe('device delete', () => {
  it('needs --yes, even for one device, and prints the count', async () => {
    const r = await json(['device', 'delete', 'LOT1-4']);
    expect(r.code).toBe(2);
    expect(r.value.error.code).toBe('USAGE_NOT_CONFIRMED');
    expect(r.value.error.message).toContain('This deletes 1 device: its keys are destroyed');
    expect((await json(['device', 'show', 'LOT1-4'])).code).toBe(0);
  });

  it('deletes: the rows go, the audit keeps identity and KCVs, and a second delete is DEVICE_DELETED', async () => {
    const shown = (await json(['device', 'show', 'LOT1-4'])).value;
    const r = await json(['device', 'delete', 'LOT1-4', '--yes']);
    expect(r.code).toBe(0);
    expect(r.value.deleted).toBe(1);
    expect((await json(['device', 'show', 'LOT1-4'])).value.error.code).toBe('DEVICE_NOT_FOUND');
    const [row] = (await json(['audit', 'list', '--action', 'device.delete', '--subject', 'LOT1-4'])).value.items;
    expect(row.details).toMatchObject({ kcvKpw: shown.kcv.kpw, group: 'model-a', status: 'active' });
    const again = await json(['device', 'delete', 'LOT1-4', '--yes']);
    expect(again.code).toBe(1);
    expect(again.value.error.code).toBe('DEVICE_DELETED');
    expect(again.value.error.message).toMatch(/LOT1-4 \(deleted on /);
  });

  it('refuses to provision or import a deleted identity again without --reuse-identity', async () => {
    const add = await json(['device', 'add', 'LOT1-4']);
    expect(add.value.error.code).toBe('DEVICE_DELETED');
    const imp = await json(['device', 'import', file('again.csv', 'identity\nNEW-1\nLOT1-4\n')]);
    expect(imp.code).toBe(1);
    expect(imp.value.failed).toEqual([expect.objectContaining({ row: 3, identity: 'LOT1-4', code: 'DEVICE_DELETED' })]);
    expect((await json(['device', 'show', 'NEW-1'])).value.error.code).toBe('DEVICE_NOT_FOUND');
    const reused = await json(['device', 'import', file('again.csv', 'identity\nNEW-1\nLOT1-4\n'), '--reuse-identity']);
    expect(reused.value.imported).toBe(2);
    expect((await json(['device', 'show', 'LOT1-4'])).value.status).toBe('active');
  });

  it('deletes a selection in one go and refuses a list with a blank line, a repeat or an unknown identity, deleting nothing', async () => {
    for (const text of ['LOT1-0\n\n', 'LOT1-0\nLOT1-0\n', 'LOT1-0\nGHOST-3\n']) {
      const r = await json(['device', 'delete', '--ids-from', file('del.txt', text), '--yes']);
      expect(r.code).not.toBe(0);
      expect((await json(['device', 'show', 'LOT1-0'])).code).toBe(0);
    }
    const empty = await json(['device', 'delete', '--group', 'model-empty', '--yes']);
    expect(empty.value.error.code).toBe('DEVICE_NOT_FOUND');
    const r = await json(['device', 'delete', '--prefix', 'LOT2-', '--yes']);
    expect(r.value.deleted).toBe(4);
    expect(await identities()).toEqual(['LOT1-0', 'LOT1-1', 'LOT1-2', 'LOT1-3', 'LOT1-4', 'NEW-1']);
    expect(await auditCount('device.delete')).toBe(5);
  });
});
