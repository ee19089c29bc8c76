// Which JSON (or JWS payload) holds key material, so that no door shows it:
// the CLI does not print it, the inspector does not decode it, the renderer
// never receives it. Base64url is an encoding, not protection: a JWS whose
// payload is a bundle carries the bundle's keys in its middle part, so a
// compact JWS is judged by its payload, and a nested one (cty JWT) by the
// innermost payload. The JSON serialization (RFC 7515 7.2) hides the same
// bytes in its "payload" member, and a JSON string can hold a compact JWS, so
// parsed JSON is searched for both (hiddenInside) before it may be shown.

import { decodeBase64Url } from '../encoding/base64.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { parseStrictJson } from '../encoding/strictJson.js';

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

export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  /** Decoded; the caller zeroes it. */
  readonly payload: Uint8Array;
}

/**
 * `text` as a compact JWS (three base64url parts, a JSON object header naming
 * an alg), or undefined; 'too-deep' when its header nests beyond
 * MAX_JSON_DEPTH (unread: whatever it carries is withheld, not shown).
 */
export function compactJws(text: string): CompactJws | 'too-deep' | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 3 || parts[0] === '') return undefined;
  const headerBytes = decodeBase64Url(parts[0]!);
  const headerText = headerBytes === undefined ? undefined : fromUtf8(headerBytes);
  const parsed = headerText === undefined ? undefined : parseStrictJson(headerText);
  if (parsed?.ok === false && parsed.problem === 'too-deep') return 'too-deep';
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
 * Text as JSON for judging it: strictly, or, when a member is named twice,
 * as JSON.parse reads it. Such text is refused wherever it is interpreted,
 * but here it is only judged, and one that named "kpw" twice must not pass
 * for plain text and be shown. Undefined when it is no JSON; 'too-deep' when
 * it nests beyond MAX_JSON_DEPTH (never walked, so never shown).
 */
function jsonToJudge(text: string): { value: unknown } | 'too-deep' | undefined {
  const parsed = parseStrictJson(text);
  if (parsed.ok) return { value: parsed.value };
  if (parsed.problem === 'too-deep') return 'too-deep';
  if (parsed.problem !== 'duplicate') return undefined;
  return { value: JSON.parse(text) as unknown };
}

/** Whether an object is a JSON-serialized JWS (RFC 7515 7.2, general or flattened): a string payload and a signature or signatures. */
function isJsonJws(value: Record<string, unknown>): boolean {
  return typeof value['payload'] === 'string' && (value['signature'] !== undefined || value['signatures'] !== undefined);
}

/**
 * The headers of a JSON-serialized JWS: each protected header decoded, and
 * each unprotected one; `undefined` for a protected header that does not
 * decode to a JSON object (then nothing it might say can be trusted, and
 * its payload is withheld).
 */
function jsonJwsHeaders(jws: Record<string, unknown>): Array<Record<string, unknown> | undefined> {
  const signatures = Array.isArray(jws['signatures']) ? jws['signatures'] : [jws];
  const headers: Array<Record<string, unknown> | undefined> = [];
  for (const signature of signatures) {
    if (!isObject(signature)) continue;
    if (signature['protected'] !== undefined) {
      const bytes = typeof signature['protected'] === 'string' ? decodeBase64Url(signature['protected']) : undefined;
      const text = bytes === undefined ? undefined : fromUtf8(bytes);
      const parsed = text === undefined ? undefined : jsonToJudge(text);
      headers.push(parsed !== undefined && parsed !== 'too-deep' && isObject(parsed.value) ? parsed.value : undefined);
    }
    if (isObject(signature['header'])) headers.push(signature['header']);
  }
  return headers;
}

/**
 * Why the payload of a JSON-serialized JWS must not be shown: judged as a
 * compact JWS's is (withheldPayload), under each content type its headers
 * give it, so that the JSON serialization hides no more than the compact one.
 */
