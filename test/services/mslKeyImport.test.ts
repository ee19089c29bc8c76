// Issue 21's bad input for the server's MSL keys, as the app imports them:
// each refused key has MSL_KEY_INVALID and a stable reason, and the store is
// unchanged (generations, audit log); a private key whose halves do not belong
// together, or whose pinned public key (msl.rsa.pub.N) is another key's, is
// refused; an MSL server config (mslsrv.cfg) imports as MSL's clients know
// it. The non-replayable id window is a setting the responder follows.
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { mslServerState } from '../../electron/services/mslResponder.js';
import { ROOT } from '../support/cli.js';
import { mslServerConfig } from '../support/msl.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const CONFIG_TEXT = readFileSync(join(ROOT, 'test', 'vectors', 'msl-messages', 'mslsrv.cfg'), 'utf8');

/** What must not move when a key is refused. */
const snapshot = (s: TestServices['services']) => ({
  entries: s.audit.verify().entries,
  identities: JSON.stringify(s.msl.keys.identities()),
  tokenKeys: JSON.stringify(s.msl.keys.tokenKeyGenerations()),
  settings: JSON.stringify(s.msl.settings.all()),
});

const b64u = (n: bigint): string => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
};
const big = (s: string | undefined): bigint => BigInt(`0x${Buffer.from(s!, 'base64url').toString('hex')}`);

// A bad key file is written as DER by hand, not through createPrivateKey({format: 'jwk'}): Node 24
// refuses to import an inconsistent JWK ("Invalid JWK RSA key"), while a PEM file holding the same
// members parses on every runtime, and a PEM file is what an operator imports.
const derLength = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const hex = n.toString(16);
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
};
const derInteger = (value: Buffer): Buffer => {
  let v = value;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v]);
};
/** PKCS#1 RSAPrivateKey (RFC 8017 A.1.2) of these JWK members, as PEM, whether or not they belong together. */
function pkcs1Pem(jwk: JsonWebKey): string {
  const members = (['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((m) => derInteger(Buffer.from(jwk[m]!, 'base64url')));
  const body = Buffer.concat([derInteger(Buffer.from([0])), ...members]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  return `-----BEGIN RSA PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END RSA PRIVATE KEY-----\n`;
}

/** A private key assembled from two: one key's n and e, the other's private members. */
function assembled(): string {
  const a = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JsonWebKey;
  const b = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JsonWebKey;
  return pkcs1Pem({ ...b, n: a.n!, e: a.e! });
}

/** An RSA key whose private exponent is not e's inverse, while its CRT members are right: it signs and verifies, as OpenSSL signs by CRT. */
function wrongD(): string {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JsonWebKey;
  return pkcs1Pem({ ...jwk, d: b64u(big(jwk.d) + 2n) });
}

describe('an imported MSL server key', () => {
  it('is refused with MSL_KEY_INVALID and a stable reason for each fault, the store unchanged', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const before = snapshot(t.services);
    const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ format: 'pem', type: 'pkcs8' }) as string;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const good = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: Array<[string, string, string | undefined, string]> = [
      ['EC', pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), undefined, 'NOT_RSA'],
      ['Ed25519', pem(generateKeyPairSync('ed25519').privateKey), undefined, 'NOT_RSA'],
      ['1024 bits', pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), undefined, 'KEY_SIZE'],
      ['e = 3', pem(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey), undefined, 'EXPONENT'],
      ['e = 65539', pem(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65539 }).privateKey), undefined, 'EXPONENT'],
      ['d not e\'s inverse', wrongD(), undefined, 'HALVES_MISMATCH'],
      ['assembled from two keys', assembled(), undefined, 'HALVES_MISMATCH'],
      ['another key\'s public half', pem(good.privateKey), other.publicKey.export({ format: 'pem', type: 'spki' }) as string, 'PUBLIC_KEY_MISMATCH'],
      ['another key\'s msl.rsa.pub.N', pem(good.privateKey), `msl.rsa.pub.0 ${other.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`, 'PUBLIC_KEY_MISMATCH'],
      ['a public key that does not parse', pem(good.privateKey), 'not a key', 'MALFORMED'],
      ['encrypted', good.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string, undefined, 'ENCRYPTED'],
      ['a public key alone', good.publicKey.export({ format: 'pem', type: 'spki' }) as string, undefined, 'NOT_PRIVATE'],
      ['empty', ' ', undefined, 'EMPTY'],
    ];
    for (const [what, text, publicText, reason] of cases) {
      const refusal = await keys.importIdentity(text, `kid-${what.replace(/\W/g, '')}`, undefined, publicText).then(() => undefined, (e: unknown) => e as { code: string; reason: string; message: string });
      expect(refusal, what).toMatchObject({ code: 'MSL_KEY_INVALID', reason, message: expect.stringContaining('Nothing was changed') });
      expect(snapshot(t.services), what).toEqual(before);
    }
    // The same good key with its own public half imports.
    expect(await keys.importIdentity(pem(good.privateKey), 'good', undefined, good.publicKey.export({ format: 'pem', type: 'spki' }) as string)).toMatchObject({ keyId: 'good', status: 'active' });
  });

  it('imports from an MSL server config: msl.rsa.priv.N under msl.rsa.id.N, checked against msl.rsa.pub.N', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const cfg = mslServerConfig();
    // A config whose public key is another key's: refused, nothing stored.
    const before = snapshot(t.services);
    const otherPub = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    await expect(keys.importIdentityText(CONFIG_TEXT.replace(cfg['msl.rsa.pub.0']!, otherPub))).rejects.toMatchObject({ code: 'MSL_KEY_INVALID', reason: 'PUBLIC_KEY_MISMATCH' });
    await expect(keys.importIdentityText(CONFIG_TEXT, { keyId: 'no-such-kid' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('rsakeyid1') });
    // A key file says no key id: the operator must.
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await expect(keys.importIdentityText(pem)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(snapshot(t.services)).toEqual(before);
    const id = await keys.importIdentityText(CONFIG_TEXT, { name: 'server1' });
    expect(id).toMatchObject({ keyId: 'rsakeyid1', name: 'server1', spki: cfg['msl.rsa.pub.0'], origin: 'imported', status: 'active' });
    expect(await keys.importIdentityText(pem, { keyId: 'lab-key' })).toMatchObject({ keyId: 'lab-key', generation: id.generation + 1 });
  });

  it('master-token keys import from the config\'s msl.key.enc and msl.key.hmac lines, or the CLI\'s JSON; a file without them changes nothing', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const cfg = mslServerConfig();
    const before = snapshot(t.services);
    for (const text of ['msl.key.enc 00112233445566778899aabbccddeeff\n', '{"enc":"00112233445566778899aabbccddeeff"}', '{"enc":"a","hmac":"b","wrap":"c"}', 'not a config', '{"enc":']) {
      expect(() => keys.importTokenKeysText(text), text).toThrow(expect.objectContaining({ code: 'INVALID_KEY', reason: 'MSL_TOKEN_KEYS' }));
    }
    expect(() => keys.importTokenKeysText('msl.key.enc 0011\nmsl.key.hmac 22')).toThrow(expect.objectContaining({ code: 'INVALID_KEY', reason: 'MSL_TOKEN_KEYS', message: expect.stringContaining('msl.key.enc') }));
    expect(snapshot(t.services)).toEqual(before);
    const imported = keys.importTokenKeysText(CONFIG_TEXT, 60);
    expect(imported).toMatchObject({ origin: 'imported-msl', status: 'active', kcvEnc: kcv(Buffer.from(cfg['msl.key.enc']!, 'hex'), 'aes'), kcvHmac: kcv(Buffer.from(cfg['msl.key.hmac']!, 'hex'), 'hmac') });
    const json = JSON.stringify({ enc: 'ff'.repeat(16), hmac: 'ee'.repeat(32) });
    expect(keys.importTokenKeysText(json)).toMatchObject({ generation: imported.generation + 1, kcvEnc: kcv(Buffer.from('ff'.repeat(16), 'hex'), 'aes') });
  });
});

