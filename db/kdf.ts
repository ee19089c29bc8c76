// The passphrase KDF: scrypt, recorded with its parameters in the key file so
// they can be raised later (a passphrase change re-derives with new ones).
// OWASP's minimum for scrypt is N=2^17, r=8, p=1; that is our default and floor.

import { randomBytes, scrypt } from 'node:crypto';
import { StoreError, StoreErrorCode } from './errors.js';

export interface ScryptParams {
  readonly name: 'scrypt';
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  /** base64 */
  readonly salt: string;
}

export const DEFAULT_LOG_N = 17;
export const MIN_LOG_N = 17;
const MAX_LOG_N = 22;

/**
 * Tests may use cheaper parameters, but only when the environment says so
 * explicitly; an operator cannot weaken a store by accident.
 */
const weakAllowed = (): boolean => process.env['KEYLADDER_ALLOW_WEAK_KDF'] === '1';

export function newScryptParams(logN = DEFAULT_LOG_N): ScryptParams {
  checkParams({ name: 'scrypt', logN, r: 8, p: 1, salt: '' });
  return { name: 'scrypt', logN, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}

export function checkParams(params: ScryptParams): void {
  const minimum = weakAllowed() ? 10 : MIN_LOG_N;
  if (params.name !== 'scrypt' || !Number.isInteger(params.logN) || params.logN < minimum || params.logN > MAX_LOG_N || params.r !== 8 || params.p < 1 || params.p > 4) {
    throw new StoreError(StoreErrorCode.WEAK_KDF, `scrypt needs N between 2^${minimum} and 2^${MAX_LOG_N}, r=8 and p from 1 to 4.`);
  }
}

/** Derives the 32-byte key that wraps the store key. Off the main thread (libuv pool). */
export function deriveKek(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(passphrase.normalize('NFC'), 'utf8'), Buffer.from(params.salt, 'base64'), 32, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 16 * 1024 * 1024 }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

export const MIN_PASSPHRASE_LENGTH = 12;

export function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new StoreError(StoreErrorCode.WEAK_PASSPHRASE, `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  }
}
