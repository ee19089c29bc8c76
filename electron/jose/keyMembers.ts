// Which JSON (or JWS payload) holds key material, so that no door shows it:
// the CLI does not print it, the inspector does not decode it, the renderer
// never receives it. Base64url is an encoding, not protection: a JWS whose
// payload is a bundle carries the bundle's keys in its middle part, so a
// compact JWS is judged by its payload, and a nested one (cty JWT) by the
// innermost payload.

import { decodeBase64Url, fromUtf8 } from '../ladder/base64.js';
import { parseStrictJson } from '../ladder/strictJson.js';

/** Members that hold key material, in JWKs (RFC 7518 6) and in KeyLadder's and MSL's own JSON. */
const KEY_MEMBERS = new Set(['k', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'kpw', 'kpe', 'kph', 'kdw', 'kde', 'kdh', 'kissuer', 'key', 'keys', 'secret', 'passphrase', 'wrapkey', 'encryptionkey', 'hmackey', 'wrapdata']);

/** The `format` (and JWS `cty`) of what KeyLadder exports (bundles.ts's BundleKind): each is for its recipient only, and most carry keys. */
export const BUNDLE_KINDS = ['keyladder-provisioning-bundle', 'keyladder-group-bundle', 'keyladder-issuer-export', 'keyladder-revocation-list'] as const;
const BUNDLES: ReadonlySet<string> = new Set(BUNDLE_KINDS);

/** How deep a JWS inside a JWS is followed; deeper nesting is withheld unread. */
const MAX_NESTING = 3;

export function holdsKeyMembers(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsKeyMembers);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([name, member]) => KEY_MEMBERS.has(name.toLowerCase()) || holdsKeyMembers(member));
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A KeyLadder export's plaintext (its "format" names a bundle kind). */
export const isBundle = (value: unknown): boolean => isObject(value) && typeof value['format'] === 'string' && BUNDLES.has(value['format']);

/** JSON whose text must not be shown: key members anywhere in it, or a KeyLadder bundle. */
export const secretJson = (value: unknown): boolean => holdsKeyMembers(value) || isBundle(value);

export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  /** Decoded; the caller zeroes it. */
  readonly payload: Uint8Array;
}

/** `text` as a compact JWS (three base64url parts, a JSON object header naming an alg), or undefined. */
export function compactJws(text: string): CompactJws | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 3 || parts[0] === '') return undefined;
  const headerBytes = decodeBase64Url(parts[0]!);
  const headerText = headerBytes === undefined ? undefined : fromUtf8(headerBytes);
  const parsed = headerText === undefined ? undefined : parseStrictJson(headerText);
  if (parsed === undefined || !parsed.ok || !isObject(parsed.value) || typeof parsed.value['alg'] !== 'string') return undefined;
  const payload = decodeBase64Url(parts[1]!);
  return payload === undefined ? undefined : { header: parsed.value, payload };
}

/** Why a payload is not shown, and what may be said of it instead: its top-level member names. */
export interface Withheld {
  readonly reason: 'key-members' | 'keyladder-bundle' | 'nested';
  readonly members: readonly string[];
}

/**
 * Why these bytes (a JWS payload, a decrypted plaintext) must not be shown,
 * or undefined when they may be. `cty`: the content type a header gave them.
 */
export function withheldPayload(bytes: Uint8Array, cty?: unknown, depth = 0): Withheld | undefined {
  const text = fromUtf8(bytes);
  if (text === undefined) return undefined;
  const parsed = parseStrictJson(text);
  if (parsed.ok) {
    const members = isObject(parsed.value) ? Object.keys(parsed.value) : [];
    if (holdsKeyMembers(parsed.value)) return { reason: 'key-members', members };
    if (isBundle(parsed.value) || (typeof cty === 'string' && BUNDLES.has(cty))) return { reason: 'keyladder-bundle', members };
    return undefined;
  }
  if (typeof cty === 'string' && BUNDLES.has(cty)) return { reason: 'keyladder-bundle', members: [] };
  const inner = compactJws(text);
  if (inner === undefined) return undefined;
  try {
    if (depth >= MAX_NESTING) return { reason: 'nested', members: [] };
    return withheldPayload(inner.payload, inner.header['cty'], depth + 1);
  } finally {
    inner.payload.fill(0);
  }
}