function withheldJsonJws(jws: Record<string, unknown>, depth: number): Withheld | undefined {
  if (depth >= MAX_NESTING) return { reason: 'nested', members: [] };
  const headers = jsonJwsHeaders(jws);
  if (headers.includes(undefined)) return { reason: 'nested', members: [] };
  const payloadText = jws['payload'] as string;
  // RFC 7797: "b64": false carries the payload as it is, unencoded.
  const unencoded = headers.some((h) => h!['b64'] === false);
  const payload = unencoded ? utf8(payloadText) : decodeBase64Url(payloadText);
  // Not base64url: no JWS hides bytes in it; the string itself is judged with the other members.
  if (payload === undefined) return undefined;
  try {
    const ctys = headers.map((h) => h!['cty']).filter((cty) => cty !== undefined);
    for (const cty of ctys.length > 0 ? ctys : [undefined]) {
      const withheld = withheldPayload(payload, cty, depth + 1);
      if (withheld !== undefined) return withheld;
    }
    return undefined;
  } finally {
    payload.fill(0);
  }
}

/**
 * Key material hidden inside parsed JSON behind an encoding rather than
 * under a member name: a JSON-serialized JWS anywhere in it, and strings that
 * are a compact JWS or JSON text themselves (a JSON string holding "eyJ…", a
 * member whose value is a signed bundle). Each is judged like a payload, one
 * level deeper; deeper than MAX_NESTING it is withheld unread.
 */
function hiddenInside(value: unknown, depth: number): Withheld | undefined {
  if (typeof value === 'string') return withheldString(value, depth);
  if (Array.isArray(value)) {
    for (const item of value) {
      const withheld = hiddenInside(item, depth);
      if (withheld !== undefined) return withheld;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  if (isJsonJws(value)) {
    const withheld = withheldJsonJws(value, depth);
    if (withheld !== undefined) return withheld;
  }
  for (const member of Object.values(value)) {
    const withheld = hiddenInside(member, depth);
    if (withheld !== undefined) return withheld;
  }
  return undefined;
}

/** A string inside JSON: a compact JWS is judged by its payload, JSON text (an object or array) as JSON. */
function withheldString(text: string, depth: number): Withheld | undefined {
  const jws = compactJws(text);
  if (jws === 'too-deep') return { reason: 'nested', members: [] };
  if (jws !== undefined) {
    try {
      if (depth >= MAX_NESTING) return { reason: 'nested', members: [] };
      return withheldPayload(jws.payload, jws.header['cty'], depth + 1);
    } finally {
      jws.payload.fill(0);
    }
  }
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  const parsed = jsonToJudge(text);
  if (parsed === undefined) return undefined;
  if (parsed === 'too-deep' || depth >= MAX_NESTING) return { reason: 'nested', members: [] };
  return withheldJson(parsed.value, undefined, depth + 1);
}

/**
 * Why parsed JSON must not be shown: key members anywhere, a KeyLadder bundle
 * (by its format, or the `cty` it came under), or either hidden inside it
 * (hiddenInside). `members`: its top-level names, which may be said instead.
 */
export function withheldJson(value: unknown, cty?: unknown, depth = 0): Withheld | undefined {
  const members = isObject(value) ? Object.keys(value) : [];
  try {
    if (holdsKeyMembers(value)) return { reason: 'key-members', members };
    if (isBundle(value) || (typeof cty === 'string' && BUNDLES.has(cty))) return { reason: 'keyladder-bundle', members };
    const hidden = hiddenInside(value, depth);
    return hidden === undefined ? undefined : { reason: hidden.reason, members };
  } catch {
    // JSON nested deeper than the stack can walk (JSON.parse reads deeper than a recursive walk):
    // not judged, so not shown.
    return { reason: 'nested', members };
  }
}

/**
 * Why these bytes (a JWS payload, a decrypted plaintext) must not be shown,
 * or undefined when they may be. `cty`: the content type a header gave them.
 */
export function withheldPayload(bytes: Uint8Array, cty?: unknown, depth = 0): Withheld | undefined {
  const text = fromUtf8(bytes);
  if (text === undefined) return undefined;
  const parsed = jsonToJudge(text);
  if (parsed === 'too-deep') return { reason: 'nested', members: [] };
  if (parsed !== undefined) return withheldJson(parsed.value, cty, depth);
  if (typeof cty === 'string' && BUNDLES.has(cty)) return { reason: 'keyladder-bundle', members: [] };
  const inner = compactJws(text);
  if (inner === 'too-deep') return { reason: 'nested', members: [] };
  if (inner === undefined) return undefined;
  try {
    if (depth >= MAX_NESTING) return { reason: 'nested', members: [] };
    return withheldPayload(inner.payload, inner.header['cty'], depth + 1);
  } finally {
    inner.payload.fill(0);
  }
}
