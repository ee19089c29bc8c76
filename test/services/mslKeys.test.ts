// The MSL server's identity and master-token keys (issue 20): made at init,
// rotated, imported from an MSL server's config; sealed in the store, shown as
// public forms and KCVs only; every change one transaction with its audit
// record; bad keys refused with nothing written. serverSigner()/tokenKeys()
// open the keys once and follow rotations, even another process's.
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyLadderRuntime } from '../../electron/services/index.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { mslServerConfig, rawWrite, secondRuntime } from '../support/msl.js';
import { DB, openRaw, storeKeyOf } from '../support/storeFiles.js';

let t: TestServices | undefined;
let other: KeyLadderRuntime | undefined;
afterEach(() => {
  other?.close();
  t?.cleanup();
  t = other = undefined;
});

const auditCount = (s: KeyLadderRuntime): number => s.audit.verify().entries;

async function otherHandle(test: TestServices): Promise<KeyLadderRuntime> {
  other = await secondRuntime(test);
  return other;
}

describe('the MSL server identity', () => {
  it('is made at init: RSA 2048 named "keyladder", keyed by its thumbprint, shown as SPKI, PEM and JWK, its private key sealed', async () => {
    t = await openTestServices();
    const id = t.services.msl.keys.identity();
    expect(id).toMatchObject({ generation: 1, name: 'keyladder', status: 'active', origin: 'generated', bits: 2048 });
    expect(id.keyId).toBe(id.thumbprint);
    expect(id.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const fromSpki = createPublicKey({ key: Buffer.from(id.spki, 'base64'), format: 'der', type: 'spki' });
    expect(fromSpki.export({ format: 'pem', type: 'spki' })).toBe(id.pem);
    expect(fromSpki.export({ format: 'jwk' })).toEqual({ kty: 'RSA', n: id.jwk.n, e: id.jwk.e });
    expect(JSON.stringify(id)).not.toMatch(/"d"|PRIVATE/);
    expect(t.services.audit.list({ action: 'msl.identity-create' })[0]).toMatchObject({ subject: '1', details: { name: 'keyladder', keyId: id.keyId, bits: 2048, thumbprint: id.thumbprint } });
    // In the store: the SPKI in the clear, the private key sealed, never the DER of MSL's key once imported.
    const cfg = mslServerConfig();
    await t.services.msl.keys.importIdentity(cfg['msl.rsa.priv.0']!, 'rsakeyid1');
    const privateDer = Buffer.from(cfg['msl.rsa.priv.0']!, 'base64');
    const key = await storeKeyOf(t.dir, PASSPHRASE);
    const raw = openRaw(join(t.dir, DB), key, { readonly: true });
    try {
      const rows = raw.prepare('SELECT generation, public_key, private_key FROM msl_identities ORDER BY generation').all() as Array<{ generation: number; public_key: Buffer; private_key: Buffer }>;
      expect(rows[1]!.public_key.toString('base64')).toBe(cfg['msl.rsa.pub.0']);
      for (const r of rows) {
        expect(r.private_key[0]).toBe(1); // sealed: version, nonce, ciphertext, tag
        expect(r.private_key.includes(privateDer.subarray(40, 72))).toBe(false);
      }
      for (const table of ['audit_log', 'meta']) for (const row of raw.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>) expect(JSON.stringify(row)).not.toContain(cfg['msl.rsa.priv.0']!.slice(100, 140));
    } finally {
      raw.close();
      key.fill(0);
    }
  });

  it('signs through serverSigner, opened once and cached, opened again after a rotation here or in another process, dropped at lock', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const first = keys.serverSigner();
    expect(first).toMatchObject({ name: 'keyladder', generation: 1, keyId: keys.identity().keyId });
    const data = Buffer.from('headerdata');
    expect(verify('sha256', data, first.publicKey, sign('sha256', data, first.privateKey))).toBe(true);
    expect(keys.serverSigner()).toBe(first);

    const rotated = await keys.rotateIdentity();
    expect(rotated).toMatchObject({ generation: 2, status: 'active', name: 'keyladder' });
    expect(keys.identities().map((i) => [i.generation, i.status])).toEqual([[2, 'active'], [1, 'retiring']]);
    const second = keys.serverSigner();
    expect(second.generation).toBe(2);
    expect(second.keyId).toBe(rotated.keyId);
    expect(verify('sha256', data, createPublicKey({ key: Buffer.from(rotated.spki, 'base64'), format: 'der', type: 'spki' }), sign('sha256', data, second.privateKey))).toBe(true);
    expect(t.services.audit.list({ action: 'msl.identity-rotate' })[0]).toMatchObject({ subject: '2', details: { previous: 1 } });

    // Another process rotates: this one signs with the new key at the next call.
    const o = await otherHandle(t);
    const third = await o.msl.keys.rotateIdentity('renamed');
    expect(keys.serverSigner()).toMatchObject({ generation: 3, name: 'renamed', keyId: third.keyId });

    t.services.store.lock();
    expect(() => keys.serverSigner()).toThrow(expect.objectContaining({ code: 'STORE_LOCKED' }));
  });

  it('imports MSL\'s sample server key (msl.rsa.priv.0, PKCS #1 Base64 DER) under its key id and name: its SPKI is msl.rsa.pub.0', async () => {
    t = await openTestServices();
    const cfg = mslServerConfig();
    const id = await t.services.msl.keys.importIdentity(cfg['msl.rsa.priv.0']!, 'rsakeyid1', 'server1');
    expect(id).toMatchObject({ generation: 2, name: 'server1', keyId: 'rsakeyid1', origin: 'imported', status: 'active', bits: 2048 });
    expect(id.spki).toBe(cfg['msl.rsa.pub.0']);
    expect(t.services.msl.keys.serverSigner()).toMatchObject({ keyId: 'rsakeyid1', name: 'server1', generation: 2 });
    expect(t.services.audit.list({ action: 'msl.identity-import' })[0]).toMatchObject({ subject: '2', details: { keyId: 'rsakeyid1', name: 'server1', previous: 1, thumbprint: id.thumbprint } });
    // The same key again (under any kid), or another key under the same kid: MSL_KEY_KNOWN, nothing written.
    const entries = auditCount(t.services);
    await expect(t.services.msl.keys.importIdentity(`msl.rsa.priv.0 ${cfg['msl.rsa.priv.0']!}`, 'other-kid')).rejects.toMatchObject({ code: 'MSL_KEY_KNOWN' });
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await expect(t.services.msl.keys.importIdentity(pem, 'rsakeyid1')).rejects.toMatchObject({ code: 'MSL_KEY_KNOWN', message: expect.stringContaining('rsakeyid1') });
    expect(auditCount(t.services)).toBe(entries);
    expect(t.services.msl.keys.identities()).toHaveLength(2);
    // PKCS #8 PEM and PKCS #1 PEM both import.
    expect(await t.services.msl.keys.importIdentity(pem, 'pkcs8-pem')).toMatchObject({ generation: 3, name: 'server1' });
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    expect(await t.services.msl.keys.importIdentity(pkcs1, 'pkcs1-pem')).toMatchObject({ generation: 4, bits: 3072 });
  });

  it('refuses small, weak, encrypted, public, non-RSA and malformed keys with MSL_KEY_INVALID, never quoting them, and writes nothing', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const entries = auditCount(t.services);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const encrypted = rsa.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    const encryptedPkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const der = rsa.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const cases: Array<[string, string, RegExp]> = [
      ['1024 bits', small, /1024 bits/],
      ['e = 3', e3, /exponent/],
      ['encrypted PKCS #8', encrypted, /encrypted/],
      ['encrypted PKCS #1', encryptedPkcs1, /encrypted/],
      ['a public key', publicPem, /not a private key/],
      ['EC', ec, /an EC key/],
      ['RSA-PSS', pss, /RSA-PSS/],
      ['two blocks', `${small}${ec}`, /2 PEM blocks/],
      ['base64url', der.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), /neither PEM nor/],
      ['truncated DER', der.slice(0, 400), /not a PKCS #8 or PKCS #1/],
      ['empty', '  ', /empty/],
    ];
    for (const [what, text, message] of cases) {
      const refusal = await keys.importIdentity(text, `kid-${what.replace(/\W/g, '')}`).then(() => undefined, (e: unknown) => e as { code: string; message: string });
      expect(refusal, what).toMatchObject({ code: 'MSL_KEY_INVALID', message: expect.stringMatching(message) });
      if (text.trim() !== '') expect(refusal!.message, what).not.toContain(text.trim().slice(40, 80));
    }
    await expect(keys.importIdentity(der, 'has space')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(auditCount(t.services)).toBe(entries);
    expect(keys.identities()).toHaveLength(1);
  });

  it('a store upgraded from schema 7 has none: the responder is told MSL_NOT_FOUND (no keys: an empty list) until the operator creates them', async () => {
    t = await openTestServices();
    await rawWrite(t, 'DELETE FROM msl_identities');
    await rawWrite(t, 'DELETE FROM msl_token_keys');
    const keys = t.services.msl.keys;
    expect(() => keys.serverSigner()).toThrow(expect.objectContaining({ code: 'MSL_NOT_FOUND', message: expect.stringContaining('msl identity create') }));
    expect(() => keys.identity()).toThrow(expect.objectContaining({ code: 'MSL_NOT_FOUND' }));
    await expect(keys.rotateIdentity()).rejects.toMatchObject({ code: 'MSL_NOT_FOUND' });
    expect(keys.tokenKeys()).toEqual([]);
    expect(await keys.createIdentity('server9')).toMatchObject({ generation: 1, name: 'server9', status: 'active' });
    expect(keys.serverSigner()).toMatchObject({ generation: 1, name: 'server9' });
    expect(keys.rotateTokenKeys()).toMatchObject({ generation: 1, status: 'active' });
    expect(keys.tokenKeys().map((k) => k.generation)).toEqual([1]);
    expect(t.services.audit.list({ action: 'msl.keys-create' })).toHaveLength(2); // init's, and this one
  });

  it('create is refused while an identity is active; retire and destroy follow rotation, and destroy erases the private key', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    await expect(keys.createIdentity()).rejects.toMatchObject({ code: 'MSL_TRANSITION' });
    expect(() => keys.retireIdentity(1)).toThrow(expect.objectContaining({ code: 'MSL_TRANSITION' }));
    await keys.rotateIdentity();
    expect(() => keys.destroyIdentity(1)).toThrow(expect.objectContaining({ code: 'MSL_TRANSITION' }));
    expect(keys.retireIdentity(1)).toMatchObject({ status: 'retired' });
    expect(keys.destroyIdentity(1)).toMatchObject({ status: 'destroyed' });
    expect(() => keys.destroyIdentity(9)).toThrow(expect.objectContaining({ code: 'MSL_NOT_FOUND' }));
    expect(t.services.audit.list({ action: 'msl.identity-destroy' })).toHaveLength(1);
  });
});

