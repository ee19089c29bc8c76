// The requestor refuses every damaged or foreign key response, each with its
// code and reason; decryption failures all look alike (JWE_DECRYPTION_FAILED)
// whatever was damaged, so they tell an attacker nothing.
import { createCipheriv, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { aesKeyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { MslErrorCode as C, type MslErrorCode } from '../../electron/ladder/errors.js';

import { JWE_PROFILES, type JweProfileName } from '../../electron/jwe/keyKinds.js';
import { acceptKeyResponse, importWrappingKey, LadderRequestor, decryptJwe, type DeviceKey } from '../support/device.js';
import { answer, expectLadderError, expectRejects, ladder, rejected, requestJson, type Ladder } from './helpers.js';

const PART_NAMES = ['header', 'encryptedKey', 'iv', 'ciphertext', 'tag'] as const;
type PartName = (typeof PART_NAMES)[number];
type Parts = Record<PartName, string>;
const MSL_HEADER = '{"enc":"A128GCM","alg":"A128KW"}';
const RFC_HEADER = '{"alg":"A128KW","enc":"A128GCM","cty":"jwk+json"}';
const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

function split(jwe: string, profile: JweProfileName): Parts {
  if (profile === 'rfc7516') {
    const [header, encryptedKey, iv, ciphertext, tag] = jwe.split('.') as [string, string, string, string, string];
    return { header, encryptedKey, iv, ciphertext, tag };
  }
  const j = JSON.parse(jwe) as { ciphertext: string; recipients: { integrity_value: string; encrypted_key: string; header: string }[]; initialization_vector: string };
  const r = j.recipients[0]!;
  return { header: r.header, encryptedKey: r.encrypted_key, iv: j.initialization_vector, ciphertext: j.ciphertext, tag: r.integrity_value };
}

function join(p: Parts, profile: JweProfileName): string {
  if (profile === 'rfc7516') return [p.header, p.encryptedKey, p.iv, p.ciphertext, p.tag].join('.');
  return JSON.stringify({ ciphertext: p.ciphertext, recipients: [{ integrity_value: p.tag, encrypted_key: p.encryptedKey, header: p.header }], initialization_vector: p.iv });
}

/** A JWE built by hand with node:crypto, so its lengths and header can be anything, yet it is genuinely encrypted. */
function craft(profile: JweProfileName, kek: Buffer, plaintext: string, o: { header?: string; cek?: Buffer; iv?: Buffer; tagLength?: number } = {}): string {
  const cek = o.cek ?? randomBytes(16);
  const iv = o.iv ?? randomBytes(12);
  const header = b64u(o.header ?? (profile === 'msl' ? MSL_HEADER : RFC_HEADER));
  const encryptedKey = b64u(aesKeyWrap(kek, cek));
  const aad = profile === 'msl' ? `${header}.${encryptedKey}.${b64u(iv)}` : header;
  const cipher = createCipheriv(`aes-${cek.length * 8}-gcm` as 'aes-128-gcm', cek, iv, { authTagLength: o.tagLength ?? 16 });
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return join({ header, encryptedKey, iv: b64u(iv), ciphertext: b64u(ciphertext), tag: b64u(cipher.getAuthTag()) }, profile);
}

interface Fixture {
  readonly l: Ladder;
  readonly profile: JweProfileName;
  readonly kpw: DeviceKey;
  readonly keydata: Record<'wrapkey' | 'wrapdata' | 'encryptionkey' | 'hmackey', string>;
  readonly kwrap: Buffer;
  readonly kenc: Buffer;
  readonly khmac: Buffer;
  /** The wrapkey JWE text. */
  readonly jwe: string;
}

async function fixture(profile: JweProfileName): Promise<Fixture> {
  const l = ladder('keyladder-v1', `requestor-${profile}`);
  const result = answer(l, requestJson(l.identity, { mechanism: 'PSK' }), { profile });
  const keys = l.random.lastKeys();
  return {
    l,
    profile,
    kpw: await importWrappingKey(Uint8Array.from(l.kpw)),
    keydata: { ...result.keydata },
    kwrap: keys.kwrap,
    kenc: keys.kenc,
    khmac: keys.khmac,
    jwe: Buffer.from(result.keydata.wrapkey, 'base64').toString('latin1'),
  };
}

const response = (f: Fixture, replace: Partial<Fixture['keydata']> = {}) => ({ keyresponsedata: { scheme: 'JWE_LADDER', keydata: { ...f.keydata, ...replace } } });
const withWrapkey = (f: Fixture, jwe: string | Buffer) => response(f, { wrapkey: Buffer.from(jwe).toString('base64') });
const accept = (f: Fixture, r: unknown) => acceptKeyResponse(r, f.kpw, f.profile);
const mutatePart = (f: Fixture, name: PartName, change: (bytes: Buffer) => Buffer) => {
  const parts = split(f.jwe, f.profile);
  return join({ ...parts, [name]: b64u(change(Buffer.from(parts[name], 'base64url'))) }, f.profile);
};
const flip = (bytes: Buffer, bit: number) => {
  const out = Buffer.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

describe.each(JWE_PROFILES)('the requestor (profile %s) refuses', (profile) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture(profile);
  });

  it('(control) the undamaged response is accepted', async () => {
    const keys = await accept(f, response(f));
    expect(keys.kcv.kwrap).toBeDefined();
    expect(Buffer.from(keys.wrapdata).toString('base64')).toBe(f.keydata.wrapdata);
  });

  it('a response under the wrong key: JWE_DECRYPTION_FAILED', async () => {
    await expectRejects(acceptKeyResponse(response(f), await importWrappingKey(randomBytes(16)), profile), C.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
  });

  it('a bit flipped anywhere in the encrypted key, IV, ciphertext or tag: always JWE_DECRYPTION_FAILED', async () => {
    for (const name of ['encryptedKey', 'iv', 'ciphertext', 'tag'] as const) {
      const length = Buffer.from(split(f.jwe, profile)[name], 'base64url').length;
      for (let bit = 0; bit < length * 8; bit++) {
        const error = await rejected(decryptJwe(Buffer.from(mutatePart(f, name, (b) => flip(b, bit))), f.kpw, profile));
        expectLadderError(error, C.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
      }
    }
  });

  it('a bit flipped anywhere in the header: never accepted; refused as a bad header, an unsupported algorithm, or a failed decryption', async () => {
    const seen = new Set<string>();
    const length = Buffer.from(split(f.jwe, profile).header, 'base64url').length;
    for (let bit = 0; bit < length * 8; bit++) {
      const error = (await rejected(decryptJwe(Buffer.from(mutatePart(f, 'header', (b) => flip(b, bit))), f.kpw, profile))) as { code: MslErrorCode; reason: string };
      const expected: Record<string, MslErrorCode> = {
        JWE_BAD_HEADER: C.JWE_PARSE_ERROR,
        JWE_UNSUPPORTED_ALG: C.UNSUPPORTED_JWE_ALGORITHM,
        JWE_UNSUPPORTED_ENC: C.UNSUPPORTED_JWE_ALGORITHM,
        JWE_DECRYPTION_FAILED: C.JWE_DECRYPTION_ERROR,
      };
      expect(Object.keys(expected)).toContain(error.reason);
      expectLadderError(error, expected[error.reason]!, error.reason);
      seen.add(error.reason);
    }
    expect([...seen].sort()).toEqual(expect.arrayContaining(['JWE_BAD_HEADER', 'JWE_UNSUPPORTED_ALG', 'JWE_UNSUPPORTED_ENC']));
  });

  it('a header that means the same but is spelt differently: JWE_DECRYPTION_FAILED (the header bytes are authenticated)', async () => {
    for (const header of ['{"alg":"A128KW","enc":"A128GCM"}', '{"enc":"A128GCM","alg":"A128KW","cty":"jwk+json"}', '{"enc": "A128GCM", "alg": "A128KW"}', `${profile === 'msl' ? MSL_HEADER : RFC_HEADER} `]) {
      await expectRejects(accept(f, withWrapkey(f, mutatePart(f, 'header', () => Buffer.from(header)))), C.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
    }
  });

  it('each part truncated by three bytes: its own refusal', async () => {
    const cut = (name: PartName) => mutatePart(f, name, (b) => b.subarray(0, b.length - 3));
    await expectRejects(accept(f, withWrapkey(f, cut('header'))), C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER');
    await expectRejects(accept(f, withWrapkey(f, cut('encryptedKey'))), C.JWE_PARSE_ERROR, 'JWE_CEK_LENGTH');
    await expectRejects(accept(f, withWrapkey(f, cut('iv'))), C.JWE_PARSE_ERROR, 'JWE_IV_LENGTH');
    await expectRejects(accept(f, withWrapkey(f, cut('ciphertext'))), C.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
    await expectRejects(accept(f, withWrapkey(f, cut('tag'))), C.JWE_PARSE_ERROR, 'JWE_TAG_LENGTH');
    await expectRejects(accept(f, withWrapkey(f, mutatePart(f, 'ciphertext', () => Buffer.alloc(0)))), C.JWE_PARSE_ERROR, 'JWE_MISSING_PART');
  });

  it('the serialization truncated anywhere: never accepted, always a JWE parse error', async () => {
    const allowed = profile === 'msl' ? ['JWE_MALFORMED_JSON', 'JWE_MISSING_PART'] : ['JWE_MISSING_PART', 'JWE_BAD_BASE64URL', 'JWE_TAG_LENGTH'];
    for (let n = 1; n < f.jwe.length; n++) {
      const error = (await rejected(decryptJwe(Buffer.from(f.jwe.slice(0, n)), f.kpw, profile))) as { reason: string };
      expect(allowed).toContain(error.reason);
      expectLadderError(error, C.JWE_PARSE_ERROR, error.reason);
    }
    if (profile === 'msl') {
      await expectRejects(decryptJwe(Buffer.from(f.jwe.slice(0, -1)), f.kpw, profile), C.JWE_PARSE_ERROR, 'JWE_MALFORMED_JSON');
    } else {
      const tagStart = f.jwe.lastIndexOf('.');
      await expectRejects(decryptJwe(Buffer.from(f.jwe.slice(0, tagStart)), f.kpw, profile), C.JWE_PARSE_ERROR, 'JWE_MISSING_PART');
      await expectRejects(decryptJwe(Buffer.from(f.jwe.slice(0, -1)), f.kpw, profile), C.JWE_PARSE_ERROR, 'JWE_BAD_BASE64URL');
      await expectRejects(decryptJwe(Buffer.from(f.jwe.slice(0, -2)), f.kpw, profile), C.JWE_PARSE_ERROR, 'JWE_TAG_LENGTH');
    }
  });

  it.each([
    ['alg A256KW', '{"alg":"A256KW","enc":"A128GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG'],
    ['alg RSA-OAEP', '{"alg":"RSA-OAEP","enc":"A128GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG'],
    ['alg dir', '{"alg":"dir","enc":"A128GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG'],
    ['no alg', '{"enc":"A128GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG'],
    ['alg not a string', '{"alg":["A128KW"],"enc":"A128GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ALG'],
    ['enc A256GCM', '{"alg":"A128KW","enc":"A256GCM"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ENC'],
    ['enc A128CBC-HS256', '{"alg":"A128KW","enc":"A128CBC-HS256"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ENC'],
    ['no enc', '{"alg":"A128KW"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_UNSUPPORTED_ENC'],
    ['crit', '{"alg":"A128KW","enc":"A128GCM","crit":["exp"],"exp":1}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_CRITICAL_HEADER'],
    ['zip', '{"alg":"A128KW","enc":"A128GCM","zip":"DEF"}', C.UNSUPPORTED_JWE_ALGORITHM, 'JWE_COMPRESSED'],
    ['header not JSON', '{"alg":"A128KW"', C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER'],
    ['header a JSON array', '["A128KW","A128GCM"]', C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER'],
    ['header JSON null', 'null', C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER'],
    ['a header parameter named twice (the last one valid)', '{"alg":"dir","alg":"A128KW","enc":"A128GCM"}', C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER'],
    ['header not UTF-8', '\udcff', C.JWE_PARSE_ERROR, 'JWE_BAD_HEADER'],
  ] as const)('a JWE with %s (genuinely encrypted under the right key): %s %s', async (_, header, code, reason) => {
    const bytes = header === '\udcff' ? Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1') : header;
    const jwe = header === '\udcff' ? mutatePart(f, 'header', () => Buffer.from([0xff, 0xfe, 0x7b])) : craft(profile, f.l.kpw, '{}', { header: bytes });
    await expectRejects(accept(f, withWrapkey(f, jwe)), code, reason);
  });

  it.each([
    ['a 32-byte CEK (wrapped: 40 bytes)', { cek: randomBytes(32) }, 'JWE_CEK_LENGTH'],
    ['a 24-byte CEK (wrapped: 32 bytes)', { cek: randomBytes(24) }, 'JWE_CEK_LENGTH'],
    ['a 12-byte tag', { tagLength: 12 }, 'JWE_TAG_LENGTH'],
    ['a 4-byte tag', { tagLength: 4 }, 'JWE_TAG_LENGTH'],
    ['a 16-byte IV', { iv: randomBytes(16) }, 'JWE_IV_LENGTH'],
    ['an 8-byte IV', { iv: randomBytes(8) }, 'JWE_IV_LENGTH'],
  ] as const)('a genuinely encrypted JWE with %s: JWE_PARSE_ERROR %s', async (_, options, reason) => {
    await expectRejects(accept(f, withWrapkey(f, craft(profile, f.l.kpw, ENCODERS[profile].jwk('wrap', f.kwrap).toString(), options))), C.JWE_PARSE_ERROR, reason);
  });

  it('(control) a hand-built JWE with the right lengths is accepted, so the refusals above are about the lengths', async () => {
    const keys = await accept(f, withWrapkey(f, craft(profile, f.l.kpw, ENCODERS[profile].jwk('wrap', f.kwrap, '7').toString())));
    expect(keys.kcv.kenc).toBeDefined();
  });

  it.each([
    ['padded base64url', (p: Parts) => ({ ...p, iv: `${p.iv}==` })],
    ['standard Base64 characters', (p: Parts) => ({ ...p, ciphertext: `${p.ciphertext.slice(0, -4)}+/+/` })],
    ['a space', (p: Parts) => ({ ...p, tag: ` ${p.tag}` })],
    ['non-canonical last character', (p: Parts) => ({ ...p, tag: `${p.tag.slice(0, -1)}${p.tag.endsWith('B') ? 'C' : 'B'}` })],
  ])('a part in %s: JWE_PARSE_ERROR JWE_BAD_BASE64URL', async (_, change) => {
    await expectRejects(accept(f, withWrapkey(f, join(change(split(f.jwe, profile)), profile))), C.JWE_PARSE_ERROR, 'JWE_BAD_BASE64URL');
  });

  it('a profile other than msl or rfc7516: UNSUPPORTED_KEYX_MECHANISM UNKNOWN_PROFILE (not silently one of them)', async () => {
    for (const other of ['jose', '', '__proto__', 'constructor']) {
      await expectRejects(decryptJwe(Buffer.from(f.jwe), f.kpw, other as JweProfileName), C.UNSUPPORTED_KEYX_MECHANISM, 'UNKNOWN_PROFILE');
      await expectRejects(acceptKeyResponse(response(f), f.kpw, other as JweProfileName), C.UNSUPPORTED_KEYX_MECHANISM, 'UNKNOWN_PROFILE');
    }
  });

  it('a JWE that is not UTF-8 text: JWE_NOT_UTF8', async () => {
    await expectRejects(accept(f, withWrapkey(f, Buffer.from([0x7b, 0xff, 0xfe]))), C.JWE_PARSE_ERROR, 'JWE_NOT_UTF8');
  });

  it('a compact JWE with the wrong number of parts: JWE_MISSING_PART', async () => {
    const p = split(f.jwe, profile);
    for (const text of [[p.header, p.encryptedKey, p.iv, p.ciphertext].join('.'), [p.header, p.encryptedKey, p.iv, p.ciphertext, p.tag, p.tag].join('.'), 'abc']) {
      await expectRejects(accept(f, withWrapkey(f, text)), C.JWE_PARSE_ERROR, 'JWE_MISSING_PART');
    }
  });
});

describe('the requestor (profile msl) reads MSL\'s JSON serialization as MSL does', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture('msl');
  });
  const json = () => JSON.parse(f.jwe) as Record<string, unknown> & { recipients: Record<string, unknown>[] };

  it.each([
    ['no recipients', (j: ReturnType<typeof json>) => ({ ...j, recipients: undefined })],
    ['empty recipients', (j: ReturnType<typeof json>) => ({ ...j, recipients: [] })],
    ['recipients an object', (j: ReturnType<typeof json>) => ({ ...j, recipients: j.recipients[0] })],
    ['a recipient that is a string', (j: ReturnType<typeof json>) => ({ ...j, recipients: ['x'] })],
    ['a recipient that is null', (j: ReturnType<typeof json>) => ({ ...j, recipients: [null] })],
    ['no initialization_vector', (j: ReturnType<typeof json>) => ({ ...j, initialization_vector: undefined })],
    ['no ciphertext', (j: ReturnType<typeof json>) => ({ ...j, ciphertext: undefined })],
    ['ciphertext a number', (j: ReturnType<typeof json>) => ({ ...j, ciphertext: 5 })],
    ['no header', (j: ReturnType<typeof json>) => ({ ...j, recipients: [{ ...j.recipients[0], header: undefined }] })],
    ['no encrypted_key', (j: ReturnType<typeof json>) => ({ ...j, recipients: [{ ...j.recipients[0], encrypted_key: undefined }] })],
    ['no integrity_value', (j: ReturnType<typeof json>) => ({ ...j, recipients: [{ ...j.recipients[0], integrity_value: undefined }] })],
  ])('%s: JWE_PARSE_ERROR JWE_MISSING_PART', async (_, change) => {
    await expectRejects(accept(f, withWrapkey(f, JSON.stringify(change(json())))), C.JWE_PARSE_ERROR, 'JWE_MISSING_PART');
  });

  it('invalid JSON: JWE_MALFORMED_JSON', async () => {
    await expectRejects(accept(f, withWrapkey(f, `${f.jwe.slice(0, -1)},}`)), C.JWE_PARSE_ERROR, 'JWE_MALFORMED_JSON');
  });

  it('only the first recipient counts', async () => {
    const j = json();
    const junk = { ...j.recipients[0], integrity_value: b64u(Buffer.alloc(16)) };
    expect((await accept(f, withWrapkey(f, JSON.stringify({ ...j, recipients: [j.recipients[0], junk] })))).kcv.kwrap).toBeDefined();
    await expectRejects(accept(f, withWrapkey(f, JSON.stringify({ ...j, recipients: [junk, j.recipients[0]] }))), C.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
  });

  it('members in another order and unknown outer members are fine (they are not authenticated, and MSL ignores them)', async () => {
    const j = json();
    const reordered = JSON.stringify({ initialization_vector: j['initialization_vector'], recipients: j.recipients, ciphertext: j['ciphertext'], note: 'x' });
    expect((await accept(f, withWrapkey(f, reordered))).kcv.kwrap).toBeDefined();
  });

  it('the five-part compact form with MSL\'s AAD is accepted, as MSL\'s requestor accepts it', async () => {
    const p = split(f.jwe, 'msl');
    expect((await accept(f, withWrapkey(f, [p.header, p.encryptedKey, p.iv, p.ciphertext, p.tag].join('.')))).kcv.kwrap).toBeDefined();
  });
});

describe('the requestor refuses JWKs that are not the key it expects', () => {
  const mslJwk = (o: Record<string, unknown>) => JSON.stringify({ kty: 'oct', use: 'wrap', extractable: false, k: b64u(randomBytes(16)), alg: 'A128KW', ...o });
  const rfcJwk = (o: Record<string, unknown>) => JSON.stringify({ kty: 'oct', k: b64u(randomBytes(16)), alg: 'A128KW', key_ops: ['wrapKey', 'unwrapKey'], ext: false, ...o });

  const cases: [JweProfileName, string, string, string][] = [
    ['msl', 'alg A256KW', mslJwk({ alg: 'A256KW' }), 'JWK_ALG'],
    ['msl', 'alg of another kind (A128CBC on the wrapping key)', mslJwk({ alg: 'A128CBC' }), 'JWK_ALG'],
    ['msl', 'no alg', mslJwk({ alg: undefined }), 'JWK_ALG'],
    ['msl', 'use enc on the wrapping key', mslJwk({ use: 'enc' }), 'JWK_USAGE'],
    ['msl', 'neither use nor key_ops', mslJwk({ use: undefined }), 'JWK_USAGE'],
    ['msl', 'key_ops of another kind', mslJwk({ use: undefined, key_ops: ['encrypt', 'decrypt'] }), 'JWK_USAGE'],
    ['msl', 'extractable true', mslJwk({ extractable: true }), 'JWK_EXTRACTABLE'],
    ['msl', 'a 32-byte key', mslJwk({ k: b64u(randomBytes(32)) }), 'JWK_LENGTH'],
    ['msl', 'a 15-byte key', mslJwk({ k: b64u(randomBytes(15)) }), 'JWK_LENGTH'],
    ['msl', 'no k', mslJwk({ k: undefined }), 'JWK_K'],
    ['msl', 'k in padded standard Base64', mslJwk({ k: Buffer.alloc(16, 0xfb).toString('base64') }), 'JWK_K'],
    ['msl', 'kty RSA', mslJwk({ kty: 'RSA' }), 'JWK_KTY'],
    ['msl', 'plaintext not JSON', 'not a jwk', 'JWK_MALFORMED'],
    ['msl', 'plaintext a JSON array', '[1,2]', 'JWK_MALFORMED'],
    ['msl', 'plaintext JSON null', 'null', 'JWK_MALFORMED'],
    ['rfc7516', 'no ext', rfcJwk({ ext: undefined }), 'JWK_EXTRACTABLE'],
    ['rfc7516', 'ext true', rfcJwk({ ext: true }), 'JWK_EXTRACTABLE'],
    ['rfc7516', 'MSL\'s use instead of key_ops', rfcJwk({ key_ops: undefined, use: 'wrap' }), 'JWK_USAGE'],
    ['rfc7516', 'key_ops of another kind', rfcJwk({ key_ops: ['sign', 'verify'] }), 'JWK_USAGE'],
    ['rfc7516', 'an extra key_op', rfcJwk({ key_ops: ['wrapKey', 'unwrapKey', 'encrypt'] }), 'JWK_USAGE'],
    ['rfc7516', 'a key_op twice', rfcJwk({ key_ops: ['wrapKey', 'wrapKey'] }), 'JWK_USAGE'],
    ['rfc7516', 'alg A192KW', rfcJwk({ alg: 'A192KW' }), 'JWK_ALG'],
    ['rfc7516', 'a 24-byte key', rfcJwk({ k: b64u(randomBytes(24)) }), 'JWK_LENGTH'],
  ];

  it.each(cases)('%s wrapping key with %s: INVALID_JWK %s', async (profile, _, jwk, reason) => {
    const f = await fixture(profile);
    await expectRejects(accept(f, withWrapkey(f, craft(profile, f.l.kpw, jwk))), C.INVALID_JWK, reason);
  });

  it.each(JWE_PROFILES)('the session keys too (%s): an HMAC key of 16 bytes, an encryption key with alg HS256', async (profile) => {
    const f = await fixture(profile);
    const enc = ENCODERS[profile];
    const hmac16 = enc.jwk('enc', randomBytes(16)).toString().replace('A128CBC', 'HS256').replace('"use":"enc"', '"use":"sig"').replace('"encrypt","decrypt"', '"sign","verify"');
    await expectRejects(accept(f, response(f, { hmackey: Buffer.from(craft(profile, f.kwrap, hmac16)).toString('base64') })), C.INVALID_JWK, 'JWK_LENGTH');
    const encHs = enc.jwk('enc', randomBytes(16)).toString().replace('A128CBC', 'HS256');
    await expectRejects(accept(f, response(f, { encryptionkey: Buffer.from(craft(profile, f.kwrap, encHs)).toString('base64') })), C.INVALID_JWK, 'JWK_ALG');
    // (control) the same construction with the right JWK is accepted
    const good = enc.jwk('hmac', randomBytes(32)).toString();
    expect((await accept(f, response(f, { hmackey: Buffer.from(craft(profile, f.kwrap, good)).toString('base64') }))).kcv.khmac).toBeDefined();
  });

  it('MSL\'s requestor accepts key_ops instead of use, and so do we (msl profile)', async () => {
    const f = await fixture('msl');
    const keys = await accept(f, withWrapkey(f, craft('msl', f.l.kpw, mslJwk({ use: undefined, key_ops: ['unwrapKey', 'wrapKey'], k: b64u(f.kwrap) }))));
    expect(keys.kcv.kwrap).toBeDefined();
  });
});

describe('the requestor refuses malformed key response data', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture('msl');
  });
  it.each([
    ['not an object', 'JWE_LADDER', C.MSL_PARSE_ERROR, 'NOT_AN_OBJECT'],
    ['null', null, C.MSL_PARSE_ERROR, 'NOT_AN_OBJECT'],
    ['another scheme', { scheme: 'ASYMMETRIC_WRAPPED', keydata: {} }, C.UNSUPPORTED_KEYX_MECHANISM, 'UNSUPPORTED_SCHEME'],
    ['no keydata', { scheme: 'JWE_LADDER' }, C.MSL_PARSE_ERROR, 'MISSING_MEMBER'],
    ['an unknown member', { scheme: 'JWE_LADDER', keydata: {}, extra: 1 }, C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER'],
    ['an envelope with an unknown member', { keyresponsedata: {}, extra: 1 }, C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER'],
  ] as const)('%s: %s %s', async (_, value, code, reason) => {
    await expectRejects(accept(f, value), code, reason);
  });

  it.each(['wrapkey', 'wrapdata', 'encryptionkey', 'hmackey'] as const)('keydata without %s, with it empty, with it in base64url, or with an unknown member', async (member) => {
    const keydata: Record<string, unknown> = { ...f.keydata };
    delete keydata[member];
    await expectRejects(accept(f, { scheme: 'JWE_LADDER', keydata }), C.MSL_PARSE_ERROR, 'MISSING_MEMBER');
    await expectRejects(accept(f, response(f, { [member]: '' })), C.MSL_PARSE_ERROR, 'EMPTY_VALUE');
    await expectRejects(accept(f, response(f, { [member]: 5 as unknown as string })), C.MSL_PARSE_ERROR, 'WRONG_TYPE');
    await expectRejects(accept(f, response(f, { [member]: `${f.keydata[member].replace(/=+$/, '')}` + (f.keydata[member].endsWith('=') ? '' : '_-') })), C.MSL_PARSE_ERROR, 'BAD_BASE64');
    await expectRejects(accept(f, { scheme: 'JWE_LADDER', keydata: { ...f.keydata, kid: '1' } }), C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER');
  });

  it('a LadderRequestor with no request pending: KEYX_RESPONSE_REQUEST_MISMATCH NO_PENDING_REQUEST', async () => {
    const d = new LadderRequestor(f.l.identity, f.kpw, 'PSK', 'msl');
    await expectRejects(d.accept(response(f)), C.KEYX_RESPONSE_REQUEST_MISMATCH, 'NO_PENDING_REQUEST');
    d.nextRequest();
    await d.accept(response(f));
    await expectRejects(d.accept(response(f)), C.KEYX_RESPONSE_REQUEST_MISMATCH, 'NO_PENDING_REQUEST');
  });
});
