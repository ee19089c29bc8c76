// Decrypting, verifying and producing, beyond the RFC vectors: KeyLadder's
// own output round-trips under both runtimes (and jose opens it on plain
// Node), every integrity failure looks alike, RSA-OAEP carries its warning,
// a decrypted JWK is described without its key, and MSL's JWE opens with Kpw.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, algorithmVerdict, type KeyManagementEntry } from '../../electron/jose/algorithms.js';
import { DECRYPTION_FAILED, JoseRefusal } from '../../electron/jose/errors.js';
import { inspectJose } from '../../electron/jose/inspect.js';
import { decryptJose, verifyJose } from '../../electron/jose/open.js';
import { summarizePlaintext } from '../../electron/jose/plaintextSummary.js';
import { encryptToRecipient, signCompact } from '../../electron/jose/produce.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { joseVectors } from '../support/joseVectors.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { exchange1 } from '../support/vectors.js';
import { skipsHere, JOSE_NEEDS_AES_KW } from '../support/skips.js';

const model = underElectronCryptoModel();
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function pair(kind: 'rsa' | 'p256' | 'p384'): { publicJwk: JWK; privateJwk: JWK } {
  const { publicKey, privateKey } =
    kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'prime256v1' : 'secp384r1' });
  return { publicJwk: publicKey.export({ format: 'jwk' }) as JWK, privateJwk: privateKey.export({ format: 'jwk' }) as JWK };
}

async function refusal(promise: Promise<unknown>): Promise<JoseRefusal> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(JoseRefusal);
  return error as JoseRefusal;
}

describe('what KeyLadder produces', () => {
  for (const [kind, alg] of [['rsa', 'RSA-OAEP-256'], ['p256', 'ECDH-ES+A256KW'], ['p384', 'ECDH-ES+A256KW']] as const) {
    it(`encrypts to a ${kind} recipient with ${alg} + A256GCM and kid, and opens it by kid`, async () => {
      const { publicJwk, privateJwk } = pair(kind);
      const plaintext = randomBytes(200);
      const jwe = await encryptToRecipient(plaintext, publicJwk, 'recipient-1', { cty: 'test' });
      expect(decodeProtectedHeader(jwe)).toMatchObject({ alg, enc: 'A256GCM', kid: 'recipient-1', cty: 'test' });
      const opened = await decryptJose(jwe, [{ kind: 'jwk', jwk: pair(kind).privateJwk, kid: 'other' }, { kind: 'jwk', jwk: privateJwk, kid: 'recipient-1' }]);
      expect(Buffer.from(opened.plaintext).equals(plaintext)).toBe(true);
      expect(opened).toMatchObject({ alg, enc: 'A256GCM', kid: 'recipient-1', warnings: [], skipped: [] });
      if (!model) {
        // jose (Web Crypto AES-KW exists on plain Node) opens it too.
        const { plaintext: byJose } = await compactDecrypt(jwe, await importJWK(privateJwk, alg));
        expect(Buffer.from(byJose).equals(plaintext)).toBe(true);
      }
    });
  }

  it.skipIf(skipsHere(model, JOSE_NEEDS_AES_KW))('opens what jose makes with ECDH-ES+A256KW (KeyLadder\'s own unwrap against jose\'s wrap)', async () => {
    const { publicJwk, privateJwk } = pair('p256');
    const jwe = await new CompactEncrypt(Buffer.from('from jose')).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'k' }).encrypt(await importJWK(publicJwk, 'ECDH-ES+A256KW'));
    expect(text((await decryptJose(jwe, [{ kind: 'jwk', jwk: privateJwk }])).plaintext)).toBe('from jose');
  });

  it('signs ES256 with kid, verifies by kid, and jose verifies it', async () => {
    const { publicJwk, privateJwk } = pair('p256');
    const jws = await signCompact(Buffer.from('signed'), privateJwk, 'signer-1', { typ: 'JWT' });
    expect(decodeProtectedHeader(jws)).toEqual({ typ: 'JWT', alg: 'ES256', kid: 'signer-1' });
    const verified = await verifyJose(jws, [{ kind: 'jwk', jwk: publicJwk, kid: 'signer-1' }]);
    expect(text(verified.payload)).toBe('signed');
    expect(text((await compactVerify(jws, await importJWK(publicJwk, 'ES256'))).payload)).toBe('signed');
    expect((await refusal(verifyJose(jws, [{ kind: 'jwk', jwk: pair('p256').publicJwk }]))).code).toBe('INTEGRITY');
    expect((await refusal(verifyJose(jws, [{ kind: 'jwk', jwk: publicJwk, kid: 'someone-else' }]))).code).toBe('NO_KEY_FOR_KID');
  });

  it('refuses keys it will not encrypt or sign with (BAD_KEY)', async () => {
    const { publicJwk, privateJwk } = pair('rsa');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as JWK;
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey.export({ format: 'jwk' }) as JWK;
    for (const [key, kid] of [[privateJwk, 'k'], [small, 'k'], [p521, 'k'], [{ kty: 'oct', k: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'k'], [publicJwk, '']] as const) {
      expect((await refusal(encryptToRecipient(Buffer.from('x'), key as JWK, kid))).code).toBe('BAD_KEY');
    }
    expect((await refusal(signCompact(Buffer.from('x'), privateJwk, 'k'))).code).toBe('BAD_KEY');
  });
});

