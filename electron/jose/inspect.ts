// Reads any JOSE object KeyLadder may be handed, without a key: a JWE in the
// compact, general JSON or flattened JSON serialization (RFC 7516 section 7),
// a JWS in any of the same three (RFC 7515 section 7), or MSL's pre-RFC JWE
// (read by the ladder's own reader, electron/ladder/jweDecrypt.ts).
//
// parseJose checks shape only and keeps every part (decrypting and verifying
// start from it); describeJose turns that into what the inspector shows:
// every header decoded, part lengths, the IV and tag, and each algorithm
// named with KeyLadder's verdict from the table. A JWS payload that holds key
// material (keyMembers.ts: key members, a KeyLadder bundle, or a JWS whose
// payload is one) is described by its member names only, never its text or
// bytes: a JWS protects integrity, not secrecy. Headers and JSON
// serializations go through strict JSON: a name given twice is refused, as
// JSON.parse would silently keep the last one.

import { decodeBase64Url } from '../encoding/base64.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { LadderError } from '../ladder/errors.js';
import { readJweParts, type JweParts } from '../ladder/jweDecrypt.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';
import { visible } from '../shared/visibleText.js';
import { algorithmVerdict, type AlgorithmVerdict } from './algorithms.js';
import { JoseRefusal, parseRefusal } from './errors.js';
import { withheldPayload, type Withheld } from './keyMembers.js';

export type Header = Readonly<Record<string, unknown>>;
export type Serialization = 'compact' | 'json-general' | 'json-flattened';

/** A base64url part, as written and decoded. */
export interface Part {
  readonly b64: string;
  readonly bytes: Uint8Array;
}

export interface ParsedRecipient {
  /** Per-recipient unprotected header. */
  readonly header?: Header;
  /** protected ∪ shared unprotected ∪ per-recipient: what the recipient's alg, enc and kid are read from. */
  readonly joseHeader: Header;
  readonly alg: string;
  readonly encryptedKey: Part;
}

export interface ParsedJwe {
  readonly type: 'jwe';
  readonly serialization: Serialization;
  /** The protected header as written ('' when there is none): the AAD starts with it. */
  readonly protectedB64: string;
  readonly protectedHeader?: Header;
  readonly sharedUnprotected?: Header;
  readonly recipients: readonly ParsedRecipient[];
  readonly enc: string;
  readonly iv: Part;
  readonly ciphertext: Part;
  readonly tag: Part;
  /** The JSON serializations' `aad` member. */
  readonly aad?: Part;
}

export interface ParsedSignature {
  readonly protectedB64: string;
  readonly protectedHeader?: Header;
  readonly header?: Header;
  readonly joseHeader: Header;
  readonly alg: string;
  readonly signature: Part;
}

export interface ParsedJws {
  readonly type: 'jws';
  readonly serialization: Serialization;
  readonly payload: Part;
  readonly signatures: readonly ParsedSignature[];
}

export interface ParsedMslJwe {
  readonly type: 'msl-jwe';
  readonly text: string;
  readonly parts: JweParts;
}

export type ParsedJose = ParsedJwe | ParsedJws | ParsedMslJwe;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function strictJson(text: string, what: string): unknown {
  const parsed = parseStrictJson(text);
  if (parsed.ok) return parsed.value;
  if (parsed.problem === 'too-deep') throw tooDeep(what);
  throw parseRefusal(parsed.problem === 'duplicate' ? `The ${what} names "${visible(parsed.member, 80)}" twice.` : `The ${what} is not valid JSON.`);
}

