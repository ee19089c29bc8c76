// The keyring: recipients' public keys (JWK, JWKS by kid, PEM/SPKI), refused
// when weak or malformed with a stable reason and nothing stored, and this
// KeyLadder's own key pairs, made at init, sealed, rotatable, published as a
// public JWKS.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, importJWK, SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptToRecipient } from '../../electron/jose/produce.js';
import { KEYRING_READ_ACTIONS } from '../../electron/services/keyring.js';
import { openTestServices, type TestServices } from '../support/services.js';
import type { KeyStore } from '../../db/store.js';

let t: TestServices;
afterEach(() => t?.cleanup());

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const publicJwk = (k: ReturnType<typeof ec>) => k.publicKey.export({ format: 'jwk' }) as JWK;

/** What the store holds that a refused add must not change: its recipients, and its audit rows but the reads (listing the recipients is one). */
const state = (s: TestServices['services']) => ({ recipients: s.keyring.recipients(), audit: s.audit.list({ limit: 1000, excludeActions: KEYRING_READ_ACTIONS }).length });

async function refused(s: TestServices['services'], text: string, options: Parameters<TestServices['services']['keyring']['addRecipient']>[1], expected: { code: string; reason?: string }): Promise<void> {
  const before = state(s);
  await expect(s.keyring.addRecipient(text, options)).rejects.toMatchObject(expected);
  expect(state(s)).toEqual(before);
}

