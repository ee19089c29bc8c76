// README.md's "Keys you share" snippet, run as written, in the factory's
// plain Node (no crypto model: the factory is not Electron, and jose's
// ECDH-ES+A256KW needs Web Crypto AES-KW): it opens a bundle exported --to
// its key, RSA or EC, and verifies KeyLadder's signature with `identity jwks`;
// anything altered, signed by another KeyLadder, or re-encrypted by another
// recipient (its signed aud names that one), it refuses.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const home = tempDir('keyladder-keys-you-share-');
const store = join(home, 'store');
const other = join(home, 'other');
const path = (name: string) => join(home, name);

function snippet(): string {
  const at = README.indexOf('<!-- keys-you-share-snippet -->');
  expect(at, 'README.md has no <!-- keys-you-share-snippet --> marker').toBeGreaterThanOrEqual(0);
  return /```js\n([\s\S]*?)\n```/.exec(README.slice(at))![1]!;
}

const run = async (dir: string, args: string[], stdin?: string) => {
  const r = await cli(['--store', dir, ...args], stdin === undefined ? {} : { stdin });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

/** The snippet in plain Node: node open-signed.mjs JWE PRIVATE_JWK JWKS. */
const open = (jwe: string, privateJwk: string, jwks: string) =>
  spawnSync(process.execPath, ['open-signed.mjs', jwe, privateJwk, jwks], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });

const factories: Array<[string, KeyObject, KeyObject]> = [];

/** What a recipient could do with what it received: open it, and encrypt the signed JWS inside, as it is, under another kid. */
async function forwardAs(out: string, name: string, kid: string): Promise<void> {
  const [, publicKey, privateKey] = factories.find(([n]) => n === name)!;
  const { plaintext } = await compactDecrypt(readFileSync(path(`${name}.jwe`), 'utf8').trim(), privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'] });
  writeFileSync(path(out), await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid, cty: 'JWT' }).encrypt(publicKey));
}

beforeAll(async () => {
  writeFileSync(path('open-signed.mjs'), snippet());
  symlinkSync(join(ROOT, 'node_modules'), path('node_modules'), 'dir');
  for (const dir of [store, other]) await run(dir, ['init', '--kdf-log-n', '10']);
  await run(store, ['device', 'add', 'ESN-0001', '--keys', '-'], JSON.stringify({ kpw: '000102030405060708090a0b0c0d0e0f' }));
  writeFileSync(path('keyladder.jwks.json'), await run(store, ['identity', 'jwks']));
  writeFileSync(path('other.jwks.json'), await run(other, ['identity', 'jwks']));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  factories.push(['rsa', rsa.publicKey, rsa.privateKey], ['ec', ec.publicKey, ec.privateKey]);
  for (const [name, publicKey, privateKey] of factories) {
    writeFileSync(path(`${name}.private.jwk`), JSON.stringify(privateKey.export({ format: 'jwk' })));
    await run(store, ['recipient', 'add', '-', '--kid', `factory-${name}`, '--use', 'enc'], publicKey.export({ format: 'pem', type: 'spki' }) as string);
    await run(store, ['device', 'export', 'ESN-0001', '--to', `factory-${name}`, '--out', path(`${name}.jwe`)]);
  }
}, 120_000);

describe('README: Keys you share', () => {
  it.each(['rsa', 'ec'])('a factory with an %s key opens the bundle and verifies who signed it', async (name) => {
    const opened = open(`${name}.jwe`, `${name}.private.jwk`, 'keyladder.jwks.json');
    expect(opened.status, opened.stderr).toBe(0);
    const kid = (JSON.parse(readFileSync(path('keyladder.jwks.json'), 'utf8')) as { keys: Array<{ kid: string; use: string }> }).keys.find((k) => k.use === 'sig')!.kid;
    const kcv = (JSON.parse(await run(store, ['device', 'show', 'ESN-0001', '--json'])) as { kcv: { kpw: string } }).kcv.kpw;
    expect(opened.stdout).toBe(`signed by ${kid}\nESN-0001 - KCV kpw ${kcv}\n`);
  });

  it('refuses a bundle signed by another KeyLadder, one altered, one re-encrypted, and the other factory\'s', async () => {
    // Each fails at its own step, in jose: no signing key of that kid, then decryption (twice).
    const foreign = open('rsa.jwe', 'rsa.private.jwk', 'other.jwks.json');
    expect([foreign.status, /ERR_JWKS_NO_MATCHING_KEY/.test(foreign.stderr)]).toEqual([1, true]);
    const parts = readFileSync(path('rsa.jwe'), 'utf8').trim().split('.');
    parts[3] = `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`;
    writeFileSync(path('altered.jwe'), parts.join('.'));
    // Opened by its recipient and re-encrypted, signature untouched, under another kid: the signed aud names the first.
    await forwardAs('forwarded.jwe', 'rsa', 'factory-other');
    const forwarded = open('forwarded.jwe', 'rsa.private.jwk', 'keyladder.jwks.json');
    expect([forwarded.status, /signed for factory-rsa, not for this key \(factory-other\)/.test(forwarded.stderr)], forwarded.stderr).toEqual([1, true]);
    for (const [jwe, key] of [['altered.jwe', 'rsa.private.jwk'], ['rsa.jwe', 'ec.private.jwk']]) {
      const refused = open(jwe!, key!, 'keyladder.jwks.json');
      expect([refused.status, /ERR_JWE_DECRYPTION_FAILED|ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWE_INVALID/.test(refused.stderr)], refused.stderr).toEqual([1, true]);
    }
  });
});
