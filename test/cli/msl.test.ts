// keyladder msl … (issue 20): the MSL server's identity, master-token keys and
// settings from the command line, through main() like the binary (and the
// binary itself once): what an MSL client's config takes, imports from MSL's
// own sample server config, refusals with their codes and nothing changed.
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../support/cli.js';
import { mslServerConfig } from '../support/msl.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-msl-cli-');
const storeDir = join(dir, 'store');
const S = ['--store', storeDir];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const json = async (args: string[]) => {
  const r = await cli([...S, ...args, '--json']);
  return { ...r, value: r.stdout ? JSON.parse(r.stdout) : undefined };
};
const cfg = mslServerConfig();

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keyladder msl identity', () => {
  it('show prints the lines an MSL client config takes, the thumbprint, and the public key as PEM or JWK; never the private key', async () => {
    const shown = await json(['msl', 'identity', 'show']);
    expect(shown.code).toBe(0);
    const id = shown.value;
    expect(id).toMatchObject({ generation: 1, name: 'keyladder', status: 'active', bits: 2048, keyId: id.thumbprint });
    const text = await cli([...S, 'msl', 'identity', 'show']);
    expect(text.stdout).toContain(`thumbprint ${id.thumbprint}`);
    expect(text.stdout).toContain(`\nentity.auth.schemes.keyladder RSA\nmsl.rsa.id.N ${id.keyId}\nmsl.rsa.pub.N ${id.spki}\n`);
    const pem = await cli([...S, 'msl', 'identity', 'show', '--pem']);
    expect(pem.stdout).toBe(id.pem);
    const jwk = await cli([...S, 'msl', 'identity', 'show', '--jwk']);
    expect(JSON.parse(jwk.stdout)).toEqual({ kty: 'RSA', n: id.jwk.n, e: 'AQAB', kid: id.keyId });
    for (const out of [text.stdout, pem.stdout, jwk.stdout, shown.stdout]) expect(out).not.toMatch(/PRIVATE|"d"/);
  });

  it('import takes MSL\'s sample server key (msl.rsa.priv.0 line) under --kid rsakeyid1 --name server1, and then shows msl.rsa.pub.0; the binary too', async () => {
    const keyFile = file('mslsrv-priv.txt', `msl.rsa.priv.0 ${cfg['msl.rsa.priv.0']}\n`);
    const r = cliProcess([...S, 'msl', 'identity', 'import', '--key', keyFile, '--kid', 'rsakeyid1', '--name', 'server1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Imported: gen 2 +active +server1 +key id rsakeyid1 +RSA 2048/);
    const text = await cli([...S, 'msl', 'identity', 'show']);
    expect(text.stdout).toContain(`\nentity.auth.schemes.server1 RSA\nmsl.rsa.id.N rsakeyid1\nmsl.rsa.pub.N ${cfg['msl.rsa.pub.0']}\n`);
    const all = await json(['msl', 'identity', 'show', '--all']);
    expect(all.value.items.map((i: { generation: number; status: string }) => [i.generation, i.status])).toEqual([[2, 'active'], [1, 'retiring']]);
  });

  it('refuses a small key, a known one and a missing --kid, with their codes, changing nothing', async () => {
    const before = (await json(['msl', 'identity', 'show', '--all'])).value.items;
    const small = file('small.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
    const r1 = await cli([...S, 'msl', 'identity', 'import', '--key', small, '--kid', 'k-small']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/1024 bits.*\[MSL_KEY_INVALID\] \(reason: KEY_SIZE\)/);
    const again = await json(['msl', 'identity', 'import', '--key', file('again.txt', cfg['msl.rsa.priv.0']!), '--kid', 'another']);
    expect(again.code).toBe(1);
    expect(again.value.error.code).toBe('MSL_KEY_KNOWN');
    // A public key (--public-key) that is not the private key's own: the clients pinning it would refuse every message.
    const fresh = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const freshKey = file('fresh.pem', fresh.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const otherPub = file('other.pub', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string);
    expect((await cli([...S, 'msl', 'identity', 'import', '--key', freshKey, '--kid', 'k-pub', '--public-key', otherPub])).stderr).toContain('[MSL_KEY_INVALID] (reason: PUBLIC_KEY_MISMATCH)');
    const noKid = await cli([...S, 'msl', 'identity', 'import', '--key', small]);
    expect(noKid.code).toBe(2);
    expect(noKid.stderr).toContain('msl identity import needs --kid. [USAGE_MISSING_ARGUMENT]');
    expect((await json(['msl', 'identity', 'show', '--all'])).value.items).toEqual(before);
  });

  it('rotate keeps the name and gives a new key id; a subcommand left out is named', async () => {
    const r = await json(['msl', 'identity', 'rotate']);
    expect(r.value).toMatchObject({ generation: 3, name: 'server1', status: 'active' });
    expect(r.value.keyId).toBe(r.value.thumbprint);
    const bare = await cli([...S, 'msl', 'identity']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('msl identity needs a subcommand: show, create, rotate, import, retire, destroy. keyladder help msl identity tells more. [USAGE_MISSING_ARGUMENT]');
    expect((await cli([...S, 'msl', 'identity', 'destroy', '2'])).stderr).toContain('[USAGE_NOT_CONFIRMED]');
  });
});

describe('keyladder msl keys and settings', () => {
  it('show, rotate and import-msl the master-token keys (KCVs only), refusing a known key and a bad keys file', async () => {
    const shown = await json(['msl', 'keys', 'show']);
    expect(shown.value).toEqual({ items: [expect.objectContaining({ generation: 1, status: 'active', origin: 'generated' })] });
    const rotated = await cli([...S, 'msl', 'keys', 'rotate', '--grace-seconds', '600']);
    expect(rotated.stdout).toMatch(/^Rotated: gen 2 +active +KCV enc [0-9A-F]{6} hmac [0-9A-F]{6}/);
    const keys = file('msl-keys.json', JSON.stringify({ enc: cfg['msl.key.enc'], hmac: cfg['msl.key.hmac'] }));
    const imported = await json(['msl', 'keys', 'import-msl', '--keys', keys]);
    expect(imported.value).toMatchObject({ generation: 3, origin: 'imported-msl', status: 'active' });
    const list = await cli([...S, 'msl', 'keys', 'show']);
    expect(list.stdout.split('\n')[1]).toMatch(/^gen 2 +grace +KCV/);
    expect(list.stdout).not.toContain(cfg['msl.key.enc']!.toLowerCase());
    const again = await cli([...S, 'msl', 'keys', 'import-msl', '--keys', keys]);
    expect(again.stderr).toContain('[MSL_KEY_KNOWN]');
    const wrong = await cli([...S, 'msl', 'keys', 'import-msl', '--keys', file('wrong.json', JSON.stringify({ 'msl.key.enc': cfg['msl.key.enc'] }))]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('[KEYS_INCOMPLETE]');
    expect((await json(['msl', 'keys', 'show'])).value.items).toHaveLength(3);
  });

  it('settings shows the times and changes them, refusing an expiration before the renewal window; audit list finds the change', async () => {
    expect((await json(['msl', 'settings'])).value).toEqual({ renewalWindow: 3600, expiration: 86_400, nonReplayableWindow: 65_536 });
    const set = await cli([...S, 'msl', 'settings', '--renewal-window', '5', '--expiration', '120']);
    expect(set.stdout).toBe('renewal window 5 s, expiration 120 s, non-replayable id window 65536\n');
    const bad = await cli([...S, 'msl', 'settings', '--renewal-window', '200']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[INVALID_ARGUMENT]');
    expect((await cli([...S, 'msl', 'settings', '--expiration', 'soon'])).code).toBe(2);
    expect((await json(['msl', 'settings'])).value).toEqual({ renewalWindow: 5, expiration: 120, nonReplayableWindow: 65_536 });
    const audit = await json(['audit', 'list', '--action', 'msl.settings']);
    expect(audit.value).toEqual({ items: [expect.objectContaining({ action: 'msl.settings', details: expect.objectContaining({ renewalWindow: 5, expiration: 120 }) })] });
    // The non-replayable id window: 1 or more, changed with its own record.
    expect((await cli([...S, 'msl', 'settings', '--non-replayable-window', '0'])).code).toBe(2);
    expect((await cli([...S, 'msl', 'settings', '--non-replayable-window', '1024'])).stdout).toBe('renewal window 5 s, expiration 120 s, non-replayable id window 1024\n');
    expect((await json(['audit', 'list', '--action', 'msl.settings'])).value.items).toHaveLength(2);
  });

  it('help lists the MSL server section', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toContain('\nMSL server\n  msl identity show [--pem] [--jwk] [--all]\n');
    expect((await cli(['help', 'msl', 'keys'])).stdout).toContain('keyladder msl keys: 5 commands.');
  });
});
