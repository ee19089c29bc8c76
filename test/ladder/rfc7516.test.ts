// The rfc7516 profile is standard JWE: jose decrypts every output, the header
// is exactly the protected header we promise, the JWKs import into Web Crypto
// non-extractable, and the requestor accepts what jose itself produces.
import { CompactEncrypt, compactDecrypt } from 'jose';
import { underElectronCryptoModel } from '../support/runtime.js';
import { describe, expect, it } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { MslErrorCode } from '../../electron/ladder/errors.js';
import { KEY_KINDS, type KeyKind } from '../../electron/jwe/keyKinds.js';
import { acceptKeyResponse, importWrappingKey } from '../support/device.js';
import { WRAPDATA_FORMATS } from '../../electron/ladder/wrapdata.js';
import { expectKeyHolds } from '../support/keyProbe.js';
import { answer, climb, device, envelope, expectRejects, ladder, requestJson } from './helpers.js';
import { skipsHere, JOSE_NEEDS_AES_KW } from '../support/skips.js';

const subtle = globalThis.crypto.subtle;
const PROTECTED = '{"alg":"A128KW","enc":"A128GCM","cty":"jwk+json"}';
const MEMBERS = { wrapkey: 'wrap', encryptionkey: 'enc', hmackey: 'hmac' } as const satisfies Record<string, KeyKind>;
type JoseHeader = { alg: string; enc: string; cty?: string };
const joseOptions = { keyManagementAlgorithms: ['A128KW'], contentEncryptionAlgorithms: ['A128GCM'] };

interface Output {
  readonly jwe: Record<keyof typeof MEMBERS, string>;
  readonly kek: Record<keyof typeof MEMBERS, Buffer>;
  readonly issued: Record<KeyKind, Buffer>;
}

/** Every rfc7516 output of a ladder: PSK, MGK and WRAP rungs, both wrapdata formats. */
function outputs(): Output[] {
  const out: Output[] = [];
  for (const format of WRAPDATA_FORMATS) {
    for (const first of ['PSK', 'MGK'] as const) {
      const l = ladder(format, `rfc-${format}-${first}`);
      let kprev = first === 'PSK' ? l.kpw : l.kdw;
      let wrapdata: string | undefined;
      for (let rung = 0; rung < 4; rung++) {
        const result = answer(l, requestJson(l.identity, wrapdata ? { mechanism: 'WRAP', wrapdata } : { mechanism: first }), { profile: 'rfc7516' });
        const keys = l.random.lastKeys();
        const jwe = (m: keyof typeof MEMBERS) => Buffer.from(result.keydata[m], 'base64').toString('latin1');
        out.push({
          jwe: { wrapkey: jwe('wrapkey'), encryptionkey: jwe('encryptionkey'), hmackey: jwe('hmackey') },
          kek: { wrapkey: Buffer.from(kprev), encryptionkey: keys.kwrap, hmackey: keys.kwrap },
          issued: { wrap: keys.kwrap, enc: keys.kenc, hmac: keys.khmac },
        });
        kprev = keys.kwrap;
        wrapdata = result.keydata.wrapdata;
      }
    }
  }
  return out;
}

const importParams = (kind: KeyKind): AlgorithmIdentifier | HmacImportParams => KEY_KINDS[kind].webCrypto;

