// MSL master tokens (MSL's tokens/MasterToken.java; wiki "Token Issuance &
// Protection"): `{"tokendata":b64,"signature":b64}`, tokendata = JSON
// `{renewalwindow, expiration, sequencenumber, serialnumber, sessiondata:b64}`,
// sessiondata = the token context's encrypt() of `{identity, encryptionkey,
// hmackey, signaturekey, encryptionalgorithm:"AES",
// signaturealgorithm:"HmacSHA256"}` (+ issuerdata), signature = the token
// context's sign() of the tokendata bytes.
//
// The token context is the server's own: MSL's MslContext crypto context, a
// symmetric context whose key id is the server identity (vector 001's
// sessiondata envelope names "server1") over `msl.key.enc`/`msl.key.hmac`.
// A client cannot open a token (MSL's ClientMslCryptoContext): it reads the
// numbers (readMasterToken) and keeps the session keys the key response gave.
//
// Order on opening: structure, then the signature (first candidate context
// that verifies; none → MASTERTOKEN_UNTRUSTED), and only then the session
// data is decrypted, so unauthenticated bytes never reach a decryption.

import { constantTimeEqual, utf8, type Bytes } from '../encoding/bytes.js';
import { encodeBase64 } from '../encoding/base64.js';
import { LadderError } from '../ladder/errors.js';
import { parseIdentity } from '../ladder/messages.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { MslError } from './errors.js';
import { Fields, parseObjectBytes, type JsonObject } from './fields.js';
import { SymmetricCryptoContext } from './symmetricContext.js';

export interface MasterTokenNumbers {
  /** Seconds since the epoch from which the token may be renewed. */
  readonly renewalWindow: number;
  /** Seconds since the epoch from which the token is expired. */
  readonly expiration: number;
  readonly sequenceNumber: number;
  readonly serialNumber: number;
}

/** A token as anyone can read it: the numbers and the raw bytes. */
export interface ReadMasterToken extends MasterTokenNumbers {
  readonly tokendata: Bytes;
  readonly signature: Bytes;
  /** The encrypted session data (opaque without the token keys). */
  readonly sessiondata: Bytes;
  /** The token exactly as it arrived, to echo it in a response header. */
  readonly json: { readonly tokendata: string; readonly signature: string };
}

export interface SessionKeys {
  /** AES-128 key, 16 bytes. */
  readonly encryptionKey: Bytes;
  /** HMAC-SHA256 key, 32 bytes. */
  readonly hmacKey: Bytes;
}

/** A token whose signature verified and whose session data was decrypted. */
export interface OpenedMasterToken extends ReadMasterToken {
  readonly identity: string;
  readonly keys: SessionKeys;
  readonly issuerdata?: JsonObject;
  /** Which of the candidate contexts verified it (0 = the newest, by the caller's order). */
  readonly contextIndex: number;
  /** Zeroes the session key copies this token holds. */
  destroy(): void;
}

export const ENCRYPTION_KEY_LENGTH = 16;
export const HMAC_KEY_LENGTH = 32;

