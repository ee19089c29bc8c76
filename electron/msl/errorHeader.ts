// MSL error headers (MSL's msg/ErrorHeader.java; wiki "Error Messages"):
// `{entityauthdata, errordata: b64, signature: b64}`, errordata = the sender's
// entity context's encrypt() of `{messageid, errorcode, internalcode, errormsg,
// usermsg?, timestamp}` (plaintext for RSA, which does not encrypt), signed
// with the same context. Never under a master token: the client may not have
// its keys (MSL's MslControl always answers errors with its entity auth data).
//
// The writer puts MSL's message for the error, never KeyLadder's detail: the
// detail names what failed to parse or verify, which helps an attacker and
// belongs in the audit, not on the wire (MSL's server sends its MslError
// message too: vector 005's "Entity not recognized.").

import { utf8, type Bytes } from '../encoding/bytes.js';
import type { MslCryptoContext } from './cryptoContext.js';
import type { EntityAuthData } from './entityAuth.js';
import { MslError, type ResponseCode } from './errors.js';
import { Fields, parseObjectBytes } from './fields.js';
import { writeSigned, type ParsedErrorHeader } from './header.js';
import { nextMessageId, randomMessageId } from './headerData.js';

export interface ErrorData {
  readonly messageId: number;
  readonly errorCode: ResponseCode;
  readonly internalCode?: number;
  readonly errorMsg?: string;
  readonly userMsg?: string;
  readonly timestamp?: number;
}

/** The error header's message id: the request's + 1 when the error knows it, else random (MSL: vector 005). */
export const errorMessageId = (error: MslError): number => (error.messageId === undefined ? randomMessageId() : nextMessageId(error.messageId));

const RESPONSE_CODES = [1, 2, 3, 4, 5, 6, 7, 8, 9];

/**
 * Writes the error header JSON text answering `error`. `messageId` is the
 * request's + 1 when the request got far enough to give one (error.messageId),
 * else the caller's random id (MSL does the same).
 */
export function writeErrorHeader(server: EntityAuthData, error: MslError, messageId: number, timestamp: number, ctx: MslCryptoContext, userMsg?: string): string {
  if (!Number.isSafeInteger(messageId) || messageId < 0) throw new RangeError('messageId must be a safe integer ≥ 0.');
  const errordata = JSON.stringify({
    messageid: messageId,
    errorcode: error.responseCode,
    internalcode: error.internalCode,
    errormsg: error.spec.message,
    ...(userMsg === undefined ? {} : { usermsg: userMsg }),
    timestamp,
  });
  return writeSigned({ entityAuth: server }, 'errordata', ctx.encrypt(utf8(errordata)), ctx);
}

/** Verifies (before decrypting), decrypts and reads an error header's data: the client side. */
export function openErrorHeader(parsed: ParsedErrorHeader, ctx: MslCryptoContext): ErrorData {
  if (!ctx.verify(parsed.errordata, parsed.signature)) throw new MslError('MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED', 'error header');
  const plaintext: Bytes = ctx.decrypt(parsed.errordata);
  const f = new Fields(parseObjectBytes(plaintext, 'MSL_PARSE_ERROR', 'errordata'), 'MSL_PARSE_ERROR', 'errordata').only(['messageid', 'errorcode', 'internalcode', 'errormsg', 'usermsg', 'timestamp']);
  const messageId = f.integer('messageid', 'MESSAGE_ID_OUT_OF_RANGE');
  const errorCode = f.integer('errorcode');
  // MSL maps an unknown response code to FAIL.
  const code = (RESPONSE_CODES.includes(errorCode) ? errorCode : 1) as ResponseCode;
  if (f.has('internalcode') && typeof f.obj['internalcode'] === 'number' && f.obj['internalcode'] < 0) throw f.fail('"internalcode" is negative', 'INTERNAL_CODE_NEGATIVE');
  const internalCode = f.optInteger('internalcode');
  const errorMsg = f.optString('errormsg');
  const userMsg = f.optString('usermsg');
  const timestamp = f.optInteger('timestamp');
  return {
    messageId,
    errorCode: code,
    ...(internalCode === undefined ? {} : { internalCode }),
    ...(errorMsg === undefined ? {} : { errorMsg }),
    ...(userMsg === undefined ? {} : { userMsg }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}
