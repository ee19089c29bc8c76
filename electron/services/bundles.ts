// Protected files that leave the store: provisioning bundles for factories and
// Kissuer exports for trusted peer responders. Always a compact JWE, to a
// passphrase (PBES2-HS512+A256KW, 600,000 iterations) or to a recipient's
// public RSA key (RSA-OAEP-256, at least 2048 bits). Never plain.
//
// The passphrase kind goes through electron/jwe/pbes2.ts, not jose: jose's
// PBES2 needs Web Crypto AES-KW, which Electron's main process lacks. The RSA
// kind stays with jose (RSA-OAEP and AES-GCM work on both runtimes). Both are
// standard JWEs that jose opens.

import { CompactEncrypt, compactDecrypt, importJWK, type JWK } from 'jose';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { CryptoFailure } from '../jwe/cryptoFailure.js';
import { Pbes2Error, pbes2Decrypt, pbes2Encrypt } from '../jwe/pbes2.js';
import { MIN_PASSPHRASE_LENGTH } from '../../db/kdf.js';
import type { BundleProtection } from './types.js';
import { MIN_RSA_BITS, rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';

const PBES2_ITERATIONS = 600_000;
const ENC = 'A256GCM';

export type BundleKind = 'keyladder-provisioning-bundle' | 'keyladder-group-bundle' | 'keyladder-issuer-export' | 'keyladder-revocation-list';

async function recipientKey(jwk: Readonly<Record<string, unknown>>, use: 'public' | 'private') {
  const isPrivate = typeof jwk['d'] === 'string';
  if (use === 'private' && !isPrivate) throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, 'Decrypting needs the private RSA JWK that the export was made for.');
  const problem = rsaPublicKeyProblem(jwk, use);
  if (problem !== undefined) {
    throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, use === 'public'
      ? `The recipient key is refused: ${problem}. It must be a public RSA JWK of at least ${MIN_RSA_BITS} bits with e = 65537.`
      : `The RSA private key is refused: ${problem}.`);
  }
  try {
    return await importJWK({ ...(jwk as JWK), alg: 'RSA-OAEP-256' }, 'RSA-OAEP-256');
  } catch {
    throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, 'The RSA JWK could not be imported.');
  }
}

function checkBundlePassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `A bundle passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  }
}

/** Runs `use` with the passphrase as PBES2 takes it (NFC, UTF-8), and zeroes those bytes after. */
async function withPassphraseBytes<T>(passphrase: string, use: (bytes: Buffer) => Promise<T>): Promise<T> {
  const bytes = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  try {
    return await use(bytes);
  } finally {
    bytes.fill(0);
  }
}

/** Encrypts `payload`; the caller should drop its references to the plaintext right after. */
export async function sealBundle(kind: BundleKind, payload: unknown, protection: BundleProtection): Promise<string> {
  const plaintext = Buffer.from(JSON.stringify({ format: kind, version: 1, createdAt: new Date().toISOString(), payload }), 'utf8');
  try {
    if (protection.kind === 'passphrase') {
      checkBundlePassphrase(protection.passphrase);
      return await withPassphraseBytes(protection.passphrase, (passphrase) => pbes2Encrypt(plaintext, passphrase, { iterations: PBES2_ITERATIONS, header: { cty: kind } }));
    }
    return await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: ENC, cty: kind }).encrypt(await recipientKey(protection.publicJwk, 'public'));
  } finally {
    plaintext.fill(0);
  }
}

export type OpenProtection = { readonly kind: 'passphrase'; readonly passphrase: string } | { readonly kind: 'rsa'; readonly privateJwk: Readonly<Record<string, unknown>> };

export async function openBundle(kind: BundleKind, jwe: string, protection: OpenProtection): Promise<unknown> {
  if (typeof jwe !== 'string' || jwe.split('.').length !== 5) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is not a KeyLadder export (a compact JWE).');
  let plaintext: Uint8Array;
  try {
    if (protection.kind === 'passphrase') {
      ({ plaintext } = await withPassphraseBytes(protection.passphrase, (passphrase) => pbes2Decrypt(jwe, passphrase)));
    } else {
      const key = await recipientKey(protection.privateJwk, 'private');
      ({ plaintext } = await compactDecrypt(jwe, key, { keyManagementAlgorithms: ['RSA-OAEP-256'], contentEncryptionAlgorithms: [ENC] }));
    }
  } catch (error) {
    // A primitive that broke is not a wrong passphrase: it stays INTERNAL_ERROR.
    if (error instanceof CryptoFailure || error instanceof ServiceError) throw error;
    // A file KeyLadder cannot read at all is not a wrong passphrase.
    if (error instanceof Pbes2Error && error.failure !== 'decryption') throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `That is not a KeyLadder passphrase export: ${error.message}`);
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'The export does not decrypt: wrong passphrase or key, or the file was altered.');
  }
  try {
    // A view, not a copy: the plaintext holds keys, and only this one buffer is zeroed below.
    const parsed = JSON.parse(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('utf8')) as { format?: unknown; version?: unknown; payload?: unknown };
    if (parsed.format !== kind || parsed.version !== 1) throw new Error('wrong kind');
    return parsed.payload;
  } catch {
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The file decrypts but is not a ${kind}.`);
  } finally {
    plaintext.fill(0);
  }
}
