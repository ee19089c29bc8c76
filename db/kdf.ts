// The passphrase KDF: scrypt, recorded with its parameters in the key file so
// they can be raised later (a passphrase change re-derives with new ones).
// OWASP's minimum for scrypt is N=2^17, r=8, p=1; that is our default and floor.

import { randomBytes, scrypt } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { CryptoFailure } from '../electron/jwe/cryptoFailure.js';
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

const scryptOptions = (params: ScryptParams) => {
  const N = 2 ** params.logN;
  return { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 16 * 1024 * 1024 };
};

/** The passphrase as the KDF takes it: NFC, UTF-8, in bytes of its own (zeroed by the caller). */
const passphraseBytes = (passphrase: string): Uint8Array => new TextEncoder().encode(passphrase.normalize('NFC'));

/**
 * The whole derivation on a worker thread. Node's crypto.scrypt() checks its
 * parameters by calling EVP_PBE_scrypt on the calling thread: OpenSSL returns
 * at once, but BoringSSL (Electron's main process) runs the whole derivation
 * there, so the window froze for a full scrypt at every create, unlock and
 * passphrase change. On a worker of its own the check and the derivation
 * block only that worker. The worker is inline code (no file to find inside
 * an asar archive or next to the TypeScript sources); it gets a copy of the
 * passphrase bytes, zeroes it, and hands the key back by transfer.
 */
const KDF_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
const { passphrase, salt, options } = workerData;
let key;
try {
  key = scryptSync(passphrase, salt, 32, options);
  const out = new Uint8Array(32);
  out.set(key);
  parentPort.postMessage({ key: out }, [out.buffer]);
} catch (error) {
  parentPort.postMessage({ error: String(error && (error.code || error.name)) });
} finally {
  passphrase.fill(0);
  if (key) key.fill(0);
}`;

type KdfReply = { key: Uint8Array } | { error: string };

function deriveOnWorker(passphrase: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The worker's copy is transferred, not cloned: no serialized copy is left behind here.
    const copy = passphrase.slice();
    let worker: Worker;
    try {
      worker = new Worker(KDF_WORKER, { eval: true, workerData: { passphrase: copy, salt: Buffer.from(params.salt, 'base64'), options: scryptOptions(params) }, transferList: [copy.buffer] });
    } catch (error) {
      copy.fill(0);
      reject(new WorkerUnavailable(error));
      return;
    }
    let online = false;
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      then();
    };
    worker.once('online', () => { online = true; });
    worker.once('message', (reply: KdfReply) => settle(() => {
      if ('key' in reply) resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.byteLength));
      else reject(new CryptoFailure('scrypt', { code: reply.error }));
    }));
    // Only a worker that never started falls back to this thread; one that
    // started and then failed is a failure of the KDF, not a reason to block.
    const failed = (cause: unknown) => settle(() => reject(online ? new CryptoFailure('scrypt (worker)', cause) : new WorkerUnavailable(cause)));
    worker.once('error', failed);
    worker.once('exit', (code) => failed({ code: `EXIT_${code}` }));
  });
}

/** The worker could not run (not: the KDF failed). */
class WorkerUnavailable extends Error {
  constructor(cause: unknown) {
    super('The KDF worker could not run.', { cause });
  }
}

/**
 * Derives on the calling thread's libuv pool, as before the worker: on
 * BoringSSL the parameter check still blocks the caller for a full
 * derivation. The fallback when a worker cannot start, and the bench's "before".
 */
export function deriveKekInThread(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const bytes = passphraseBytes(passphrase);
  return new Promise<Buffer>((resolve, reject) => {
    try {
      scrypt(bytes, Buffer.from(params.salt, 'base64'), 32, scryptOptions(params), (error, key) => {
        if (error) reject(new CryptoFailure('scrypt', error));
        else resolve(key);
      });
    } catch (error) {
      reject(new CryptoFailure('scrypt', error));
    }
  }).finally(() => bytes.fill(0));
}

/**
 * Derives the 32-byte key that wraps the store key, on a worker thread, so
 * the main thread's event loop never waits for it (see KDF_WORKER). A
 * failure of scrypt itself is INTERNAL_ERROR, never a wrong passphrase.
 */
export async function deriveKek(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const bytes = passphraseBytes(passphrase);
  try {
    return await deriveOnWorker(bytes, params);
  } catch (error) {
    if (!(error instanceof WorkerUnavailable)) throw error;
    return deriveKekInThread(passphrase, params);
  } finally {
    bytes.fill(0);
  }
}

export const MIN_PASSPHRASE_LENGTH = 12;

export function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new StoreError(StoreErrorCode.WEAK_PASSPHRASE, `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  }
}
