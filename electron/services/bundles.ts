// Protected files that leave the store: provisioning bundles for factories and
// Kissuer exports for trusted peer responders. Always a compact JWE, to a
// passphrase (PBES2-HS512+A256KW, 600,000 iterations) or to a recipient's
// public RSA key (RSA-OAEP-256, at least 2048 bits), or, to a keyring
// recipient named by kid, a nested JWT: signed by this KeyLadder, then
// encrypted to the recipient (keyring.ts). Never plain.
//
// Only the nested JWT says who made it, so opening anything else (a
// passphrase or RSA export, or a JWE to an own key that holds no signature)
// needs the operator to accept that it is unsigned, and the audit says so.
//
// The passphrase kind goes through electron/jwe/pbes2.ts, not jose: jose's
// PBES2 needs Web Crypto AES-KW, which Electron's main process lacks. The RSA
// kind stays with jose (RSA-OAEP and AES-GCM work on both runtimes). Both are
// standard JWEs that jose opens.

import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { algorithmVerdict } from '../jose/algorithms.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { CryptoFailure } from '../jwe/cryptoFailure.js';
import { parseStrictJson } from '../encoding/strictJson.js';
import { tooDeep } from './strictJsonInput.js';
import { Pbes2Error, pbes2Decrypt, pbes2Encrypt, pbes2EncryptStream } from '../jwe/pbes2.js';
import { a256gcmJweStream, GCM_KEY_LENGTH, type JweStream } from '../jwe/gcmStream.js';
import type { ChunkProducer } from './delivery.js';
import { MIN_PASSPHRASE_LENGTH } from '../../db/kdf.js';
import type { BundleProtection } from './types.js';
import type { KeyStore } from '../../db/store.js';
import { openWithKeyring, sealForRecipient } from './keyring.js';
import { readAdHocPublicKey } from './publicKeyInput.js';
import { MIN_RSA_BITS, rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';
import { visible } from '../shared/visibleText.js';

const PBES2_ITERATIONS = 600_000;
const ENC = 'A256GCM';
/** What an unsigned export to an RSA key file is made and opened with. */
const RSA_ALG = 'RSA-OAEP-256';

export type BundleKind = 'keyladder-provisioning-bundle' | 'keyladder-group-bundle' | 'keyladder-issuer-export' | 'keyladder-revocation-list';

/**
 * An ad-hoc recipient key (a file, not a keyring entry): checked exactly as
 * the keyring checks keys (publicKeyInput.ts; JWK or PEM text), and RSA, the
 * one kind an unsigned export goes to. Its public members only.
 */
export function checkAdHocRecipient(text: string): Record<string, unknown> {
  const { jwk } = readAdHocPublicKey(text, 'enc');
  if (jwk.kty !== 'RSA') throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, 'A recipient key file is an RSA key: add an EC key to the keyring (keyladder recipient add FILE --kid KID) and export --to KID.', undefined, 'UNSUPPORTED_KEY_TYPE');
  return { ...jwk };
}

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

/**
 * Encrypts `payload`; the caller should drop its references to the plaintext
 * right after. A keyring recipient needs the store (its keyring, and this
 * KeyLadder's signing key).
 */
export async function sealBundle(kind: BundleKind, payload: unknown, protection: BundleProtection, store?: KeyStore): Promise<string> {
  const plaintext = Buffer.from(JSON.stringify({ format: kind, version: 1, createdAt: new Date().toISOString(), payload }), 'utf8');
  try {
    if (protection.kind === 'recipient') {
      if (!store) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'An export to a keyring recipient needs the unlocked store.');
      return await sealForRecipient(store, kind, plaintext, protection.kid);
    }
    if (protection.kind === 'passphrase') {
      checkBundlePassphrase(protection.passphrase);
      return await withPassphraseBytes(protection.passphrase, (passphrase) => pbes2Encrypt(plaintext, passphrase, { iterations: PBES2_ITERATIONS, header: { cty: kind } }));
    }
    return await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: ENC, cty: kind }).encrypt(await recipientKey(checkAdHocRecipient(JSON.stringify(protection.publicJwk)), 'public'));
  } finally {
    plaintext.fill(0);
  }
}

/** The protections a bundle can be written under as it is made (sealBundleStream). */
export type StreamedProtection = Extract<BundleProtection, { readonly kind: 'passphrase' | 'rsa' }>;
export const isStreamable = (protection: BundleProtection): protection is StreamedProtection => protection?.kind === 'passphrase' || protection?.kind === 'rsa';

