// JWE_LADDER key request and key response data, in MSL's JSON encoding.
//
// Parsing is strict: wrong types, unknown members, non-canonical or unpadded
// Base64 and members that do not belong to the mechanism are all refused, each
// with a stable reason. Runs in Node and in a browser (no Buffer, no node:*).

import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import { type Bytes } from '../encoding/bytes.js';
import { LadderError, MslErrorCode, parseError } from './errors.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';

export const SCHEME = 'JWE_LADDER';
export const MECHANISMS = ['PSK', 'MGK', 'WRAP'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export interface KeyRequestData {
  readonly mechanism: Mechanism;
  /** Present for WRAP only, and then non-empty. */
  readonly wrapdata?: Uint8Array;
}

/** The four values of a key response, each standard Base64 as on the wire. */
export interface KeyResponseKeydata {
  readonly wrapkey: string;
  readonly wrapdata: string;
  readonly encryptionkey: string;
  readonly hmackey: string;
}

export interface KeyResponseData {
  readonly wrapkey: Bytes;
  readonly wrapdata: Bytes;
  readonly encryptionkey: Bytes;
  readonly hmackey: Bytes;
}

/** What a device sends: its identity beside the key request data. */
export interface ExchangeRequest {
  readonly identity: string;
  readonly keyRequest: KeyRequestData;
}

/** Identities are printable, bounded strings: they end up in logs and in the audit. */
export const MAX_IDENTITY_LENGTH = 256;
const IDENTITY = /^[\x21-\x7e]+$/;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireObject(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw parseError('NOT_AN_OBJECT', `${what} must be a JSON object.`);
  return value;
}

/** A member that must be an object: missing is MISSING_MEMBER, anything else NOT_AN_OBJECT. */
function requireObjectMember(obj: JsonObject, key: string, what: string): JsonObject {
  if (obj[key] === undefined) throw parseError('MISSING_MEMBER', `${what} is missing "${key}".`);
  return requireObject(obj[key], `${what}.${key}`);
}

function refuseUnknownMembers(obj: JsonObject, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw parseError('UNKNOWN_MEMBER', `${what} has an unknown member "${key}".`);
  }
}

function requireString(obj: JsonObject, key: string, what: string): string {
  const value = obj[key];
  if (value === undefined) throw parseError('MISSING_MEMBER', `${what} is missing "${key}".`);
  if (typeof value !== 'string') throw parseError('WRONG_TYPE', `${what}.${key} must be a string.`);
  return value;
}

function requireBase64(obj: JsonObject, key: string, what: string): Bytes {
  const text = requireString(obj, key, what);
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw parseError('BAD_BASE64', `${what}.${key} is not standard padded Base64.`);
  return bytes;
}

function requireScheme(obj: JsonObject, what: string): void {
  const scheme = requireString(obj, 'scheme', what);
  if (scheme !== SCHEME) {
    throw new LadderError(MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, 'UNSUPPORTED_SCHEME', `Key exchange scheme "${printable(scheme)}" is not ${SCHEME}.`);
  }
}

/** Echoes caller text into messages only in a bounded, printable form. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

export function parseIdentity(value: unknown): string {
  if (value === undefined) throw parseError('MISSING_IDENTITY', 'The request is missing "identity".');
  if (typeof value !== 'string') throw parseError('WRONG_TYPE', '"identity" must be a string.');
  if (value.length === 0 || value.length > MAX_IDENTITY_LENGTH || !IDENTITY.test(value)) {
    throw parseError('BAD_IDENTITY', `"identity" must be 1 to ${MAX_IDENTITY_LENGTH} printable ASCII characters without spaces.`);
  }
  return value;
}

/** Parses `{"scheme":"JWE_LADDER","keydata":{…}}` as the device sends it. */
export function parseKeyRequestData(value: unknown): KeyRequestData {
  const obj = requireObject(value, 'keyrequestdata');
  refuseUnknownMembers(obj, ['scheme', 'keydata'], 'keyrequestdata');
  requireScheme(obj, 'keyrequestdata');
  const keydata = requireObjectMember(obj, 'keydata', 'keyrequestdata');
  const mechanism = requireString(keydata, 'mechanism', 'keydata');
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new LadderError(MslErrorCode.UNIDENTIFIED_KEYX_MECHANISM, 'UNKNOWN_MECHANISM', `Mechanism "${printable(mechanism)}" is not PSK, MGK or WRAP.`);
  }
  if (mechanism !== 'WRAP') {
    refuseUnknownMembers(keydata, ['mechanism'], `${mechanism} keydata`);
    return { mechanism: mechanism as Mechanism };
  }
  refuseUnknownMembers(keydata, ['mechanism', 'wrapdata'], 'WRAP keydata');
  const raw = keydata['wrapdata'];
  if (raw === undefined || raw === '') {
    throw new LadderError(MslErrorCode.KEYX_WRAPPING_KEY_MISSING, raw === undefined ? 'WRAPDATA_MISSING' : 'WRAPDATA_EMPTY', 'A WRAP request must carry the wrapdata of the previous exchange.');
  }
  return { mechanism: 'WRAP', wrapdata: requireBase64(keydata, 'wrapdata', 'keydata') };
}