/** Reads a master token's structure and numbers with MSL's checks; verifies nothing. */
export function readMasterToken(value: unknown): ReadMasterToken {
  const top = Fields.of(value, 'MSL_PARSE_ERROR', 'mastertoken').only(['tokendata', 'signature']);
  const tokendata = top.bytes('tokendata', 'MASTERTOKEN_TOKENDATA_MISSING');
  const signature = top.bytes('signature');
  const obj = parseObjectBytes(tokendata, 'MASTERTOKEN_TOKENDATA_PARSE_ERROR', 'tokendata');
  const f = new Fields(obj, 'MASTERTOKEN_TOKENDATA_PARSE_ERROR', 'tokendata').only(['renewalwindow', 'expiration', 'sequencenumber', 'serialnumber', 'sessiondata']);
  const renewalWindow = f.integer('renewalwindow');
  const expiration = f.integer('expiration');
  if (expiration < renewalWindow) throw f.fail('expiration precedes the renewal window', 'MASTERTOKEN_EXPIRES_BEFORE_RENEWAL');
  const sequenceNumber = f.integer('sequencenumber', 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_RANGE');
  const serialNumber = f.integer('serialnumber', 'MASTERTOKEN_SERIAL_NUMBER_OUT_OF_RANGE');
  const sessiondata = f.bytes('sessiondata', 'MASTERTOKEN_SESSIONDATA_MISSING');
  return {
    renewalWindow,
    expiration,
    sequenceNumber,
    serialNumber,
    tokendata,
    signature,
    sessiondata,
    json: { tokendata: top.string('tokendata'), signature: top.string('signature') },
  };
}

function readSessionData(plaintext: Bytes): { identity: string; keys: SessionKeys; issuerdata?: JsonObject } {
  const f = new Fields(parseObjectBytes(plaintext, 'MASTERTOKEN_SESSIONDATA_PARSE_ERROR', 'sessiondata'), 'MASTERTOKEN_SESSIONDATA_PARSE_ERROR', 'sessiondata').only([
    'identity',
    'encryptionkey',
    'hmackey',
    'signaturekey',
    'encryptionalgorithm',
    'signaturealgorithm',
    'issuerdata',
  ]);
  let identity: string;
  try {
    identity = parseIdentity(f.obj['identity']);
  } catch (e) {
    throw e instanceof LadderError ? f.fail(`identity: ${e.reason}`) : e;
  }
  const encryptionAlgorithm = f.optString('encryptionalgorithm') ?? 'AES';
  const signatureAlgorithm = f.optString('signaturealgorithm') ?? 'HmacSHA256';
  if (encryptionAlgorithm !== 'AES' || signatureAlgorithm !== 'HmacSHA256') throw f.fail('algorithms other than AES and HmacSHA256', 'UNIDENTIFIED_ALGORITHM');
  const issuerdata = f.optObject('issuerdata');
  const encryptionKey = f.bytes('encryptionkey');
  // MSL reads signaturekey when present, else hmackey; when both are there they must agree.
  const hmacKey = f.has('signaturekey') ? f.bytes('signaturekey') : f.bytes('hmackey');
  const hmacAlias = f.has('signaturekey') && f.has('hmackey') ? f.bytes('hmackey') : undefined;
  try {
    if (hmacAlias !== undefined && !constantTimeEqual(hmacAlias, hmacKey)) throw f.fail('hmackey and signaturekey differ');
    if (encryptionKey.length !== ENCRYPTION_KEY_LENGTH || hmacKey.length !== HMAC_KEY_LENGTH) throw f.fail('session keys of the wrong length', 'MASTERTOKEN_KEY_CREATION_ERROR');
  } catch (e) {
    encryptionKey.fill(0);
    hmacKey.fill(0);
    throw e;
  } finally {
    hmacAlias?.fill(0);
  }
  return { identity, keys: { encryptionKey, hmacKey }, ...(issuerdata === undefined ? {} : { issuerdata }) };
}

/**
 * Opens a token with the server's token contexts (newest first): the first
 * whose signature verifies decrypts the session data. No candidate verifies →
 * MASTERTOKEN_UNTRUSTED (a token from another server, an altered one, or one
 * under a retired key).
 */
export function openMasterToken(value: unknown, candidates: readonly MslCryptoContext[]): OpenedMasterToken {
  const token = readMasterToken(value);
  const contextIndex = candidates.findIndex((ctx) => ctx.verify(token.tokendata, token.signature));
  if (contextIndex < 0) throw new MslError('MASTERTOKEN_UNTRUSTED', 'no token key verifies its signature');
  let plaintext: Bytes;
  try {
    plaintext = candidates[contextIndex]!.decrypt(token.sessiondata);
  } catch (e) {
    // Signed by us but undecryptable: our own token keys disagree with each other.
    if (e instanceof MslError) throw new MslError('MASTERTOKEN_SESSIONDATA_INVALID', `session data does not decrypt (${e.code})`);
    throw e;
  }
  let session: ReturnType<typeof readSessionData>;
  try {
    session = readSessionData(plaintext);
  } finally {
    plaintext.fill(0);
  }
  const { keys } = session;
  return {
    ...token,
    ...session,
    contextIndex,
    destroy() {
      keys.encryptionKey.fill(0);
      keys.hmacKey.fill(0);
    },
  };
}

export interface IssuedMasterToken extends MasterTokenNumbers {
  /** `{"tokendata":…,"signature":…}` as JSON text, for a key response. */
  readonly text: string;
  readonly json: { readonly tokendata: string; readonly signature: string };
}

function checkNumbers(n: MasterTokenNumbers): void {
  for (const name of ['renewalWindow', 'expiration', 'sequenceNumber', 'serialNumber'] as const) {
    if (!Number.isSafeInteger(n[name]) || n[name] < 0) throw new RangeError(`${name} must be a safe integer ≥ 0.`);
  }
  if (n.expiration < n.renewalWindow) throw new RangeError('The expiration must not precede the renewal window.');
}

/**
 * Issues a token for `identity` carrying `keys`, under the token context
 * `ctx` (the newest token key). The session data plaintext holds the keys in
 * Base64 text, which is a JS string and cannot be zeroed; the UTF-8 bytes of it
 * are zeroed once encrypted.
 */
export function issueMasterToken(numbers: MasterTokenNumbers, identity: string, keys: SessionKeys, ctx: MslCryptoContext, issuerdata?: JsonObject): IssuedMasterToken {
  checkNumbers(numbers);
  parseIdentity(identity);
  if (keys.encryptionKey.length !== ENCRYPTION_KEY_LENGTH || keys.hmacKey.length !== HMAC_KEY_LENGTH) throw new RangeError('Session keys must be 16 (AES) and 32 (HMAC) bytes.');
  const hmac = encodeBase64(keys.hmacKey);
  const sessionText = JSON.stringify({
    identity,
    encryptionkey: encodeBase64(keys.encryptionKey),
    encryptionalgorithm: 'AES',
    hmackey: hmac,
    signaturekey: hmac,
    signaturealgorithm: 'HmacSHA256',
    ...(issuerdata === undefined ? {} : { issuerdata }),
  });
  const plaintext = utf8(sessionText);
  let sessiondata: Bytes;
  try {
    sessiondata = ctx.encrypt(plaintext);
  } finally {
    plaintext.fill(0);
  }
  const tokendata = utf8(
    JSON.stringify({
      renewalwindow: numbers.renewalWindow,
      expiration: numbers.expiration,
      sequencenumber: numbers.sequenceNumber,
      serialnumber: numbers.serialNumber,
      sessiondata: encodeBase64(sessiondata),
    }),
  );
  const json = { tokendata: encodeBase64(tokendata), signature: encodeBase64(ctx.sign(tokendata)) };
  return { ...numbers, json, text: JSON.stringify(json) };
}

/** MSL's MasterToken.isRenewable for a token whose times we trust: now has reached the renewal window. */
export const isRenewable = (token: MasterTokenNumbers, nowSeconds: number): boolean => nowSeconds >= token.renewalWindow;

/** MSL's MasterToken.isExpired: now has reached the expiration. */
export const isExpired = (token: MasterTokenNumbers, nowSeconds: number): boolean => nowSeconds >= token.expiration;

/** MSL's MasterToken.equals: the same serial, sequence number and expiration. */
export const sameMasterToken = (a: MasterTokenNumbers, b: MasterTokenNumbers): boolean =>
  a.serialNumber === b.serialNumber && a.sequenceNumber === b.sequenceNumber && a.expiration === b.expiration;

/** The key id MSL's session crypto context puts in envelopes: `<identity>_<sequencenumber>`. */
export const sessionKeyId = (identity: string, token: Pick<MasterTokenNumbers, 'sequenceNumber'>): string => `${identity}_${token.sequenceNumber}`;

/**
 * The crypto context of a token's session keys (MSL's SessionCryptoContext),
 * key id `<identity>_<sequencenumber>`. The context copies the keys; the
 * caller still zeroes its own buffers (OpenedMasterToken.destroy).
 */
export const sessionContext = (token: Pick<MasterTokenNumbers, 'sequenceNumber'>, identity: string, keys: SessionKeys): SymmetricCryptoContext =>
  new SymmetricCryptoContext(sessionKeyId(identity, token), keys.encryptionKey, keys.hmacKey);
