// Key exchange data in MSL header data (MSL's keyx/KeyRequestData.java,
// KeyResponseData.java): `keyrequestdata` is an array of
// `{"scheme":…,"keydata":{…}}`, `keyresponsedata` one
// `{"mastertoken":{…},"scheme":…,"keydata":{…}}`. KeyLadder speaks only
// JWE_LADDER, whose keydata the ladder core already parses and writes
// (electron/ladder/messages.ts); this module puts it in MSL's header.
//
// Selection follows MSL's MslControl: the first request whose scheme the
// server has a factory for wins. A scheme MSL defines that KeyLadder does not
// serve is passed over; if nothing is left, KEYX_FACTORY_NOT_FOUND. A scheme
// nobody defines is UNIDENTIFIED_KEYX_SCHEME (MSL's KeyRequestData.create).

import { LadderError } from '../ladder/errors.js';
import { parseKeyRequestData, parseKeyResponseData, SCHEME, type KeyRequestData, type KeyResponseData } from '../ladder/messages.js';
import { MSL_ERRORS, MslError, type MslErrorName } from './errors.js';
import { Fields, printable } from './fields.js';
import { readMasterToken, type ReadMasterToken } from './masterToken.js';

/** MSL's KeyExchangeScheme names other than JWE_LADDER. */
export const OTHER_MSL_KEYX_SCHEMES: readonly string[] = ['ASYMMETRIC_WRAPPED', 'DIFFIE_HELLMAN', 'JWK_LADDER', 'SYMMETRIC_WRAPPED'];

/** A LadderError as the MSL error of the same name (the ladder's codes are MSL names), its reason the detail. */
export function fromLadderError(e: LadderError): MslError {
  const code = (e.code in MSL_ERRORS ? e.code : 'MSL_PARSE_ERROR') as MslErrorName;
  return new MslError(code, e.reason);
}

function ladder<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw e instanceof LadderError ? fromLadderError(e) : e;
  }
}

/**
 * The key request this server answers, from header data's `keyrequestdata`
 * entries: undefined when there are none.
 */
export function selectKeyRequest(entries: readonly unknown[]): KeyRequestData | undefined {
  let chosen: unknown;
  for (const entry of entries) {
    const scheme = Fields.of(entry, 'MSL_PARSE_ERROR', 'keyrequestdata').string('scheme');
    if (scheme === SCHEME) {
      chosen ??= entry;
    } else if (!OTHER_MSL_KEYX_SCHEMES.includes(scheme)) {
      throw new MslError('UNIDENTIFIED_KEYX_SCHEME', printable(scheme));
    }
  }
  if (entries.length === 0) return undefined;
  if (chosen === undefined) throw new MslError('KEYX_FACTORY_NOT_FOUND', 'no JWE_LADDER key request');
  return ladder(() => parseKeyRequestData(chosen));
}

/**
 * The `keyresponsedata` JSON text: the new master token's JSON text and the
 * ladder responder's keydata JSON text (keyResponseKeydataJson), verbatim.
 */
export function keyResponseDataJson(masterTokenText: string, keydataJson: string): string {
  return `{"mastertoken":${masterTokenText},"scheme":"${SCHEME}","keydata":${keydataJson}}`;
}

export interface KeyResponse {
  readonly masterToken: ReadMasterToken;
  readonly keydata: KeyResponseData;
  /** `{scheme, keydata}` as the ladder requestor takes it. */
  readonly ladderResponse: { readonly scheme: string; readonly keydata: unknown };
}

/** Reads `keyresponsedata` (the client side); a scheme other than JWE_LADDER is KEYX_RESPONSE_REQUEST_MISMATCH. */
export function parseKeyResponse(value: unknown): KeyResponse {
  const f = Fields.of(value, 'MSL_PARSE_ERROR', 'keyresponsedata').only(['mastertoken', 'scheme', 'keydata']);
  const scheme = f.string('scheme');
  if (scheme !== SCHEME) throw new MslError('KEYX_RESPONSE_REQUEST_MISMATCH', printable(scheme));
  const masterToken = readMasterToken(f.object('mastertoken'));
  const ladderResponse = { scheme, keydata: f.object('keydata') };
  return { masterToken, keydata: ladder(() => parseKeyResponseData(ladderResponse)), ladderResponse };
}
