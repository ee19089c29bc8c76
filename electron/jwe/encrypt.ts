// The responder's side of both JWE profiles, on node:crypto for speed (jose
// runs on Web Crypto and costs about 170 us per JWE here; this costs about
// 8 us). Tests decrypt every output with jose and with the Web Crypto requestor.
//
// Both profiles share the algorithms (A128KW + A128GCM) and differ in three
// things, kept side by side below: the JWK members, the additional
// authenticated data, and the serialization.
//
// The hot path is one exchange = three JWEs, so every constant part (headers,
// JWK prefixes and suffixes) is built once, and each JWE costs exactly one key
// wrap and one AES-GCM call (the two JWEs under Kwrap share one wrapEach).

import { createCipheriv } from 'node:crypto';
import { keyWrap as detectedKeyWrap, type KeyWrapImplementation } from './aesKeyWrap.js';
import { JWE_ALG, JWE_CTY, JWE_ENC, KEY_KINDS, type JweProfileName, type KeyKind } from './keyKinds.js';

/** MSL writes its per-recipient header in this member order; precomputed once. */
export const MSL_HEADER_JSON = `{"enc":"${JWE_ENC}","alg":"${JWE_ALG}"}`;
export const RFC7516_PROTECTED_HEADER_JSON = `{"alg":"${JWE_ALG}","enc":"${JWE_ENC}","cty":"${JWE_CTY}"}`;
const MSL_HEADER_B64 = Buffer.from(MSL_HEADER_JSON).toString('base64url');
const RFC_PROTECTED_B64 = Buffer.from(RFC7516_PROTECTED_HEADER_JSON).toString('base64url');
const RFC_AAD = Buffer.from(RFC_PROTECTED_B64, 'latin1');

export interface JweProfileEncoder {
  readonly name: JweProfileName;
  /** The JWK plaintext for `key`, as bytes the caller zeroes after use. */
  jwk(kind: KeyKind, key: Buffer, kid?: string): Buffer;
  /** The JWE serialization (ASCII) of `plaintext` for `kek`, with the given CEK and IV. */
  encrypt(kek: Uint8Array, plaintext: Uint8Array, cek: Uint8Array, iv: Buffer): string;
  /** The same, given the CEK already wrapped under the KEK (KeyWrapImplementation.wrapEach). */
  encryptWrapped(encryptedKey: Buffer, plaintext: Uint8Array, cek: Uint8Array, iv: Buffer): string;
}

/** AES-128-GCM with a 16-byte tag: ciphertext and tag, base64url. */
function gcm(cek: Uint8Array, iv: Uint8Array, aad: Buffer, plaintext: Uint8Array): { ciphertext: string; tag: string } {
  const cipher = createCipheriv('aes-128-gcm', cek, iv);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final(); // GCM is a stream mode: always empty, but it computes the tag
  const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return { ciphertext: ciphertext.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') };
}

// JWK text around the key, per kind and profile, built once.
type JwkParts = Readonly<Record<KeyKind, { readonly prefix: string; readonly suffix: string }>>;
const jwkParts = (build: (kind: KeyKind) => [string, string]): JwkParts => {
  const entry = (kind: KeyKind) => {
    const [prefix, suffix] = build(kind);
    return { prefix, suffix };
  };
  return { wrap: entry('wrap'), enc: entry('enc'), hmac: entry('hmac') };
};

// MSL's JsonWebKey writes kty, use, extractable, kid (Kwrap only), k, alg.
const MSL_JWK = jwkParts((kind) => [`{"kty":"oct","use":"${KEY_KINDS[kind].mslUse}","extractable":false,`, `","alg":"${KEY_KINDS[kind].jwkAlg}"}`]);
// An RFC 7517 JWK that Web Crypto imports with extractable = false.
const RFC_JWK = jwkParts((kind) => [`{"kty":"oct","k":"`, `","alg":"${KEY_KINDS[kind].jwkAlg}","key_ops":[${KEY_KINDS[kind].keyOps.map((op) => `"${op}"`).join(',')}],"ext":false}`]);

/**
 * The two profiles' encoders over one key wrap implementation. The responder
 * uses the one this runtime detected (ENCODERS); the bench builds both to
 * compare the portable path with OpenSSL's.
 */
export function encodersFor(kw: KeyWrapImplementation): Readonly<Record<JweProfileName, JweProfileEncoder>> {
  /** MSL's pre-RFC JWE JSON serialization; AAD = header.encrypted_key.iv. */
  const msl: JweProfileEncoder = {
    name: 'msl',
    jwk(kind, key, kid) {
      const { prefix, suffix } = MSL_JWK[kind];
      const kidMember = kid === undefined ? '' : `"kid":"${kid}",`;
      return Buffer.from(`${prefix}${kidMember}"k":"${key.toString('base64url')}${suffix}`, 'latin1');
    },
    encrypt(kek, plaintext, cek, iv) {
      return msl.encryptWrapped(kw.wrap(kek, cek), plaintext, cek, iv);
    },
    encryptWrapped(wrapped, plaintext, cek, iv) {
      const encryptedKey = wrapped.toString('base64url');
      const ivB64 = iv.toString('base64url');
      const { ciphertext, tag } = gcm(cek, iv, Buffer.from(`${MSL_HEADER_B64}.${encryptedKey}.${ivB64}`, 'latin1'), plaintext);
      return `{"ciphertext":"${ciphertext}","recipients":[{"integrity_value":"${tag}","encrypted_key":"${encryptedKey}","header":"${MSL_HEADER_B64}"}],"initialization_vector":"${ivB64}"}`;
    },
  };
  /** RFC 7516 compact serialization; AAD = the protected header. */
  const rfc7516: JweProfileEncoder = {
    name: 'rfc7516',
    jwk(kind, key) {
      const { prefix, suffix } = RFC_JWK[kind];
      return Buffer.from(`${prefix}${key.toString('base64url')}${suffix}`, 'latin1');
    },
    encrypt(kek, plaintext, cek, iv) {
      return rfc7516.encryptWrapped(kw.wrap(kek, cek), plaintext, cek, iv);
    },
    encryptWrapped(wrapped, plaintext, cek, iv) {
      const encryptedKey = wrapped.toString('base64url');
      const { ciphertext, tag } = gcm(cek, iv, RFC_AAD, plaintext);
      return `${RFC_PROTECTED_B64}.${encryptedKey}.${iv.toString('base64url')}.${ciphertext}.${tag}`;
    },
  };
  return { msl, rfc7516 };
}

export const ENCODERS: Readonly<Record<JweProfileName, JweProfileEncoder>> = encodersFor(detectedKeyWrap);
