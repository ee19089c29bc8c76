// The services' error catalogue: a stable code per failure an operator can
// cause, and a message that says what to do. Store errors (db/errors.ts) and
// ladder errors (electron/ladder/errors.ts) pass through with their own codes.

import { diskFullError, isDiskFull } from '../../db/errors.js';

export const ServiceErrorCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_IDENTITY: 'INVALID_IDENTITY',
  INVALID_KEY: 'INVALID_KEY',
  DEVICE_EXISTS: 'DEVICE_EXISTS',
  DEVICE_NOT_FOUND: 'DEVICE_NOT_FOUND',
  DEVICE_ALREADY_REVOKED: 'DEVICE_ALREADY_REVOKED',
  /** The identity's device was deleted (its tombstone): provisioning it again needs --reuse-identity; deleting it again has nothing to delete. */
  DEVICE_DELETED: 'DEVICE_DELETED',
  /** An identity list (--ids-from) with a blank line, an identity named twice, or a line that is no identity: refused whole. */
  IDENTITY_LIST_INVALID: 'IDENTITY_LIST_INVALID',
  GROUP_EXISTS: 'GROUP_EXISTS',
  GROUP_NOT_FOUND: 'GROUP_NOT_FOUND',
  ISSUER_NOT_FOUND: 'ISSUER_NOT_FOUND',
  ISSUER_TRANSITION: 'ISSUER_TRANSITION',
  ISSUER_CONFLICT: 'ISSUER_CONFLICT',
  /** import-msl of a Kissuer this store already holds or held (a destroyed generation's included): wrapdata it issued would open as "never issued here". */
  ISSUER_KEY_KNOWN: 'ISSUER_KEY_KNOWN',
  IMPORT_INVALID: 'IMPORT_INVALID',
  /** The MSL server identity's RSA key refused: not RSA, under 2048 bits, weak (rsaKeyCheck.ts), encrypted, damaged or not a private key. */
  MSL_KEY_INVALID: 'MSL_KEY_INVALID',
  /** An MSL identity key id or key pair, or a master-token key, that this store holds or held already. */
  MSL_KEY_KNOWN: 'MSL_KEY_KNOWN',
  /** No MSL server identity, master-token key or generation of that number. */
  MSL_NOT_FOUND: 'MSL_NOT_FOUND',
  /** A captured MSL message handed to the inspector that is larger than it reads (a paste over MAX_MSL_TEXT, a file over the reader's 16 MiB). */
  MSL_CAPTURE_TOO_LARGE: 'MSL_CAPTURE_TOO_LARGE',
  /** An MSL identity or master-token key change not allowed from its status (create with one active, retire the active one). */
  MSL_TRANSITION: 'MSL_TRANSITION',
  BUNDLE_INVALID: 'BUNDLE_INVALID',
  RECIPIENT_KEY_INVALID: 'RECIPIENT_KEY_INVALID',
  RECIPIENT_EXISTS: 'RECIPIENT_EXISTS',
  RECIPIENT_NOT_FOUND: 'RECIPIENT_NOT_FOUND',
  /** A kid already names another key (an own key or a keyring entry): kids are unique across both. */
  KID_TAKEN: 'KID_TAKEN',
  /** A JWE names kids this KeyLadder holds no key for. */
  NO_KEY_FOR_KID: 'NO_KEY_FOR_KID',
  /** Signed by a key the keyring does not pin. */
  SIGNER_UNKNOWN: 'SIGNER_UNKNOWN',
  /** A signed export made for another recipient (its "aud" names no key of this KeyLadder): re-encrypted on the way. */
  AUDIENCE_MISMATCH: 'AUDIENCE_MISMATCH',
  /** Signed by a keyring key not pinned for that kind of import (its roles: recipient add --role). */
  SIGNER_ROLE: 'SIGNER_ROLE',
  /** A peer's revocation list refused: its source is bound to another signer, or it is older than (or as old as) the newest seen, or dated in the future. */
  REVOCATION_LIST_REFUSED: 'REVOCATION_LIST_REFUSED',
  /** An unsigned import, not asked for. */
  SIGNATURE_REQUIRED: 'SIGNATURE_REQUIRED',
  /** A JOSE object that does not parse (the inspector's and decryptor's first step). */
  JOSE_PARSE: 'JOSE_PARSE',
  /** Every algorithm of the object is one KeyLadder refuses (the reason says why). */
  JOSE_UNSUPPORTED_ALG: 'JOSE_UNSUPPORTED_ALG',
  /** The key given did not open or verify it: one code whatever failed. */
  JOSE_INTEGRITY: 'JOSE_INTEGRITY',
  /** Untrusted JSON (a JOSE header or payload, a key or import file) nests deeper than MAX_JSON_DEPTH levels: refused before it is walked. */
  JSON_TOO_DEEP: 'JSON_TOO_DEEP',
  /** A key or import file names a member twice (strict JSON, as requests are read): the message names it and where. */
  DUPLICATE_MEMBER: 'DUPLICATE_MEMBER',
  /** A JWE's PBES2 recipients ask for more PBKDF2 iterations in all than one object may cost. */
  PBES2_BUDGET_EXCEEDED: 'PBES2_BUDGET_EXCEEDED',
  /** The audit log cannot be written (a full disk, say): nothing is answered until it can. */
  AUDIT_UNAVAILABLE: 'AUDIT_UNAVAILABLE',
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  /** `reason`: a finer, stable name beside the code (which check refused a key, say). */
  constructor(readonly code: ServiceErrorCode, message: string, readonly details?: unknown, readonly reason?: string) {
    super(message);
  }
}

/**
 * Node's own errors (ERR_CRYPTO_UNKNOWN_CIPHER, ERR_INVALID_ARG_VALUE …): a
 * primitive or an internal call that broke, never something the caller did,
 * and their messages may quote the values involved.
 */
const RUNTIME_ERROR = /^ERR_/;

/** What any door shows for an error: code and message, never a stack or a key. */
export function describeError(error: unknown): { code: string; reason?: string; message: string } {
  // A write the disk had no room for (a key file, a staged restore, an SQLite page) is DISK_FULL at
  // every door, never a raw ENOSPC or a damaged store (issue 19, item 17).
  if (isDiskFull(error)) {
    const full = diskFullError('The change');
    return { code: full.code, message: full.message };
  }
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && !RUNTIME_ERROR.test(code)) {
    const e = error as Error & { code: string; reason?: unknown };
    return typeof e.reason === 'string' ? { code: e.code, reason: e.reason, message: e.message } : { code: e.code, message: e.message };
  }
  return { code: 'INTERNAL_ERROR', message: 'KeyLadder hit an unexpected error. Nothing was changed by the failed step; see the application log.' };
}
