// The requestor's side of both JWE profiles, on Web Crypto only, so that it
// runs unchanged in Node and in a browser.
//
// It accepts what MSL's requestor accepts (JsonWebEncryptionCryptoContext):
// the JSON serialization (MSL reads only the first recipient) or a five-part
// compact form, alg A128KW and enc A128GCM only, a 24-byte wrapped CEK that
// unwraps to 16 bytes, a 12-byte IV and a 16-byte tag. The profile decides the
// additional authenticated data: MSL's header.encrypted_key.iv, or RFC 7516's
// protected header alone.
//
// The CEK's key unwrap goes through a KeyUnwrapper: Web Crypto's AES-KW by
// default (browsers, devices, Node on OpenSSL), or one the caller brings
// where Web Crypto has no AES-KW (Electron's main process: see
// electron/jwe/nodeKeyUnwrap.ts). Everything else here is Web Crypto.

import { decodeBase64Url } from '../encoding/base64.js';
import { fromUtf8, utf8, type Bytes } from '../encoding/bytes.js';
import type { KeyUnwrapper } from '../jwe/keyUnwrapper.js';
import { LadderError, MslErrorCode, decryptionFailed } from './errors.js';
import { IV_LENGTH, JWE_ALG, JWE_ENC, TAG_LENGTH, WRAPPED_CEK_LENGTH, type JweProfileName } from '../jwe/keyKinds.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';

/** A JWE in MSL's form, read but not yet judged: what inspect tools show, and what decryptJwe checks. */
export interface JweParts {
  /** MSL's JSON serialization (first recipient only, as MSL reads it) or the five-part compact form. */
  readonly serialization: 'json' | 'compact';
  readonly header: Readonly<Record<string, unknown>>;
  readonly headerB64: string;
  readonly encryptedKey: Bytes;
  readonly encryptedKeyB64: string;
  readonly iv: Bytes;
  readonly ivB64: string;
  readonly ciphertext: Bytes;
  readonly tag: Bytes;
}

const malformed = (reason: string, message: string): LadderError => new LadderError(MslErrorCode.JWE_PARSE_ERROR, reason, message);
/** Reason JSON_TOO_DEEP: nested beyond MAX_JSON_DEPTH, refused before anything walks it (callers keep the reason). */
const tooDeep = (what: string): LadderError => malformed('JSON_TOO_DEEP', `The ${what} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);
const unsupported = (reason: string, message: string): LadderError => new LadderError(MslErrorCode.UNSUPPORTED_JWE_ALGORITHM, reason, message);

function part(text: unknown, name: string): { bytes: Bytes; text: string } {
  if (typeof text !== 'string') throw malformed('JWE_MISSING_PART', `The JWE has no ${name}.`);
  const bytes = decodeBase64Url(text);
  if (bytes === undefined) throw malformed('JWE_BAD_BASE64URL', `The JWE's ${name} is not base64url.`);
  return { bytes, text };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a JWE as MSL's requestor reads it (the JSON serialization's first
 * recipient, or five compact parts), checking its shape only: base64url parts
 * and a header that is a JSON object naming no parameter twice. Throws a
 * LadderError (JWE_PARSE_ERROR) otherwise.
 */
export function readJweParts(serialization: string): JweParts {
  let headerText: unknown, ekText: unknown, ivText: unknown, ctText: unknown, tagText: unknown;
  const json = serialization.startsWith('{');
  if (json) {
    const parsed = parseStrictJson(serialization);
    if (!parsed.ok && parsed.problem === 'too-deep') throw tooDeep('JWE');
    if (!parsed.ok) throw malformed('JWE_MALFORMED_JSON', parsed.problem === 'duplicate' ? 'The JWE names a member twice.' : 'The JWE is not valid JSON.');
    const obj = parsed.value as Record<string, unknown> | null;
    const recipients = obj?.['recipients'];
    if (!Array.isArray(recipients) || recipients.length === 0 || typeof recipients[0] !== 'object' || recipients[0] === null) {
      throw malformed('JWE_MISSING_PART', 'The JWE has no recipient.');
    }
    const recipient = recipients[0] as Record<string, unknown>;
    headerText = recipient['header'];
    ekText = recipient['encrypted_key'];
    tagText = recipient['integrity_value'];
    ivText = obj?.['initialization_vector'];
    ctText = obj?.['ciphertext'];
  } else {
    const parts = serialization.split('.');
    if (parts.length !== 5) throw malformed('JWE_MISSING_PART', 'A compact JWE has five parts.');
    [headerText, ekText, ivText, ctText, tagText] = parts;
  }
  const header = part(headerText, 'header');
  const encryptedKey = part(ekText, 'encrypted key');
  const iv = part(ivText, 'initialization vector');
  const ciphertext = part(ctText, 'ciphertext');
  const tag = part(tagText, 'integrity value');

  const headerJson = fromUtf8(header.bytes);
  const parsed = headerJson === undefined ? undefined : parseStrictJson(headerJson);
  if (parsed?.ok === false && parsed.problem === 'duplicate') throw malformed('JWE_BAD_HEADER', 'The JWE header names a parameter twice.');
  if (parsed?.ok === false && parsed.problem === 'too-deep') throw tooDeep('JWE header');
  const fields = parsed?.ok ? parsed.value : undefined;
  if (!isJsonObject(fields)) throw malformed('JWE_BAD_HEADER', 'The JWE header is not a JSON object.');
  return {
    serialization: json ? 'json' : 'compact',
    header: fields,
    headerB64: header.text,
    encryptedKey: encryptedKey.bytes,
    encryptedKeyB64: encryptedKey.text,
    iv: iv.bytes,
    ivB64: iv.text,
    ciphertext: ciphertext.bytes,
    tag: tag.bytes,
  };
}

