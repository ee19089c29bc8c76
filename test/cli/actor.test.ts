// The CLI's actor and --reason (issue 22 item 3): each command's records name
// the OS user and host; destructive commands take --reason, recorded in their
// entry, and refuse one over 1,000 characters or with control characters
// (REASON_INVALID, exit 2, no byte of the store changed); audit list shows
// who acted and filters by --actor.
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';

const dir = tempDir('keyladder-actor-');
const storeDir = join(dir, 'store');
const run = (args: string[]) => cli(['--store', storeDir, ...args]);
const json = async (args: string[]) => {
  const r = await run([...args, '--json']);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const ME = `${userInfo().username}@${hostname()}`;

beforeAll(async () => {
  expect((await run(['init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await run(['device', 'add', 'ESN-1'])).code).toBe(0);
  expect((await run(['device', 'add', 'ESN-2'])).code).toBe(0);
  for (const id of ['ESN-3', 'ESN-4', 'ESN-5']) expect((await run(['device', 'add', id])).code).toBe(0);
});

describe('the CLI\'s actor and --reason', () => {
  it('records user@host on every entry it writes, and the reason of a revoke', async () => {
    const revoked = await run(['device', 'revoke', 'ESN-1', '--reason', 'lost in transit']);
    expect(revoked.code, revoked.stderr).toBe(0);
    const { value } = await json(['audit', 'list', '--include-unlocks', '--limit', '1000']);
    const entries = value.items as Array<{ action: string; actor: string | null; reason: string | null; subject: string | null }>;
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.filter((e) => e.actor !== ME)).toEqual([]);
    expect(entries.find((e) => e.action === 'device.revoke')).toMatchObject({ subject: 'ESN-1', actor: ME, reason: 'lost in transit' });
    const text = await run(['audit', 'list', '--action', 'device.revoke']);
    expect(text.stdout).toContain(`by ${ME}  ESN-1`);
    expect(text.stdout).toContain('reason "lost in transit"');
  });

  it('filters audit list by --actor', async () => {
    const mine = await json(['audit', 'list', '--actor', ME]);
    expect((mine.value.items as unknown[]).length).toBeGreaterThan(0);
    const none = await json(['audit', 'list', '--actor', 'nobody@nowhere']);
    expect(none.value).toEqual({ items: [] });
  });

  it.each([
    ['over 1,000 characters', 'x'.repeat(1001)],
    ['with a newline', 'first line\nforged line'],
    ['with an escape sequence', 'red \u001b[31m'],
  ])('refuses a --reason %s: REASON_INVALID, exit 2, nothing changed', async (_what, reason) => {
    const before = storeHashes(storeDir);
    for (const args of [['device', 'revoke', 'ESN-2'], ['device', 'revoke', '--prefix', 'ESN-', '--yes'], ['device', 'delete', 'ESN-3', '--yes'], ['device', 'delete', '--prefix', 'ESN-', '--yes'], ['issuer', 'retire', '1'], ['issuer', 'destroy', '1', '--yes'], ['rekey'], ['msl', 'keys', 'retire', '1'], ['msl', 'identity', 'destroy', '1', '--yes']]) {
      const r = await json([...args, '--reason', reason]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.value.error.code).toBe('REASON_INVALID');
    }
    expect(storeHashes(storeDir)).toEqual(before);
    expect((await json(['device', 'show', 'ESN-2'])).value).toMatchObject({ status: 'active' });
    expect((await json(['device', 'show', 'ESN-3'])).value).toMatchObject({ status: 'active' });
  });

  it('records who deleted a device and why, with its KCVs; a batch revoke carries the reason on each row', async () => {
    const r = await run(['device', 'delete', 'ESN-3', '--yes', '--reason', 'mistaken import, batch 7']);
    expect(r.code, r.stderr).toBe(0);
    const { value } = await json(['audit', 'list', '--action', 'device.delete', '--subject', 'ESN-3']);
    expect(value.items[0]).toMatchObject({ actor: ME, reason: 'mistaken import, batch 7', details: { kcvKpw: expect.any(String) } });
    const batch = await run(['device', 'revoke', 'ESN-4', 'ESN-5', '--yes', '--reason', 'recalled lot']);
    expect(batch.code, batch.stderr).toBe(0);
    const revokes = (await json(['audit', 'list', '--action', 'device.revoke', '--limit', '2'])).value.items as Array<{ subject: string; actor: string; reason: string }>;
    expect(revokes.map((e) => [e.subject, e.actor, e.reason]).sort()).toEqual([['ESN-4', ME, 'recalled lot'], ['ESN-5', ME, 'recalled lot']]);
    expect((await run(['audit', 'verify'])).code).toBe(0);
  });

  it('takes exactly 1,000 characters', async () => {
    const r = await run(['device', 'revoke', 'ESN-2', '--reason', 'y'.repeat(1000)]);
    expect(r.code, r.stderr).toBe(0);
    const { value } = await json(['audit', 'list', '--action', 'device.revoke', '--subject', 'ESN-2']);
    expect(value.items[0].reason).toBe('y'.repeat(1000));
    expect((await run(['audit', 'verify'])).code).toBe(0);
  });
});