async function passphraseStream(kind: BundleKind, passphrase: string): Promise<JweStream> {
  checkBundlePassphrase(passphrase);
  return withPassphraseBytes(passphrase, (bytes) => pbes2EncryptStream(bytes, { iterations: PBES2_ITERATIONS, header: { cty: kind } }));
}

/** RSA-OAEP-256 with A256GCM, as sealBundle's jose CompactEncrypt makes it: the CEK encrypted to the key, then the body streamed. */
async function rsaStream(kind: BundleKind, publicJwk: Readonly<Record<string, unknown>>): Promise<JweStream> {
  const jwk = checkAdHocRecipient(JSON.stringify(publicJwk));
  // The same checks and refusals as a bundle made whole (size, exponent, kind).
  await recipientKey(jwk, 'public');
  const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const headerB64 = Buffer.from(JSON.stringify({ alg: RSA_ALG, enc: ENC, cty: kind }), 'utf8').toString('base64url');
  const cek = randomBytes(GCM_KEY_LENGTH);
  let encryptedKey: Buffer;
  try {
    encryptedKey = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  } catch (e) {
    cek.fill(0);
    throw e;
  }
  return a256gcmJweStream(headerB64, encryptedKey, cek);
}

/** How much plaintext a streamed bundle encrypts at a time. */
const PIECE_CHARS = 64 * 1024;

/**
 * sealBundle for a passphrase or RSA bundle too large to hold twice: the same
 * JWE (the same envelope around the payload), written as it is made. The key
 * is derived (passphrase) or the CEK encrypted (RSA-OAEP-256) now; the
 * returned producer, run once by the delivery, asks `writePayload` for the
 * payload's JSON text in pieces, and encrypts and writes each piece (zeroed
 * after) before the next is made. A keyring recipient's bundle is signed
 * first (a nested JWT), and a signature needs the whole payload: it is made whole.
 */
export async function sealBundleStream(kind: BundleKind, protection: StreamedProtection, writePayload: (push: (json: string) => void) => void): Promise<ChunkProducer> {
  const encrypt = protection.kind === 'passphrase' ? await passphraseStream(kind, protection.passphrase) : await rsaStream(kind, protection.publicJwk);
  const head = JSON.stringify({ format: kind, version: 1, createdAt: new Date().toISOString(), payload: null });
  const [open, close] = [head.slice(0, -'null}'.length), '}'];
  return (sink) => encrypt(sink, (pushBytes) => {
    let pending: string[] = [];
    let size = 0;
    const flush = () => {
      const piece = Buffer.from(pending.join(''), 'utf8');
      pending = [];
      size = 0;
      pushBytes(piece);
      piece.fill(0);
    };
    const push = (json: string) => {
      pending.push(json);
      size += json.length;
      if (size >= PIECE_CHARS) flush();
    };
    push(open);
    writePayload(push);
    push(close);
    flush();
  });
}

/** What the audit records of an export's protection: its kind, the recipient's kid, and whether it is signed. */
export function protectionDetails(protection: BundleProtection): Record<string, string | boolean> {
  return protection.kind === 'recipient' ? { protection: protection.kind, recipient: protection.kid, signed: true } : { protection: protection.kind };
}

/**
 * How an export is opened: a passphrase, a private RSA JWK, or this
 * KeyLadder's keyring (own key by the JWE's kid, signer pinned). `unsigned`
 * is the operator's say-so that an export that is not signed may be imported.
 */
export type OpenProtection = (
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  | { readonly kind: 'rsa'; readonly privateJwk: Readonly<Record<string, unknown>> }
  | { readonly kind: 'keyring' }
) & { readonly unsigned?: boolean };

export interface OpenedBundle {
  readonly payload: unknown;
  /** The keyring kid of the signer; null when the export was not signed (and that was accepted). */
  readonly signer: string | null;
  /** The RFC 7638 thumbprint of the key that signed it; null when unsigned. */
  readonly signerThumbprint: string | null;
}

/** What the audit records of where an import came from: who signed it (kid, and the key's RFC 7638 thumbprint), or that nobody did. */
export const provenanceDetails = (signer: string | null, thumbprint: string | null = null): Record<string, string | boolean> =>
  (signer === null ? { unsigned: true } : { signer, ...(thumbprint === null ? {} : { signerThumbprint: thumbprint }) });

export const unsignedRefused = (what: string): ServiceError => new ServiceError(ServiceErrorCode.SIGNATURE_REQUIRED,
  `${what} is not signed, so nothing says who made it. If you know where it came from, import it with --unsigned (the audit log records that); ` +
  'or have the peer export it --to this KeyLadder\'s key (keyladder identity jwks) and add the peer\'s signing key (keyladder recipient add FILE --use sig).');

