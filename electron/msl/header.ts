// The first object of every MSL message (MSL's msg/Header.java): a message
// header `{entityauthdata | mastertoken, headerdata: b64, signature: b64}` or
// an error header `{entityauthdata, errordata: b64, signature: b64}`.
//
// Two steps, so the responder can look up keys in between:
// 1. parseHeader: structure only (members, Base64, the entity auth data or
//    the master token's numbers). No key is needed or touched.
// 2. openHeader: with the context for that entity or token, verify the
//    signature over the decoded headerdata bytes BEFORE anything is decrypted,
//    then decrypt and parse the header data.
//
// A header with both entityauthdata and mastertoken is refused
// (MESSAGE_FORMAT_ERROR). MSL's Header takes the master token and drops the
// entity data; MSL never writes both, and refusing leaves no doubt about which
// entity a message speaks for. Neither → MESSAGE_ENTITY_NOT_FOUND, as MSL.

import { utf8 } from '../encoding/bytes.js';
import { encodeBase64 } from '../encoding/base64.js';
import type { Bytes } from '../encoding/bytes.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { entityAuthDataJson, parseEntityAuthData, type EntityAuthData } from './entityAuth.js';
import { MslError } from './errors.js';
import { Fields, parseObjectBytes } from './fields.js';
import { headerDataJson, parseHeaderData, type HeaderData, type HeaderDataOut } from './headerData.js';
import { readMasterToken, type ReadMasterToken } from './masterToken.js';

export type ParsedMessageHeader =
  | { readonly kind: 'message'; readonly entityAuth: EntityAuthData; readonly masterToken?: undefined; readonly headerdata: Bytes; readonly signature: Bytes }
  | { readonly kind: 'message'; readonly entityAuth?: undefined; readonly masterToken: ReadMasterToken; readonly headerdata: Bytes; readonly signature: Bytes };

export interface ParsedErrorHeader {
  readonly kind: 'error';
  readonly entityAuth: EntityAuthData;
  readonly errordata: Bytes;
  readonly signature: Bytes;
}

export type ParsedHeader = ParsedMessageHeader | ParsedErrorHeader;

/** Structural parse of a header object (already strictly parsed JSON). */
export function parseHeader(value: unknown): ParsedHeader {
  const f = Fields.of(value, 'MSL_PARSE_ERROR', 'header').only(['entityauthdata', 'mastertoken', 'headerdata', 'errordata', 'signature']);
  if (f.has('headerdata') && f.has('errordata')) throw f.fail('both headerdata and errordata', 'MESSAGE_FORMAT_ERROR');
  if (f.has('entityauthdata') && f.has('mastertoken')) throw f.fail('both entityauthdata and mastertoken', 'MESSAGE_FORMAT_ERROR');
  if (!f.has('headerdata') && !f.has('errordata')) throw f.fail('neither headerdata nor errordata');
  const signature = f.bytes('signature');
  if (f.has('errordata')) {
    if (f.has('mastertoken')) throw f.fail('an error header carries no master token', 'MESSAGE_FORMAT_ERROR');
    if (!f.has('entityauthdata')) throw f.fail('an error header needs entityauthdata', 'MESSAGE_ENTITY_NOT_FOUND');
    const errordata = f.bytes('errordata', 'HEADER_DATA_MISSING');
    return { kind: 'error', entityAuth: parseEntityAuthData(f.obj['entityauthdata']), errordata, signature };
  }
  const headerdata = f.bytes('headerdata', 'HEADER_DATA_MISSING');
  if (f.has('mastertoken')) return { kind: 'message', masterToken: readMasterToken(f.obj['mastertoken']), headerdata, signature };
  if (!f.has('entityauthdata')) throw f.fail('neither entityauthdata nor mastertoken', 'MESSAGE_ENTITY_NOT_FOUND');
  return { kind: 'message', entityAuth: parseEntityAuthData(f.obj['entityauthdata']), headerdata, signature };
}

/**
 * Verifies, decrypts and parses a message header's data with `ctx`: the
 * entity's context (PSK/MGK keys, the server's RSA key) or the master token's
 * session context. A bad signature is MSL's
 * MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED (ENTITY_REAUTH: the client drops
 * the token) or MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED (ENTITYDATA_REAUTH).
 */
export function openHeader(parsed: ParsedMessageHeader, ctx: MslCryptoContext): HeaderData {
  if (!ctx.verify(parsed.headerdata, parsed.signature)) {
    throw new MslError(parsed.masterToken ? 'MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED' : 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED');
  }
  const plaintext = ctx.decrypt(parsed.headerdata);
  return parseHeaderData(parseObjectBytes(plaintext, 'MSL_PARSE_ERROR', 'headerdata'));
}

/** Who a written header speaks for: the entity (first contact, the server's RSA) or a master token (its JSON, echoed). */
export type HeaderSender = { readonly entityAuth: EntityAuthData } | { readonly masterToken: { readonly tokendata: string; readonly signature: string } };

/** Writes a message header's JSON text: header data encrypted and signed with `ctx`. */
export function writeMessageHeader(sender: HeaderSender, data: HeaderDataOut, ctx: MslCryptoContext): string {
  const plaintext = utf8(headerDataJson(data));
  let headerdata: Bytes;
  try {
    headerdata = ctx.encrypt(plaintext);
  } finally {
    plaintext.fill(0);
  }
  return writeSigned(sender, 'headerdata', headerdata, ctx);
}

/** `{<sender>, <field>: b64(bytes), signature: b64(sign(bytes))}` as JSON text. */
export function writeSigned(sender: HeaderSender, field: 'headerdata' | 'errordata', bytes: Uint8Array, ctx: MslCryptoContext): string {
  const who = 'entityAuth' in sender ? { entityauthdata: entityAuthDataJson(sender.entityAuth) } : { mastertoken: { tokendata: sender.masterToken.tokendata, signature: sender.masterToken.signature } };
  return JSON.stringify({ ...who, [field]: encodeBase64(bytes), signature: encodeBase64(ctx.sign(bytes)) });
}
