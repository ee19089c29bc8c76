// MSL's version 1 ciphertext envelope: the JSON object that carries an
// AES-128-CBC ciphertext inside a header's `headerdata`, a payload chunk's
// `payload`, a master token's `sessiondata` and an error header's `errordata`.
//
//   {"ciphertext": b64, "sha256": "AA==", "keyid": "<key id>", "iv": b64(16)}
//
// MSL writes `sha256` as the constant "AA==" and never checks it (the wiki
// says SHA-256 of keyid‖iv‖ciphertext; MSL's code does not), so we write the
// same constant and require only that the member is there and is Base64, as
// MSL's parser does. It is not an integrity check of anything: the MAC that
// the caller verifies before decrypting is.
//
// Version 2 envelopes (a `version` member and a `cipherspec`, MSL's
// crypto/MslCiphertextEnvelope.java) are not spoken by any symmetric context
// of MSL and are refused as UNIDENTIFIED_CIPHERTEXT_ENVELOPE: a v1 envelope
// never carries `version`, so its presence means a sender we do not support.

import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import { type Bytes, fromUtf8, utf8 } from '../encoding/bytes.js';
import { parseStrictJson } from '../encoding/strictJson.js';
import { MslError } from './errors.js';

/** AES block and IV length: the envelope's ciphertext is whole blocks, its IV one block. */
export const AES_BLOCK_BYTES = 16;

/** MSL's constant for the v1 envelope's unchecked `sha256` member. */
export const ENVELOPE_SHA256_PLACEHOLDER = 'AA==';

export interface CiphertextEnvelopeV1 {
  readonly keyId: string;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** The envelope's bytes (UTF-8 JSON), members in MSL's order. */
export function encodeEnvelopeV1({ keyId, iv, ciphertext }: CiphertextEnvelopeV1): Bytes {
  return utf8(
    JSON.stringify({
      ciphertext: encodeBase64(ciphertext),
      sha256: ENVELOPE_SHA256_PLACEHOLDER,
      keyid: keyId,
      iv: encodeBase64(iv),
    }),
  );
}

const malformed = (detail: string): MslError => new MslError('CIPHERTEXT_ENVELOPE_PARSE_ERROR', detail);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function base64Member(envelope: Record<string, unknown>, name: string): Bytes {
  const text = envelope[name];
  if (typeof text !== 'string') throw malformed(`MEMBER_${name.toUpperCase()}`);
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw malformed(`MEMBER_${name.toUpperCase()}`);
  return bytes;
}

/**
 * Parses a v1 envelope. Throws MslError CIPHERTEXT_ENVELOPE_PARSE_ERROR for
 * anything malformed (not UTF-8 JSON, a duplicate member, a missing or mistyped
 * member, an IV that is not 16 bytes, a ciphertext that is not whole AES
 * blocks) and UNIDENTIFIED_CIPHERTEXT_ENVELOPE for a versioned (v2) envelope.
 * The detail names the member, never its value.
 */
export function parseEnvelope(bytes: Uint8Array): CiphertextEnvelopeV1 {
  const text = fromUtf8(bytes);
  if (text === undefined) throw malformed('NOT_UTF8');
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw malformed(parsed.problem === 'duplicate' ? 'DUPLICATE_MEMBER' : 'NOT_JSON');
  const envelope = parsed.value;
  if (!isObject(envelope)) throw malformed('NOT_AN_OBJECT');
  if (Object.hasOwn(envelope, 'version')) throw new MslError('UNIDENTIFIED_CIPHERTEXT_ENVELOPE', 'VERSIONED_ENVELOPE');
  const keyId = envelope.keyid;
  if (typeof keyId !== 'string') throw malformed('MEMBER_KEYID');
  const iv = base64Member(envelope, 'iv');
  if (iv.length !== AES_BLOCK_BYTES) throw malformed('IV_LENGTH');
  const ciphertext = base64Member(envelope, 'ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK_BYTES !== 0) throw malformed('CIPHERTEXT_LENGTH');
  base64Member(envelope, 'sha256'); // Present and Base64, as MSL requires; its value means nothing.
  return { keyId, iv, ciphertext };
}