describe('refusals name their step', () => {
  it('fails a wrong key and any altered part alike: INTEGRITY, one message, on jose\'s path and KeyLadder\'s', async () => {
    const messages = new Set<string>();
    for (const kind of ['rsa', 'p256'] as const) {
      const { publicJwk, privateJwk } = pair(kind);
      const jwe = await encryptToRecipient(randomBytes(64), publicJwk, 'k');
      const parts = jwe.split('.');
      const wrongKey = await refusal(decryptJose(jwe, [{ kind: 'jwk', jwk: pair(kind).privateJwk }]));
      messages.add(`${wrongKey.code}: ${wrongKey.message}`);
      for (let p = 1; p < 5; p++) {
        const bytes = Buffer.from(parts[p]!, 'base64url');
        if (p === 1 && bytes.length === 0) continue;
        bytes[bytes.length - 1]! ^= 0x01;
        const altered = parts.map((x, i) => (i === p ? bytes.toString('base64url') : x)).join('.');
        const r = await refusal(decryptJose(altered, [{ kind: 'jwk', jwk: privateJwk }]));
        messages.add(`${r.code}: ${r.message}`);
      }
    }
    // An RFC 7516 A.3 vector with one ciphertext bit changed, through the A128KW path.
    const a3 = joseVectors('rfc7516-appendix-a.json');
    const [h, ek, iv, ct, tag] = a3.vectors.find((v) => v.section === 'A.3')!.jwe!.split('.');
    const bad = Buffer.from(ct!, 'base64url');
    bad[0]! ^= 0x80;
    const r = await refusal(decryptJose([h, ek, iv, bad.toString('base64url'), tag].join('.'), [{ kind: 'jwk', jwk: a3.keys['A.3.3']! }]));
    messages.add(`${r.code}: ${r.message}`);
    expect(messages).toEqual(new Set([`INTEGRITY: ${DECRYPTION_FAILED}`]));
  });

  it('refuses what does not parse (PARSE) and what the table refuses (UNSUPPORTED_ALG), before any key', async () => {
    const jwk = pair('rsa').privateJwk;
    const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
    for (const input of ['', 'a.b', 'not base64!.x.y', `${b64('{"alg":"RSA-OAEP-256","alg":"dir","enc":"A256GCM"}')}.a.b.c.d`, '{"ciphertext":"AA","recipients":[],"iv":"AA","tag":"AA"}', '{"payload":"AA","payload":"AA","signature":"AA"}']) {
      expect((await refusal(decryptJose(input, [{ kind: 'jwk', jwk }]))).code).toBe('PARSE');
    }
    // The A.4 shared unprotected header also naming "enc" (already protected): the headers must be disjoint.
    const a4 = JSON.parse(joseVectors('rfc7516-appendix-a.json').vectors.find((v) => v.section === 'A.4')!.jwe!) as Record<string, unknown>;
    expect((await refusal(decryptJose(JSON.stringify({ ...a4, unprotected: { enc: 'A128CBC-HS256' } }), [{ kind: 'jwk', jwk }]))).code).toBe('PARSE');
    const a2 = joseVectors('rfc7516-appendix-a.json').vectors.find((v) => v.section === 'A.2')!.jwe!;
    const refused = await refusal(decryptJose(a2, [{ kind: 'jwk', jwk }]));
    expect(refused.code).toBe('UNSUPPORTED_ALG');
    expect(refused.message).toContain("PKCS#1 v1.5 padding invites Bleichenbacher's oracle, and jose 6 removed it");
    const zipped = `${b64({ alg: 'dir', enc: 'A128GCM', zip: 'DEF' })}..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA`;
    expect((await refusal(decryptJose(zipped, [{ kind: 'jwk', jwk: { kty: 'oct', k: 'AAAAAAAAAAAAAAAAAAAAAA' } }]))).code).toBe('UNSUPPORTED_ALG');
  });

  it('says why it skips the A.4 RSA1_5 recipient, and which kid it lacks', async () => {
    const file = joseVectors('rfc7516-appendix-a.json');
    const a4 = file.vectors.find((v) => v.section === 'A.4')!.jwe!;
    const opened = await decryptJose(a4, [{ kind: 'jwk', jwk: file.keys['A.3.3']!, kid: '7' }]);
    expect(opened.skipped).toEqual([{ index: 0, alg: 'RSA1_5', kid: '2011-04-29', reason: "PKCS#1 v1.5 padding invites Bleichenbacher's oracle, and jose 6 removed it" }]);
    const noKey = await refusal(decryptJose(a4, [{ kind: 'jwk', jwk: file.keys['A.3.3']!, kid: '8' }]));
    expect(noKey.code).toBe('NO_KEY_FOR_KID');
    expect(noKey.message).toContain('No key for kid "7"');
  });
});

