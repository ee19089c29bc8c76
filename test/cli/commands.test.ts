// The `keyladder` commands one by one (in-process through main(), with the
// same parsing and output as the binary): output, --json, exit statuses, and
// errors that say what to do.
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openPassphraseExport } from '../support/factory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../support/cli.js';
import { PASSPHRASE, tempDir } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

const dir = tempDir('keyladder-cmd-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const json = async (args: string[], options?: Parameters<typeof cli>[1]) => {
  const r = await cli([...S, ...args, '--json'], options);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const v = deriveVector();

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keyladder basics', () => {
  it('prints usage for --help and for no command, through the real binary too', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('keyladder COMMAND');
    const bin = cliProcess(['--help']);
    expect(bin.code).toBe(0);
    expect(bin.stdout).toContain('device add ID');
  });

  it('refuses unknown commands and options with status 2', async () => {
    expect((await cli([...S, 'frobnicate'])).code).toBe(2);
    const r = await cli([...S, 'device', 'add', 'X', '--kpw', '00112233445566778899aabbccddeeff']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('keyladder: Unknown option --kpw. [USAGE_UNKNOWN_OPTION]\nUsage: keyladder device add ID [--keys FILE] [--group NAME] [--reuse-identity]\n');
  });

  it('asks for a passphrase source when there is none and no terminal', async () => {
    const r = await cli([...S, 'device', 'list'], { env: { KEYLADDER_PASSPHRASE: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KEYLADDER_PASSPHRASE');
  });

  it('reads the passphrase from --passphrase-file', async () => {
    const r = await cli([...S, 'device', 'list', '--passphrase-file', file('pass.txt', `${PASSPHRASE}\n`)], { env: { KEYLADDER_PASSPHRASE: '' } });
    expect(r.code).toBe(0);
  });

  it('refuses a wrong passphrase with WRONG_PASSPHRASE, in text and in JSON', async () => {
    const text = await cli([...S, 'device', 'list'], { env: { KEYLADDER_PASSPHRASE: 'not the passphrase at all' } });
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/Wrong passphrase.*\[WRONG_PASSPHRASE\]/);
    const machine = await json(['device', 'list'], { env: { KEYLADDER_PASSPHRASE: 'not the passphrase at all' } });
    expect(machine.value.error.code).toBe('WRONG_PASSPHRASE');
  });

  it('refuses to init over an existing store', async () => {
    const r = await json(['init']);
    expect(r.code).toBe(1);
    expect(r.value.error.code).toBe('STORE_EXISTS');
  });

  it('names a missing store and how to create one', async () => {
    const r = await cli(['--store', join(dir, 'nowhere'), 'device', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('keyladder init');
  });
});

describe('keyladder device and group', () => {
  it('adds a device with generated keys and prints only KCVs', async () => {
    const r = await json(['device', 'add', 'GEN-0001']);
    expect(r.code).toBe(0);
    expect(r.value).toMatchObject({ identity: 'GEN-0001', status: 'active', origin: 'generated' });
    expect(Object.keys(r.value.kcv).sort()).toEqual(['kpe', 'kph', 'kpw']);
  });

  it('adds a device from {"kpw"} on stdin, and refuses bad key files without echoing them', async () => {
    const ok = await json(['device', 'add', 'KPW-0001', '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) });
    expect(ok.value.origin).toBe('imported-kpw');
    const bad = await json(['device', 'add', 'KPW-0002', '--keys', '-'], { stdin: JSON.stringify({ kpw: 'abcd' }) });
    expect(bad.code).toBe(1);
    expect(bad.value.error.code).toBe('INVALID_KEY');
    const both = await cli([...S, 'device', 'add', 'KPW-0003', '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex, kpe: v.kpe_hex }) });
    expect(both.code).toBe(2);
    expect(both.stderr).not.toContain(v.kpw_hex);
    expect((await json(['device', 'show', 'KPW-0002'])).value.error.code).toBe('DEVICE_NOT_FOUND');
  });

  it('adds a model group and a device in it; MGK then works', async () => {
    expect((await json(['group', 'add', 'settop-2026'])).value).toMatchObject({ name: 'settop-2026', origin: 'generated' });
    expect((await json(['device', 'add', 'GRP-0001', '--group', 'settop-2026'])).code).toBe(0);
    expect((await json(['group', 'list'])).value.items[0]).toMatchObject({ name: 'settop-2026', deviceCount: 1 });
    const sim = await json(['simulate', 'GRP-0001', '--mechanism', 'MGK', '--rungs', '2']);
    expect(sim.value.allMatch).toBe(true);
    expect(sim.value.rungs[0].mechanism).toBe('MGK');
    expect((await json(['device', 'add', 'GRP-0002', '--group', 'nope'])).value.error.code).toBe('GROUP_NOT_FOUND');
  });

  it('imports a CSV file, and refuses a file with bad rows as a whole, row by row', async () => {
    const good = await json(['device', 'import', file('good.csv', `identity,kpw\nCSV-0001,${v.kpw_hex}\nCSV-0002,\nCSV-0003,\n`)]);
    expect(good.code).toBe(0);
    expect(good.value).toEqual({ total: 3, imported: 3, failed: [] });
    const bad = await json(['device', 'import', file('bad.csv', 'identity,kpw\nCSV-0004,\nCSV-0001,\nCSV 0005,\nCSV-0006,xyz\n')]);
    expect(bad.code).toBe(1);
    expect(bad.value.imported).toBe(0);
    expect(bad.value.failed.map((f: { row: number; code: string }) => [f.row, f.code])).toEqual([[3, 'DEVICE_EXISTS'], [4, 'INVALID_IDENTITY'], [5, 'INVALID_KEY']]); // lines of the file: the header is line 1
    expect((await json(['device', 'show', 'CSV-0004'])).value.error.code).toBe('DEVICE_NOT_FOUND');
  });

  it('imports JSON, lists by prefix and pages', async () => {
    const devices = Array.from({ length: 25 }, (_, i) => ({ identity: `JSON-${String(i).padStart(4, '0')}` }));
    expect((await json(['device', 'import', file('devices.json', JSON.stringify(devices))])).value.imported).toBe(25);
    const page = await json(['device', 'list', '--prefix', 'JSON-', '--offset', '20', '--limit', '10']);
    expect(page.value.total).toBe(25);
    expect(page.value.items.map((d: { identity: string }) => d.identity)).toEqual(['JSON-0020', 'JSON-0021', 'JSON-0022', 'JSON-0023', 'JSON-0024']);
  });

  it('revokes a device; its exchanges are then refused with ENTITY_REVOKED', async () => {
    expect((await json(['device', 'revoke', 'CSV-0002'])).value.status).toBe('revoked');
    expect((await json(['device', 'revoke', 'CSV-0002'])).value.error.code).toBe('DEVICE_ALREADY_REVOKED');
    const r = await cli([...S, 'respond'], { stdin: JSON.stringify({ identity: 'CSV-0002', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('ENTITY_REVOKED');
  });

  it('exports a provisioning bundle as a JWE that decrypts to the device keys', async () => {
    const out = join(dir, 'bundle.jwe');
    const bundlePassphrase = 'factory bundle passphrase';
    const r = await json(['device', 'export', 'KPW-0001', 'CSV-0001', '--out', out], { env: { KEYLADDER_BUNDLE_PASSPHRASE: bundlePassphrase } });
    expect(r.value).toEqual({ file: out, devices: 2 });
    const jwe = readFileSync(out, 'utf8').trim();
    expect(jwe.split('.')).toHaveLength(5);
    expect(jwe).not.toContain(v.kpw_hex);
    const { plaintext, protectedHeader } = await openPassphraseExport(jwe, bundlePassphrase);
    expect(protectedHeader).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM' });
    const bundle = JSON.parse(new TextDecoder().decode(plaintext));
    expect(bundle.payload.devices.map((d: { identity: string; kpw: string }) => [d.identity, d.kpw])).toEqual([['KPW-0001', v.kpw_hex], ['CSV-0001', v.kpw_hex]]);
    // The same --out again: refused without --force, and the first bundle stays as it was.
    const again = await cli([...S, 'device', 'export', 'KPW-0001', '--out', out], { env: { KEYLADDER_BUNDLE_PASSPHRASE: bundlePassphrase } });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists. Choose another file, or add --force to replace it. [FILE_EXISTS]');
    expect(readFileSync(out, 'utf8').trim()).toBe(jwe);
    expect((await cli([...S, 'device', 'export', 'KPW-0001', '--out', out, '--force'], { env: { KEYLADDER_BUNDLE_PASSPHRASE: bundlePassphrase } })).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim()).not.toBe(jwe);
  });
});

describe('keyladder issuer, respond, audit, backup, passphrase', () => {
  it('rotates, retires, and destroys only with --yes', async () => {
    expect((await json(['issuer', 'rotate', '--grace-days', '7'])).value).toMatchObject({ generation: 2, status: 'active' });
    expect((await json(['issuer', 'retire', '2'])).value.error.code).toBe('ISSUER_TRANSITION');
    expect((await json(['issuer', 'destroy', '1'])).code).toBe(2);
    expect((await json(['issuer', 'destroy', '1', '--yes'])).value.error.code).toBe('ISSUER_TRANSITION');
    expect((await json(['issuer', 'retire', '1'])).value.status).toBe('retired');
    const destroyed = await json(['issuer', 'destroy', '1', '--yes']);
    expect(destroyed.value).toMatchObject({ generation: 1, status: 'destroyed', kcv: null });
    expect((await json(['issuer', 'retire', '9'])).value.error.code).toBe('ISSUER_NOT_FOUND');
  });

  it('answers malformed requests with MSL_PARSE_ERROR and status 3 (a refusal); a bad option is still 2', async () => {
    const r = await cli([...S, 'respond'], { stdin: '{not json' });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'MSL_PARSE_ERROR', reason: 'MALFORMED_JSON' });
    expect((await cli([...S, 'respond', '--profile', 'jose'])).code).toBe(2);
    const refused = (await json(['audit', 'list', '--outcome', 'refused', '--limit', '1'])).value.items;
    expect(refused[0]).toMatchObject({ action: 'exchange', outcome: 'refused', subject: null, details: { code: 'MSL_PARSE_ERROR', reason: 'MALFORMED_JSON' } });
  });

  it('lists and verifies the audit log', async () => {
    const entries = (await json(['audit', 'list', '--limit', '500'])).value.items as Array<{ action: string }>;
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ['store.create', 'store.unlock-failed', 'device.provision', 'device.import', 'device.revoke', 'device.export', 'group.add', 'issuer.rotate', 'issuer.retire', 'issuer.destroy', 'exchange']) expect(actions).toContain(a);
    expect((await json(['audit', 'verify'])).value).toMatchObject({ ok: true });
    expect((await json(['verify'])).value).toMatchObject({ ok: true });
  });

  it('backs up and restores', async () => {
    const backup = join(dir, 'store.klbackup');
    expect((await json(['backup', backup])).code).toBe(0);
    expect(readFileSync(backup).includes(Buffer.from('KPW-0001'))).toBe(false);
    expect((await json(['device', 'add', 'AFTER-BACKUP'])).code).toBe(0);
    expect((await cli([...S, 'restore', backup])).code).toBe(2);
    expect((await json(['restore', backup, '--yes'])).code).toBe(0);
    expect((await json(['device', 'show', 'AFTER-BACKUP'])).value.error.code).toBe('DEVICE_NOT_FOUND');
    expect((await json(['device', 'show', 'KPW-0001'])).value.identity).toBe('KPW-0001');
  });

  it('changes the passphrase: the old one then fails, the new one works', async () => {
    const next = 'a brand new store passphrase';
    expect((await json(['passphrase', 'change', '--kdf-log-n', '10'], { env: { KEYLADDER_NEW_PASSPHRASE: next } })).code).toBe(0);
    expect((await json(['device', 'list'])).value.error.code).toBe('WRONG_PASSPHRASE');
    expect((await json(['device', 'list'], { env: { KEYLADDER_PASSPHRASE: next } })).code).toBe(0);
    expect(existsSync(join(storeDir, 'keyladder.key.json'))).toBe(true);
  });
});

describe('keyladder recovery-key', () => {
  it('prints the raw store key only with --yes, and that key opens the database in SQLCipher 4 mode', async () => {
    const passphrase = 'a brand new store passphrase';
    expect((await cli([...S, 'recovery-key'], { env: { KEYLADDER_PASSPHRASE: passphrase } })).code).toBe(2);
    const r = await json(['recovery-key', '--yes'], { env: { KEYLADDER_PASSPHRASE: passphrase } });
    expect(r.code).toBe(0);
    expect(r.value.storeKey).toMatch(/^[0-9a-f]{64}$/);
    const { default: Database } = await import('better-sqlite3-multiple-ciphers');
    const db = new Database(join(storeDir, 'keyladder.db'), { readonly: true });
    try {
      db.pragma(`cipher = 'sqlcipher'`);
      db.pragma('legacy = 4');
      db.pragma(`key = "x'${r.value.storeKey}'"`);
      expect((db.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n).toBeGreaterThan(10);
    } finally {
      db.close();
    }
    const audit = await json(['audit', 'list', '--action', 'store.recovery-key'], { env: { KEYLADDER_PASSPHRASE: passphrase } });
    expect(audit.value.items).toHaveLength(1);
  });
});

describe('keyladder policy clone and device clear-clone', () => {
  // A store of its own: the suite above changed its store's passphrase.
  const S = ['--store', join(dir, 'store-clones')];
  const json = async (args: string[]) => {
    const r = await cli([...S, ...args, '--json']);
    return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
  };
  beforeAll(async () => {
    expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  });

  it('shows and sets the clone policy, refusing anything but flag or refuse', async () => {
    expect((await json(['policy', 'clone'])).value).toEqual({ clone: 'flag' });
    expect((await json(['policy', 'clone', 'refuse'])).value).toEqual({ clone: 'refuse' });
    const bad = await cli([...S, 'policy', 'clone', 'allow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('flag or refuse');
    expect((await cli([...S, 'policy', 'other'])).code).toBe(2);
    expect((await cli([...S, 'policy', 'clone'])).stdout).toBe('clone policy: refuse\n');
    expect((await json(['policy', 'clone', 'flag'])).value).toEqual({ clone: 'flag' });
  });

  it('shows, opens (90 days at most) and closes the migration window from MSL\'s responder', async () => {
    expect((await json(['policy', 'migration'])).value).toEqual({ migration: { until: null, open: false, generations: [] } });
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
    expect((await json(['policy', 'migration', until])).value).toMatchObject({ migration: { until, open: true } });
    expect((await cli([...S, 'policy', 'migration'])).stdout).toContain(`msl migration: open until ${until}`);
    const far = await cli([...S, 'policy', 'migration', new Date(Date.now() + 91 * 86_400_000).toISOString().slice(0, 10)]);
    expect(far.code).toBe(1);
    expect(far.stderr).toContain('[INVALID_ARGUMENT]');
    expect((await json(['policy', 'migration', 'off'])).value).toMatchObject({ migration: { until: null, open: false } });
    expect((await json(['audit', 'list', '--action', 'policy.migration'])).value.items).toHaveLength(2);
  });

  it('a device marked "possible clone" says so in device show; clear-clone removes the mark', async () => {
    expect((await cli([...S, 'device', 'add', 'ESN-CLONED'])).code).toBe(0);
    const request = JSON.stringify({ identity: 'ESN-CLONED', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    const first = JSON.parse((await cli([...S, 'respond'], { stdin: request })).stdout) as { keyresponsedata: { keydata: { wrapdata: string } } };
    const w1 = first.keyresponsedata.keydata.wrapdata;
    const wrap = (wrapdata: string) => JSON.stringify({ identity: 'ESN-CLONED', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata } } });
    const second = JSON.parse((await cli([...S, 'respond'], { stdin: wrap(w1) })).stdout) as { keyresponsedata: { keydata: { wrapdata: string } } };
    expect((await cli([...S, 'respond'], { stdin: wrap(second.keyresponsedata.keydata.wrapdata) })).code).toBe(0);
    expect((await cli([...S, 'device', 'show', 'ESN-CLONED'])).stdout).not.toContain('POSSIBLE CLONE');
    expect((await cli([...S, 'respond'], { stdin: wrap(w1) })).code).toBe(0);
    expect((await cli([...S, 'device', 'show', 'ESN-CLONED'])).stdout).toMatch(/POSSIBLE CLONE since \S+ \(1 superseded wrapdata\)/);
    expect((await json(['device', 'clear-clone', 'ESN-CLONED'])).value).toMatchObject({ identity: 'ESN-CLONED', possibleClone: null });
    const again = await cli([...S, 'device', 'clear-clone', 'ESN-CLONED']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[INVALID_ARGUMENT]');
  });
});

describe('keyladder audit checkpoint and verify --checkpoint', () => {
  const S = ['--store', join(dir, 'store-checkpoint')];
  beforeAll(async () => {
    expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  });

  it('writes a checkpoint (never over a file without --force), and verify holds a rolled-back store against it', async () => {
    expect((await cli([...S, 'device', 'add', 'ESN-CP'])).code).toBe(0);
    const storeDb = join(dir, 'store-checkpoint', 'keyladder.db');
    const old = readFileSync(storeDb);
    expect((await cli([...S, 'device', 'revoke', 'ESN-CP'])).code).toBe(0);
    const file = join(dir, 'head.checkpoint');
    const made = await cli([...S, 'audit', 'checkpoint', '--out', file]);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/Wrote a checkpoint of the audit log at entry \d+/);
    expect((await cli([...S, 'audit', 'checkpoint', '--out', file])).stderr).toContain('[FILE_EXISTS]');
    expect((await cli([...S, 'verify', '--checkpoint', file])).code).toBe(0);
    // Put the old database back (the CLI closed the store, so there is no WAL).
    writeFileSync(storeDb, old);
    expect((await cli([...S, 'verify'])).code).toBe(0);
    const held = await cli([...S, 'verify', '--checkpoint', file]);
    expect(held.code).toBe(1);
    expect(held.stdout).toMatch(/The store does NOT verify:\nThe store is behind the checkpoint/);
    expect((await cli([...S, 'verify', '--checkpoint', join(dir, 'no-such-file')])).stderr).toContain('Cannot read the checkpoint file');
  });
});

describe('keyladder rekey', () => {
  const S = ['--store', join(dir, 'store-rekey')];
  beforeAll(async () => {
    expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  });

  it('gives the store a new key; the old recovery key then opens nothing; passphrase change --rekey does both', async () => {
    expect((await cli([...S, 'device', 'add', 'ESN-RK'])).code).toBe(0);
    const before = JSON.parse((await cli([...S, 'recovery-key', '--yes', '--json'])).stdout).storeKey as string;
    const r = await cli([...S, 'rekey', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rekeyed).toMatchObject({ devices: 1, groups: 0 });
    const after = JSON.parse((await cli([...S, 'recovery-key', '--yes', '--json'])).stdout).storeKey as string;
    expect(after).not.toBe(before);
    expect(JSON.parse((await cli([...S, 'device', 'show', 'ESN-RK', '--json'])).stdout).identity).toBe('ESN-RK');
    const next = 'a rekeyed store passphrase';
    const changed = await cli([...S, 'passphrase', 'change', '--rekey', '--kdf-log-n', '10'], { env: { KEYLADDER_NEW_PASSPHRASE: next } });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('the store has a new key');
    expect((await cli([...S, 'device', 'show', 'ESN-RK'], { env: { KEYLADDER_PASSPHRASE: next } })).code).toBe(0);
  });
});
