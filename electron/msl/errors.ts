// MSL's error catalogue, as far as a responder for PSK/MGK entity
// authentication, master tokens and JWE_LADDER needs it.
//
// Each entry carries MSL's own name, its number (the error header's
// `internalcode` is 100000 + number, as MSL's server writes it) and its
// response code, which is what an MSL client acts on: ENTITY_REAUTH drops the
// master token and re-authenticates, KEYX_REQUIRED re-keys, REPLAYED retries
// with a new non-replayable id, FAIL gives up. Names and numbers are interop
// facts (github:Netflix/msl core/MslError.java, MslConstants.ResponseCode);
// the messages are ours. Messages never carry key material or the bytes that
// failed to verify or decrypt.

/** MSL's response codes (MslConstants.ResponseCode). */
export const ResponseCode = {
  FAIL: 1,
  TRANSIENT_FAILURE: 2,
  ENTITY_REAUTH: 3,
  USER_REAUTH: 4,
  KEYX_REQUIRED: 5,
  ENTITYDATA_REAUTH: 6,
  USERDATA_REAUTH: 7,
  EXPIRED: 8,
  REPLAYED: 9,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

export interface MslErrorSpec {
  readonly number: number;
  readonly responseCode: ResponseCode;
  readonly message: string;
}

const { FAIL, TRANSIENT_FAILURE, ENTITY_REAUTH, ENTITYDATA_REAUTH, EXPIRED, REPLAYED, KEYX_REQUIRED } = ResponseCode;

/** The error header's `internalcode` of MSL's server: this base plus the error's number. */
export const INTERNAL_CODE_BASE = 100_000;

export const MSL_ERRORS = {
  // Encoding and crypto (0..99).
  MSL_PARSE_ERROR: { number: 0, responseCode: FAIL, message: 'The message could not be parsed.' },
  ENVELOPE_KEY_ID_MISMATCH: { number: 11, responseCode: FAIL, message: 'The ciphertext envelope names another key.' },
  CIPHERTEXT_ENVELOPE_PARSE_ERROR: { number: 12, responseCode: FAIL, message: 'The ciphertext envelope could not be parsed.' },
  SIGN_NOT_SUPPORTED: { number: 14, responseCode: FAIL, message: 'This key cannot sign.' },
  DECRYPT_ERROR: { number: 19, responseCode: FAIL, message: 'The ciphertext could not be decrypted.' },
  UNIDENTIFIED_CIPHERTEXT_ENVELOPE: { number: 52, responseCode: FAIL, message: 'The ciphertext envelope version is not known.' },
  UNIDENTIFIED_ALGORITHM: { number: 57, responseCode: FAIL, message: 'The algorithm is not known.' },
  SIGNATURE_ENVELOPE_PARSE_ERROR: { number: 58, responseCode: FAIL, message: 'The signature envelope could not be parsed.' },
  INVALID_SIGNATURE: { number: 60, responseCode: FAIL, message: 'The signature is not valid.' },
  // Master tokens (1000..).
  MASTERTOKEN_UNTRUSTED: { number: 1000, responseCode: ENTITY_REAUTH, message: 'The master token is not trusted.' },
  MASTERTOKEN_KEY_CREATION_ERROR: { number: 1001, responseCode: ENTITY_REAUTH, message: 'The master token session keys are not usable.' },
  MASTERTOKEN_EXPIRES_BEFORE_RENEWAL: { number: 1002, responseCode: ENTITY_REAUTH, message: 'The master token expires before its renewal window opens.' },
  MASTERTOKEN_SESSIONDATA_MISSING: { number: 1003, responseCode: ENTITY_REAUTH, message: 'The master token has no session data.' },
  MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_RANGE: { number: 1004, responseCode: ENTITY_REAUTH, message: 'The master token sequence number is out of range.' },
  MASTERTOKEN_SERIAL_NUMBER_OUT_OF_RANGE: { number: 1005, responseCode: ENTITY_REAUTH, message: 'The master token serial number is out of range.' },
  MASTERTOKEN_TOKENDATA_INVALID: { number: 1006, responseCode: ENTITY_REAUTH, message: 'The master token data is not valid.' },
  MASTERTOKEN_SESSIONDATA_INVALID: { number: 1008, responseCode: ENTITY_REAUTH, message: 'The master token session data is not valid.' },
  MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC: { number: 1009, responseCode: ENTITY_REAUTH, message: 'The master token is not the newest issued for its serial number.' },
  MASTERTOKEN_TOKENDATA_MISSING: { number: 1010, responseCode: ENTITY_REAUTH, message: 'The master token has no token data.' },
  MASTERTOKEN_TOKENDATA_PARSE_ERROR: { number: 1011, responseCode: ENTITY_REAUTH, message: 'The master token data could not be parsed.' },
  MASTERTOKEN_SESSIONDATA_PARSE_ERROR: { number: 1012, responseCode: ENTITY_REAUTH, message: 'The master token session data could not be parsed.' },
  MASTERTOKEN_IDENTITY_REVOKED: { number: 1013, responseCode: ENTITY_REAUTH, message: 'The master token belongs to a revoked entity.' },
  // Entity authentication (4000..).
  UNIDENTIFIED_ENTITYAUTH_SCHEME: { number: 4000, responseCode: FAIL, message: 'The entity authentication scheme is not known.' },
  ENTITYAUTH_FACTORY_NOT_FOUND: { number: 4001, responseCode: FAIL, message: 'This server does not support that entity authentication scheme.' },
  ENTITY_NOT_FOUND: { number: 4005, responseCode: FAIL, message: 'Entity not recognized.' },
  INCORRECT_ENTITYAUTH_DATA: { number: 4006, responseCode: FAIL, message: 'The entity used the wrong entity authentication data.' },
  ENTITY_REVOKED: { number: 4025, responseCode: FAIL, message: 'The entity is revoked.' },
  ENTITYAUTH_VERIFICATION_FAILED: { number: 4035, responseCode: ENTITYDATA_REAUTH, message: 'The entity authentication data did not verify.' },
  // User authentication (5000..): KeyLadder has none.
  USERAUTH_FACTORY_NOT_FOUND: { number: 5004, responseCode: FAIL, message: 'This server does not support user authentication.' },
  // Messages (6000..).
  UNSUPPORTED_COMPRESSION: { number: 6000, responseCode: FAIL, message: 'The compression algorithm is not supported.' },
  UNCOMPRESSION_ERROR: { number: 6002, responseCode: FAIL, message: 'The payload could not be uncompressed within the size limit.' },
  MESSAGE_ENTITY_NOT_FOUND: { number: 6003, responseCode: FAIL, message: 'The header has neither entity authentication data nor a master token.' },
  PAYLOAD_MESSAGE_ID_MISMATCH: { number: 6004, responseCode: FAIL, message: 'A payload chunk names another message.' },
  PAYLOAD_SEQUENCE_NUMBER_MISMATCH: { number: 6005, responseCode: FAIL, message: 'A payload chunk is out of sequence.' },
  PAYLOAD_VERIFICATION_FAILED: { number: 6006, responseCode: FAIL, message: 'A payload chunk signature did not verify.' },
  MESSAGE_DATA_MISSING: { number: 6007, responseCode: FAIL, message: 'The message is empty.' },
  MESSAGE_FORMAT_ERROR: { number: 6008, responseCode: FAIL, message: 'The message is malformed.' },
  MESSAGE_VERIFICATION_FAILED: { number: 6009, responseCode: FAIL, message: 'The header signature did not verify.' },
  HEADER_DATA_MISSING: { number: 6010, responseCode: FAIL, message: 'The header has no header data.' },
  PAYLOAD_DATA_MISSING: { number: 6011, responseCode: FAIL, message: 'A payload chunk that does not end the message has no data.' },
  UNIDENTIFIED_COMPRESSION: { number: 6013, responseCode: FAIL, message: 'The compression algorithm is not known.' },
  MESSAGE_EXPIRED: { number: 6014, responseCode: EXPIRED, message: 'The master token expired and the message is not renewable or has no key request data.' },
  MESSAGE_ID_OUT_OF_RANGE: { number: 6015, responseCode: FAIL, message: 'The message id is out of range.' },
  INTERNAL_CODE_NEGATIVE: { number: 6016, responseCode: FAIL, message: 'The error header internal code is negative.' },
  UNEXPECTED_RESPONSE_MESSAGE_ID: { number: 6017, responseCode: FAIL, message: 'The response does not answer the request message id.' },
  PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE: { number: 6019, responseCode: FAIL, message: 'A payload chunk sequence number is out of range.' },
  PAYLOAD_MESSAGE_ID_OUT_OF_RANGE: { number: 6020, responseCode: FAIL, message: 'A payload chunk message id is out of range.' },
  MESSAGE_REPLAYED: { number: 6021, responseCode: REPLAYED, message: 'Non-replayable message replayed.' },
  HEADER_DATA_INVALID: { number: 6024, responseCode: FAIL, message: 'The header data is not valid.' },
  PAYLOAD_INVALID: { number: 6025, responseCode: FAIL, message: 'A payload chunk is not valid.' },
  UNEXPECTED_MESSAGE_SENDER: { number: 6030, responseCode: FAIL, message: 'The message sender is not the master token entity.' },
  NONREPLAYABLE_MESSAGE_REQUIRES_MASTERTOKEN: { number: 6031, responseCode: FAIL, message: 'A non-replayable message needs a master token.' },
  NONREPLAYABLE_ID_OUT_OF_RANGE: { number: 6032, responseCode: FAIL, message: 'The non-replayable id is out of range.' },
  HANDSHAKE_DATA_MISSING: { number: 6036, responseCode: FAIL, message: 'A handshake message must be renewable and carry key request data.' },
  MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED: { number: 6038, responseCode: ENTITYDATA_REAUTH, message: 'The header signature under the entity authentication data did not verify.' },
  MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED: { number: 6039, responseCode: ENTITY_REAUTH, message: 'The header signature under the master token session keys did not verify.' },
  MESSAGE_REPLAYED_UNRECOVERABLE: { number: 6040, responseCode: ENTITY_REAUTH, message: 'Non-replayable message replayed, too far out of sequence to recover.' },
  RESPONSE_REQUIRES_MASTERTOKEN: { number: 6027, responseCode: KEYX_REQUIRED, message: 'The response needs a master token: send key request data.' },
  // Key exchange (7000..).
  UNIDENTIFIED_KEYX_SCHEME: { number: 7000, responseCode: FAIL, message: 'The key exchange scheme is not known.' },
  KEYX_FACTORY_NOT_FOUND: { number: 7001, responseCode: FAIL, message: 'This server does not support that key exchange scheme.' },
  UNIDENTIFIED_KEYX_MECHANISM: { number: 7005, responseCode: FAIL, message: 'The key exchange mechanism is not known.' },
  UNSUPPORTED_KEYX_MECHANISM: { number: 7006, responseCode: FAIL, message: 'The key exchange mechanism is not supported.' },
  KEYX_RESPONSE_REQUEST_MISMATCH: { number: 7007, responseCode: FAIL, message: 'The key response does not answer the key request.' },
  KEYX_WRAPPING_KEY_MISSING: { number: 7013, responseCode: FAIL, message: 'Key exchange wrapping key missing.' },
  KEYX_INVALID_WRAPDATA: { number: 7021, responseCode: FAIL, message: 'The key exchange wrap data is not valid.' },
  // The responder itself.
  INTERNAL_EXCEPTION: { number: 9000, responseCode: TRANSIENT_FAILURE, message: 'The responder could not answer now; try again.' },
} as const satisfies Record<string, MslErrorSpec>;

export type MslErrorName = keyof typeof MSL_ERRORS;

/**
 * A refusal at the MSL level: it becomes an error header (never an HTTP
 * error), so the client can act on its response code. `name` is MSL's error
 * name and the stable code tests and the audit key on; `detail` is
 * KeyLadder's finer reason (for example DEVICE_REVOKED), never key material.
 * `messageId` is the request's message id when the header got far enough to
 * give one: the error header answers with it + 1.
 */
export class MslError extends Error {
  override readonly name = 'MslError';
  readonly spec: MslErrorSpec;
  constructor(
    readonly code: MslErrorName,
    readonly detail?: string,
    readonly messageId?: number,
  ) {
    super(MSL_ERRORS[code].message + (detail === undefined ? '' : ` (${detail})`));
    this.spec = MSL_ERRORS[code];
  }

  get internalCode(): number {
    return INTERNAL_CODE_BASE + this.spec.number;
  }

  get responseCode(): ResponseCode {
    return this.spec.responseCode;
  }

  /** The same error, now knowing the request's message id. */
  withMessageId(messageId: number): MslError {
    return this.messageId === undefined ? new MslError(this.code, this.detail, messageId) : this;
  }
}

export const mslError = (code: MslErrorName, detail?: string): MslError => new MslError(code, detail);
