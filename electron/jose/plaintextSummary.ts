// What may be said of a decrypted plaintext without showing it: a JWK (or a
// JWKS) as its metadata, with a KCV for a secret key and an RFC 7638
// thumbprint for a key pair, never its key members; anything else as its
// length and shape. The decoded key bytes are zeroed once the KCV is taken.
// (The JSON text a JWK is parsed from lives in JS strings, which cannot be
// zeroed; that is the caller's plaintext, which it zeroes.)

import { calculateJwkThumbprint, type JWK } from 'jose';
import { decodeBase64Url, fromUtf8 } from '../ladder/base64.js';
import { KEY_KINDS } from '../ladder/keyKinds.js';
import { parseStrictJson } from '../ladder/strictJson.js';
import { kcv, type KcvKind } from '../jwe/kcv.js';
import { algorithmEntry } from './algorithms.js';

export interface JwkSummary {
  readonly kty: string;
  readonly alg?: string;
  readonly use?: string;
  readonly key_ops?: readonly string[];
  /** RFC 7517's "ext", or MSL's "extractable". */
  readonly ext?: boolean;
  readonly extractable?: boolean;
  readonly kid?: string;
  readonly crv?: string;
  /** A private or secret key (d, or k). */
  readonly secret: boolean;
  /** Key check value of an oct key (electron/jwe/kcv.ts). */
  readonly kcv?: string;
  /** RFC 7638 SHA-256 thumbprint (base64url) of an RSA, EC or OKP key. */
  readonly thumbprint?: string;
}

export type PlaintextSummary =
  | { readonly kind: 'jwk'; readonly length: number; readonly jwk: JwkSummary }
  | { readonly kind: 'jwks'; readonly length: number; readonly keys: readonly JwkSummary[] }
  | { readonly kind: 'json'; readonly length: number; readonly members?: readonly string[] }
  | { readonly kind: 'text' | 'bytes'; readonly length: number };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isJwk = (value: unknown): value is JWK & Record<string, unknown> => isObject(value) && typeof value['kty'] === 'string';

/** HMAC keys get HMAC's KCV: the JWS table's oct entries (HS256) and the ladder's HMAC key kind say which. */
function kcvKind(jwk: JWK, length: number): KcvKind {
  if (algorithmEntry('signature', jwk.alg)?.keyType === 'oct') return 'hmac';
  const kind = Object.values(KEY_KINDS).find((k) => k.jwkAlg === jwk.alg);
  if (kind !== undefined) return kind.kcv;
  return length === 16 || length === 24 || length === 32 ? 'aes' : 'hmac';
}

async function summarizeJwk(jwk: JWK & Record<string, unknown>): Promise<JwkSummary> {
  const pick = <T>(name: string, test: (v: unknown) => v is T): Record<string, T> => (test(jwk[name]) ? { [name]: jwk[name] as T } : {});
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
  const base = {
    kty: jwk.kty!,
    ...pick('alg', isString),
    ...pick('use', isString),
    ...pick('key_ops', isStrings),
    ...pick('ext', isBoolean),
    ...pick('extractable', isBoolean),
    ...pick('kid', isString),
    ...pick('crv', isString),
    secret: 'd' in jwk || 'k' in jwk,
  };
  if (jwk.kty === 'oct') {
    const key = typeof jwk.k === 'string' ? decodeBase64Url(jwk.k) : undefined;
    if (key === undefined || key.length === 0) return base;
    try {
      return { ...base, kcv: kcv(key, kcvKind(jwk, key.length)) };
    } finally {
      key.fill(0);
    }
  }
  try {
    return { ...base, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
  } catch {
    return base;
  }
}

export async function summarizePlaintext(plaintext: Uint8Array): Promise<PlaintextSummary> {
  const length = plaintext.length;
  const text = fromUtf8(plaintext);
  if (text === undefined) return { kind: 'bytes', length };
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return { kind: 'text', length };
  const value = parsed.value;
  if (isJwk(value)) return { kind: 'jwk', length, jwk: await summarizeJwk(value) };
  if (isObject(value) && Array.isArray(value['keys']) && value['keys'].every(isJwk)) {
    return { kind: 'jwks', length, keys: await Promise.all((value['keys'] as (JWK & Record<string, unknown>)[]).map(summarizeJwk)) };
  }
  return { kind: 'json', length, ...(isObject(value) ? { members: Object.keys(value) } : {}) };
}
