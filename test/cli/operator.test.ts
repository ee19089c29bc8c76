// The CLI as an operator meets it: help and --version, errors with a code and
// the usage line (in text and --json), passphrases and files from flags before
// the environment, output files never replaced silently, warnings, plurals,
// simulate from existing wrapdata, the audit list, and group bundles.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactDecrypt, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../../electron/services/auditActions.js';
import { ROOT, cli, cliProcess } from '../support/cli.js';
import { LadderRequestor, acceptKeyResponse, importWrappingKey } from '../support/device.js';
import { openPassphraseExport } from '../support/factory.js';
import { PASSPHRASE, tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';
import { deriveVector, hex } from '../support/vectors.js';

const dir = tempDir('keyladder-operator-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
type Options = Parameters<typeof cli>[1];
const run = (args: string[], options?: Options) => cli([...S, ...args], options);
const json = async (args: string[], options?: Options) => {
  const r = await run([...args, '--json'], options);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const v = deriveVector();
const BUNDLE = { KEYLADDER_BUNDLE_PASSPHRASE: 'a factory bundle passphrase' };

/** Runs `args` and expects a refusal with `code` and `status` that changes no byte of the store. */
async function refused(args: string[], code: string, status: number, options?: Options) {
  const before = storeHashes(storeDir);
  const text = await run(args, options);
  expect(text.code, text.stderr).toBe(status);
  expect(text.stderr).toContain(`[${code}]`);
  expect(text.stdout).toBe('');
  const machine = await json(args, options);
  expect(machine.code).toBe(status);
  expect(machine.value.error.code).toBe(code);
  expect(storeHashes(storeDir)).toEqual(before);
  return { text, machine: machine.value.error as { code: string; message: string; usage?: string } };
}

beforeAll(async () => {
  expect((await run(['init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await run(['device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) })).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('help and --version', () => {
  it('prints the version of package.json, in-process and through the built binary', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `keyladder ${version}\n`, stderr: '' });
    expect(JSON.parse((await cli(['--version', '--json'])).stdout)).toEqual({ version });
    expect(cliProcess(['--version']).stdout).toBe(`keyladder ${version}\n`);
  });

  it('prints one command\'s help for help COMMAND, COMMAND --help and COMMAND SUB --help, and a group\'s for help GROUP', async () => {
    const one = await cli(['help', 'device', 'export']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^Usage: keyladder device export \[ID\.\.\.\] \[--group NAME\] \[--prefix P\] \[--all\] \[--ids-from FILE\] --out FILE \[--to KID\] \[--recipient PUBLIC_KEY\]/);
    expect(one.stdout).toContain('--bundle-passphrase-file F');
    expect((await cli(['device', 'export', '--help'])).stdout).toBe(one.stdout);
    expect((await cli(['respond', '--help'])).stdout).toContain('reads {"identity"');
    const group = await cli(['help', 'issuer']);
    expect(group.stdout).toContain('issuer rotate [--grace-days N]');
    expect(group.stdout).not.toContain('device add');
    expect((await cli(['issuer', '--help'])).stdout).toBe(group.stdout);
    const overview = await cli(['--help']);
    expect(overview.stdout).toContain('keyladder help COMMAND');
    expect(overview.stdout).toContain('group export NAME...');
    const unknown = await json(['help', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.value.error.code).toBe('USAGE_UNKNOWN_COMMAND');
  });
});

describe('usage errors: a code, the usage line, --json, and nothing changed', () => {
  it('a negative or malformed number is USAGE_BAD_VALUE, however it is written', async () => {
    for (const args of [['issuer', 'rotate', '--grace-days', '-1'], ['issuer', 'rotate', '--grace-days=-1'], ['issuer', 'rotate', '--grace-days', 'seven']]) {
      const { text, machine } = await refused(args, 'USAGE_BAD_VALUE', 2);
      expect(machine.message).toMatch(/^--grace-days takes a whole number/);
      expect(machine.usage).toBe('keyladder issuer rotate [--grace-days N] [--format FORMAT]');
      expect(text.stderr).toContain('\nUsage: keyladder issuer rotate [--grace-days N] [--format FORMAT]\n');
      expect(text.stderr).not.toMatch(/To specify an option argument/);
    }
    await refused(['device', 'list', '--limit', '0'], 'USAGE_BAD_VALUE', 2);
    await refused(['simulate', v.identity, '--mechanism', 'WRAP'], 'USAGE_BAD_VALUE', 2);
    await refused(['policy', 'clone', 'allow'], 'USAGE_BAD_VALUE', 2);
    await refused(['issuer', 'retire', 'one'], 'USAGE_BAD_VALUE', 2);
  });

  it('an unknown option, or one the command does not take, is USAGE_UNKNOWN_OPTION', async () => {
    const { machine } = await refused(['device', 'list', '--kpw', 'x'], 'USAGE_UNKNOWN_OPTION', 2);
    expect(machine.message).toBe('Unknown option --kpw.');
    expect(machine.usage).toBe('keyladder device list [--prefix P] [--group NAME] [--offset N] [--limit N] [--after ID] [--all]');
    const foreign = await refused(['device', 'list', '--grace-days', '3'], 'USAGE_UNKNOWN_OPTION', 2);
    expect(foreign.machine.message).toBe('device list takes no --grace-days.');
  });

  it('missing and extra arguments, unknown commands and subcommands, and --yes not given each have their code', async () => {
    expect((await refused(['device', 'add'], 'USAGE_MISSING_ARGUMENT', 2)).machine.message).toBe('device add needs ID.');
    expect((await refused(['device', 'export', v.identity], 'USAGE_MISSING_ARGUMENT', 2)).machine.message).toBe('device export needs --out.');
    await refused(['device', 'export', v.identity, '--out'], 'USAGE_MISSING_ARGUMENT', 2);
    await refused(['device', 'show', 'A', 'B'], 'USAGE_EXTRA_ARGUMENT', 2);
    await refused(['frobnicate'], 'USAGE_UNKNOWN_COMMAND', 2);
    expect((await refused(['device', 'frob'], 'USAGE_UNKNOWN_COMMAND', 2)).machine.message).toContain('add, import, list');
    await refused(['device'], 'USAGE_MISSING_ARGUMENT', 2);
    await refused(['issuer', 'destroy', '1'], 'USAGE_NOT_CONFIRMED', 2);
    await refused(['recovery-key'], 'USAGE_NOT_CONFIRMED', 2);
  });

  it('respond on a terminal says it reads one request on stdin', async () => {
    const { machine } = await refused(['respond'], 'USAGE_STDIN_IS_TERMINAL', 2, { stdinIsTty: true });
    expect(machine.message).toContain('respond reads one request on stdin');
  });
});

describe('passphrases: an explicit flag wins over the environment', () => {
  it('init takes --new-passphrase-file, then KEYLADDER_NEW_PASSPHRASE, before KEYLADDER_PASSPHRASE', async () => {
    const fromFile = ['--store', join(dir, 'init-file')];
    expect((await cli([...fromFile, 'init', '--kdf-log-n', '10', '--new-passphrase-file', file('new.txt', 'the new passphrase from a file\n')])).code).toBe(0);
    expect((await cli([...fromFile, 'status'], { env: { KEYLADDER_PASSPHRASE: 'the new passphrase from a file' } })).code).toBe(0);
    expect((await cli([...fromFile, 'device', 'list'])).stderr).toContain('[WRONG_PASSPHRASE]');
    expect((await cli([...fromFile, 'device', 'list'], { env: { KEYLADDER_PASSPHRASE: 'the new passphrase from a file' } })).code).toBe(0);

    const fromEnv = ['--store', join(dir, 'init-env')];
    expect((await cli([...fromEnv, 'init', '--kdf-log-n', '10'], { env: { KEYLADDER_NEW_PASSPHRASE: 'the new passphrase from the environment' } })).code).toBe(0);
    expect((await cli([...fromEnv, 'device', 'list'])).stderr).toContain('[WRONG_PASSPHRASE]');
    expect((await cli([...fromEnv, 'device', 'list'], { env: { KEYLADDER_PASSPHRASE: 'the new passphrase from the environment' } })).code).toBe(0);
  });

  it('a folder without a store is STORE_NOT_FOUND, and the CLI (not the store\'s message, which the app shows too) says what to type', async () => {
    const empty = join(dir, 'no-store-here');
    const r = await cli(['--store', empty, 'device', 'list', '--json']);
    expect(JSON.parse(r.stdout).error).toEqual({ code: 'STORE_NOT_FOUND', message: `No KeyLadder store in ${empty}: create one there, or choose the folder that holds it. Type \`keyladder init\` to create it, or give --store (or KEYLADDER_STORE) the right folder.` });
  });

  it('no passphrase source and no terminal is NO_PASSPHRASE, naming the flag and the variable', async () => {
    const { machine } = await refused(['device', 'list'], 'NO_PASSPHRASE', 2, { env: { KEYLADDER_PASSPHRASE: '' } });
    expect(machine.message).toBe('No store passphrase: pass --passphrase-file F, or set KEYLADDER_PASSPHRASE, or run on a terminal to be asked.');
  });

  it('a --passphrase-file that does not exist is an error naming it, even with KEYLADDER_PASSPHRASE set; one that does wins over it', async () => {
    const missing = join(dir, 'no-such-passphrase');
    const { machine } = await refused(['device', 'list', '--passphrase-file', missing], 'FILE_UNREADABLE', 2);
    expect(machine.message).toBe(`Cannot read the store passphrase file '${missing}'.`);
    const right = file('right.txt', `${PASSPHRASE}\n`);
    expect((await run(['device', 'list', '--passphrase-file', right], { env: { KEYLADDER_PASSPHRASE: 'a wrong passphrase in the environment' } })).code).toBe(0);
    const init = ['--store', join(dir, 'init-missing')];
    const r = await cli([...init, 'init', '--new-passphrase-file', missing, '--json']);
    expect(JSON.parse(r.stdout).error).toEqual({ code: 'FILE_UNREADABLE', message: `Cannot read the new store passphrase file '${missing}'.` });
    expect(JSON.parse((await cli([...init, 'status', '--json'])).stdout).exists).toBe(false);
  });
});

describe('passphrases typed on a terminal', () => {
  it('a new passphrase is asked twice; two that differ are PASSPHRASES_DIFFER and create nothing', async () => {
    const store = ['--store', join(dir, 'init-typed')];
    const noEnv = { env: { KEYLADDER_PASSPHRASE: '' } };
    const differ = await cli([...store, 'init', '--kdf-log-n', '10'], { ...noEnv, typed: ['a passphrase typed once', 'a passphrase typed twice'] });
    expect([differ.code, differ.stderr]).toEqual([2, expect.stringContaining('[PASSPHRASES_DIFFER]')]);
    expect(JSON.parse((await cli([...store, 'status', '--json'])).stdout).exists).toBe(false);
    expect((await cli([...store, 'init', '--kdf-log-n', '10'], { ...noEnv, typed: ['the typed passphrase', 'the typed passphrase'] })).code).toBe(0);
    // Opening asks once.
    expect((await cli([...store, 'device', 'list'], { ...noEnv, typed: ['the typed passphrase'] })).code).toBe(0);
    expect((await cli([...store, 'device', 'list'], { ...noEnv, typed: ['not it at all'] })).stderr).toContain('[WRONG_PASSPHRASE]');
  });
});

describe('files: their role and path, never their content', () => {
  it('names each file that cannot be read, and each JSON file that does not parse', async () => {
    const nope = join(dir, 'nope');
    const cases: Array<[string[], string]> = [
      [['device', 'import', nope], 'import'],
      [['device', 'add', 'NEW-1', '--keys', nope], 'keys'],
      [['device', 'export', v.identity, '--out', join(dir, 'never.jwe'), '--recipient', nope], 'recipient key'],
      [['issuer', 'import', nope, '--private-key', nope], 'Kissuer export'],
      [['revocation', 'import', nope], 'revocation list'],
      [['verify', '--checkpoint', nope], 'checkpoint'],
      [['simulate', v.identity, '--wrapdata', nope], 'wrapdata'],
    ];
    for (const [args, role] of cases) expect((await refused(args, 'FILE_UNREADABLE', 2, { env: BUNDLE })).machine.message).toBe(`Cannot read the ${role} file '${nope}'.`);
    const exported = join(dir, 'for-private-key.jwe');
    writeFileSync(exported, 'a.b.c.d.e\n');
    expect((await refused(['issuer', 'import', exported, '--private-key', nope], 'FILE_UNREADABLE', 2)).machine.message).toBe(`Cannot read the private key file '${nope}'.`);
    const init = await cli(['--store', join(dir, 'join-missing'), 'init', '--join', nope, '--json']);
    expect(JSON.parse(init.stdout).error).toEqual({ code: 'FILE_UNREADABLE', message: `Cannot read the Kissuer export file '${nope}'.` });

    const secret = v.kpw_hex;
    const badJson = file('bad.json', `{"kty":"RSA","n":"${secret}"`);
    const r = await refused(['device', 'export', v.identity, '--out', join(dir, 'never.jwe'), '--recipient', badJson], 'FILE_INVALID', 2);
    expect(r.machine.message).toBe(`The recipient key file '${badJson}' is not valid JSON.`);
    const keys = await refused(['device', 'add', 'NEW-2', '--keys', badJson], 'FILE_INVALID', 2);
    expect(JSON.stringify(keys)).not.toContain(secret);
    expect((await refused(['device', 'add', 'NEW-3', '--keys', file('array.json', '[1]')], 'FILE_INVALID', 2)).machine.message).toContain('must hold one JSON object');
  });

  it('a keys file with one key of a pair names the missing partner', async () => {
    const kpe = file('kpe.json', JSON.stringify({ kpe: v.kpe_hex }));
    const kph = file('kph.json', JSON.stringify({ kph: v.kph_hex }));
    expect((await refused(['device', 'add', 'PAIR-1', '--keys', kpe], 'KEYS_INCOMPLETE', 2)).machine.message).toMatch(/^kpe needs kph/);
    expect((await refused(['device', 'add', 'PAIR-1', '--keys', kph], 'KEYS_INCOMPLETE', 2)).machine.message).toMatch(/^kph needs kpe/);
    expect((await refused(['group', 'add', 'pair-group', '--keys', file('kde.json', JSON.stringify({ kde: v.kpe_hex }))], 'KEYS_INCOMPLETE', 2)).machine.message).toMatch(/^kde needs kdh/);
    expect((await refused(['group', 'add', 'pair-group', '--keys', file('kdh.json', JSON.stringify({ kdh: v.kph_hex }))], 'KEYS_INCOMPLETE', 2)).machine.message).toMatch(/^kdh needs kde/);
    const both = await refused(['device', 'add', 'PAIR-1', '--keys', '-'], 'KEYS_INCOMPLETE', 2, { stdin: JSON.stringify({ kpe: v.kpe_hex, kpw: v.kpw_hex }) });
    expect(JSON.stringify(both)).not.toContain(v.kpw_hex);
  });

  it('a bulk import reports CSV rows by their line, JSON ones by their entry, and says when the header row is missing', async () => {
    const csv = await run(['device', 'import', file('lines.csv', 'identity,kpw\nLINE-1,\n\nLINE-2,xyz\n')]);
    expect(csv.code).toBe(1);
    expect(csv.stdout).toContain('Nothing was imported: 1 row of 2 is bad.');
    expect(csv.stdout).toContain('  line 4 (LINE-2): ');
    const jsonImport = await run(['device', 'import', file('entries.json', JSON.stringify([{ identity: 'ENTRY-1' }, { identity: 'ENTRY 2' }]))]);
    expect(jsonImport.stdout).toContain('  entry 2 (ENTRY 2): ');
    const forged = await run(['device', 'import', file('forged.json', JSON.stringify([{ identity: 'OK-1' }, { identity: 'BAD\n  entry 9 (FAKE): fine' }]))]);
    expect(forged.stdout).toContain('  entry 2 (BAD\\n  entry 9 (FAKE): fine): ');
    expect(forged.stdout.split('\n').filter((l) => l.startsWith('  entry'))).toHaveLength(1);
    const headless = await json(['device', 'import', file('headless.csv', `NOHEAD-1,${v.kpw_hex}\n`)]);
    expect(headless.value.error.code).toBe('IMPORT_INVALID');
    expect(headless.value.error.message).toContain('line 1 is no header row');
    expect(headless.value.error.message).not.toContain(v.kpw_hex);
    expect((await json(['device', 'import', file('semicolons.csv', 'identity;kpw\nSEMI-1;\n')])).value.error.message).toContain('separated by semicolons');
    expect((await json(['device', 'show', 'LINE-1'])).value.error.code).toBe('DEVICE_NOT_FOUND');
  });
});

describe('files: an output file whose folder cannot take it', () => {
  const exports = (out: string): string[][] => [
    ['device', 'export', v.identity, '--out', out],
    ['group', 'export', 'files-group', '--out', out],
    ['issuer', 'export', '1', '--out', out],
    ['revocation', 'export', '--out', out],
    ['audit', 'checkpoint', '--out', out],
    ['audit', 'export', '--out', out],
    ['backup', out],
  ];
  beforeAll(async () => {
    expect((await run(['group', 'add', 'files-group'])).code).toBe(0);
  });

  it('a folder that does not exist, or a file where a folder should be, is FILE_UNWRITABLE before the unlock: nothing written, the store untouched', async () => {
    const missing = join(dir, 'no-such-folder');
    const aFile = file('not-a-folder', 'x\n');
    const cases: Array<[string, string]> = [
      [join(missing, 'x.jwe'), `the folder '${missing}' does not exist`],
      [join(missing, 'deeper', 'x.jwe'), `the folder '${join(missing, 'deeper')}' does not exist`],
      [join(aFile, 'x.jwe'), `'${aFile}' is not a folder`],
      [join(aFile, 'deeper', 'x.jwe'), `part of the path '${join(aFile, 'deeper')}' is a file, not a folder`],
    ];
    for (const [out, why] of cases) {
      for (const args of exports(out)) {
        const { machine } = await refused(args, 'FILE_UNWRITABLE', 1, { env: BUNDLE });
        expect(machine.message).toBe(`Cannot write the output file '${out}': ${why}.`);
      }
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('a write that fails after the unlock leaves no "ok" audit record of a file that is not there', async () => {
    // The folder is fine, so the check before the unlock passes; the file's
    // temporary name is too long for the file system, so the write fails.
    const out = join(dir, `${'n'.repeat(240)}.jwe`);
    const audited = async () => JSON.stringify((await json(['audit', 'list', '--limit', '10000'])).value.items);
    const before = await audited();
    // Not audit export, whose record is inside what it signs (it is refused before the unlock, above).
    for (const args of exports(out).filter((a) => a[1] !== 'export' || a[0] !== 'audit')) {
      const r = await json(args, { env: BUNDLE });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.value.error).toEqual({ code: 'FILE_UNWRITABLE', message: expect.stringMatching(/^Cannot write the output file '.*': /) });
      expect(existsSync(out)).toBe(false);
    }
    expect(await audited()).toBe(before);
    expect((await json(['audit', 'verify'])).value).toMatchObject({ ok: true });
  });

  it('audit export, whose "ok" record is inside what it signs, adds a "refused" record when its write fails after the unlock', async () => {
    const out = join(dir, `${'n'.repeat(240)}.jws`);
    const list = async () => (await json(['audit', 'list', '--limit', '10000'])).value.items as Array<{ seq: number; action: string; outcome: string; details: Record<string, unknown> }>;
    const r = await json(['audit', 'export', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.value.error).toEqual({ code: 'FILE_UNWRITABLE', message: expect.stringMatching(/^Cannot write the output file '.*': /) });
    expect(existsSync(out)).toBe(false);
    const [refusal, signed] = await list();
    // The export signed its "ok" record first; the next one says the file never came, by code, not by path.
    expect(signed).toMatchObject({ action: 'audit.export', outcome: 'ok', details: { from: 1, to: signed!.seq } });
    expect(refusal).toMatchObject({ seq: signed!.seq + 1, action: 'audit.export', outcome: 'refused', details: { from: 1, to: signed!.seq, reason: 'FILE_UNWRITABLE' } });
    expect(JSON.stringify(refusal)).not.toContain('nnnn');
    expect((await json(['audit', 'verify'])).value).toMatchObject({ ok: true });
  });
});

describe('output files, warnings and plurals', () => {
  it('no --out and no backup replaces a file without --force: FILE_EXISTS, the file as it was, the store untouched', async () => {
    const taken = file('taken.out', 'precious\n');
    const cases = [
      ['device', 'export', v.identity, '--out', taken],
      ['group', 'export', 'any-group', '--out', taken],
      ['issuer', 'export', '1', '--out', taken],
      ['revocation', 'export', '--out', taken],
      ['audit', 'checkpoint', '--out', taken],
      ['backup', taken],
    ];
    for (const args of cases) {
      const { machine } = await refused(args, 'FILE_EXISTS', 1, { env: BUNDLE });
      expect(machine.message).toContain('add --force to replace it');
      expect(readFileSync(taken, 'utf8')).toBe('precious\n');
    }
    expect((await run(['revocation', 'export', '--out', taken, '--force'], { env: BUNDLE })).code).toBe(0);
    expect(readFileSync(taken, 'utf8')).not.toBe('precious\n');
  });

  it('exporting a revoked device warns on stderr, and in --json as warnings', async () => {
    expect((await run(['device', 'add', 'REVOKED-1'])).code).toBe(0);
    expect((await run(['device', 'revoke', 'REVOKED-1'])).code).toBe(0);
    const text = await run(['device', 'export', 'REVOKED-1', v.identity, '--out', join(dir, 'revoked.jwe')], { env: BUNDLE });
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`Wrote a protected bundle of 2 devices to ${join(dir, 'revoked.jwe')}.\n`);
    expect(text.stderr).toBe('keyladder: warning: 1 device in the bundle is revoked (REVOKED-1): this responder refuses it.\n');
    const machine = await json(['device', 'export', 'REVOKED-1', '--out', join(dir, 'revoked2.jwe')], { env: BUNDLE });
    expect(machine.value).toEqual({ file: join(dir, 'revoked2.jwe'), devices: 1, warnings: ['1 device in the bundle is revoked (REVOKED-1): this responder refuses it.'] });
    const clean = await json(['device', 'export', v.identity, '--out', join(dir, 'clean.jwe')], { env: BUNDLE });
    expect(clean.value).toEqual({ file: join(dir, 'clean.jwe'), devices: 1 });
    expect(clean.stderr).toBe('');
  });

  it('counts in the singular and the plural', async () => {
    expect((await run(['device', 'import', file('one.csv', 'identity\nPLURAL-1\n')])).stdout).toBe('Imported 1 device.\n');
    expect((await run(['device', 'import', file('two.csv', 'identity\nPLURAL-2\nPLURAL-3\n')])).stdout).toBe('Imported 2 devices.\n');
    expect((await run(['device', 'export', v.identity, '--out', join(dir, 'one.jwe')], { env: BUNDLE })).stdout).toContain('bundle of 1 device to');
    expect((await run(['audit', 'verify'])).stdout).toMatch(/^The audit log verifies: \d+ entries\.\n$/);
  });
});

describe('simulate is a test exchange', () => {
  it('leaves the device\'s exchange count at 0 and its last exchange unset; its rungs are audited as exchange.test', async () => {
    expect((await run(['device', 'add', 'SIM-COUNT-1'])).code).toBe(0);
    const tests = async () => ((await json(['audit', 'list', '--action', 'exchange.test', '--subject', 'SIM-COUNT-1'])).value.items as unknown[]).length;
    const r = await run(['simulate', 'SIM-COUNT-1', '--rungs', '3']);
    expect(r.code, r.stderr).toBe(0);
    const shown = (await json(['device', 'show', 'SIM-COUNT-1'])).value;
    expect(shown).toMatchObject({ identity: 'SIM-COUNT-1', exchangeCount: 0, lastExchangeAt: null });
    expect(await tests()).toBe(3);
    expect(((await json(['audit', 'list', '--action', 'exchange', '--subject', 'SIM-COUNT-1'])).value.items as unknown[])).toEqual([]);
  });
});

describe('simulate --wrapdata', () => {
  const S2 = ['--store', join(dir, 'grace')];
  const run2 = (args: string[], options?: Options) => cli([...S2, ...args], options);
  let wrapdata = '';

  beforeAll(async () => {
    expect((await run2(['init', '--kdf-log-n', '10'])).code).toBe(0);
    expect((await run2(['device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) })).code).toBe(0);
    const request = JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    const keys = await acceptKeyResponse(JSON.parse((await run2(['respond'], { stdin: request })).stdout), await importWrappingKey(hex(v.kpw_hex)));
    wrapdata = Buffer.from(keys.wrapdata).toString('base64');
    expect((await run2(['issuer', 'rotate', '--grace-days', '7'])).code).toBe(0);
  });

  it('starts with a WRAP of a device\'s wrapdata: in grace, generation 1 opens it and generation 2 issues the next', async () => {
    const r = await run2(['simulate', v.identity, '--wrapdata', file('wrapdata.b64', `${wrapdata}\n`), '--rungs', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.allMatch).toBe(true);
    expect(report.rungs.map((x: { mechanism: string; openedGeneration: number | null; issuedGeneration: number }) => [x.mechanism, x.openedGeneration, x.issuedGeneration])).toEqual([['WRAP', 1, 2], ['WRAP', 2, 2]]);
    // The same from stdin.
    const piped = await run2(['simulate', v.identity, '--wrapdata', '-', '--rungs', '1', '--json'], { stdin: wrapdata });
    expect(JSON.parse(piped.stdout).rungs[0]).toMatchObject({ mechanism: 'WRAP', openedGeneration: 1 });
  });

  it('refuses wrapdata of a retired generation as a returning device sees it, and wrapdata that is not base64', async () => {
    expect((await run2(['issuer', 'retire', '1'])).code).toBe(0);
    const r = await cli([...S2, 'simulate', v.identity, '--wrapdata', '-', '--json'], { stdin: wrapdata });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_GENERATION_RETIRED' });
    const bad = await cli([...S2, 'simulate', v.identity, '--wrapdata', '-', '--json'], { stdin: 'not base64 at all!' });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.code).toBe('FILE_INVALID');
  });
});

describe('audit list', () => {
  it('lists the valid actions in its help, and refuses any other with USAGE_BAD_VALUE', async () => {
    const help = (await cli(['audit', 'list', '--help'])).stdout;
    for (const a of AUDIT_ACTIONS) expect(help).toContain(a);
    const { machine } = await refused(['audit', 'list', '--action', 'device.erase'], 'USAGE_BAD_VALUE', 2);
    expect(machine.message).toContain('device.provision');
  });

  it('leaves the CLI\'s own unlocks out unless asked; the chain still verifies', async () => {
    const shown = (await json(['audit', 'list', '--limit', '10000'])).value.items as Array<{ action: string }>;
    expect(shown.some((e) => e.action === 'store.unlock-cli')).toBe(false);
    expect(shown.some((e) => e.action === 'device.provision')).toBe(true);
    const all = (await json(['audit', 'list', '--limit', '10000', '--include-unlocks'])).value.items as Array<{ action: string }>;
    const unlocks = all.filter((e) => e.action === 'store.unlock-cli').length;
    expect(unlocks).toBeGreaterThan(10);
    expect(all.length).toBe(shown.length + unlocks);
    expect((await json(['audit', 'list', '--action', 'store.unlock-cli', '--limit', '3'])).value.items).toHaveLength(3);
    expect((await json(['audit', 'verify'])).value).toMatchObject({ ok: true });
  });
});

describe('group export', () => {
  const S3 = ['--store', join(dir, 'factory')];
  const run3 = (args: string[], options?: Options) => cli([...S3, ...args], options);
  beforeAll(async () => {
    expect((await run3(['init', '--kdf-log-n', '10'])).code).toBe(0);
    expect((await run3(['group', 'add', 'settop-2026'])).code).toBe(0);
    expect((await run3(['group', 'add', 'kdw-only', '--keys', '-'], { stdin: JSON.stringify({ kdw: v.kpw_hex }) })).code).toBe(0);
    expect((await run3(['device', 'add', 'FACTORY-0001', '--group', 'settop-2026'])).code).toBe(0);
  });

  it('writes a passphrase bundle a factory opens with jose; a device given its Kdw completes an MGK exchange', async () => {
    const out = join(dir, 'groups.jwe');
    const r = await run3(['group', 'export', 'settop-2026', 'kdw-only', '--out', out, '--json'], { env: BUNDLE });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: out, groups: 2 });
    const jwe = readFileSync(out, 'utf8').trim();
    expect(jwe).not.toContain(v.kpw_hex);
    const { plaintext, protectedHeader } = await openPassphraseExport(jwe, BUNDLE.KEYLADDER_BUNDLE_PASSPHRASE);
    expect(protectedHeader).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'keyladder-group-bundle' });
    const bundle = JSON.parse(new TextDecoder().decode(plaintext));
    expect(bundle).toMatchObject({ format: 'keyladder-group-bundle', version: 1 });
    const [settop, kdwOnly] = bundle.payload.groups as Array<{ name: string; kdw: string; kde?: string; kdh?: string; kcv: { kdw: string } }>;
    expect(settop).toMatchObject({ name: 'settop-2026', origin: 'generated', kdw: expect.stringMatching(/^[0-9a-f]{32}$/), kde: expect.stringMatching(/^[0-9a-f]{32}$/), kdh: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(kdwOnly).toEqual({ name: 'kdw-only', origin: 'imported-kdw', kdw: v.kpw_hex, kcv: { kdw: expect.any(String) } });
    const listed = (await run3(['group', 'list', '--json'])).stdout;
    expect(JSON.parse(listed).items.find((g: { name: string }) => g.name === 'settop-2026').kcv).toEqual(settop!.kcv);

    // The factory puts Kdw into a device of the model, which then climbs from MGK.
    const device = new LadderRequestor('FACTORY-0001', await importWrappingKey(hex(settop!.kdw)), 'MGK');
    const first = await run3(['respond'], { stdin: JSON.stringify(device.nextRequest()) });
    expect(first.code, first.stdout).toBe(0);
    const keys = await device.accept(JSON.parse(first.stdout));
    expect(keys.wrapdata.length).toBeGreaterThan(0);
    const second = await run3(['respond'], { stdin: JSON.stringify(device.nextRequest()) });
    expect(second.code).toBe(0);
    await device.accept(JSON.parse(second.stdout));

    // Kde and Kdh give the same Kdw elsewhere: a second responder imports them and its KCV agrees.
    const other = ['--store', join(dir, 'factory-peer')];
    expect((await cli([...other, 'init', '--kdf-log-n', '10'])).code).toBe(0);
    const added = await cli([...other, 'group', 'add', 'settop-2026', '--keys', '-', '--json'], { stdin: JSON.stringify({ kde: settop!.kde, kdh: settop!.kdh }) });
    expect(JSON.parse(added.stdout).kcv).toEqual(settop!.kcv);

    const audit = (await run3(['audit', 'list', '--action', 'group.export', '--json'])).stdout;
    expect(JSON.parse(audit)).toEqual({ items: [expect.objectContaining({ action: 'group.export', outcome: 'ok', subject: null, details: { count: 2, protection: 'passphrase' } })] });
    expect(audit).not.toContain(settop!.kdw);
  });

  it('encrypts to a recipient\'s public RSA JWK, which its private key opens with jose', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    const recipient = file('factory.pub.jwk', JSON.stringify(publicKey.export({ format: 'jwk' })));
    const out = join(dir, 'groups-rsa.jwe');
    expect((await run3(['group', 'export', 'settop-2026', '--out', out, '--recipient', recipient])).code).toBe(0);
    const key = await importJWK({ ...privateKey.export({ format: 'jwk' }), alg: 'RSA-OAEP-256' }, 'RSA-OAEP-256');
    const { plaintext, protectedHeader } = await compactDecrypt(readFileSync(out, 'utf8').trim(), key, { keyManagementAlgorithms: ['RSA-OAEP-256'], contentEncryptionAlgorithms: ['A256GCM'] });
    expect(protectedHeader).toMatchObject({ alg: 'RSA-OAEP-256', cty: 'keyladder-group-bundle' });
    expect(JSON.parse(new TextDecoder().decode(plaintext)).payload.groups.map((g: { name: string }) => g.name)).toEqual(['settop-2026']);
  });

  it('refuses an unknown group with GROUP_NOT_FOUND, writing no file', async () => {
    const out = join(dir, 'no-group.jwe');
    const r = await run3(['group', 'export', 'no-such-group', '--out', out, '--json'], { env: BUNDLE });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('GROUP_NOT_FOUND');
    expect(() => readFileSync(out)).toThrow();
  });
});