const tooDeep = (what: string): JoseRefusal => new JoseRefusal('TOO_DEEP', `The ${what} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);

function part(value: unknown, what: string): Part {
  if (typeof value !== 'string') throw parseRefusal(`The ${what} is missing or not a string.`);
  const bytes = decodeBase64Url(value);
  if (bytes === undefined) throw parseRefusal(`The ${what} is not base64url.`);
  return { b64: value, bytes };
}

function optionalPart(value: unknown, what: string): Part | undefined {
  return value === undefined ? undefined : part(value, what);
}

function headerObject(value: unknown, what: string): Header | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw parseRefusal(`The ${what} is not a JSON object.`);
  return value;
}

function protectedHeader(b64: unknown, what: string): { protectedB64: string; protectedHeader?: Header } {
  if (b64 === undefined) return { protectedB64: '' };
  const { bytes, b64: text } = part(b64, what);
  const json = fromUtf8(bytes);
  if (json === undefined) throw parseRefusal(`The ${what} is not UTF-8.`);
  const header = headerObject(strictJson(json, what), what);
  return { protectedB64: text, ...(header === undefined ? {} : { protectedHeader: header }) };
}

/** RFC 7516 section 7.2.1 / RFC 7515 section 7.2.1: the headers must not share a name. */
function joinHeaders(headers: readonly (Header | undefined)[], what: string): Header {
  const joined: Record<string, unknown> = {};
  for (const header of headers) {
    for (const [name, value] of Object.entries(header ?? {})) {
      if (name in joined) throw parseRefusal(`The ${what} headers both name "${name}".`);
      joined[name] = value;
    }
  }
  return joined;
}

function algOf(joseHeader: Header, what: string): string {
  const alg = joseHeader['alg'];
  if (typeof alg !== 'string' || alg === '') throw parseRefusal(`The ${what} names no "alg".`);
  return alg;
}

function parseJwe(fields: Record<string, unknown>, serialization: Serialization, recipientsIn: readonly unknown[]): ParsedJwe {
  const shared = protectedHeader(fields['protected'], 'JWE protected header');
  const sharedUnprotected = headerObject(fields['unprotected'], 'JWE shared unprotected header');
  if (recipientsIn.length === 0) throw parseRefusal('The JWE has no recipient.');
  const recipients = recipientsIn.map((r, index): ParsedRecipient => {
    const what = `JWE recipient ${index}`;
    if (!isObject(r)) throw parseRefusal(`The ${what} is not a JSON object.`);
    const header = headerObject(r['header'], `${what}'s header`);
    const joseHeader = joinHeaders([shared.protectedHeader, sharedUnprotected, header], `${what}'s`);
    return { ...(header === undefined ? {} : { header }), joseHeader, alg: algOf(joseHeader, what), encryptedKey: part(r['encrypted_key'] ?? '', `${what}'s encrypted key`) };
  });
  const enc = recipients[0]!.joseHeader['enc'];
  if (typeof enc !== 'string' || enc === '') throw parseRefusal('The JWE names no "enc".');
  if (recipients.some((r) => r.joseHeader['enc'] !== enc)) throw parseRefusal('The JWE\'s recipients name different "enc" values.');
  const aad = optionalPart(fields['aad'], 'JWE AAD');
  return {
    type: 'jwe',
    serialization,
    ...shared,
    ...(sharedUnprotected === undefined ? {} : { sharedUnprotected }),
    recipients,
    enc,
    iv: part(fields['iv'], 'JWE initialization vector'),
    ciphertext: part(fields['ciphertext'], 'JWE ciphertext'),
    tag: part(fields['tag'], 'JWE authentication tag'),
    ...(aad === undefined ? {} : { aad }),
  };
}

function parseJws(payload: unknown, serialization: Serialization, signaturesIn: readonly unknown[]): ParsedJws {
  if (signaturesIn.length === 0) throw parseRefusal('The JWS has no signature.');
  const signatures = signaturesIn.map((s, index): ParsedSignature => {
    const what = `JWS signature ${index}`;
    if (!isObject(s)) throw parseRefusal(`The ${what} is not a JSON object.`);
    const shared = protectedHeader(s['protected'], `${what}'s protected header`);
    const header = headerObject(s['header'], `${what}'s header`);
    const joseHeader = joinHeaders([shared.protectedHeader, header], `${what}'s`);
    return { ...shared, ...(header === undefined ? {} : { header }), joseHeader, alg: algOf(joseHeader, what), signature: part(s['signature'], `${what}'s signature`) };
  });
  return { type: 'jws', serialization, payload: part(payload, 'JWS payload'), signatures };
}

/** MSL's JWE: its own member names (initialization_vector, integrity_value) and a header that is base64url text. */
function looksLikeMsl(fields: Record<string, unknown>): boolean {
  const first = Array.isArray(fields['recipients']) ? (fields['recipients'][0] as unknown) : undefined;
  return 'initialization_vector' in fields || (isObject(first) && ('integrity_value' in first || typeof first['header'] === 'string'));
}

function parseMsl(text: string): ParsedMslJwe {
  try {
    return { type: 'msl-jwe', text, parts: readJweParts(text) };
  } catch (error) {
    if (error instanceof LadderError) throw error.reason === 'JSON_TOO_DEEP' ? new JoseRefusal('TOO_DEEP', error.message) : parseRefusal(error.message);
    throw error;
  }
}

