// Every command that takes a file path says FILE_UNREADABLE, exit 2, for a
// missing one, naming it, and changes nothing (issue 22, item 8: `restore
// nope.db` was BACKUP_INVALID, exit 1). The other files each command needs are
// there, so that the missing one is the one refused.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';

const dir = tempDir('keyladder-missing-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const MISSING = join(dir, 'nope', 'missing.file');
const present = join(dir, 'present.txt');

// [what is missing, the command line]; MISSING is the path that does not exist.
// A new passphrase is asked for after the store's (issue 22, item 5): those
// commands have unlocked the store, and recorded that, when they refuse.
const AFTER_UNLOCK = new Set(['device export --bundle-passphrase-file', 'passphrase change --new-passphrase-file']);
const CASES: readonly (readonly [string, readonly string[]])[] = [
  ['restore FILE', ['restore', MISSING, '--yes']],
  ['device import FILE', ['device', 'import', MISSING]],
  ['issuer import FILE', ['issuer', 'import', MISSING]],
  ['revocation import FILE', ['revocation', 'import', MISSING]],
  ['recipient add FILE', ['recipient', 'add', MISSING]],
  ['msl inspect FILE', ['msl', 'inspect', MISSING]],
  ['jose inspect FILE', ['jose', 'inspect', MISSING]],
  ['jose decrypt FILE', ['jose', 'decrypt', MISSING]],
  ['jose verify FILE', ['jose', 'verify', MISSING]],
  ['jose encrypt FILE', ['jose', 'encrypt', MISSING, '--to', 'kid']],
  ['device add --keys', ['device', 'add', 'D1', '--keys', MISSING]],
  ['group add --keys', ['group', 'add', 'g1', '--keys', MISSING]],
  ['issuer import-msl --keys', ['issuer', 'import-msl', '--keys', MISSING]],
  ['msl keys import-msl --keys', ['msl', 'keys', 'import-msl', '--keys', MISSING]],
  ['verify --checkpoint', ['verify', '--checkpoint', MISSING]],
  ['audit verify --archive', ['audit', 'verify', '--archive', MISSING]],
  ['device export --recipient', ['device', 'export', 'D1', '--out', join(dir, 'out.jwe'), '--recipient', MISSING]],
  ['device export --bundle-passphrase-file', ['device', 'export', 'D1', '--out', join(dir, 'out.jwe'), '--bundle-passphrase-file', MISSING]],
  ['group export --recipient', ['group', 'export', 'g1', '--out', join(dir, 'out.jwe'), '--recipient', MISSING]],
  ['issuer export --recipient', ['issuer', 'export', '1', '--out', join(dir, 'out.jwe'), '--recipient', MISSING]],
  ['revocation export --recipient', ['revocation', 'export', '--out', join(dir, 'out.jwe'), '--recipient', MISSING]],
  ['device revoke --ids-from', ['device', 'revoke', '--ids-from', MISSING, '--yes']],
  ['device delete --ids-from', ['device', 'delete', '--ids-from', MISSING, '--yes']],
  ['device export --ids-from', ['device', 'export', '--ids-from', MISSING, '--out', join(dir, 'out.jwe')]],
  ['simulate --wrapdata', ['simulate', 'D1', '--wrapdata', MISSING]],
  ['jose decrypt --key-file', ['jose', 'decrypt', present, '--key-file', MISSING]],
  ['jose verify --key-file', ['jose', 'verify', present, '--key-file', MISSING]],
  ['msl identity import --key', ['msl', 'identity', 'import', '--key', MISSING, '--kid', 'k']],
  ['msl identity import --public-key', ['msl', 'identity', 'import', '--key', present, '--kid', 'k', '--public-key', MISSING]],
  ['--passphrase-file', ['device', 'list', '--passphrase-file', MISSING]],
  ['status --passphrase-file', ['status', '--passphrase-file', MISSING]],
  ['passphrase change --new-passphrase-file', ['passphrase', 'change', '--new-passphrase-file', MISSING]],
  ['issuer import --private-key', ['issuer', 'import', present, '--private-key', MISSING]],
  ['revocation import --private-key', ['revocation', 'import', present, '--private-key', MISSING]],
  ['init --join', ['init', '--join', MISSING]],
  ['init --new-passphrase-file', ['init', '--new-passphrase-file', MISSING]],
  ['serve --token-file', ['serve', '--port', '0', '--token-file', MISSING]],
  ['serve --tls-cert', ['serve', '--port', '0', '--tls-cert', MISSING, '--tls-key', present]],
  ['serve --tls-key', ['serve', '--port', '0', '--tls-cert', present, '--tls-key', MISSING]],
];

/** The audit log's rows, but the CLI's own unlocks. */
const auditRows = async (): Promise<unknown> => JSON.parse((await cli([...S, 'audit', 'list', '--limit', '10000', '--json'])).stdout);

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  mkdirSync(dir, { recursive: true });
  writeFileSync(present, 'not what it should be\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a missing file is FILE_UNREADABLE, exit 2, for every command that takes one', () => {
  it.each(CASES)('%s', async (what, args) => {
    // init makes a store: it gets a folder of its own, which must stay empty.
    const store = args[0] === 'init' ? ['--store', join(dir, 'fresh')] : S;
    const before = storeHashes(storeDir);
    const auditBefore = AFTER_UNLOCK.has(what) ? await auditRows() : undefined;
    const r = await cli([...store, ...args]);
    expect(r.stderr).toContain('[FILE_UNREADABLE]');
    expect(r.stderr).toContain(MISSING);
    expect(r.code).toBe(2);
    // Nothing changed: not a byte, or (after the unlock) no record but the unlock's.
    if (auditBefore === undefined) expect(storeHashes(storeDir)).toEqual(before);
    else expect(await auditRows()).toEqual(auditBefore);
  });

  it('also with --json: the code as error.code', async () => {
    const r = await cli([...S, 'restore', MISSING, '--yes', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('FILE_UNREADABLE');
  });

  it('a folder given as the backup is unreadable as a file too', async () => {
    const r = await cli([...S, 'restore', dir, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[FILE_UNREADABLE]');
  });

  it('the table covers every command whose usage names a file', () => {
    const covered = new Set(CASES.map(([, args]) => args.slice(0, 3).filter((w) => /^[a-z-]+$/.test(w)).join(' ')));
    // backup's FILE is what it writes.
    const fileTaking = COMMANDS.filter((c) => (/FILE/.test(c.params ?? '') && c.name !== 'backup') || c.options.some((o) => ['keys', 'checkpoint', 'archive', 'recipient', 'ids-from', 'wrapdata', 'key-file', 'key', 'public-key', 'private-key', 'join', 'token-file', 'tls-cert'].includes(o)));
    const missing = fileTaking.filter((c) => ![...covered].some((k) => k.startsWith(c.name))).map((c) => c.name);
    expect(missing).toEqual([]);
  });
});