/**
 * An export opened with a private RSA key says which alg it used before any key is tried: the
 * table's verdict (RSA1_5's Bleichenbacher reason) rather than "wrong passphrase or key", which
 * would send the operator looking for another key.
 */
function checkRsaExportAlg(jwe: string): void {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(jwe).alg;
  } catch {
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is not a KeyLadder export: its protected header does not parse.');
  }
  const verdict = algorithmVerdict('key-management', alg);
  if (!verdict.supported) throw new ServiceError(ServiceErrorCode.JOSE_UNSUPPORTED_ALG, `The export uses ${visible(verdict.name, 80)}, which KeyLadder refuses: ${verdict.reason}. Nothing was imported.`, undefined, 'UNSUPPORTED_ALG');
  if (verdict.name !== RSA_ALG) throw new ServiceError(ServiceErrorCode.JOSE_UNSUPPORTED_ALG, `The export uses ${visible(verdict.name, 80)}; an export to an RSA key is ${RSA_ALG}. Nothing was imported.`, undefined, 'UNSUPPORTED_ALG');
}

/**
 * Decrypts an export and checks that it is a `kind`. A store is needed for
 * the keyring; a store being created (init --join) has no key a peer could
 * have encrypted to yet.
 */
export async function openBundle(kind: BundleKind, jwe: string, protection: OpenProtection, store?: KeyStore): Promise<OpenedBundle> {
  if (typeof jwe !== 'string' || jwe.split('.').length !== 5) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is not a KeyLadder export (a compact JWE).');
  if (protection.kind !== 'keyring' && protection.unsigned !== true) throw unsignedRefused(protection.kind === 'passphrase' ? 'A passphrase export' : 'An export to an RSA key file');
  let plaintext: Uint8Array;
  let signer: string | null = null;
  let signerThumbprint: string | null = null;
  try {
    if (protection.kind === 'keyring') {
      if (!store) throw new ServiceError(ServiceErrorCode.NO_KEY_FOR_KID, 'A store being created has no key yet that a peer could have encrypted to: join from a passphrase or RSA key export (with --unsigned), then exchange keys (keyladder identity jwks).');
      try {
        const opened = await openWithKeyring(store, kind, jwe, protection.unsigned === true);
        ({ plaintext, signer } = opened);
        signerThumbprint = opened.signerThumbprint ?? null;
      } catch (error) {
        if (error instanceof ServiceError && error.code === ServiceErrorCode.SIGNATURE_REQUIRED) throw unsignedRefused('The export');
        throw error;
      }
    } else if (protection.kind === 'passphrase') {
      ({ plaintext } = await withPassphraseBytes(protection.passphrase, (passphrase) => pbes2Decrypt(jwe, passphrase)));
    } else {
      checkRsaExportAlg(jwe);
      const key = await recipientKey(protection.privateJwk, 'private');
      ({ plaintext } = await compactDecrypt(jwe, key, { keyManagementAlgorithms: [RSA_ALG], contentEncryptionAlgorithms: [ENC] }));
    }
  } catch (error) {
    // A primitive that broke is not a wrong passphrase: it stays INTERNAL_ERROR.
    if (error instanceof CryptoFailure || error instanceof ServiceError) throw error;
    // A file KeyLadder cannot read at all is not a wrong passphrase.
    if (error instanceof Pbes2Error && error.failure === 'too-deep') throw new ServiceError(ServiceErrorCode.JSON_TOO_DEEP, error.message);
    if (error instanceof Pbes2Error && error.failure !== 'decryption') throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `That is not a KeyLadder passphrase export: ${error.message}`);
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'The export does not decrypt: wrong passphrase or key, or the file was altered.');
  }
  try {
    // A view, not a copy: the plaintext holds keys, and only this one buffer is zeroed below.
    // Strictly, as every JSON KeyLadder is handed: no member named twice, no nesting beyond MAX_JSON_DEPTH.
    const strict = parseStrictJson(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('utf8'));
    if (!strict.ok && strict.problem === 'too-deep') throw tooDeep(`${kind}'s content`);
    if (!strict.ok) throw new Error('not strict JSON');
    const parsed = strict.value as { format?: unknown; version?: unknown; payload?: unknown } | null;
    if (parsed?.format !== kind || parsed.version !== 1) throw new Error('wrong kind');
    return { payload: parsed.payload, signer, signerThumbprint };
  } catch (error) {
    if (error instanceof ServiceError) throw error;
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The file decrypts but is not a ${kind}.`);
  } finally {
    plaintext.fill(0);
  }
}
