// The MSL server identity's RSA key pair: generated here, or imported from
// what a lab or an MSL server already uses (PKCS #1 or PKCS #8, as PEM or as
// the Base64 DER of MSL's config: mslsrv.cfg's `msl.rsa.priv.0`), so that
// KeyLadder can stand in for a server its devices pin. Whatever the form, the
// key is refused unless it is RSA of 2048 bits or more that passes
// electron/jwe/rsaKeyCheck.ts (the checks every RSA key here passes), and
// unless it signs what its own public key verifies (a damaged private key
// would sign garbage at every message). Refusals never quote the key.

import { createPrivateKey, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { decodeBase64 } from '../encoding/base64.js';
import { MAX_RSA_BITS, MIN_RSA_BITS, rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';
import { ServiceError, ServiceErrorCode } from './errors.js';

/** The modulus of keys generated here. */
export const MSL_RSA_BITS = 2048;

export interface MslRsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo, DER: what MSL's client config takes (Base64) as msl.rsa.pub.N. */
  readonly spki: Buffer;
  /** PKCS #8, DER: to be sealed. The caller zeroes it. */
  readonly pkcs8: Buffer;
  readonly bits: number;
  /** RFC 7638 (SHA-256, base64url). */
  readonly thumbprint: string;
}

const invalid = (message: string): ServiceError => new ServiceError(ServiceErrorCode.MSL_KEY_INVALID, `${message} Nothing was changed.`);

/** A new key pair for the server identity. */
export async function generateMslKeyPair(): Promise<MslRsaKeyPair> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: MSL_RSA_BITS, publicExponent: 65537 });
  return describePair(privateKey);
}

/** Reads and checks an imported private key (see the top of this file). */
export async function readMslPrivateKey(text: string): Promise<MslRsaKeyPair> {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('The key file is empty.');
  const privateKey = text.includes('-----BEGIN') ? fromPem(text) : fromBase64Der(text);
  if (privateKey.asymmetricKeyType !== 'rsa') throw invalid(`That is ${KEY_TYPE_NAMES[privateKey.asymmetricKeyType ?? ''] ?? 'not an RSA key'}: MSL's RSA entity authentication signs with SHA256withRSA (PKCS #1 v1.5), so give an RSA key.`);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw invalid(`The key has ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted.`);
  return describePair(privateKey);
}

/** The checks both paths share, and the forms the key is kept and shown in. */
async function describePair(privateKey: KeyObject): Promise<MslRsaKeyPair> {
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const problem = rsaPublicKeyProblem(jwk);
  if (problem !== undefined) throw invalid(`The key is refused: ${problem}.`);
  const probe = Buffer.from('keyladder msl identity self-test', 'utf8');
  if (!verify('sha256', probe, publicKey, sign('sha256', probe, privateKey))) throw invalid('The private key does not sign what its public key verifies: it is damaged.');
  return {
    privateKey,
    publicKey,
    spki: publicKey.export({ format: 'der', type: 'spki' }),
    pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
    bits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    thumbprint: await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! }, 'sha256'),
  };
}

/** What the refusal calls a key of another type. */
const KEY_TYPE_NAMES: Readonly<Record<string, string>> = { 'rsa-pss': 'an RSA-PSS key', ec: 'an EC key', ed25519: 'an Ed25519 key', ed448: 'an Ed448 key', x25519: 'an X25519 key', x448: 'an X448 key', dsa: 'a DSA key', dh: 'a DH key' };

const PRIVATE_PEM = { 'RSA PRIVATE KEY': 'pkcs1', 'PRIVATE KEY': 'pkcs8' } as const;

function fromPem(text: string): KeyObject {
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!);
  if (labels.length !== 1) throw invalid(`Give one private key (this file has ${labels.length} PEM blocks).`);
  const label = labels[0]!;
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text)) throw invalid('The private key is encrypted: decrypt it first (openssl pkey -in KEY -out PLAIN), import it, and erase the plain copy.');
  if (!(label in PRIVATE_PEM)) throw invalid(`A PEM "${label}" block is not a private key: give "RSA PRIVATE KEY" (PKCS #1) or "PRIVATE KEY" (PKCS #8).`);
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw invalid(`The PEM "${label}" block does not parse as a private key.`);
  }
}

/** MSL's config form: Base64 of the DER (PKCS #8 or PKCS #1), on its own or as a `msl.rsa.priv.N` line. */
function fromBase64Der(text: string): KeyObject {
  const value = text.trim().replace(/^msl\.rsa\.priv\.\d+[ \t]+/, '').replace(/\s+/g, '');
  const der = decodeBase64(value);
  if (der === undefined || der.length === 0) throw invalid('The key is neither PEM nor the standard Base64 of a DER private key (as msl.rsa.priv.N in an MSL config).');
  const bytes = Buffer.from(der);
  try {
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        return createPrivateKey({ key: bytes, format: 'der', type });
      } catch {
        // the other form, then the refusal
      }
    }
    throw invalid('The Base64 text is not a PKCS #8 or PKCS #1 private key.');
  } finally {
    bytes.fill(0);
    der.fill(0);
  }
}