// jose plays a standard device here, and its A128KW needs Web Crypto AES-KW:
// these run in the plain-Node project (devices are not Electron's main process).
describe.skipIf(skipsHere(underElectronCryptoModel(), JOSE_NEEDS_AES_KW))('rfc7516 output is standard JWE (jose as the device; plain Node only)', () => {
  const all = outputs();

  it('jose decrypts every JWE (wrapkey with Kpw/Kdw/previous Kwrap, the others with the new Kwrap), header exactly as promised', async () => {
    expect(all).toHaveLength(16);
    for (const o of all) {
      for (const member of Object.keys(MEMBERS) as (keyof typeof MEMBERS)[]) {
        const { plaintext, protectedHeader } = await compactDecrypt(o.jwe[member], Uint8Array.from(o.kek[member]), joseOptions);
        expect(protectedHeader).toEqual({ alg: 'A128KW', enc: 'A128GCM', cty: 'jwk+json' });
        expect(Buffer.from(o.jwe[member].split('.')[0]!, 'base64url').toString()).toBe(PROTECTED);
        const jwk = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
        const kind = MEMBERS[member];
        expect(Object.keys(jwk).sort()).toEqual(['alg', 'ext', 'k', 'key_ops', 'kty']);
        expect(jwk).toMatchObject({ kty: 'oct', alg: KEY_KINDS[kind].jwkAlg, key_ops: [...KEY_KINDS[kind].keyOps], ext: false });
        expect(Buffer.from(jwk['k'] as string, 'base64url').equals(o.issued[kind])).toBe(true);
      }
    }
  });

  it('jose refuses every JWE under a wrong key (it is really keyed, not just well-formed)', async () => {
    const o = all[0]!;
    await expect(compactDecrypt(o.jwe.wrapkey, Uint8Array.from(o.issued.enc), joseOptions)).rejects.toThrow();
    await expect(compactDecrypt(o.jwe.encryptionkey, Uint8Array.from(o.kek.wrapkey), joseOptions)).rejects.toThrow();
  });

  it('every JWK imports into Web Crypto with extractable = false, and holds the issued key', async () => {
    for (const o of all.slice(0, 4)) {
      for (const member of Object.keys(MEMBERS) as (keyof typeof MEMBERS)[]) {
        const kind = MEMBERS[member];
        const { plaintext } = await compactDecrypt(o.jwe[member], Uint8Array.from(o.kek[member]), joseOptions);
        const jwk = JSON.parse(new TextDecoder().decode(plaintext)) as JsonWebKey;
        const key = await subtle.importKey('jwk', jwk, importParams(kind), false, [...KEY_KINDS[kind].keyOps]);
        expect(key.extractable).toBe(false);
        expect([...key.usages].sort()).toEqual([...KEY_KINDS[kind].keyOps].sort());
        await expectKeyHolds(key, kind, o.issued[kind].toString('hex'));
        // "ext": false is binding: Web Crypto will not import it as extractable.
        await expect(subtle.importKey('jwk', jwk, importParams(kind), true, [...KEY_KINDS[kind].keyOps])).rejects.toThrow();
      }
    }
  });

  it('the msl-profile requestor refuses rfc7516 output, and the rfc7516 requestor refuses msl output (the AAD and serialization differ)', async () => {
    const l = ladder('keyladder-v1', 'cross');
    const kpw = await importWrappingKey(Uint8Array.from(l.kpw));
    const rfc = answer(l, requestJson(l.identity, { mechanism: 'PSK' }), { profile: 'rfc7516' });
    await expectRejects(acceptKeyResponse(envelope(rfc), kpw, 'msl'), MslErrorCode.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
    const msl = answer(l, requestJson(l.identity, { mechanism: 'PSK' }), { profile: 'msl' });
    await expectRejects(acceptKeyResponse(envelope(msl), kpw, 'rfc7516'), MslErrorCode.JWE_PARSE_ERROR, 'JWE_WRONG_SERIALIZATION');
  });
});

describe.skipIf(skipsHere(underElectronCryptoModel(), JOSE_NEEDS_AES_KW))('the requestor accepts what jose produces (jose as the responder; plain Node only)', () => {
  const jwkText = (kind: KeyKind, key: Buffer): string =>
    JSON.stringify({ kty: 'oct', k: key.toString('base64url'), alg: KEY_KINDS[kind].jwkAlg, key_ops: KEY_KINDS[kind].keyOps, ext: false });
  const joseJwe = async (kek: Buffer, plaintext: string, header: JoseHeader = { alg: 'A128KW', enc: 'A128GCM', cty: 'jwk+json' }) =>
    Buffer.from(await new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(header).encrypt(Uint8Array.from(kek))).toString('base64');

  async function joseResponse(kprev: Buffer, keys: Record<KeyKind, Buffer>, header?: JoseHeader) {
    return {
      keyresponsedata: {
        scheme: 'JWE_LADDER',
        keydata: {
          wrapkey: await joseJwe(kprev, jwkText('wrap', keys.wrap), header),
          wrapdata: Buffer.alloc(33, 1).toString('base64'),
          encryptionkey: await joseJwe(keys.wrap, jwkText('enc', keys.enc), header),
          hmackey: await joseJwe(keys.wrap, jwkText('hmac', keys.hmac), header),
        },
      },
    };
  }

  const kpw = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const keys = {
    wrap: Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex'),
    enc: Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'),
    hmac: Buffer.from('b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf', 'hex'),
  };

  it('a whole key response made by jose CompactEncrypt (A128KW/A128GCM) unwraps to the right keys', async () => {
    const response = await joseResponse(kpw, keys);
    const got = await acceptKeyResponse(response, await importWrappingKey(Uint8Array.from(kpw)), 'rfc7516');
    expect(got.kcv).toEqual({ kwrap: kcv(keys.wrap, 'aes'), kenc: kcv(keys.enc, 'aes'), khmac: kcv(keys.hmac, 'hmac') });
    await expectKeyHolds(got.kwrap, 'wrap', keys.wrap.toString('hex'));
    await expectKeyHolds(got.kenc, 'enc', keys.enc.toString('hex'));
    await expectKeyHolds(got.khmac, 'hmac', keys.hmac.toString('hex'));
    expect(got.kid).toBeUndefined();
  });

  it('also without cty (the header names the algorithms; cty is informative)', async () => {
    const response = await joseResponse(kpw, keys, { alg: 'A128KW', enc: 'A128GCM' });
    const got = await acceptKeyResponse(response, await importWrappingKey(Uint8Array.from(kpw)), 'rfc7516');
    expect(got.kcv.kenc).toBe(kcv(keys.enc, 'aes'));
  });

  it('but not jose output with other algorithms', async () => {
    const kek = await importWrappingKey(Uint8Array.from(kpw));
    const a256 = { ...(await joseResponse(kpw, keys)) };
    a256.keyresponsedata.keydata.wrapkey = Buffer.from(
      await new CompactEncrypt(new TextEncoder().encode(jwkText('wrap', keys.wrap))).setProtectedHeader({ alg: 'A128KW', enc: 'A256GCM' }).encrypt(Uint8Array.from(kpw)),
    ).toString('base64');
    await expectRejects(acceptKeyResponse(a256, kek, 'rfc7516'), MslErrorCode.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ENC');
    a256.keyresponsedata.keydata.wrapkey = Buffer.from(
      await new CompactEncrypt(new TextEncoder().encode(jwkText('wrap', keys.wrap))).setProtectedHeader({ alg: 'dir', enc: 'A128GCM' }).encrypt(Uint8Array.from(kpw)),
    ).toString('base64');
    await expectRejects(acceptKeyResponse(a256, kek, 'rfc7516'), MslErrorCode.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG');
  });

  it('and the LadderRequestor climbs an rfc7516 ladder end to end', async () => {
    const l = ladder('keyladder-v1', 'rfc-climb');
    const d = await device(l, 'PSK', 'rfc7516');
    for (let i = 0; i < 3; i++) {
      const rung = await climb(l, d);
      expect(rung.keys.kcv).toEqual(rung.result.kcv);
    }
  });
});