function parseSerialization(serialization: string): JweParts {
  const jwe = readJweParts(serialization);
  const fields = jwe.header;
  const { alg, enc } = fields;
  if (alg !== JWE_ALG) throw unsupported('JWE_UNSUPPORTED_ALG', `The JWE's key management must be ${JWE_ALG}.`);
  if (enc !== JWE_ENC) throw unsupported('JWE_UNSUPPORTED_ENC', `The JWE's content encryption must be ${JWE_ENC}.`);
  if ('crit' in fields) throw unsupported('JWE_CRITICAL_HEADER', 'The JWE has critical header parameters this requestor does not understand.');
  // Compressed plaintext is something no ladder responder sends; refusing it is cheaper than inflating keys.
  if ('zip' in fields) throw unsupported('JWE_COMPRESSED', 'The JWE is compressed ("zip"), which this requestor does not accept.');
  if (jwe.encryptedKey.length !== WRAPPED_CEK_LENGTH) throw malformed('JWE_CEK_LENGTH', `The wrapped CEK must be ${WRAPPED_CEK_LENGTH} bytes (a 16-byte AES-128 key).`);
  if (jwe.iv.length !== IV_LENGTH) throw malformed('JWE_IV_LENGTH', `The initialization vector must be ${IV_LENGTH} bytes.`);
  if (jwe.tag.length !== TAG_LENGTH) throw malformed('JWE_TAG_LENGTH', `The integrity value must be ${TAG_LENGTH} bytes.`);
  if (jwe.ciphertext.length === 0) throw malformed('JWE_MISSING_PART', 'The JWE has an empty ciphertext.');
  return jwe;
}

/** Web Crypto's AES-KW, as devices and browsers have it. */
export const webCryptoUnwrapper: KeyUnwrapper<CryptoKey> = {
  async importWrappingKey(raw) {
    try {
      return await globalThis.crypto.subtle.importKey('raw', raw, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    } finally {
      raw.fill(0);
    }
  },
  async unwrapCek(kek, encryptedKey) {
    try {
      return await globalThis.crypto.subtle.unwrapKey('raw', encryptedKey, kek, 'AES-KW', { name: 'AES-GCM', length: 128 }, false, ['decrypt']);
    } catch {
      // Web Crypto reports a failed integrity check as an OperationError like any other.
      return undefined;
    }
  },
};

/** The default unwrapper for any K: K is CryptoKey whenever no unwrapper is passed. */
export const defaultUnwrapper = <K>(): KeyUnwrapper<K> => webCryptoUnwrapper as unknown as KeyUnwrapper<K>;

/**
 * Decrypts a JWE for `kek` (an AES-KW CryptoKey, or the unwrapper's own key
 * type). The returned plaintext holds a key: the caller zeroes it as soon as
 * it has imported it.
 */
export async function decryptJwe<K = CryptoKey>(serialization: Uint8Array, kek: K, profile: JweProfileName, unwrapper: KeyUnwrapper<K> = defaultUnwrapper<K>()): Promise<Bytes> {
  if (profile !== 'msl' && profile !== 'rfc7516') {
    throw new LadderError(MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, 'UNKNOWN_PROFILE', 'The JWE profile is neither msl nor rfc7516.');
  }
  const text = fromUtf8(serialization);
  if (text === undefined) throw malformed('JWE_NOT_UTF8', 'The JWE is not UTF-8 text.');
  const jwe = parseSerialization(text);
  if (profile === 'rfc7516' && text.startsWith('{')) throw malformed('JWE_WRONG_SERIALIZATION', 'The rfc7516 profile uses the compact serialization.');
  const aad = profile === 'msl' ? `${jwe.headerB64}.${jwe.encryptedKeyB64}.${jwe.ivB64}` : jwe.headerB64;
  const subtle = globalThis.crypto.subtle;
  const cek = await unwrapper.unwrapCek(kek, jwe.encryptedKey);
  if (cek === undefined) throw decryptionFailed();
  if ((cek.algorithm as AesKeyAlgorithm).length !== 128) throw malformed('JWE_CEK_LENGTH', 'The CEK must be a 16-byte AES-128 key.');
  const sealed = new Uint8Array(jwe.ciphertext.length + TAG_LENGTH);
  sealed.set(jwe.ciphertext);
  sealed.set(jwe.tag, jwe.ciphertext.length);
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: jwe.iv, additionalData: utf8(aad), tagLength: 128 }, cek, sealed));
  } catch {
    throw decryptionFailed();
  }
}