describe('the non-replayable id window', () => {
  it('is a setting (default 65536), changed with an audit record, refused out of bounds with nothing written, and followed by the responder', async () => {
    t = await openTestServices();
    const settings = t.services.msl.settings;
    expect(settings.all()).toEqual({ renewalWindow: 3600, expiration: 86_400, nonReplayableWindow: 65_536 });
    const before = snapshot(t.services);
    for (const bad of [0, -1, 2 ** 32 + 1, 1.5, Number.NaN]) {
      expect(() => settings.setAll({ nonReplayableWindow: bad }), String(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    // A good window beside bad times: nothing of it is written either.
    expect(() => settings.setAll({ nonReplayableWindow: 10, renewalWindow: 100, expiration: 50 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => settings.setAll({ renewalWindow: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => settings.setAll({ expiration: -5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(snapshot(t.services)).toEqual(before);
    expect(settings.setAll({ nonReplayableWindow: 10 })).toEqual({ renewalWindow: 3600, expiration: 86_400, nonReplayableWindow: 10 });
    expect(t.services.audit.list({ action: 'msl.settings' })[0]).toMatchObject({ details: { nonReplayableWindow: 10, previousNonReplayableWindow: 65_536 } });
    // The responder's state accepts ids up to 10 past the largest, no further.
    const state = mslServerState(t.services.msl);
    const serial = t.services.msl.tokens.allocateSerial('client1');
    const expires = new Date(t.clock.now.getTime() + 3_600_000);
    expect(state.acceptNonReplayableId(serial, 'client1', 11, 0, expires)).not.toBe('accepted');
    expect(state.acceptNonReplayableId(serial, 'client1', 10, 0, expires)).toBe('accepted');
    expect(state.acceptNonReplayableId(serial, 'client1', 21, 0, expires)).not.toBe('accepted');
    expect(state.acceptNonReplayableId(serial, 'client1', 20, 0, expires)).toBe('accepted');
  });
});
