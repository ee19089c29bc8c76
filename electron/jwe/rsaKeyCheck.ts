// What an RSA key must be before KeyLadder encrypts a key to it.
//
// jose and Node import any RSA JWK whose members decode: e = 1 (the
// "ciphertext" is the padded plaintext itself), e = 3, or a prime n (whose
// private exponent anyone can compute) all import, and a bundle encrypted to
// them gives its keys away without any private key. So a recipient key is
// refused unless:
//   - e is exactly 65537;
//   - n is 2048 to 16384 bits, in its minimal encoding (RFC 7518 §6.3.1.1);
//   - n is odd, has no prime factor below 2,000, and is not itself prime
//     (a product of two large primes passes; the cases above do not);
//   - no private member is present, and alg and use, when given, say
//     RSA-OAEP-256 and enc.

import { checkPrimeSync } from 'node:crypto';
import { CryptoFailure } from './cryptoFailure.js';

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 16384;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const SMALL_PRIMES: readonly bigint[] = (() => {
  const primes: bigint[] = [];
  for (let n = 2; n < 2000; n++) if (primes.every((p) => BigInt(n) % p !== 0n)) primes.push(BigInt(n));
  return primes;
})();

/** Why the key is refused, in words for the operator; undefined when it is acceptable. */
export function rsaPublicKeyProblem(jwk: Readonly<Record<string, unknown>>, use: 'public' | 'private' = 'public'): string | undefined {
  if (jwk['kty'] !== 'RSA') return 'it is not an RSA key (kty must be "RSA")';
  if (use === 'public') {
    const present = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (present.length > 0) return `it holds private members (${present.join(', ')}); give the public key only`;
  }
  if (jwk['alg'] !== undefined && jwk['alg'] !== 'RSA-OAEP-256') return 'its alg is not RSA-OAEP-256';
  if (jwk['use'] !== undefined && jwk['use'] !== 'enc') return 'its use is not "enc"';
  const n = integer(jwk['n']);
  const e = integer(jwk['e']);
  if (n === undefined || e === undefined) return 'n and e must be base64url integers in their shortest form';
  if (e.value !== 65537n) return 'its public exponent is not 65537';
  if (n.bits < MIN_RSA_BITS || n.bits > MAX_RSA_BITS) return `its modulus has ${n.bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`;
  if (n.value % 2n === 0n || SMALL_PRIMES.some((p) => n.value % p === 0n)) return 'its modulus has a small factor, so it is no RSA modulus';
  // Miller-Rabin: a composite passes a round with probability at most 1/4. (OpenSSL's and
  // BoringSSL's BN_is_prime_ex both back it; if the runtime's fails, that is said, never skipped.)
  let prime: boolean;
  try {
    prime = checkPrimeSync(n.value, { checks: 16 });
  } catch (error) {
    throw new CryptoFailure('RSA modulus primality test', error);
  }
  if (prime) return 'its modulus is prime, so anyone can compute the private key';
  return undefined;
}

function integer(value: unknown): { value: bigint; bits: number } | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  // Canonical: decodes back to the same text, and no leading zero octet.
  if (bytes.length === 0 || bytes.toString('base64url') !== value || bytes[0] === 0) return undefined;
  return { value: BigInt(`0x${bytes.toString('hex')}`), bits: (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!)) };
}
