// The ladder's error catalogue.
//
// `code` is the MSL error name that a device (or an MSL peer) would see for the
// same failure, so operators can match our answers against MSL's logs. `reason`
// is KeyLadder's finer, equally stable name for what exactly went wrong: tests,
// the audit log and operators key on it. Messages never include key material
// or the bytes that failed to decrypt.

export const MslErrorCode = {
  MSL_PARSE_ERROR: 'MSL_PARSE_ERROR',
  UNIDENTIFIED_KEYX_MECHANISM: 'UNIDENTIFIED_KEYX_MECHANISM',
  KEYX_WRAPPING_KEY_MISSING: 'KEYX_WRAPPING_KEY_MISSING',
  UNSUPPORTED_KEYX_MECHANISM: 'UNSUPPORTED_KEYX_MECHANISM',
  /** The identity is not provisioned (MSL: ENTITY_NOT_FOUND). */
  ENTITY_NOT_FOUND: 'ENTITY_NOT_FOUND',
  /** The identity is provisioned but revoked (MSL: ENTITY_REVOKED). */
  ENTITY_REVOKED: 'ENTITY_REVOKED',
  /** The responder cannot answer at all (no active Kissuer generation). */
  KEYX_RESPONDER_UNAVAILABLE: 'KEYX_RESPONDER_UNAVAILABLE',
  /** Requestor side: a JWE could not be parsed. */
  JWE_PARSE_ERROR: 'JWE_PARSE_ERROR',
  /** Requestor side: a JWE uses an algorithm MSL does not accept. */
  UNSUPPORTED_JWE_ALGORITHM: 'UNSUPPORTED_JWE_ALGORITHM',
  /** Requestor side: a JWE failed to decrypt (wrong key or tampered). */
  JWE_DECRYPTION_ERROR: 'JWE_DECRYPTION_ERROR',
  /** Requestor side: the decrypted JWK is not the key MSL expects. */
  INVALID_JWK: 'INVALID_JWK',
  /** Requestor side: the response does not answer the request. */
  KEYX_RESPONSE_REQUEST_MISMATCH: 'KEYX_RESPONSE_REQUEST_MISMATCH',
} as const;
export type MslErrorCode = (typeof MslErrorCode)[keyof typeof MslErrorCode];

export class LadderError extends Error {
  override readonly name = 'LadderError';
  constructor(
    readonly code: MslErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  toJSON(): { code: string; reason: string; message: string } {
    return { code: this.code, reason: this.reason, message: this.message };
  }
}

export const parseError = (reason: string, message: string): LadderError =>
  new LadderError(MslErrorCode.MSL_PARSE_ERROR, reason, message);

export const wrappingKeyMissing = (reason: string, message: string): LadderError =>
  new LadderError(MslErrorCode.KEYX_WRAPPING_KEY_MISSING, reason, message);

/**
 * Every way a JWE can fail to decrypt is reported the same way on purpose
 * (wrong key, flipped tag, flipped ciphertext, flipped IV, flipped header all
 * look alike), so the requestor leaks nothing about which check failed.
 */
export const decryptionFailed = (): LadderError =>
  new LadderError(MslErrorCode.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED', 'The JWE failed to decrypt: wrong key, or the JWE was altered.');