/** Parses `{"identity":"…","keyrequestdata":{…}}`, the request of `respond` and of POST /v1/keyx. */
export function parseExchangeRequest(value: unknown): ExchangeRequest {
  const obj = requireObject(value, 'The request');
  refuseUnknownMembers(obj, ['identity', 'keyrequestdata'], 'The request');
  const identity = parseIdentity(obj['identity']);
  if (obj['keyrequestdata'] === undefined) throw parseError('MISSING_MEMBER', 'The request is missing "keyrequestdata".');
  return { identity, keyRequest: parseKeyRequestData(obj['keyrequestdata']) };
}

/** Parses request JSON text; malformed JSON is MSL_PARSE_ERROR. */
export function parseExchangeRequestJson(text: string): ExchangeRequest {
  return parseExchangeRequest(parseJson(text));
}

/** Parses message JSON text: malformed JSON, or an object that names a member twice, is MSL_PARSE_ERROR. */
export function parseJson(text: string): unknown {
  const parsed = parseStrictJson(text);
  if (parsed.ok) return parsed.value;
  if (parsed.problem === 'duplicate') throw parseError('DUPLICATE_MEMBER', `The message names the member "${printable(parsed.member)}" twice.`);
  if (parsed.problem === 'too-deep') throw parseError('JSON_TOO_DEEP', `The message nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);
  throw parseError('MALFORMED_JSON', 'The message is not valid JSON.');
}

export function keyRequestDataJson(request: KeyRequestData): { scheme: string; keydata: Record<string, string> } {
  const keydata: Record<string, string> = { mechanism: request.mechanism };
  if (request.mechanism === 'WRAP') {
    if (!request.wrapdata || request.wrapdata.length === 0) {
      throw new LadderError(MslErrorCode.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_MISSING', 'A WRAP request needs the wrapdata of the previous exchange.');
    }
    keydata['wrapdata'] = encodeBase64(request.wrapdata);
  }
  return { scheme: SCHEME, keydata };
}

/**
 * The key response keydata object, with members in the order MSL's
 * JsonMslObject writes them, so our bytes match MSL's. Every value is Base64,
 * which needs no JSON escaping.
 */
export function keyResponseKeydataJson(k: KeyResponseKeydata): string {
  return `{"wrapdata":"${k.wrapdata}","hmackey":"${k.hmackey}","encryptionkey":"${k.encryptionkey}","wrapkey":"${k.wrapkey}"}`;
}

/** The answer of `respond` and of POST /v1/keyx. */
export function keyResponseEnvelopeJson(k: KeyResponseKeydata): string {
  return `{"keyresponsedata":{"scheme":"${SCHEME}","keydata":${keyResponseKeydataJson(k)}}}`;
}

/** Parses `{"scheme":"JWE_LADDER","keydata":{…}}` from a responder. */
export function parseKeyResponseData(value: unknown): KeyResponseData {
  const obj = requireObject(value, 'keyresponsedata');
  refuseUnknownMembers(obj, ['scheme', 'keydata'], 'keyresponsedata');
  requireScheme(obj, 'keyresponsedata');
  const keydata = requireObjectMember(obj, 'keydata', 'keyresponsedata');
  refuseUnknownMembers(keydata, ['wrapkey', 'wrapdata', 'encryptionkey', 'hmackey'], 'keyresponsedata.keydata');
  const result = {
    wrapkey: requireBase64(keydata, 'wrapkey', 'keydata'),
    wrapdata: requireBase64(keydata, 'wrapdata', 'keydata'),
    encryptionkey: requireBase64(keydata, 'encryptionkey', 'keydata'),
    hmackey: requireBase64(keydata, 'hmackey', 'keydata'),
  };
  for (const [name, bytes] of Object.entries(result)) {
    if (bytes.length === 0) throw parseError('EMPTY_VALUE', `keydata.${name} is empty.`);
  }
  return result;
}

/** Accepts either the bare keyresponsedata or the `{"keyresponsedata":…}` envelope. */
export function parseKeyResponseEnvelope(value: unknown): KeyResponseData {
  if (isObject(value) && 'keyresponsedata' in value) {
    refuseUnknownMembers(value, ['keyresponsedata'], 'The response');
    return parseKeyResponseData(value['keyresponsedata']);
  }
  return parseKeyResponseData(value);
}