/**
 * Parses a JOSE object (text; surrounding whitespace, as a file ends, is
 * ignored). Throws a JoseRefusal with code PARSE for anything malformed.
 */
export function parseJose(input: string | Uint8Array): ParsedJose {
  const decoded = typeof input === 'string' ? input : fromUtf8(input);
  if (decoded === undefined) throw parseRefusal('The JOSE object is not UTF-8 text.');
  const text = decoded.trim();
  if (text.startsWith('{')) {
    const fields = strictJson(text, 'JOSE object');
    if (!isObject(fields)) throw parseRefusal('The JOSE object is not a JSON object.');
    if (looksLikeMsl(fields)) return parseMsl(text);
    if ('ciphertext' in fields) {
      if ('recipients' in fields) {
        if (!Array.isArray(fields['recipients'])) throw parseRefusal('The JWE\'s recipients are not an array.');
        if ('header' in fields || 'encrypted_key' in fields) throw parseRefusal('A general JWE keeps header and encrypted_key in its recipients.');
        return parseJwe(fields, 'json-general', fields['recipients']);
      }
      return parseJwe(fields, 'json-flattened', [{ header: fields['header'], encrypted_key: fields['encrypted_key'] }]);
    }
    if ('payload' in fields) {
      if ('signatures' in fields) {
        if (!Array.isArray(fields['signatures'])) throw parseRefusal('The JWS\'s signatures are not an array.');
        if ('signature' in fields || 'protected' in fields || 'header' in fields) throw parseRefusal('A general JWS keeps protected, header and signature in its signatures.');
        return parseJws(fields['payload'], 'json-general', fields['signatures']);
      }
      return parseJws(fields['payload'], 'json-flattened', [{ protected: fields['protected'], header: fields['header'], signature: fields['signature'] }]);
    }
    throw parseRefusal('The JSON is neither a JWE (no "ciphertext") nor a JWS (no "payload").');
  }
  const parts = text.split('.');
  if (parts.length === 5) {
    const [protectedB64, encryptedKey, iv, ciphertext, tag] = parts;
    const fields = { protected: protectedB64, iv, ciphertext, tag };
    if (protectedB64 === '') throw parseRefusal('A compact JWE has a protected header.');
    return parseJwe(fields, 'compact', [{ encrypted_key: encryptedKey }]);
  }
  if (parts.length === 3) {
    const [protectedB64, payload, signature] = parts;
    if (protectedB64 === '') throw parseRefusal('A compact JWS has a protected header.');
    return parseJws(payload, 'compact', [{ protected: protectedB64, signature }]);
  }
  throw parseRefusal('The text is no JOSE object: a compact JWE has five parts and a JWS three, and JSON serializations start with "{".');
}

// ---- What the inspector shows ----

export interface BytesView {
  readonly length: number;
  readonly hex: string;
}

export interface JweRecipientView {
  readonly index: number;
  readonly header?: Header;
  readonly alg: AlgorithmVerdict;
  readonly kid?: string;
  readonly encryptedKeyLength: number;
}

export interface JweView {
  readonly type: 'jwe';
  readonly serialization: Serialization;
  readonly protectedHeader?: Header;
  readonly sharedUnprotectedHeader?: Header;
  readonly recipients: readonly JweRecipientView[];
  readonly enc: AlgorithmVerdict;
  readonly iv: BytesView;
  /** The JSON serializations' `aad` member, decoded as text where it is UTF-8. */
  readonly aad?: BytesView & { readonly text?: string };
  readonly ciphertextLength: number;
  readonly tag: BytesView;
}

export type JwsPayloadView =
  | (BytesView & { readonly text?: string; readonly withheld?: undefined })
  | { readonly length: number; readonly withheld: Withheld };

export interface JwsSignatureView {
  readonly index: number;
  readonly protectedHeader?: Header;
  readonly header?: Header;
  readonly alg: AlgorithmVerdict;
  readonly kid?: string;
  readonly signatureLength: number;
}

export interface JwsView {
  readonly type: 'jws';
  readonly serialization: Serialization;
  /** A JWS protects integrity, not secrecy: its payload is shown, as text where it is UTF-8, unless it holds key material (then `withheld` only). */
  readonly payload: JwsPayloadView;
  readonly signatures: readonly JwsSignatureView[];
}