describe('the table', () => {
  it('has one entry per name and kind, and a reason for every refusal', () => {
    const keys = ALGORITHMS.map((e) => `${e.kind}:${e.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const e of ALGORITHMS) expect(e.accepted === (e.refusal === undefined)).toBe(true);
    expect(ALGORITHMS.filter((e) => e.produced).map((e) => e.name).sort()).toEqual(['A256GCM', 'ECDH-ES+A256KW', 'ES256', 'RSA-OAEP-256']);
    expect(algorithmVerdict('signature', 'none')).toMatchObject({ supported: false });
    expect(algorithmVerdict('key-management', 'XYZ').reason).toContain('not an algorithm KeyLadder knows');
  });

  it.skipIf(skipsHere(model, JOSE_NEEDS_AES_KW))('opens every accepted key management with every accepted content cipher, as jose makes them with fresh keys (plain Node: jose needs AES-KW to make some; matrix.test.ts opens stored ones under both runtimes)', async () => {
    const accepted = (kind: string) => ALGORITHMS.filter((e) => e.kind === kind && e.accepted);
    for (const km of accepted('key-management') as KeyManagementEntry[]) {
      for (const enc of accepted('content-encryption')) {
        const cekBytes = (enc as { cekBytes: number }).cekBytes;
        let publicKey: unknown, key: Parameters<typeof decryptJose>[1][number];
        if (km.keyType === 'RSA' || km.keyType === 'EC') {
          const generated = await generateKeyPair(km.name, { extractable: true, ...(km.keyType === 'EC' ? { crv: 'P-384' } : {}) });
          publicKey = generated.publicKey;
          key = { kind: 'jwk', jwk: await exportJWK(generated.privateKey) };
        } else if (km.keyType === 'passphrase') {
          publicKey = Buffer.from('passphrase here');
          key = { kind: 'passphrase', passphrase: Buffer.from('passphrase here') };
        } else {
          const raw = randomBytes(km.name === 'dir' ? cekBytes : km.keyBytes!);
          publicKey = raw;
          key = { kind: 'jwk', jwk: { kty: 'oct', k: raw.toString('base64url') } };
        }
        const jwe = await new CompactEncrypt(Buffer.from(`${km.name}/${enc.name}`)).setProtectedHeader({ alg: km.name, enc: enc.name }).setKeyManagementParameters({ p2c: 2000 }).encrypt(publicKey as Uint8Array);
        const opened = await decryptJose(jwe, [key]);
        expect(text(opened.plaintext)).toBe(`${km.name}/${enc.name}`);
        expect(opened.warnings).toEqual(km.warning === undefined ? [] : [km.warning]);
      }
    }
  });
});

describe('plaintexts and MSL', () => {
  it('describes a decrypted JWK by metadata and KCV, never its key', async () => {
    const file = joseVectors('rfc7520-jwe.json');
    const v = file.vectors.find((x) => x.section === '5.3')!;
    const opened = await decryptJose(v.jwe!, [{ kind: 'passphrase', passphrase: Buffer.from(v.passphrase!, 'utf8') }]);
    const summary = await summarizePlaintext(opened.plaintext);
    expect(summary.kind).toBe('jwks');
    const shown = JSON.stringify(summary);
    for (const k of ['XctOhJAkA-pD9Lh7ZgW_2A', 'GZy6sIZ6wl9NJOKB-jnmVQ', 'qC57l_uxcm7Nm3K-ct4GFjx8tM1U8CZ0NLBvdQstiS8']) expect(shown).not.toContain(k);
    expect(summary).toMatchObject({ keys: [{ kty: 'oct', alg: 'A128GCM', kid: '77c7e2b8-6e13-45cf-8672-617b5b45243a', use: 'enc', secret: true, kcv: kcv(Buffer.from('XctOhJAkA-pD9Lh7ZgW_2A', 'base64url'), 'aes') }, {}, {}] });
  });

  it("inspects and opens MSL's JWE with the device's wrapping key, through the ladder's own reader", async () => {
    const v = exchange1();
    const decoded = v['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'].wrapkey;
    const view = inspectJose(decoded.jwe_exact);
    expect(view).toMatchObject({ type: 'msl-jwe', serialization: 'msl-json', alg: { name: 'A128KW', supported: true }, enc: { name: 'A128GCM', supported: true }, encryptedKeyLength: 24, iv: { hex: decoded.iv_hex }, tag: { hex: decoded.integrity_value_hex } });
    const kpw = Buffer.from(v.inputs.kpw_hex!, 'hex');
    const opened = await decryptJose(decoded.jwe_exact, [{ kind: 'jwk', jwk: { kty: 'oct', k: kpw.toString('base64url') } }]);
    expect(text(opened.plaintext)).toBe(decoded.plaintext_jwk_exact);
    const summary = await summarizePlaintext(opened.plaintext);
    expect(summary).toMatchObject({ kind: 'jwk', jwk: { kty: 'oct', use: 'wrap', extractable: false, alg: 'A128KW', secret: true } });
    expect(JSON.stringify(summary)).not.toContain(JSON.parse(decoded.plaintext_jwk_exact).k);
    expect((await refusal(decryptJose(decoded.jwe_exact, [{ kind: 'jwk', jwk: { kty: 'oct', k: randomBytes(16).toString('base64url') } }]))).code).toBe('INTEGRITY');
    // An RFC-profile ladder JWE is an ordinary compact JWE.
    const rfc = ENCODERS.rfc7516.encrypt(kpw, Buffer.from('{}'), randomBytes(16), randomBytes(12));
    expect(inspectJose(rfc)).toMatchObject({ type: 'jwe', serialization: 'compact' });
  });
});
