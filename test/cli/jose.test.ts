// `keyladder jose ...` as an operator meets it: inspect with one section per
// recipient and the table's verdicts, decrypt by kid with own keys, a key file
// or a device's Kpw (a key shown as metadata only), refusals by step with a
// code, verify, and encrypt to a keyring recipient.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { joseVectors } from '../support/joseVectors.js';
import { openTestServices, PASSPHRASE, tempDir, type TestServices } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

const dir = tempDir('keyladder-jose-cli-');
const S = ['--store', join(dir, 'store')];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (args: string[], stdin?: string) => cli([...S, ...args], stdin === undefined ? {} : { stdin });
const json = async (args: string[]) => {
  const r = await run([...args, '--json']);
  return { ...r, value: JSON.parse(r.stdout) };
};
/** The same store, opened by the services themselves: the keyring commands are another change's. */
async function withStore<T>(fn: (services: TestServices['services']) => Promise<T>): Promise<T> {
  const { services } = await openTestServices({ dir: join(dir, 'store'), create: false });
  try {
    await services.store.unlock(PASSPHRASE);
    return await fn(services);
  } finally {
    services.close();
  }
}
const a = joseVectors('rfc7516-appendix-a.json');
const vector = (section: string) => a.vectors.find((x) => x.section === section)!;
const v = deriveVector();