describe('the master-token keys', () => {
  it('are made at init, rotate into grace for the expiration, and tokenKeys() gives active then grace, as copies, following other processes', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const [g1] = keys.tokenKeyGenerations();
    expect(g1).toMatchObject({ generation: 1, status: 'active', origin: 'generated', kcvEnc: expect.stringMatching(/^[0-9A-F]{6}$/), kcvHmac: expect.stringMatching(/^[0-9A-F]{6}$/) });
    const first = keys.tokenKeys();
    expect(first.map((k) => [k.generation, k.status, k.encryptionKey.length, k.hmacKey.length])).toEqual([[1, 'active', 16, 32]]);
    expect(kcv(first[0]!.encryptionKey, 'aes')).toBe(g1!.kcvEnc);
    expect(kcv(first[0]!.hmacKey, 'hmac')).toBe(g1!.kcvHmac);
    first[0]!.encryptionKey.fill(0); // the caller's copy: zeroing it leaves the next call's intact
    expect(kcv(keys.tokenKeys()[0]!.encryptionKey, 'aes')).toBe(g1!.kcvEnc);

    const g2 = keys.rotateTokenKeys();
    expect(g2).toMatchObject({ generation: 2, status: 'active' });
    const grace = keys.tokenKeyGenerations().find((g) => g.generation === 1)!;
    expect(grace).toMatchObject({ status: 'grace', graceUntil: new Date(t.clock.now.getTime() + 86_400_000).toISOString() });
    expect(keys.tokenKeys().map((k) => [k.generation, k.status])).toEqual([[2, 'active'], [1, 'grace']]);
    expect(t.services.audit.list({ action: 'msl.keys-rotate' })[0]).toMatchObject({ subject: '2', details: { previous: 1, graceSeconds: 86_400, kcvEnc: g2.kcvEnc } });

    // Another process rotates with no grace: generation 2 is retired at once, and this one sees it.
    const o = await otherHandle(t);
    o.msl.keys.rotateTokenKeys(0);
    expect(keys.tokenKeys().map((k) => [k.generation, k.status])).toEqual([[3, 'active'], [1, 'grace']]);
    // A day on, the grace is over: generation 1 no longer verifies, even before anything retires it.
    t.clock.advanceDays(1);
    expect(keys.tokenKeys().map((k) => k.generation)).toEqual([3]);
    expect(keys.tokenKeyGenerations().map((g) => [g.generation, g.status])).toEqual([[3, 'active'], [2, 'retired'], [1, 'retired']]);
    expect(t.services.audit.list({ action: 'msl.keys-retire' })[0]).toMatchObject({ subject: '1', details: { reason: 'grace period ended' } });
    expect(keys.destroyTokenKeys(1)).toMatchObject({ status: 'destroyed', kcvEnc: null, kcvHmac: null });
  });

  it('imports an MSL server\'s msl.key.enc and msl.key.hmac, refusing keys it holds or held and bad hex, with nothing written', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const cfg = mslServerConfig();
    const imported = keys.importTokenKeys(cfg['msl.key.enc']!, cfg['msl.key.hmac']!, 60);
    expect(imported).toMatchObject({ generation: 2, origin: 'imported-msl', kcvEnc: kcv(Buffer.from(cfg['msl.key.enc']!, 'hex'), 'aes'), kcvHmac: kcv(Buffer.from(cfg['msl.key.hmac']!, 'hex'), 'hmac') });
    expect(t.services.audit.list({ action: 'msl.keys-import' })[0]).toMatchObject({ subject: '2', details: { graceSeconds: 60, previous: 1 } });
    const entries = auditCount(t.services);
    expect(() => keys.importTokenKeys(cfg['msl.key.enc']!, cfg['msl.key.hmac']!)).toThrow(expect.objectContaining({ code: 'MSL_KEY_KNOWN' }));
    expect(() => keys.importTokenKeys('00'.repeat(16), cfg['msl.key.hmac']!)).toThrow(expect.objectContaining({ code: 'MSL_KEY_KNOWN' }));
    expect(() => keys.importTokenKeys(cfg['msl.key.enc']!.slice(2), '00'.repeat(32))).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: expect.stringContaining('msl.key.enc') }));
    expect(() => keys.importTokenKeys('00'.repeat(16), 'zz'.repeat(32))).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: expect.stringContaining('msl.key.hmac') }));
    expect(() => keys.importTokenKeys('00'.repeat(16), '00'.repeat(32), -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(auditCount(t.services)).toBe(entries);
    // Destroyed keys stay known.
    keys.rotateTokenKeys(0);
    keys.destroyTokenKeys(2);
    expect(() => keys.importTokenKeys(cfg['msl.key.enc']!, cfg['msl.key.hmac']!)).toThrow(expect.objectContaining({ code: 'MSL_KEY_KNOWN', message: expect.stringContaining('generation 2') }));
  });
});