describe('recipients', () => {
  it('takes a declared alg only when KeyLadder can use it with that key (the table decides), so every recipient it keeps can be encrypted to or verified', async () => {
    t = await openTestServices();
    const s = t.services;
    const p256 = publicJwk(ec('P-256'));
    const p384 = publicJwk(ec('P-384'));
    const rsaJwk = publicJwk(rsa(2048));
    // Accepted on decrypt, but never produced: a recipient bound to it could never be exported to.
    for (const alg of ['ECDH-ES', 'ECDH-ES+A128KW']) {
      await refused(s, JSON.stringify({ ...p256, alg }), { kid: `p256-${alg}`, use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    }
    await refused(s, JSON.stringify({ ...rsaJwk, alg: 'RSA-OAEP' }), { kid: 'oaep-sha1' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    // An alg for another key type or curve.
    await refused(s, JSON.stringify({ ...p384, alg: 'ES256' }), { kid: 'es256-p384' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    await refused(s, JSON.stringify({ ...p256, alg: 'ES384' }), { kid: 'es384-p256' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    await refused(s, JSON.stringify({ ...p256, alg: 'RSA-OAEP-256' }), { kid: 'oaep-ec' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    await refused(s, JSON.stringify({ ...rsaJwk, alg: 'HS256' }), { kid: 'hs256' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    await expect(s.keyring.addRecipient(JSON.stringify({ ...p256, alg: 'ECDH-ES' }), { kid: 'x', use: 'enc' })).rejects.toThrow(/ECDH-ES\+A256KW/);
    // What it keeps, it uses: an EC P-384 recipient bound to ECDH-ES+A256KW is encrypted to; an ES384 signer is taken.
    await s.keyring.addRecipient(JSON.stringify({ ...p384, alg: 'ECDH-ES+A256KW' }), { kid: 'p384-enc' });
    expect((await s.jose.encrypt('to P-384', 'p384-enc')).split('.')).toHaveLength(5);
    await s.keyring.addRecipient(JSON.stringify({ ...p384, alg: 'ES384' }), { kid: 'p384-sig' });
    expect(s.keyring.recipient('p384-sig')).toMatchObject({ use: 'sig', alg: 'ES384' });
  });

  it('a stored recipient KeyLadder cannot encrypt to (kept before add-time checks) refuses exports with a code, changing nothing', async () => {
    t = await openTestServices();
    const s = t.services;
    const store = (s.store as unknown as { session: { store(): KeyStore } }).session.store();
    const p256 = publicJwk(ec('P-256'));
    store.transaction(() => store.keyring.addRecipient({ kid: 'legacy', label: null, use: 'enc', thumbprint: 'not-checked-here', public_jwk: JSON.stringify({ ...p256, kid: 'legacy', use: 'enc', alg: 'ECDH-ES' }), added_at: new Date().toISOString(), roles: null, list_source: null }));
    s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: '000102030405060708090a0b0c0d0e0f' } });
    const before = s.audit.list({ limit: 1000 }).length;
    await expect(s.devices.exportBundle(['ESN-1'], { kind: 'recipient', kid: 'legacy' })).rejects.toMatchObject({ name: 'ServiceError', code: 'RECIPIENT_KEY_INVALID', reason: 'BAD_KEY', message: expect.stringContaining('recipient add') });
    await expect(s.jose.encrypt('x', 'legacy')).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
    expect(s.audit.list({ limit: 1000 })).toHaveLength(before);
  });

  it('adds a public JWK, a JWKS member by kid and a PEM key, each with its RFC 7638 thumbprint, audited', async () => {
    t = await openTestServices();
    const s = t.services;
    const factory = rsa(2048);
    const jwk = { ...(factory.publicKey.export({ format: 'jwk' }) as JWK), alg: 'RSA-OAEP-256' };
    const added = await s.keyring.addRecipient(JSON.stringify(jwk), { kid: 'factory-1', label: 'Shenzhen line 3' });
    expect(added).toMatchObject({ kid: 'factory-1', label: 'Shenzhen line 3', use: 'enc', description: 'RSA 2048', alg: 'RSA-OAEP-256', thumbprint: await calculateJwkThumbprint(jwk) });

    const signer = ec('P-256');
    const other = ec('P-384');
    const jwks = { keys: [{ ...publicJwk(other), kid: 'peer-enc', use: 'enc' }, { ...publicJwk(signer), kid: 'peer-sig', alg: 'ES256' }] };
    expect(await s.keyring.addRecipient(JSON.stringify(jwks), { kid: 'peer-sig' })).toMatchObject({ kid: 'peer-sig', use: 'sig', description: 'EC P-256' });

    const pem = ec('P-384').publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const fromPem = await s.keyring.addRecipient(pem, { kid: 'lab', use: 'enc' });
    expect(fromPem).toMatchObject({ kid: 'lab', use: 'enc', description: 'EC P-384', thumbprint: await calculateJwkThumbprint(createPublicKey(pem).export({ format: 'jwk' }) as JWK) });

    expect(s.keyring.recipients().map((r) => r.kid)).toEqual(['factory-1', 'lab', 'peer-sig']);
    expect(s.keyring.recipientsJwks().keys.map((k) => [k.kid, k.use, 'd' in k])).toEqual([['factory-1', 'enc', false], ['lab', 'enc', false], ['peer-sig', 'sig', false]]);
    const audit = s.audit.list({ action: 'recipient.add', limit: 10 });
    expect(audit.map((e) => [e.subject, e.details['thumbprint']])).toEqual([['lab', fromPem.thumbprint], ['peer-sig', expect.any(String)], ['factory-1', added.thumbprint]]);

    expect(s.keyring.removeRecipient('lab').kid).toBe('lab');
    expect(() => s.keyring.recipient('lab')).toThrow(expect.objectContaining({ code: 'RECIPIENT_NOT_FOUND' }));
    expect(s.audit.list({ action: 'recipient.remove', limit: 10 }).map((e) => e.subject)).toEqual(['lab']);
    expect(s.audit.verify().ok).toBe(true);
  });

  it('list, show and the JWKS are audited like add and remove: which kid, how many, never a key; a kid not held is refused unaudited', async () => {
    t = await openTestServices();
    const s = t.services;
    const factory = rsa(2048);
    const jwk = factory.publicKey.export({ format: 'jwk' }) as JWK;
    const signer = ec('P-384');
    const added = await s.keyring.addRecipient(JSON.stringify(jwk), { kid: 'factory-1', use: 'enc' });
    await s.keyring.addRecipient(JSON.stringify(publicJwk(signer)), { kid: 'peer-sig', use: 'sig' });
    // Adding and removing read nothing the operator asked to see.
    expect(s.audit.list({ limit: 1000 }).filter((e) => (KEYRING_READ_ACTIONS as readonly string[]).includes(e.action))).toEqual([]);

    expect(s.keyring.recipients()).toHaveLength(2);
    expect(s.keyring.recipient('factory-1').kid).toBe('factory-1');
    expect(s.keyring.recipientsJwks().keys).toHaveLength(2);
    const jwks = await s.keyring.identityJwks();
    expect(await s.keyring.ownKeys()).toHaveLength(2);
    const reads = s.audit.list({ limit: 1000 }).filter((e) => (KEYRING_READ_ACTIONS as readonly string[]).includes(e.action)).reverse();
    expect(reads.map((e) => [e.action, e.outcome, e.subject, e.details])).toEqual([
      ['recipient.list', 'ok', null, { count: 2, sig: 1, enc: 1 }],
      ['recipient.show', 'ok', 'factory-1', { use: 'enc', thumbprint: added.thumbprint }],
      ['recipient.jwks', 'ok', null, { count: 2 }],
      ['identity.jwks', 'ok', null, { count: 2, kids: jwks.keys.map((k) => k.kid).join(' ') }],
      ['identity.list', 'ok', null, { count: 2, active: 2 }],
    ]);

    // No key in them: neither the recipients' public members nor this KeyLadder's private ones.
    const text = JSON.stringify(reads);
    const own = await Promise.all((['sig', 'enc'] as const).map(async (use) => (await s.keyring.ownPrivateKey(use))!.key.export({ format: 'jwk' })));
    for (const member of [jwk.n!, publicJwk(signer).x!, publicJwk(signer).y!, ...jwks.keys.flatMap((k) => [k.x!, k.y!]), ...own.map((k) => k.d!)]) {
      expect(text).not.toContain(member);
      expect(text).not.toContain(Buffer.from(member, 'base64url').toString('hex'));
    }

    // A kid the keyring lacks: refused, and nothing recorded.
    const count = s.audit.list({ limit: 1000 }).length;
    expect(() => s.keyring.recipient('nobody')).toThrow(expect.objectContaining({ code: 'RECIPIENT_NOT_FOUND' }));
    expect(s.audit.list({ limit: 1000 })).toHaveLength(count);
    // Encrypting to a recipient looks its key up without a read record: the jose.encrypt record names it.
    await s.jose.encrypt('to the factory', 'factory-1');
    expect(s.audit.list({ limit: 1000 }).slice(0, 2).map((e) => e.action)).toEqual(['jose.encrypt', 'identity.list']);
    expect(s.audit.verify().ok).toBe(true);
  });

  it('refuses weak, private, off-curve and malformed keys with a stable reason, and stores nothing', async () => {
    t = await openTestServices();
    const s = t.services;
    const strong = rsa(2048);
    const jwk = strong.publicKey.export({ format: 'jwk' }) as JWK;
    await refused(s, JSON.stringify(rsa(1024).publicKey.export({ format: 'jwk' })), { kid: 'weak', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'WEAK_RSA' });
    await refused(s, JSON.stringify(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey.export({ format: 'jwk' })), { kid: 'e3', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'WEAK_RSA' });
    await refused(s, JSON.stringify(strong.privateKey.export({ format: 'jwk' })), { kid: 'private', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'PRIVATE_MEMBERS' });
    await refused(s, strong.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { kid: 'private-pem', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'PRIVATE_MEMBERS' });
    await refused(s, strong.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string, { kid: 'private-pkcs1', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'PRIVATE_MEMBERS' });
    await refused(s, strong.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'a passphrase' }) as string, { kid: 'private-encrypted', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'PRIVATE_MEMBERS' });
    const spki = strong.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    await refused(s, `${spki}${spki}`, { kid: 'two-blocks', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'MALFORMED' });
    await refused(s, JSON.stringify({ kty: 'oct', k: 'AAAAAAAAAAAAAAAAAAAAAA' }), { kid: 'secret', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'PRIVATE_MEMBERS' });
    await refused(s, JSON.stringify(publicJwk(ec('secp256k1'))), { kid: 'k1', use: 'sig' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_CURVE' });
    const p256 = publicJwk(ec('P-256'));
    const y = Buffer.from(p256.y!, 'base64url');
    y.writeUInt8(y.readUInt8(31) ^ 1, 31);
    await refused(s, JSON.stringify({ ...p256, y: y.toString('base64url') }), { kid: 'off-curve', use: 'sig' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'NOT_ON_CURVE' });
    await refused(s, JSON.stringify({ ...p256, x: p256.x!.slice(2) }), { kid: 'short', use: 'sig' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'MALFORMED' });
    await refused(s, '{"kty":"RSA","kty":"EC"}', { kid: 'dup' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'MALFORMED' });
    await refused(s, 'not a key', { kid: 'junk' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'MALFORMED' });
    await refused(s, JSON.stringify(p256), { kid: 'no-use' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'USE_UNKNOWN' });
    await refused(s, JSON.stringify({ ...jwk, alg: 'RSA1_5' }), { kid: 'rsa15' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_ALG' });
    await refused(s, JSON.stringify({ ...jwk, alg: 'RS256' }), { kid: 'says-sig', use: 'enc' }, { code: 'RECIPIENT_KEY_INVALID', reason: 'USE_UNKNOWN' });
    await refused(s, JSON.stringify({ keys: [{ ...p256, kid: 'a' }, { ...p256, kid: 'b' }] }), { use: 'sig' }, { code: 'INVALID_ARGUMENT' });
    await refused(s, JSON.stringify({ keys: [{ ...p256, kid: 'a' }] }), { kid: 'z', use: 'sig' }, { code: 'INVALID_ARGUMENT' });
    await refused(s, JSON.stringify(jwk), { use: 'enc' }, { code: 'INVALID_ARGUMENT' });
    // Refused as a duplicate: the same kid, or the same key under another kid.
    await s.keyring.addRecipient(JSON.stringify(jwk), { kid: 'factory', use: 'enc' });
    await refused(s, JSON.stringify(publicJwk(ec('P-256'))), { kid: 'factory', use: 'sig' }, { code: 'RECIPIENT_EXISTS' });
    await refused(s, JSON.stringify(jwk), { kid: 'factory-again', use: 'enc' }, { code: 'RECIPIENT_EXISTS' });
  });
});

describe('own keys', () => {
  it('are made at init (ES256 and ECDH-ES+A256KW), published without private members, and sign verifiably', async () => {
    t = await openTestServices();
    const s = t.services;
    const own = await s.keyring.ownKeys();
    expect(own.map((k) => [k.use, k.alg, k.status])).toEqual(expect.arrayContaining([['sig', 'ES256', 'active'], ['enc', 'ECDH-ES+A256KW', 'active']]));
    expect(s.audit.list({ action: 'identity.create', limit: 10 }).map((e) => e.details['use']).sort()).toEqual(['enc', 'sig']);
    const jwks = await s.keyring.identityJwks();
    for (const k of jwks.keys) {
      expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(k.kid).toBe(await calculateJwkThumbprint({ kty: k.kty!, crv: k.crv!, x: k.x!, y: k.y! }));
    }
    const signing = (await s.keyring.ownPrivateKey('sig'))!;
    const jws = await new SignJWT({ hello: 'factory' }).setProtectedHeader({ alg: 'ES256', kid: signing.kid }).sign(signing.key);
    const published = jwks.keys.find((k) => k.kid === signing.kid)!;
    expect((await compactVerify(jws, await importJWK(published, 'ES256'))).protectedHeader.kid).toBe(signing.kid);
    expect(await s.keyring.ownPrivateKey('sig', 'no-such-kid')).toBeUndefined();
    expect(await s.keyring.ownPrivateKey('enc', signing.kid)).toBeUndefined();
  });

  it('rotate: a new active key per use, the old one retired but still published and usable by its kid', async () => {
    t = await openTestServices();
    const s = t.services;
    const before = (await s.keyring.ownKeys()).find((k) => k.use === 'enc')!;
    const rotated = await s.keyring.rotateOwnKey('enc');
    expect(rotated).toMatchObject({ use: 'enc', status: 'active' });
    expect(rotated.kid).not.toBe(before.kid);
    const keys = await s.keyring.ownKeys();
    expect(keys.filter((k) => k.use === 'enc').map((k) => [k.kid, k.status])).toEqual([[rotated.kid, 'active'], [before.kid, 'retired']]);
    expect((await s.keyring.identityJwks()).keys.map((k) => k.kid)).toContain(before.kid);
    expect((await s.keyring.ownPrivateKey('enc', before.kid))?.kid).toBe(before.kid);
    expect((await s.keyring.ownPrivateKey('enc'))?.kid).toBe(rotated.kid);
    expect(s.audit.list({ action: 'identity.rotate', limit: 10 }).map((e) => [e.subject, e.details['previous']])).toEqual([[rotated.kid, before.kid]]);
    await expect(s.keyring.rotateOwnKey('other' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('survive a rekey, sealed under the new key, and the keyring with them', async () => {
    t = await openTestServices();
    const s = t.services;
    await s.keyring.addRecipient(JSON.stringify({ ...publicJwk(ec('P-256')), use: 'enc' }), { kid: 'peer' });
    const jwks = await s.keyring.identityJwks();
    await s.store.rekey('correct horse battery staple');
    expect(await s.keyring.identityJwks()).toEqual(jwks);
    expect(s.keyring.recipients().map((r) => r.kid)).toEqual(['peer']);
    const signing = (await s.keyring.ownPrivateKey('sig'))!;
    const jws = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(signing.key);
    await expect(compactVerify(jws, await importJWK(jwks.keys.find((k) => k.kid === signing.kid)!, 'ES256'))).resolves.toBeDefined();
  });
});

describe('signed, then encrypted, between two KeyLadders', () => {
  let peer: TestServices;
  afterEach(() => peer?.cleanup());

  /** A and B, each pinning the other: A's enc key and B's sig key are in each other's keyring. */
  async function pair() {
    t = await openTestServices();
    peer = await openTestServices();
    const a = t.services;
    const b = peer.services;
    const jwksA = await a.keyring.identityJwks();
    const jwksB = await b.keyring.identityJwks();
    const kidOf = (jwks: { keys: JWK[] }, use: string) => jwks.keys.find((k) => k.use === use)!.kid!;
    await a.keyring.addRecipient(JSON.stringify(jwksB), { kid: kidOf(jwksB, 'enc') });
    await b.keyring.addRecipient(JSON.stringify(jwksA), { kid: kidOf(jwksA, 'sig'), roles: ['revocations', 'issuer-export'] });
    return { a, b, toB: kidOf(jwksB, 'enc'), signerA: kidOf(jwksA, 'sig') };
  }

  it("B opens what A sealed to it, and learns A signed it; anything else is refused by step", async () => {
    const { a, b, toB, signerA } = await pair();
    const secret = new TextEncoder().encode('{"format":"keyladder-issuer-export","version":1}');
    const jwe = await a.keyring.sealTo('keyladder-issuer-export', secret, toB);
    expect(JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: toB, cty: 'JWT' });
    const opened = await b.keyring.openSealed('keyladder-issuer-export', jwe, false);
    expect(Buffer.from(opened.plaintext).toString()).toBe(Buffer.from(secret).toString());
    expect(opened.signer).toBe(signerA);

    // The wrong content type, a flipped ciphertext byte, a kid B has no key for.
    await expect(b.keyring.openSealed('keyladder-revocation-list', jwe, false)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    const parts = jwe.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct.writeUInt8(ct.readUInt8(0) ^ 1, 0);
    await expect(b.keyring.openSealed('keyladder-issuer-export', [parts[0], parts[1], parts[2], ct.toString('base64url'), parts[4]].join('.'), false)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    const toA = (await a.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await expect(b.keyring.addRecipient(JSON.stringify(toA), { kid: 'a-enc' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await b.keyring.addRecipient(JSON.stringify(toA));
    const forA = await b.keyring.sealTo('keyladder-issuer-export', secret, toA.kid!);
    await expect(b.keyring.openSealed('keyladder-issuer-export', forA, false)).rejects.toMatchObject({ code: 'NO_KEY_FOR_KID', message: expect.stringContaining(toA.kid!) });

    // A signer B does not pin.
    b.keyring.removeRecipient(signerA);
    await expect(b.keyring.openSealed('keyladder-issuer-export', jwe, false)).rejects.toMatchObject({ code: 'SIGNER_UNKNOWN' });
  });

  it('an unsigned JWE to one of its keys opens only when asked for', async () => {
    const { b } = await pair();
    const mine = (await b.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const jwe = await encryptToRecipient(new TextEncoder().encode('plain'), mine, mine.kid!);
    await expect(b.keyring.openSealed('keyladder-issuer-export', jwe, false)).rejects.toMatchObject({ code: 'SIGNATURE_REQUIRED' });
    const opened = await b.keyring.openSealed('keyladder-issuer-export', jwe, true);
    expect([Buffer.from(opened.plaintext).toString(), opened.signer]).toEqual(['plain', null]);
  });
});
