// The MSL server identity's RSA key pair: generated here, or imported from
// what a lab or an MSL server already uses (PKCS #1 or PKCS #8, as PEM or as
// the Base64 DER of MSL's config: mslsrv.cfg's `msl.rsa.priv.0`), so that
// KeyLadder can stand in for a server its devices pin. Whatever the form, the
// key is refused unless it is RSA of 2048 bits or more that passes
// electron/jwe/rsaKeyCheck.ts (the checks every RSA key here passes), unless
// its private and public halves belong together (n = p·q, e·d ≡ 1 modulo
// λ(n), and the CRT members follow from d: OpenSSL signs with the CRT members
// and never looks at d, so a key with a wrong d signs well here yet breaks
// any tool that uses d), unless it signs what its own public key verifies (a
// damaged private key would sign garbage at every message), and, when the
// public key its clients pin is given too (an MSL config's msl.rsa.pub.N),
// unless that is its own public key. Each refusal has a stable reason beside
// MSL_KEY_INVALID (MslKeyRefusal). Refusals never quote the key.

import { createPrivateKey, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { decodeBase64 } from '../encoding/base64.js';
import { gcd, MAX_RSA_BITS, MIN_RSA_BITS, rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';
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

/** Why an imported key was refused: the reason beside MSL_KEY_INVALID, stable for scripts and tests. */
export const MslKeyRefusal = {
  EMPTY: 'EMPTY',
  MALFORMED: 'MALFORMED',
  ENCRYPTED: 'ENCRYPTED',
  NOT_PRIVATE: 'NOT_PRIVATE',
  NOT_RSA: 'NOT_RSA',
  KEY_SIZE: 'KEY_SIZE',
  EXPONENT: 'EXPONENT',
  WEAK_KEY: 'WEAK_KEY',
  /** The private key's own members disagree (n ≠ p·q, d not e's inverse, CRT members not from d), or it signs what its public key does not verify. */
  HALVES_MISMATCH: 'HALVES_MISMATCH',
  /** The public key given beside it (msl.rsa.pub.N) is not its public key. */
  PUBLIC_KEY_MISMATCH: 'PUBLIC_KEY_MISMATCH',
} as const;
export type MslKeyRefusal = (typeof MslKeyRefusal)[keyof typeof MslKeyRefusal];

const invalid = (message: string, reason: MslKeyRefusal): ServiceError => new ServiceError(ServiceErrorCode.MSL_KEY_INVALID, `${message} Nothing was changed.`, undefined, reason);

/** A new key pair for the server identity. */
export async function generateMslKeyPair(): Promise<MslRsaKeyPair> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: MSL_RSA_BITS, publicExponent: 65537 });
  return describePair(privateKey);
}

/**
 * Reads and checks an imported private key (see the top of this file). `publicText`: the public
 * key its clients pin (PEM "PUBLIC KEY", or the Base64 SPKI of msl.rsa.pub.N), which must be its own.
 */
export async function readMslPrivateKey(text: string, publicText?: string): Promise<MslRsaKeyPair> {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('The key file is empty.', MslKeyRefusal.EMPTY);
  const privateKey = text.includes('-----BEGIN') ? fromPem(text) : fromBase64Der(text);
  if (privateKey.asymmetricKeyType !== 'rsa') throw invalid(`That is ${KEY_TYPE_NAMES[privateKey.asymmetricKeyType ?? ''] ?? 'not an RSA key'}: MSL's RSA entity authentication signs with SHA256withRSA (PKCS #1 v1.5), so give an RSA key.`, MslKeyRefusal.NOT_RSA);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw invalid(`The key has ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted.`, MslKeyRefusal.KEY_SIZE);
  if (privateKey.asymmetricKeyDetails?.publicExponent !== 65537n) throw invalid('The key is refused: its public exponent is not 65537.', MslKeyRefusal.EXPONENT);
  checkHalves(privateKey);
  const pair = await describePair(privateKey);
  if (publicText !== undefined) {
    const pinned = readPublicKey(publicText);
    if (!pinned.export({ format: 'der', type: 'spki' }).equals(pair.spki)) {
      pair.pkcs8.fill(0);
      throw invalid('The public key given beside it is not this private key\'s public key: the clients that pin it would refuse every message this key signs.', MslKeyRefusal.PUBLIC_KEY_MISMATCH);
    }
  }
  return pair;
}