export interface MslJweView {
  readonly type: 'msl-jwe';
  readonly serialization: 'msl-json' | 'msl-compact';
  readonly header: Header;
  readonly alg: AlgorithmVerdict;
  readonly enc: AlgorithmVerdict;
  readonly encryptedKeyLength: number;
  readonly iv: BytesView;
  /** MSL's AAD is the ASCII of header.encrypted_key.iv (RFC 7516 uses the protected header alone). */
  readonly aad: string;
  readonly ciphertextLength: number;
  readonly tag: BytesView;
}

export type JoseView = JweView | JwsView | MslJweView;

const bytesView = (bytes: Uint8Array): BytesView => ({ length: bytes.length, hex: Buffer.from(bytes).toString('hex') });
const kidOf = (header: Header): { kid?: string } => (typeof header['kid'] === 'string' ? { kid: header['kid'] } : {});

function textOf(bytes: Uint8Array): { text?: string } {
  const text = fromUtf8(bytes);
  return text === undefined ? {} : { text };
}

/** The payload, or (when it holds key material, by its content or a signature's cty) its length and member names only. */
function payloadView(jws: ParsedJws): JwsPayloadView {
  const bytes = jws.payload.bytes;
  const ctys = jws.signatures.map((s) => s.joseHeader['cty']);
  for (const cty of ctys.length > 0 ? ctys : [undefined]) {
    const withheld = withheldPayload(bytes, cty);
    if (withheld !== undefined) return { length: bytes.length, withheld };
  }
  return { ...bytesView(bytes), ...textOf(bytes) };
}

export function describeJose(parsed: ParsedJose): JoseView {
  if (parsed.type === 'jwe') {
    return {
      type: 'jwe',
      serialization: parsed.serialization,
      ...(parsed.protectedHeader === undefined ? {} : { protectedHeader: parsed.protectedHeader }),
      ...(parsed.sharedUnprotected === undefined ? {} : { sharedUnprotectedHeader: parsed.sharedUnprotected }),
      recipients: parsed.recipients.map((r, index) => ({
        index,
        ...(r.header === undefined ? {} : { header: r.header }),
        alg: algorithmVerdict('key-management', r.alg),
        ...kidOf(r.joseHeader),
        encryptedKeyLength: r.encryptedKey.bytes.length,
      })),
      enc: algorithmVerdict('content-encryption', parsed.enc),
      iv: bytesView(parsed.iv.bytes),
      ...(parsed.aad === undefined ? {} : { aad: { ...bytesView(parsed.aad.bytes), ...textOf(parsed.aad.bytes) } }),
      ciphertextLength: parsed.ciphertext.bytes.length,
      tag: bytesView(parsed.tag.bytes),
    };
  }
  if (parsed.type === 'jws') {
    return {
      type: 'jws',
      serialization: parsed.serialization,
      payload: payloadView(parsed),
      signatures: parsed.signatures.map((s, index) => ({
        index,
        ...(s.protectedHeader === undefined ? {} : { protectedHeader: s.protectedHeader }),
        ...(s.header === undefined ? {} : { header: s.header }),
        alg: algorithmVerdict('signature', s.alg),
        ...kidOf(s.joseHeader),
        signatureLength: s.signature.bytes.length,
      })),
    };
  }
  const p = parsed.parts;
  return {
    type: 'msl-jwe',
    serialization: p.serialization === 'json' ? 'msl-json' : 'msl-compact',
    header: p.header,
    alg: algorithmVerdict('key-management', p.header['alg']),
    enc: algorithmVerdict('content-encryption', p.header['enc']),
    encryptedKeyLength: p.encryptedKey.length,
    iv: bytesView(p.iv),
    aad: `${p.headerB64}.${p.encryptedKeyB64}.${p.ivB64}`,
    ciphertextLength: p.ciphertext.length,
    tag: bytesView(p.tag),
  };
}

/** Parses and describes: the inspector's whole answer for an object, without a key. */
export const inspectJose = (input: string | Uint8Array): JoseView => describeJose(parseJose(input));

/** The additional authenticated data of an RFC 7516 JWE: ASCII(protected) [ '.' ASCII(aad) ]. */
export const jweAad = (jwe: ParsedJwe): Uint8Array => utf8(jwe.aad === undefined ? jwe.protectedB64 : `${jwe.protectedB64}.${jwe.aad.b64}`);
