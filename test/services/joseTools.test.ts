// The JOSE workbench over a real store: the RFC vectors inspected and opened
// through each key source, refusals by step (and audited), JWK plaintexts
// answered as metadata only, encryption to a keyring recipient, and a ladder
// answer from a real exchange opened with the device's Kpw.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { joseVectors } from '../support/joseVectors.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';
import { withholds } from '../../electron/jose/plaintextSummary.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const a = joseVectors('rfc7516-appendix-a.json');
const c = joseVectors('rfc7520-jwe.json');
const vector = (file: typeof a, section: string) => file.vectors.find((v) => v.section === section)!;
const jwkOf = (file: typeof a, name: string) => ({ kind: 'jwk' as const, jwk: file.keys[name]! as Record<string, unknown> });
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes!).toString('utf8');

async function services(): Promise<TestServices['services']> {
  t = await openTestServices();
  return t.services;
}

const lastAudit = (s: TestServices['services']) => s.audit.list({ action: 'jose.decrypt', limit: 1 })[0];

describe('inspect', () => {
  it('shows every part of A.4 (general, two recipients) and judges each algorithm by the table', async () => {
    const s = await services();
    const { view, holders } = await s.jose.inspect(vector(a, 'A.4').jwe!);
    expect(view.type).toBe('jwe');
    if (view.type !== 'jwe') return;
    expect(view.serialization).toBe('json-general');
    expect(view.protectedHeader).toEqual({ enc: 'A128CBC-HS256' });
    expect(view.sharedUnprotectedHeader).toEqual({ jku: 'https://server.example.com/keys.jwks' });
    expect(view.recipients.map((r) => [r.alg.name, r.alg.supported, r.kid])).toEqual([['RSA1_5', false, '2011-04-29'], ['A128KW', true, '7']]);
    expect(view.recipients[0]!.alg.reason).toMatch(/Bleichenbacher/);
    expect(view.iv.length).toBe(16);
    expect(view.tag.length).toBe(16);
    expect(holders).toEqual([{ index: 0, kid: '2011-04-29', holder: 'none' }, { index: 1, kid: '7', holder: 'none' }]);
  });

  it('names this KeyLadder as the holder of a JWE made to its own key, and says nothing of holders when locked', async () => {
    const s = await services();
    const own = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await s.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
    const jwe = await s.jose.encrypt('hello', own.kid!);
    expect((await s.jose.inspect(jwe)).holders).toEqual([{ index: 0, kid: own.kid, holder: 'own', use: 'enc' }]);
    s.store.lock();
    expect((await s.jose.inspect(jwe)).holders).toBeNull();
  });

  it('refuses what does not parse, naming the step', async () => {
    const s = await services();
    await expect(s.jose.inspect('not.a.jose')).rejects.toMatchObject({ code: 'JOSE_PARSE', reason: 'parse' });
    await expect(s.jose.inspect('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('decrypt', () => {
  it('A.1 (RSA-OAEP, SHA-1) opens with its key file, with the migration warning, which the audit records', async () => {
    const s = await services();
    const out = await s.jose.decrypt(vector(a, 'A.1').jwe!, jwkOf(a, 'A.1.3'));
    expect(text(out.plaintext)).toBe(vector(a, 'A.1').plaintext);
    expect(out).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM', source: 'jwk', summary: { kind: 'text' } });
    expect(out.warnings.join(' ')).toMatch(/RSA-OAEP \(SHA-1\) is accepted for migration only/);
    expect(lastAudit(s)).toMatchObject({ outcome: 'ok', details: { alg: 'RSA-OAEP', enc: 'A256GCM', warning: expect.stringMatching(/migration/) } });
  });

  it('A.2 (RSA1_5) is refused with its reason, whatever key is given, and the refusal is audited by step', async () => {
    const s = await services();
    const error = await s.jose.decrypt(vector(a, 'A.2').jwe!, jwkOf(a, 'A.1.3')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'JOSE_UNSUPPORTED_ALG', reason: 'unsupported-alg', message: expect.stringMatching(/Bleichenbacher/) });
    expect(lastAudit(s)).toMatchObject({ outcome: 'refused', details: { source: 'jwk', step: 'unsupported-alg' } });
  });

  it('A.3, A.4 (through its A128KW recipient, saying why it skips RSA1_5) and A.5 open with the A128KW key', async () => {
    const s = await services();
    expect(text((await s.jose.decrypt(vector(a, 'A.3').jwe!, jwkOf(a, 'A.3.3'))).plaintext)).toBe('Live long and prosper.');
    const general = await s.jose.decrypt(vector(a, 'A.4').jwe!, jwkOf(a, 'A.3.3'));
    expect(general).toMatchObject({ index: 1, alg: 'A128KW', kid: '7' });
    expect(general.skipped).toEqual([{ index: 0, alg: 'RSA1_5', kid: '2011-04-29', reason: expect.stringMatching(/Bleichenbacher/) }]);
    expect(text((await s.jose.decrypt(vector(a, 'A.5').jwe!, jwkOf(a, 'A.3.3'))).plaintext)).toBe('Live long and prosper.');
  });

  it('a tampered JWE fails the integrity step, with the one message for every cause', async () => {
    const s = await services();
    const parts = vector(a, 'A.3').jwe!.split('.');
    parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'BA' : 'AA'}`;
    await expect(s.jose.decrypt(parts.join('.'), jwkOf(a, 'A.3.3'))).rejects.toMatchObject({ code: 'JOSE_INTEGRITY', reason: 'integrity', message: expect.stringMatching(/key is wrong, or the JWE was altered/) });
    await expect(s.jose.decrypt(vector(a, 'A.3').jwe!, { kind: 'jwk', jwk: { kty: 'oct', k: Buffer.alloc(16, 7).toString('base64url') } })).rejects.toMatchObject({ code: 'JOSE_INTEGRITY' });
  });

  it('a JWKS plaintext (RFC 7520 5.3, PBES2) is answered as metadata and KCV, never as bytes', async () => {
    const s = await services();
    const v = vector(c, '5.3');
    const out = await s.jose.decrypt(v.jwe!, { kind: 'passphrase', passphrase: v.passphrase! });
    expect(out.plaintext).toBeUndefined();
    expect(out.summary.kind).toBe('jwks');
    if (out.summary.kind !== 'jwks') return;
    expect(out.summary.keys[0]).toMatchObject({ kty: 'oct', secret: true, kcv: expect.stringMatching(/^[0-9A-F]{6}$/) });
    expect(JSON.stringify(out)).not.toContain(JSON.parse(v.plaintext!).keys[0].k);
    expect(JSON.stringify(s.audit.list({ limit: 50 }))).not.toContain(JSON.parse(v.plaintext!).keys[0].k);
  });

  it('own keys are found by kid; a kid this KeyLadder holds no key for is said so', async () => {
    const s = await services();
    const own = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await s.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
    const jwe = await s.jose.encrypt('{"note":"for me"}', own.kid!);
    const out = await s.jose.decrypt(jwe, { kind: 'own' });
    expect(out).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: own.kid, summary: { kind: 'json' }, preview: '{"note":"for me"}' });
    await expect(s.jose.decrypt(vector(c, '5.8').jwe!, { kind: 'own' })).rejects.toMatchObject({ code: 'NO_KEY_FOR_KID', reason: 'no-key-for-kid' });
  });

  it('a JSON plaintext with key members gets no preview', async () => {
    const s = await services();
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await s.keyring.addRecipient(JSON.stringify(publicKey.export({ format: 'jwk' })), { kid: 'factory', use: 'enc' });
    const jwe = await s.jose.encrypt(JSON.stringify({ devices: [{ identity: 'ESN-1', kpw: '00'.repeat(16) }] }), 'factory');
    const out = await s.jose.decrypt(jwe, { kind: 'jwk', jwk: privateKey.export({ format: 'jwk' }) as Record<string, unknown> });
    expect(out.summary).toMatchObject({ kind: 'json', members: ['devices'] });
    expect(out.preview).toBeUndefined();
    expect(out.plaintext).toBeDefined();
  });
});

describe('ladder answers', () => {
  const v = deriveVector();

  it("a real exchange's wrapkey opens with the device's Kpw (as pasted, base64), to Kwrap's metadata and KCV; another device's Kpw fails integrity", async () => {
    const s = await services();
    s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    s.devices.provision({ identity: 'ESN-OTHER', keys: { kind: 'generate' } });
    const request = JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    const answer = s.exchanges.respond(request);
    const wrapkey = (JSON.parse(answer.json) as { keyresponsedata: { keydata: { wrapkey: string } } }).keyresponsedata.keydata.wrapkey;
    const inspected = await s.jose.inspect(wrapkey);
    expect(inspected.view).toMatchObject({ type: 'msl-jwe', alg: { name: 'A128KW', supported: true }, enc: { name: 'A128GCM', supported: true } });
    expect(inspected.hint).toMatch(/Kpw/);
    const out = await s.jose.decrypt(wrapkey, { kind: 'device', identity: v.identity });
    const check = await s.exchanges.checkResponse(request, answer.json);
    expect(out).toMatchObject({ type: 'msl-jwe', source: 'device', summary: { kind: 'jwk', jwk: { kty: 'oct', secret: true, kcv: check.kcv!.kwrap } } });
    expect(out.plaintext).toBeUndefined();
    expect(lastAudit(s)).toMatchObject({ subject: v.identity, outcome: 'ok', details: { source: 'device', alg: 'A128KW' } });
    await expect(s.jose.decrypt(wrapkey, { kind: 'device', identity: 'ESN-OTHER' })).rejects.toMatchObject({ code: 'JOSE_INTEGRITY' });
    await expect(s.jose.decrypt(wrapkey, { kind: 'device', identity: 'ESN-NONE' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(s.jose.decrypt(wrapkey, { kind: 'own' })).rejects.toMatchObject({ code: 'NO_KEY_FOR_KID' });
  });

  it("an MGK answer's wrapkey opens with the group's Kdw", async () => {
    const s = await services();
    s.groups.add('model-a', { kind: 'kdw', kdw: '0f0e0d0c0b0a09080706050403020100' });
    s.devices.provision({ identity: v.identity, keys: { kind: 'generate' }, group: 'model-a' });
    const answer = s.exchanges.respond(JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'MGK' } } }));
    const wrapkey = (JSON.parse(answer.json) as { keyresponsedata: { keydata: { wrapkey: string } } }).keyresponsedata.keydata.wrapkey;
    expect((await s.jose.decrypt(wrapkey, { kind: 'group', name: 'model-a' })).summary.kind).toBe('jwk');
    await expect(s.jose.decrypt(wrapkey, { kind: 'device', identity: v.identity })).rejects.toMatchObject({ code: 'JOSE_INTEGRITY' });
  });
});

describe('verify and encrypt', () => {
  it('RFC 7520 JWS vectors verify with their key files; a keyring signer is found by kid', async () => {
    const s = await services();
    const jws = joseVectors('rfc7520-jws.json');
    const first = jws.vectors.find((x) => x.expect === 'verifies' && x.key !== undefined)!;
    const out = await s.jose.verify(first.jws!, { kind: 'jwk', jwk: jws.keys[first.key!]! as Record<string, unknown> });
    expect(text(out.payload)).toBe(first.plaintext);
    expect(out.signer).toEqual({ kind: 'key-file', thumbprint: expect.any(String) });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(s.jose.verify(first.jws!, { kind: 'jwk', jwk: publicKey.export({ format: 'jwk' }) as JWK as Record<string, unknown> })).rejects.toMatchObject({ code: expect.stringMatching(/JOSE_INTEGRITY|NO_KEY_FOR_KID/) });
  });

  it('encrypt refuses a signing recipient and an unknown kid', async () => {
    const s = await services();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await s.keyring.addRecipient(JSON.stringify(publicKey.export({ format: 'jwk' })), { kid: 'signer', use: 'sig' });
    await expect(s.jose.encrypt('x', 'signer')).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
    await expect(s.jose.encrypt('x', 'nobody')).rejects.toMatchObject({ code: 'RECIPIENT_NOT_FOUND' });
    expect(s.audit.list({ action: 'jose.encrypt' })).toEqual([]);
  });
});

describe('a signed export to this KeyLadder (a nested JWT holding keys)', () => {
  const KPW = '000102030405060708090a0b0c0d0e0f';
  /** A device export --to this KeyLadder's own enc key: the JWE, and the compact JWS inside it (the bytes the CLI writes only to --out). */
  async function ownExport(s: TestServices['services']): Promise<{ jwe: string; jws: string }> {
    const own = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await s.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
    s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: KPW } });
    const jwe = await s.devices.exportBundle(['ESN-1'], { kind: 'recipient', kid: own.kid! });
    const jws = Buffer.from((await s.jose.decrypt(jwe, { kind: 'own' })).plaintext!).toString('utf8');
    // What is withheld below is the key: the JWS's payload decodes to it.
    expect(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).toContain(`"kpw":"${KPW}"`);
    return { jwe, jws };
  }
  /** Nothing that decodes to the key: neither its hex, nor the JWS's payload part, nor the payload's bytes in hex. */
  const leaksNothing = (value: unknown, jws: string) => {
    const shown = JSON.stringify(value);
    expect(shown.toLowerCase()).not.toContain(KPW);
    expect(shown).not.toContain(jws.split('.')[1]!.slice(0, 40));
    expect(shown).not.toContain(Buffer.from('{"format"').toString('hex'));
  };

  it('decrypts to a JWS summary whose payload goes through the key-member check: no preview, no key in the answer or the audit', async () => {
    const s = await services();
    const { jwe, jws } = await ownExport(s);
    const out = await s.jose.decrypt(jwe, { kind: 'own' });
    expect(out.summary).toMatchObject({ kind: 'jws', header: { alg: 'ES256', cty: 'keyladder-provisioning-bundle' }, payload: { kind: 'json', holdsKeys: true, members: ['format', 'version', 'createdAt', 'payload'] } });
    expect(out.preview).toBeUndefined();
    expect(withholds(out.summary)).toBe(true);
    const { plaintext: _bytes, ...shown } = out;
    leaksNothing(shown, jws);
    leaksNothing(s.audit.list({ limit: 100 }), jws);
  });

  it('inspects the JWS (compact, flattened and general JSON) with its payload withheld: member names only, no text, no hex', async () => {
    const s = await services();
    const { jws } = await ownExport(s);
    const [protectedB64, payload, signature] = jws.split('.');
    for (const form of [jws, JSON.stringify({ payload, protected: protectedB64, signature }), JSON.stringify({ payload, signatures: [{ protected: protectedB64, signature }] })]) {
      const { view } = await s.jose.inspect(form);
      expect(view.type).toBe('jws');
      if (view.type !== 'jws') return;
      expect(view.payload).toEqual({ length: expect.any(Number), withheld: { reason: 'key-members', members: ['format', 'version', 'createdAt', 'payload'] } });
      leaksNothing(view, jws);
    }
  });

  it('withholds a JWS whose cty names a KeyLadder export, and one whose payload is such a JWS', async () => {
    const s = await services();
    const { jws } = await ownExport(s);
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const bundleCty = `${b64({ alg: 'ES256', cty: 'keyladder-revocation-list' })}.${b64({ note: 'no key members' })}.c2ln`;
    const nested = `${b64({ alg: 'ES256', cty: 'JWT' })}.${b64(jws)}.c2ln`;
    expect((await s.jose.inspect(bundleCty)).view).toMatchObject({ payload: { withheld: { reason: 'keyladder-bundle', members: ['note'] } } });
    const view = (await s.jose.inspect(nested)).view;
    expect(view).toMatchObject({ payload: { withheld: { reason: 'key-members' } } });
    leaksNothing(view, jws);
  });

  it('withholds a JWS hidden in JSON (JSON-serialized, or a compact one in a JSON string or member), as a JWS payload and as a plaintext', async () => {
    const s = await services();
    const { jws } = await ownExport(s);
    const own = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const [protectedB64, payload, signature] = jws.split('.');
    const hidden = {
      flattened: JSON.stringify({ payload, protected: protectedB64, signature }),
      // No cty to give it away: only the payload says it holds keys.
      'flattened, no cty': JSON.stringify({ payload, protected: b64({ alg: 'ES256' }), signature }),
      general: JSON.stringify({ payload, signatures: [{ protected: b64({ alg: 'ES256' }), signature }] }),
      'a JSON string': JSON.stringify(jws),
      'a member': JSON.stringify({ note: 'signed', token: jws }),
      'a member, as JSON text': JSON.stringify({ note: 'signed', token: JSON.stringify({ payload, protected: b64({ alg: 'ES256' }), signature }) }),
    };
    for (const [shape, text] of Object.entries(hidden)) {
      // As a JWS's payload: the inspector says its member names, never its text.
      const { view } = await s.jose.inspect(`${b64({ alg: 'ES256' })}.${b64(text)}.c2ln`);
      expect(view, shape).toMatchObject({ type: 'jws', payload: { withheld: { reason: 'key-members' } } });
      if (view.type === 'jws') expect('text' in view.payload, shape).toBe(false);
      leaksNothing(view, jws);
      // As a decrypted plaintext: said to hold keys, so no preview reaches the renderer.
      const out = await s.jose.decrypt(await s.jose.encrypt(text, own.kid!), { kind: 'own' });
      expect(out.summary, shape).toMatchObject({ kind: 'json', holdsKeys: true });
      expect(withholds(out.summary), shape).toBe(true);
      expect(out.preview, shape).toBeUndefined();
      const { plaintext: _bytes, ...shown } = out;
      leaksNothing(shown, jws);
    }
    // What holds no key is still shown: a JSON JWS of a note, a JSON string that is no JWS.
    const note = JSON.stringify({ payload: b64({ note: 'hello' }), protected: b64({ alg: 'ES256' }), signature: 'c2ln' });
    for (const text of [note, JSON.stringify('a.b.c')]) {
      const out = await s.jose.decrypt(await s.jose.encrypt(text, own.kid!), { kind: 'own' });
      expect(out.preview, text).toBe(text);
    }
  });

  it('withholds unread what nests JWSs in JSON deeper than it follows', async () => {
    const s = await services();
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    let text = JSON.stringify({ note: 'nothing secret' });
    for (let i = 0; i < 5; i++) text = JSON.stringify({ payload: b64(text), protected: b64({ alg: 'ES256' }), signature: 'c2ln' });
    const { view } = await s.jose.inspect(`${b64({ alg: 'ES256' })}.${b64(text)}.c2ln`);
    expect(view).toMatchObject({ payload: { withheld: { reason: 'nested', members: ['payload', 'protected', 'signature'] } } });
  });
});
