// Signed, then encrypted (issue 13, item 3): exports --to a keyring recipient
// are nested JWTs (an ES256 JWS by this KeyLadder inside a JWE to the
// recipient) that a factory opens and verifies with jose alone; imports find
// their key by kid and accept only a signer the keyring pins; anything
// unsigned needs the operator's say-so, and the audit records who signed or
// that nobody did. The audit log exports as a JWS anyone can verify.
import { generateKeyPairSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptToRecipient, signCompact } from '../../electron/jose/produce.js';
import { AUDIT_EXPORT_TYP, type AuditExportPayload } from '../../electron/services/audit.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';

const open: TestServices[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});

async function store(options: { create?: boolean } = {}): Promise<TestServices> {
  const t = await openTestServices(options);
  open.push(t);
  return t;
}

type Services = TestServices['services'];
const PASS = { kind: 'passphrase' as const, passphrase: 'a peer export passphrase' };

/** What a refused import must leave as it was. */
const state = (s: Services) => ({ issuers: s.issuers.list(), peers: s.revocations.peerLists(), audit: s.audit.list({ limit: 10_000 }).length });

/** Two responders that know each other's keys: A's sig key is pinned by B, B's enc key is A's recipient "b". */
async function peers(): Promise<{ a: Services; b: Services; aSig: JWK }> {
  const [ta, tb] = [await store(), await store()];
  const a = ta.services;
  const b = tb.services;
  const aSig = (await a.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
  const bEnc = (await b.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
  await a.keyring.addRecipient(JSON.stringify(bEnc), { label: 'peer B' });
  await b.keyring.addRecipient(JSON.stringify(aSig), { label: 'peer A', roles: ['revocations', 'issuer-export'] });
  return { a, b, aSig };
}

describe('an export --to a keyring recipient', () => {
  it('is a nested JWT a factory opens with its private key and verifies with KeyLadder\'s public key, with jose alone', async () => {
    const t = await store();
    const s = t.services;
    const factory = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    await s.keyring.addRecipient(JSON.stringify(factory.publicKey.export({ format: 'jwk' })), { kid: 'factory-7', use: 'enc' });
    s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: '000102030405060708090a0b0c0d0e0f' } });
    s.groups.add('model-a', { kind: 'generate' });
    const sig = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;

    for (const [kind, jwe, expected] of [
      ['keyladder-provisioning-bundle', await s.devices.exportBundle(['ESN-1'], { kind: 'recipient', kid: 'factory-7' }), { devices: [expect.objectContaining({ identity: 'ESN-1', kpw: '000102030405060708090a0b0c0d0e0f' })] }],
      ['keyladder-group-bundle', await s.groups.exportBundle(['model-a'], { kind: 'recipient', kid: 'factory-7' }), { groups: [expect.objectContaining({ name: 'model-a' })] }],
    ] as const) {
      expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'factory-7', cty: 'JWT' });
      const { plaintext } = await compactDecrypt(jwe, factory.privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'], contentEncryptionAlgorithms: ['A256GCM'] });
      const { payload, protectedHeader } = await compactVerify(new TextDecoder().decode(plaintext), await importJWK(sig, 'ES256'), { algorithms: ['ES256'] });
      expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: sig.kid, cty: kind });
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ format: kind, version: 1, payload: expected });
    }
    const audit = [...s.audit.list({ action: 'device.export', limit: 1 }), ...s.audit.list({ action: 'group.export', limit: 1 })];
    expect(audit.map((e) => e.details)).toEqual([
      { count: 1, protection: 'recipient', recipient: 'factory-7', signed: true },
      { count: 1, protection: 'recipient', recipient: 'factory-7', signed: true },
    ]);
  });

  it('is refused for a kid the keyring lacks or a signing key, before anything is audited', async () => {
    const { a } = await peers();
    const other = (await store()).services;
    const signerKid = (await a.keyring.addRecipient(JSON.stringify((await other.keyring.identityJwks()).keys.find((k) => k.use === 'sig')))).kid;
    const before = state(a);
    await expect(a.issuers.exportToPeer([1], { kind: 'recipient', kid: 'nobody' })).rejects.toMatchObject({ code: 'RECIPIENT_NOT_FOUND' });
    await expect(a.revocations.exportList({ kind: 'recipient', kid: signerKid })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID', reason: 'USE_MISMATCH' });
    expect(state(a)).toEqual(before);
    // An ad-hoc key (the app's key file, the CLI's --recipient) passes the keyring's checks, and is RSA.
    const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    a.devices.provision({ identity: 'ESN-X', keys: { kind: 'generate' } });
    const provisioned = state(a);
    await expect(a.devices.exportBundle(['ESN-X'], { kind: 'rsa', publicJwk: ecJwk })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID', reason: 'UNSUPPORTED_KEY_TYPE' });
    const rsaJwk = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey.export({ format: 'jwk' });
    await expect(a.devices.exportBundle(['ESN-X'], { kind: 'rsa', publicJwk: rsaJwk })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID', reason: 'WEAK_RSA' });
    expect(state(a)).toEqual(provisioned);
  });
});

describe('an import', () => {
  it('opens a signed Kissuer export by its kid, verifies the pinned signer, and audits who signed', async () => {
    const { a, b, aSig } = await peers();
    const bEncKid = a.keyring.recipients()[0]!.kid;
    a.issuers.rotate(3);
    const jwe = await a.issuers.exportToPeer([2], { kind: 'recipient', kid: bEncKid });
    expect(a.audit.list({ action: 'issuer.export', limit: 1 })[0]!.details).toMatchObject({ protection: 'recipient', recipient: bEncKid, signed: true });
    // B's own generation 1 is another key than A's generation 1, so only generation 2 travels.
    const gens = await b.issuers.importFromPeer(jwe, { kind: 'keyring' });
    expect(gens.map((g) => [g.generation, g.status])).toEqual([[2, 'active']]);
    expect(b.audit.list({ action: 'issuer.import-peer', limit: 1 })[0]!.details).toMatchObject({ signer: aSig.kid });
    expect(b.audit.list({ action: 'issuer.import-peer', limit: 1 })[0]!.details).not.toHaveProperty('unsigned');
  });

  it('opens a signed revocation list and says who signed it', async () => {
    const { a, b, aSig } = await peers();
    const { jwe } = await a.revocations.exportList({ kind: 'recipient', kid: a.keyring.recipients()[0]!.kid });
    const result = await b.revocations.importList(jwe, { kind: 'keyring' });
    expect(result.signer).toBe(aSig.kid);
    expect(b.audit.list({ action: 'revocation.import', limit: 1 })[0]!.details).toMatchObject({ signer: aSig.kid });
  });

  it('refuses a signer the keyring does not pin, a JWE to another key, and a tampered one, changing nothing', async () => {
    const { a, b } = await peers();
    const bEncKid = a.keyring.recipients()[0]!.kid;
    const jwe = await a.issuers.exportToPeer([1], { kind: 'recipient', kid: bEncKid });
    const signer = b.keyring.recipients()[0]!.kid;
    b.keyring.removeRecipient(signer);
    let before = state(b);
    await expect(b.issuers.importFromPeer(jwe, { kind: 'keyring' })).rejects.toMatchObject({ code: 'SIGNER_UNKNOWN' });
    // --unsigned does not stand in for a signature that names an unknown signer.
    await expect(b.issuers.importFromPeer(jwe, { kind: 'keyring', unsigned: true })).rejects.toMatchObject({ code: 'SIGNER_UNKNOWN' });
    expect(state(b)).toEqual(before);

    const c = (await store()).services;
    before = state(c);
    await expect(c.issuers.importFromPeer(jwe, { kind: 'keyring' })).rejects.toMatchObject({ code: 'NO_KEY_FOR_KID', message: expect.stringContaining(bEncKid) });
    expect(state(c)).toEqual(before);

    const parts = jwe.split('.');
    const tampered = [...parts.slice(0, 3), `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`, parts[4]].join('.');
    before = state(b);
    await expect(b.issuers.importFromPeer(tampered, { kind: 'keyring' })).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    expect(state(b)).toEqual(before);
  });

  it('needs --unsigned for a passphrase export or an unsigned JWE to its own key, and then audits it as unsigned', async () => {
    const { a, b } = await peers();
    const passphraseExport = (await a.revocations.exportList(PASS)).jwe;
    const before = state(b);
    await expect(b.revocations.importList(passphraseExport, PASS)).rejects.toMatchObject({ code: 'SIGNATURE_REQUIRED', message: expect.stringContaining('--unsigned') });
    expect(state(b)).toEqual(before);
    expect((await b.revocations.importList(passphraseExport, { ...PASS, unsigned: true })).signer).toBeNull();
    expect(b.audit.list({ action: 'revocation.import', limit: 1 })[0]!.details).toMatchObject({ unsigned: true });

    // A plain JWE to B's own encryption key: decrypts, but nothing says who made it.
    const bEnc = (await b.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const plain = Buffer.from(JSON.stringify({ format: 'keyladder-issuer-export', version: 1, createdAt: new Date().toISOString(), payload: { generations: [] } }));
    const unsignedJwe = await encryptToRecipient(plain, bEnc, bEnc.kid!, { cty: 'keyladder-issuer-export' });
    const again = state(b);
    await expect(b.issuers.importFromPeer(unsignedJwe, { kind: 'keyring' })).rejects.toMatchObject({ code: 'SIGNATURE_REQUIRED' });
    expect(state(b)).toEqual(again);
    // Accepted as unsigned, it is then checked like any export (an empty one is malformed).
    await expect(b.issuers.importFromPeer(unsignedJwe, { kind: 'keyring', unsigned: true })).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('malformed') });
  });

  it('a JWE to its own kid under another ECDH-ES variant is refused as that alg (JOSE_UNSUPPORTED_ALG, naming what the key takes), not as a missing kid', async () => {
    const { b } = await peers();
    const bEnc = (await b.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const { kid, alg: _alg, use: _use, ...bare } = bEnc;
    const plain = Buffer.from(JSON.stringify({ format: 'keyladder-issuer-export', version: 1, createdAt: new Date().toISOString(), payload: { generations: [] } }));
    const jwe = await new CompactEncrypt(plain).setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: kid!, cty: 'keyladder-issuer-export' }).encrypt(await importJWK(bare, 'ECDH-ES'));
    const before = state(b);
    for (const unsigned of [false, true]) {
      await expect(b.issuers.importFromPeer(jwe, { kind: 'keyring', unsigned })).rejects.toMatchObject({ code: 'JOSE_UNSUPPORTED_ALG', reason: 'UNSUPPORTED_ALG', message: expect.stringMatching(/uses ECDH-ES;.*takes ECDH-ES\+A256KW only/) });
    }
    expect(state(b)).toEqual(before);
  });

  it('binds the recipient: the signed header names it (aud) and when (iat); a pinned peer re-encrypting what it received to a third store is refused, changing nothing', async () => {
    const { a, b, aSig } = await peers();
    const bEnc = (await b.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const c = (await store()).services;
    await c.keyring.addRecipient(JSON.stringify(aSig), { label: 'peer A', roles: ['issuer-export'] });
    const cEnc = (await c.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const forB = await a.issuers.exportToPeer([1], { kind: 'recipient', kid: bEnc.kid! });
    // B opens it (its own key), and re-encrypts the signed inner JWS, untouched, to C.
    const inner = (await b.jose.decrypt(forB, { kind: 'own' })).plaintext!;
    expect(decodeProtectedHeader(Buffer.from(inner).toString('utf8'))).toMatchObject({ alg: 'ES256', kid: aSig.kid, aud: bEnc.kid, iat: expect.any(Number) });
    const forwarded = await encryptToRecipient(inner, cEnc, cEnc.kid!, { cty: 'JWT' });
    const before = state(c);
    await expect(c.issuers.importFromPeer(forwarded, { kind: 'keyring' })).rejects.toMatchObject({ code: 'AUDIENCE_MISMATCH', message: expect.stringContaining(bEnc.kid!) });
    expect(state(c)).toEqual(before);
    // Signed by A but naming no recipient at all: refused the same way.
    const aSigner = (await a.keyring.ownPrivateKey('sig'))!;
    const plain = Buffer.from(JSON.stringify({ format: 'keyladder-issuer-export', version: 1, createdAt: new Date().toISOString(), payload: { generations: [] } }));
    const noAud = await signCompact(plain, { ...(aSigner.key.export({ format: 'jwk' }) as JWK) }, aSigner.kid, { typ: 'JWT', cty: 'keyladder-issuer-export' });
    await expect(c.issuers.importFromPeer(await encryptToRecipient(Buffer.from(noAud), cEnc, cEnc.kid!, { cty: 'JWT' }), { kind: 'keyring' })).rejects.toMatchObject({ code: 'AUDIENCE_MISMATCH' });
    expect(state(c)).toEqual(before);
    // What was made for B, B opens.
    expect(await b.keyring.openSealed('keyladder-issuer-export', forB)).toMatchObject({ signer: aSig.kid });
  });

  it('init --join from a JWE to a kid: a store being created has no key for it', async () => {
    const { a } = await peers();
    const jwe = await a.issuers.exportToPeer([1], { kind: 'recipient', kid: a.keyring.recipients()[0]!.kid });
    const fresh = await store({ create: false });
    await expect(fresh.services.store.create(PASSPHRASE, { jwe, protection: { kind: 'keyring' } })).rejects.toMatchObject({ code: 'NO_KEY_FOR_KID' });
    expect(fresh.services.store.status().exists).toBe(false);
    await expect(fresh.services.store.create(PASSPHRASE, { jwe: await a.issuers.exportToPeer([1], PASS), protection: PASS })).rejects.toMatchObject({ code: 'SIGNATURE_REQUIRED' });
    expect(fresh.services.store.status().exists).toBe(false);
  });
});

describe('audit export', () => {
  it('is a JWS that jose verifies with the published key; a flipped byte fails; it covers its own record', async () => {
    const t = await store();
    const s = t.services;
    s.devices.provision({ identity: 'ESN-A', keys: { kind: 'generate' } });
    const sig = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    const whole = await s.audit.exportSigned();
    const key = await importJWK(sig, 'ES256');
    const { payload, protectedHeader } = await compactVerify(whole.jws, key, { algorithms: ['ES256'] });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: sig.kid, typ: AUDIT_EXPORT_TYP });
    const body = JSON.parse(new TextDecoder().decode(payload)) as AuditExportPayload;
    const log = s.audit.list({ limit: 10_000 }).reverse();
    expect(body).toMatchObject({ format: 'keyladder-audit-export', version: 1, from: 1, to: log.length, head: { seq: log.length, mac: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(body.entries).toEqual(log);
    expect(body.entries.at(-1)).toMatchObject({ action: 'audit.export', details: { from: 1, to: log.length } });

    const [h, p, sgn] = whole.jws.split('.') as [string, string, string];
    const bytes = Buffer.from(p, 'base64url');
    bytes[10] = bytes[10]! ^ 1;
    await expect(compactVerify(`${h}.${bytes.toString('base64url')}.${sgn}`, key, { algorithms: ['ES256'] })).rejects.toThrow();

    // The head is the chain's MAC at the range's end: the one a checkpoint of that entry names.
    const checkpoint = s.audit.checkpoint();
    const range = await s.audit.exportSigned({ from: 2, to: checkpoint.seq });
    const ranged = JSON.parse(new TextDecoder().decode((await compactVerify(range.jws, key)).payload)) as AuditExportPayload;
    expect(ranged.entries.map((e) => e.seq)).toEqual(Array.from({ length: checkpoint.seq - 1 }, (_, i) => i + 2));
    expect(ranged.head).toEqual({ seq: checkpoint.seq, mac: checkpoint.mac });
  });

  it('refuses a range that does not exist, recording nothing', async () => {
    const s = (await store()).services;
    const before = s.audit.list({ limit: 10_000 }).length;
    await expect(s.audit.exportSigned({ from: 3, to: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.audit.exportSigned({ from: before + 5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.audit.exportSigned({ to: before + 5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(s.audit.list({ limit: 10_000 }).length).toBe(before);
  });
});
