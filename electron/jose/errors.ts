// Why a JOSE object was refused, named by the step that refused it, with a
// stable code (jose does the same: every error class has a `code`).
//
// INTEGRITY is one code with one message per object type, whatever failed
// (wrong key, altered header, key, IV, ciphertext or tag, a key unwrap whose
// check failed): a caller that could tell them apart would be an oracle.

/**
 * The four steps of opening an object, and BAD_KEY: a key KeyLadder will not
 * encrypt or sign with; TOO_DEEP: JSON nested beyond MAX_JSON_DEPTH (a parse
 * refusal of its own); PBES2_BUDGET: more PBKDF2 work than one object may cost;
 * KEY_SIZE: the secret key given is of another size than the algorithm takes.
 */
export type JoseRefusalCode = 'PARSE' | 'UNSUPPORTED_ALG' | 'NO_KEY_FOR_KID' | 'KEY_SIZE' | 'INTEGRITY' | 'BAD_KEY' | 'TOO_DEEP' | 'PBES2_BUDGET';

/** A recipient or signature that was not tried, and why. */
export interface Skipped {
  /** Its index among the recipients or signatures. */
  readonly index: number;
  readonly alg: string;
  readonly kid?: string;
  readonly reason: string;
}

export class JoseRefusal extends Error {
  override readonly name = 'JoseRefusal';

  constructor(
    readonly code: JoseRefusalCode,
    message: string,
    /** The recipients or signatures passed over before the refusal. */
    readonly skipped: readonly Skipped[] = [],
  ) {
    super(message);
  }
}

export const parseRefusal = (message: string): JoseRefusal => new JoseRefusal('PARSE', message);

export const DECRYPTION_FAILED = 'The JWE does not decrypt with the key: the key is wrong, or the JWE was altered.';
export const VERIFICATION_FAILED = 'The JWS signature does not verify with the key: the key is wrong, or the JWS was altered.';

export const decryptionFailed = (skipped: readonly Skipped[] = []): JoseRefusal => new JoseRefusal('INTEGRITY', DECRYPTION_FAILED, skipped);
export const verificationFailed = (skipped: readonly Skipped[] = []): JoseRefusal => new JoseRefusal('INTEGRITY', VERIFICATION_FAILED, skipped);
