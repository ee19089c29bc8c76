// The keys a JWE is decrypted or a JWS verified with, and which of them a
// recipient or signature may be tried with: the key type the table names for
// its algorithm, and its kid. A header's kid must match a key's kid; a key
// with no kid (a key file the operator picked) is tried whatever the kid.

import { decodeBase64Url } from '../encoding/base64.js';
import type { JWK } from 'jose';
import type { ContentEncryptionEntry, KeyManagementEntry, SignatureEntry } from './algorithms.js';

export type JoseKey =
  | { readonly kind: 'jwk'; readonly jwk: JWK; readonly kid?: string }
  /** PBES2: the passphrase's UTF-8 bytes; the caller zeroes them after. */
  | { readonly kind: 'passphrase'; readonly passphrase: Uint8Array; readonly kid?: string };

/** The key's kid: the one it was given under, else its JWK's. */
export function kidOfKey(key: JoseKey): string | undefined {
  if (key.kid !== undefined) return key.kid;
  return key.kind === 'jwk' && typeof key.jwk.kid === 'string' ? key.jwk.kid : undefined;
}

function octLength(jwk: JWK): number | undefined {
  return typeof jwk.k === 'string' ? decodeBase64Url(jwk.k)?.length : undefined;
}

/** Whether `key` is of the type and size the entry takes (and, for decryption, holds its private half). */
export function keyFits(entry: KeyManagementEntry | SignatureEntry, key: JoseKey, enc?: ContentEncryptionEntry, use: 'open' | 'verify' = 'open'): boolean {
  if (entry.keyType === 'passphrase' || key.kind === 'passphrase') return entry.keyType === 'passphrase' && key.kind === 'passphrase';
  const { jwk } = key;
  if (jwk.kty !== entry.keyType) return false;
  if (jwk.use !== undefined && jwk.use !== (entry.kind === 'signature' ? 'sig' : 'enc')) return false;
  // A key bound to an algorithm (RFC 7517 4.4) is used for that one only; "dir" keys name their content cipher.
  if (jwk.alg !== undefined && jwk.alg !== entry.name && !(entry.kind === 'key-management' && entry.direct === true && jwk.alg === enc?.name)) return false;
  if (entry.curves !== undefined && (typeof jwk.crv !== 'string' || !entry.curves.includes(jwk.crv))) return false;
  if (jwk.kty === 'oct') {
    const wanted = octBytesFor(entry, enc);
    return wanted === undefined ? octLength(jwk) !== undefined : octLength(jwk) === wanted;
  }
  return use === 'verify' || typeof jwk.d === 'string';
}

/** The size of secret key a key-management entry takes: its KEK's ("dir": the content cipher's). */
const octBytesFor = (entry: KeyManagementEntry | SignatureEntry, enc?: ContentEncryptionEntry): number | undefined =>
  entry.kind === 'key-management' ? (entry.direct === true ? enc?.cekBytes : entry.keyBytes) : undefined;

/**
 * A secret (oct) key that would be tried but for its size: a 32-byte key given
 * for A128KW, which takes 16. Said as such (issue 22, item 8), not as "no key
 * for this kid", which sends the operator looking for another key.
 */
export function octSizeMismatch(entry: KeyManagementEntry, key: JoseKey, enc?: ContentEncryptionEntry): { readonly given: number; readonly wanted: number } | undefined {
  if (key.kind !== 'jwk' || key.jwk.kty !== 'oct' || entry.keyType !== 'oct') return undefined;
  const wanted = octBytesFor(entry, enc);
  const given = octLength(key.jwk);
  return wanted !== undefined && given !== undefined && given !== wanted ? { given, wanted } : undefined;
}

/** The public members of an asymmetric JWK (a private JWK verifies as its public half); an oct JWK as it is. */
export function publicJwk(jwk: JWK): JWK {
  if (jwk.kty === 'oct') return jwk;
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
}

/** The keys a recipient or signature naming `kid` (or none) may be tried with, in the order given. */
export function candidateKeys(keys: readonly JoseKey[], kid: string | undefined): JoseKey[] {
  return keys.filter((key) => {
    const own = kidOfKey(key);
    return own === undefined || kid === undefined || own === kid;
  });
}