beforeAll(async () => {
  expect((await run(['init', '--kdf-log-n', '10'])).code).toBe(0);
  expect((await run(['device', 'add', v.identity, '--keys', '-'], JSON.stringify({ kpw: v.kpw_hex }))).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('jose inspect', () => {
  it('shows A.4 part by part, one section per recipient, with "supported" and "refused: reason"', async () => {
    const r = await run(['jose', 'inspect', file('a4.json', vector('A.4').jwe!)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('JWE, json-general serialization');
    expect(r.stdout).toContain('protected header: {"enc":"A128CBC-HS256"}');
    expect(r.stdout).toMatch(/Recipient 0\n {2}header: \{"alg":"RSA1_5","kid":"2011-04-29"\}\n {2}alg: RSA1_5 \(refused: PKCS#1 v1.5 padding invites Bleichenbacher's oracle/);
    expect(r.stdout).toMatch(/Recipient 1\n[^]*alg: A128KW \(supported\)\n {2}kid: 7/);
    expect(r.stdout).toContain('key: no key KeyLadder holds');
    const machine = await json(['jose', 'inspect', '-']);
    expect(machine.value.error.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses what is no JOSE object with the parse step', async () => {
    const r = await run(['jose', 'inspect', file('junk.txt', 'a.b')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[JOSE_PARSE] (reason: parse)');
  });
});

describe('jose decrypt', () => {
  it('opens A.1 with --key-file, warns about RSA-OAEP and prints the plaintext; A.2 is refused with its reason', async () => {
    const key = file('a13.jwk', JSON.stringify(a.keys['A.1.3']));
    const r = await run(['jose', 'decrypt', file('a1.jwe', vector('A.1').jwe!), '--key-file', key]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: RSA-OAEP \(SHA-1\) is accepted for migration only/);
    expect(r.stdout).toContain(vector('A.1').plaintext);
    const refused = await json(['jose', 'decrypt', file('a2.jwe', vector('A.2').jwe!), '--key-file', key]);
    expect(refused.code).toBe(1);
    expect(refused.value.error).toMatchObject({ code: 'JOSE_UNSUPPORTED_ALG', reason: 'unsupported-alg', message: expect.stringMatching(/Bleichenbacher/) });
  });

  it('writes the plaintext to --out, never over an existing file', async () => {
    const key = file('a33.jwk', JSON.stringify(a.keys['A.3.3']));
    const out = join(dir, 'a3.txt');
    const r = await json(['jose', 'decrypt', file('a3.jwe', vector('A.3').jwe!), '--key-file', key, '--out', out]);
    expect(r.value).toMatchObject({ alg: 'A128KW', file: out, summary: { kind: 'text', length: 22 } });
    expect(r.value.plaintext).toBeUndefined();
    expect(readFileSync(out, 'utf8')).toBe('Live long and prosper.');
    const again = await json(['jose', 'decrypt', join(dir, 'a3.jwe'), '--key-file', key, '--out', out]);
    expect(again.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('Live long and prosper.');
  });

  it("opens a real ladder answer's wrapkey with --device, showing Kwrap as metadata and KCV only", async () => {
    const answer = await run(['respond'], JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
    expect(answer.code, answer.stderr).toBe(0);
    const wrapkey = (JSON.parse(answer.stdout) as { keyresponsedata: { keydata: { wrapkey: string } } }).keyresponsedata.keydata.wrapkey;
    const r = await run(['jose', 'decrypt', '-', '--device', v.identity], wrapkey);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Decrypted the MSL JWE \(A128KW; A128GCM\) with the device's key\.\nA secret JWK \(not shown\): kty oct .*KCV [0-9A-F]{6}/);
    const raw = Buffer.from(wrapkey, 'base64').toString('utf8');
    expect(r.stdout).not.toContain(raw);
    const machine = await json(['jose', 'decrypt', file('wrapkey.b64', wrapkey), '--device', v.identity]);
    expect(machine.value).toMatchObject({ type: 'msl-jwe', summary: { kind: 'jwk', jwk: { kty: 'oct', secret: true } } });
    expect(JSON.stringify(machine.value)).not.toMatch(/"k":/);
  });

  it('with no key option, finds its own key by kid; says which kid it lacks; a tampered JWE fails integrity', async () => {
    const jwe = await withStore(async (services) => {
      const own = (await services.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
      await services.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
      return services.jose.encrypt('{"note":"to myself"}', own.kid!);
    });
    const r = await run(['jose', 'decrypt', '-'], jwe);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Decrypted recipient 0 \(ECDH-ES\+A256KW, kid [\w-]+; A256GCM\) with this KeyLadder's own key\.\nJSON, 20 bytes, members note\n\n\{"note":"to myself"\}/);
    const lacking = await json(['jose', 'decrypt', file('a5.json', vector('A.5').jwe!)]);
    expect(lacking.value.error).toMatchObject({ code: 'NO_KEY_FOR_KID', message: expect.stringContaining('"7"') });
    const parts = jwe.split('.');
    parts[4] = `${parts[4]!.startsWith('A') ? 'B' : 'A'}${parts[4]!.slice(1)}`;
    const tampered = await run(['jose', 'decrypt', '-'], parts.join('.'));
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('[JOSE_INTEGRITY] (reason: integrity)');
  });

  it('never prints JSON that holds keys (a bundle opened with its passphrase): it asks for --out', async () => {
    const bundle = join(dir, 'bundle.jwe');
    const env = { KEYLADDER_BUNDLE_PASSPHRASE: 'a factory bundle passphrase' };
    expect((await cli([...S, 'device', 'export', v.identity, '--out', bundle], { env })).code).toBe(0);
    const passphraseFile = file('bundle-passphrase.txt', 'a factory bundle passphrase\n');
    const shown = await run(['jose', 'decrypt', bundle, '--bundle-passphrase-file', passphraseFile]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('add --out FILE');
    expect(shown.stdout.toLowerCase()).not.toContain(v.kpw_hex.toLowerCase());
    const out = join(dir, 'bundle.json');
    expect((await run(['jose', 'decrypt', bundle, '--bundle-passphrase-file', passphraseFile, '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8').toLowerCase()).toContain(v.kpw_hex.toLowerCase());
  });

  it('never prints a signed export to its own key (a JWS holding keys), nor inspect its payload: --out, and member names only', async () => {
    const own = (JSON.parse((await run(['identity', 'jwks'])).stdout) as { keys: Array<{ kid: string; use: string }> }).keys.find((k) => k.use === 'enc')!;
    const added = await run(['recipient', 'add', '-'], JSON.stringify(own));
    if (added.code !== 0) expect(added.stderr).toContain('RECIPIENT_EXISTS'); // an earlier test added it
    const exported = join(dir, 'own-export.jwe');
    expect((await run(['device', 'export', v.identity, '--to', own.kid, '--out', exported])).code).toBe(0);
    const kpw = v.kpw_hex.toLowerCase();
    const shown = await run(['jose', 'decrypt', exported]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('A compact JWS (alg ES256');
    expect(shown.stdout).toContain('add --out FILE');
    expect(shown.stdout).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(shown.stdout.toLowerCase()).not.toContain(kpw);
    const machine = await json(['jose', 'decrypt', exported]);
    expect(machine.value.summary).toMatchObject({ kind: 'jws', payload: { kind: 'json', holdsKeys: true } });
    const inner = join(dir, 'own-export.jws');
    expect((await run(['jose', 'decrypt', exported, '--out', inner])).code).toBe(0);
    const jws = readFileSync(inner, 'utf8');
    expect(Buffer.from(jws.split('.')[1]!, 'base64url').toString().toLowerCase()).toContain(kpw);
    for (const args of [['jose', 'inspect', inner], ['jose', 'inspect', inner, '--json'], ['jose', 'verify', inner], ['jose', 'verify', inner, '--json']]) {
      const r = await run(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toLowerCase()).not.toContain(kpw);
      expect(r.stdout).not.toContain(jws.split('.')[1]!.slice(0, 40));
      expect(r.stdout).not.toContain(Buffer.from('{"format"').toString('hex'));
    }
    expect((await run(['jose', 'inspect', inner])).stdout).toContain('payload: ');
    expect((await run(['jose', 'inspect', inner])).stdout).toMatch(/not shown: it holds key members \(members format, version, createdAt, payload\)/);
  });

  it('never prints a JWS hidden in JSON (JSON-serialized, or a compact one in a JSON string): decrypt asks for --out, inspect says member names', async () => {
    const own = (JSON.parse((await run(['identity', 'jwks'])).stdout) as { keys: Array<{ kid: string; use: string }> }).keys.find((k) => k.use === 'enc')!;
    const added = await run(['recipient', 'add', '-'], JSON.stringify(own));
    if (added.code !== 0) expect(added.stderr).toContain('RECIPIENT_EXISTS'); // an earlier test added it
    const exported = join(dir, 'hidden-export.jwe');
    expect((await run(['device', 'export', v.identity, '--to', own.kid, '--out', exported])).code).toBe(0);
    const inner = join(dir, 'hidden-export.jws');
    expect((await run(['jose', 'decrypt', exported, '--out', inner])).code).toBe(0);
    const jws = readFileSync(inner, 'utf8');
    const [, payload, signature] = jws.split('.');
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const kpw = v.kpw_hex.toLowerCase();
    const leaksNothing = (text: string) => {
      expect(text.toLowerCase()).not.toContain(kpw);
      expect(text).not.toContain(payload!.slice(0, 40));
      expect(text).not.toContain(Buffer.from('{"format"').toString('hex'));
    };
    const shapes = [JSON.stringify({ payload, protected: b64({ alg: 'ES256' }), signature }), JSON.stringify(jws)];
    for (const text of shapes) {
      const jwe = (await json(['jose', 'encrypt', '--to', own.kid, file('hidden.txt', text)])).value.jwe as string;
      const shown = await run(['jose', 'decrypt', '-'], jwe);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain('add --out FILE');
      leaksNothing(shown.stdout);
      const machine = await json(['jose', 'decrypt', file('hidden.jwe', jwe)]);
      expect(machine.value.summary).toMatchObject({ kind: 'json', holdsKeys: true });
      expect(machine.value.preview).toBeUndefined();
      leaksNothing(machine.stdout);
      const outer = file('hidden-outer.jws', `${b64({ alg: 'ES256' })}.${b64(text)}.c2ln`);
      const inspected = await run(['jose', 'inspect', outer]);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect(inspected.stdout).toMatch(/payload: \d+ bytes, not shown: it holds key members/);
      leaksNothing(inspected.stdout);
      leaksNothing((await run(['jose', 'inspect', outer, '--json'])).stdout);
    }
    expect((await run(['jose', 'inspect', join(dir, 'hidden-outer.jws')])).stdout).toMatch(/not shown: it holds key members\n/);
    const flattened = file('hidden-outer.jws', `${b64({ alg: 'ES256' })}.${b64(shapes[0]!)}.c2ln`);
    expect((await run(['jose', 'inspect', flattened])).stdout).toContain('not shown: it holds key members (members payload, protected, signature)');
  });

  it('refuses two key options at once, and two reads of stdin', async () => {
    const r = await run(['jose', 'decrypt', join(dir, 'a3.jwe'), '--device', v.identity, '--group', 'g']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[USAGE_BAD_VALUE]');
    const both = await run(['jose', 'verify', '-', '--key-file', '-'], vector('A.3').jwe!);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('both be read from stdin');
  });
});

describe('jose encrypt and verify', () => {
  it('encrypts to a keyring recipient; its key file opens it, and inspect names the recipient', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await withStore((services) => services.keyring.addRecipient(JSON.stringify(publicKey.export({ format: 'jwk' })), { kid: 'factory-1', use: 'enc' }));
    const enc = await json(['jose', 'encrypt', '--to', 'factory-1', file('note.txt', 'for the factory')]);
    expect(enc.code, enc.stderr).toBe(0);
    const jwe = enc.value.jwe as string;
    expect(JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'factory-1' });
    const inspected = await run(['jose', 'inspect', '-'], jwe);
    expect(inspected.stdout).toContain('key: keyring recipient factory-1');
    const opened = await run(['jose', 'decrypt', '-', '--key-file', file('factory-private.jwk', JSON.stringify(privateKey.export({ format: 'jwk' })))], jwe);
    expect(opened.stdout).toContain('for the factory');
    const unknown = await json(['jose', 'encrypt', '--to', 'nobody', join(dir, 'note.txt')]);
    expect(unknown.value.error.code).toBe('RECIPIENT_NOT_FOUND');
  });

  it('verifies an RFC 7520 JWS with its key file', async () => {
    const jws = joseVectors('rfc7520-jws.json');
    const first = jws.vectors.find((x) => x.expect === 'verifies' && x.key !== undefined)!;
    const r = await run(['jose', 'verify', file('jws.txt', first.jws!), '--key-file', file('jws.jwk', JSON.stringify(jws.keys[first.key!]))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Verified signature 0 \(\w+.*\): signed by the key file's holder \(key thumbprint [\w-]+\)\./);
  });
});