const bigint = (b64url: string | undefined): bigint => (b64url ? BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex') || '0'}`) : 0n);

/**
 * The private key's members agree with each other and with its public half: n = p·q, e·d ≡ 1
 * (mod lcm(p−1, q−1)), dp = d mod (p−1), dq = d mod (q−1), q·qi ≡ 1 (mod p). Products and
 * remainders only: no exponentiation, so microseconds. (The members pass through JWK text here,
 * which cannot be zeroed; the key lives in its KeyObject anyway until it is sealed.)
 */
function checkHalves(privateKey: KeyObject): void {
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(bigint) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const mismatch = (why: string) => invalid(`The private key's halves do not belong together (${why}): it is damaged or was put together from two keys.`, MslKeyRefusal.HALVES_MISMATCH);
  if (p < 2n || q < 2n || p * q !== n) throw mismatch('n is not p·q');
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  if ((e * d) % lambda !== 1n) throw mismatch('d is not the inverse of e');
  if (d % (p - 1n) !== dp || d % (q - 1n) !== dq || (q * qi) % p !== 1n) throw mismatch('its CRT members do not follow from d');
}

/** The public key clients pin: PEM SubjectPublicKeyInfo, or its Base64 DER (msl.rsa.pub.N, the line or its value). */
function readPublicKey(text: string): KeyObject {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('The public key is empty.', MslKeyRefusal.EMPTY);
  try {
    if (text.includes('-----BEGIN')) return createPublicKey({ key: text, format: 'pem' });
    const der = decodeBase64(text.trim().replace(/^msl\.rsa\.pub\.\d+[ \t]+/, '').replace(/\s+/g, ''));
    if (der === undefined || der.length === 0) throw new Error('not base64');
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw invalid('The public key is neither a PEM "PUBLIC KEY" nor the Base64 SubjectPublicKeyInfo of msl.rsa.pub.N.', MslKeyRefusal.MALFORMED);
  }
}

/** The checks both paths share, and the forms the key is kept and shown in. */
async function describePair(privateKey: KeyObject): Promise<MslRsaKeyPair> {
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const problem = rsaPublicKeyProblem(jwk);
  if (problem !== undefined) throw invalid(`The key is refused: ${problem}.`, MslKeyRefusal.WEAK_KEY);
  const probe = Buffer.from('keyladder msl identity self-test', 'utf8');
  if (!verify('sha256', probe, publicKey, sign('sha256', probe, privateKey))) throw invalid('The private key does not sign what its public key verifies: it is damaged.', MslKeyRefusal.HALVES_MISMATCH);
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
  if (labels.length !== 1) throw invalid(`Give one private key (this file has ${labels.length} PEM blocks).`, MslKeyRefusal.MALFORMED);
  const label = labels[0]!;
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text)) throw invalid('The private key is encrypted: decrypt it first (openssl pkey -in KEY -out PLAIN), import it, and erase the plain copy.', MslKeyRefusal.ENCRYPTED);
  if (!(label in PRIVATE_PEM)) throw invalid(`A PEM "${label}" block is not a private key: give "RSA PRIVATE KEY" (PKCS #1) or "PRIVATE KEY" (PKCS #8).`, MslKeyRefusal.NOT_PRIVATE);
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw invalid(`The PEM "${label}" block does not parse as a private key.`, MslKeyRefusal.MALFORMED);
  }
}

/** MSL's config form: Base64 of the DER (PKCS #8 or PKCS #1), on its own or as a `msl.rsa.priv.N` line. */
function fromBase64Der(text: string): KeyObject {
  const value = text.trim().replace(/^msl\.rsa\.priv\.\d+[ \t]+/, '').replace(/\s+/g, '');
  const der = decodeBase64(value);
  if (der === undefined || der.length === 0) throw invalid('The key is neither PEM nor the standard Base64 of a DER private key (as msl.rsa.priv.N in an MSL config).', MslKeyRefusal.MALFORMED);
  const bytes = Buffer.from(der);
  try {
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        return createPrivateKey({ key: bytes, format: 'der', type });
      } catch {
        // the other form, then the refusal
      }
    }
    throw invalid('The Base64 text is not a PKCS #8 or PKCS #1 private key.', MslKeyRefusal.MALFORMED);
  } finally {
    bytes.fill(0);
    der.fill(0);
  }
}
