// `keyladder status` at a glance (issue 22, item 8): locked or not, device
// counts (active, revoked, deleted), generation counts, the active Kissuer
// (generation and KCV), the audit head (seq and MAC prefix), the last backup
// (time and file); plain and --json.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-status-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const NO_PASSPHRASE = { KEYLADDER_PASSPHRASE: '' };
const status = async () => JSON.parse((await cli([...S, 'status', '--json'])).stdout);

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keyladder status', () => {
  it('a store not created: says so, and where', async () => {
    const r = await cli(['--store', join(dir, 'none'), 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Store: ${join(dir, 'none', 'keyladder.db')} (not created)\n`);
  });

  it('a new store: no devices, one active generation, no backup', async () => {
    const s = await status();
    expect(s).toMatchObject({ exists: true, locked: false, devices: { active: 0, revoked: 0, deleted: 0 }, generations: { active: 1, grace: 0, retired: 0, destroyed: 0 }, lastBackup: null });
    expect(s.activeKissuer).toEqual({ generation: 1, kcv: expect.stringMatching(/^[0-9A-F]{6}$/) });
  });

  it('counts devices by status, generations by status, names the active Kissuer, the audit head and the last backup', async () => {
    for (const id of ['ESN-1', 'ESN-2', 'ESN-3', 'ESN-4']) expect((await cli([...S, 'device', 'add', id])).code).toBe(0);
    expect((await cli([...S, 'device', 'revoke', 'ESN-2'])).code).toBe(0);
    expect((await cli([...S, 'device', 'delete', 'ESN-3', 'ESN-4', '--yes'])).code).toBe(0);
    // A deleted identity provisioned again is a device again, not a deleted one.
    expect((await cli([...S, 'device', 'add', 'ESN-4', '--reuse-identity'])).code).toBe(0);
    expect((await cli([...S, 'issuer', 'rotate'])).code).toBe(0);
    const backup = join(dir, 'b.klbak');
    expect((await cli([...S, 'backup', backup])).code).toBe(0);

    const s = await status();
    // status's own unlock is the newest entry; the audit list's unlock comes right after it.
    const [newest] = JSON.parse((await cli([...S, 'audit', 'list', '--include-unlocks', '--limit', '1', '--json'])).stdout).items;
    const gens = JSON.parse((await cli([...S, 'issuer', 'list', '--json'])).stdout).items as Array<{ generation: number; status: string; kcv: string }>;
    expect(s.devices).toEqual({ active: 2, revoked: 1, deleted: 1 });
    expect(s.generations).toEqual({ active: 1, grace: 1, retired: 0, destroyed: 0 });
    expect(s.activeKissuer).toEqual({ generation: 2, kcv: gens.find((g) => g.status === 'active')!.kcv });
    expect(s.auditHead).toEqual({ seq: newest.seq - 1, macPrefix: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(s.lastBackup).toEqual({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), file: backup });

    const text = (await cli([...S, 'status'])).stdout;
    expect(text).toContain('(unlocked for this command');
    expect(text).toContain('Devices: 2 active, 1 revoked, 1 deleted');
    expect(text).toContain('Kissuer generations: 1 active, 1 in grace, 0 retired, 0 destroyed');
    expect(text).toContain(`Active Kissuer: gen 2, KCV ${s.activeKissuer.kcv}`);
    expect(text).toMatch(/Audit head: #\d+, MAC [0-9a-f]{16}…/);
    expect(text).toContain(`Last backup: ${s.lastBackup.at} to ${backup}`);
  });

  it('without a passphrase at hand: locked, exit 0, nothing inside shown', async () => {
    const r = await cli([...S, 'status'], { env: NO_PASSPHRASE });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(locked: give its passphrase');
    expect(r.stdout).not.toContain('Devices');
    const j = JSON.parse((await cli([...S, 'status', '--json'], { env: NO_PASSPHRASE })).stdout);
    expect(j).toMatchObject({ exists: true, locked: true, unlocked: false });
    expect(j.devices).toBeUndefined();
  });

  it('a wrong passphrase, or a passphrase file that cannot be read, stays an error', async () => {
    const wrong = join(dir, 'wrong.txt');
    writeFileSync(wrong, 'not the passphrase\n');
    const r = await cli([...S, 'status', '--passphrase-file', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[[A-Z_]+\]/);
    expect(r.stdout).toBe('');
  });
});
