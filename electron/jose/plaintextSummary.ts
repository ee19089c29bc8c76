// What may be said of a decrypted plaintext without showing it: a JWK (or a
// JWKS) as its metadata, with a KCV for a secret key and an RFC 7638
// thumbprint for a key pair, never its key members; anything else as its
// length and shape. The decoded key bytes are zeroed once the KCV is taken.
// (The JSON text a JWK is parsed from lives in JS strings, which cannot be
// zeroed; that is the caller's plaintext, which it zeroes.)
//
// A plaintext that is itself a compact JWS (a nested JWT: what KeyLadder's
// signed exports hold) is summarised by its header and its payload's summary,
// through the same key-member check as JSON (keyMembers.ts), so a signed
// bundle is withheld exactly as an unsigned one is. So is JSON that holds a
// JWS (JSON-serialized, or a compact one in a string), judged by its payload.

import { calculateJwkThumbprint, type JWK } from 'jose';
import { decodeBase64Url } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { KEY_KINDS } from '../jwe/keyKinds.js';
import { parseStrictJson } from '../encoding/strictJson.js';
import { kcv, type KcvKind } from '../jwe/kcv.js';
import { compactJws, withheldJson, withheldPayload } from './keyMembers.js';
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
  /** `holdsKeys`: key members somewhere in it, or a KeyLadder bundle (keyMembers.ts): never shown. */
  | { readonly kind: 'json'; readonly length: number; readonly members?: readonly string[]; readonly holdsKeys?: true }
  /** A compact JWS: its header's names (never the payload), and its payload's own summary. */
  | { readonly kind: 'jws'; readonly length: number; readonly header: JwsHeaderSummary; readonly payload: PlaintextSummary }
  | { readonly kind: 'text' | 'bytes'; readonly length: number };

export interface JwsHeaderSummary {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly cty?: string;
}

/** Whether what the summary describes holds key material, so that its bytes go to a file the operator names, never to a screen. */
export function withholds(summary: PlaintextSummary): boolean {
  if (summary.kind === 'jwk' || summary.kind === 'jwks') return true;
  if (summary.kind === 'json') return summary.holdsKeys === true;
  if (summary.kind === 'jws') return withholds(summary.payload);
  return false;
}

/** A nested JWS inside a JWS is followed this deep; deeper is withheld unread. */
const MAX_NESTING = 3;

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

function headerSummary(header: Readonly<Record<string, unknown>>): JwsHeaderSummary {
  const named = (name: string): Record<string, string> => (typeof header[name] === 'string' ? { [name]: header[name] as string } : {});
  return { alg: header['alg'] as string, ...named('kid'), ...named('typ'), ...named('cty') };
}

export async function summarizePlaintext(plaintext: Uint8Array, depth = 0): Promise<PlaintextSummary> {
  const length = plaintext.length;
  const text = fromUtf8(plaintext);
  if (text === undefined) return { kind: 'bytes', length };
  const parsed = parseStrictJson(text);
  // Nested beyond MAX_JSON_DEPTH (the JSON, or a compact JWS's header): never walked, so withheld unread.
  if (!parsed.ok && parsed.problem === 'too-deep') return { kind: 'json', length, holdsKeys: true };
  if (!parsed.ok) {
    const jws = compactJws(text);
    if (jws === 'too-deep') return { kind: 'json', length, holdsKeys: true };
    if (jws === undefined) {
      // JSON that names a member twice is refused wherever it is read, but a reader sees JSON all the
      // same: one that holds keys is withheld, not printed as text.
      if (parsed.problem === 'duplicate' && withheldPayload(plaintext, undefined, depth) !== undefined) return { kind: 'json', length, holdsKeys: true };
      return { kind: 'text', length };
    }
    try {
      // Too deep to follow: said to hold keys, so it is withheld rather than shown unread.
      let payload: PlaintextSummary = depth >= MAX_NESTING ? { kind: 'json', length: jws.payload.length, holdsKeys: true } : await summarizePlaintext(jws.payload, depth + 1);
      // The header's cty may name a KeyLadder export whose payload shows nothing of it: withheld all the same.
      if (!withholds(payload) && withheldPayload(jws.payload, jws.header['cty'], depth + 1) !== undefined) payload = { kind: 'json', length: jws.payload.length, holdsKeys: true };
      return { kind: 'jws', length, header: headerSummary(jws.header), payload };
    } finally {
      jws.payload.fill(0);
    }
  }
  const value = parsed.value;
  if (isJwk(value)) return { kind: 'jwk', length, jwk: await summarizeJwk(value) };
  if (isObject(value) && Array.isArray(value['keys']) && value['keys'].every(isJwk)) {
    return { kind: 'jwks', length, keys: await Promise.all((value['keys'] as (JWK & Record<string, unknown>)[]).map(summarizeJwk)) };
  }
  // withheldJson also looks for a JWS hidden inside (a JSON-serialized one, a string holding a compact one).
  const holdsKeys = withheldJson(value, undefined, depth) !== undefined;
  return { kind: 'json', length, ...(isObject(value) ? { members: Object.keys(value) } : {}), ...(holdsKeys ? { holdsKeys: true as const } : {}) };
}
