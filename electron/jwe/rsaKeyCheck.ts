// What an RSA key must be before KeyLadder encrypts a key to it.
//
// jose and Node import any RSA JWK whose members decode: e = 1 (the
// "ciphertext" is the padded plaintext itself), e = 3, a prime n (whose
// private exponent anyone can compute), n = P·2003 or n = P² (factored by
// trial division or a square root) all import, and a bundle encrypted to them
// gives its keys away without any private key. So a recipient key is refused
// unless it passes NIST SP 800-89 §5.3.3's partial public-key validation (and
// SP 800-56B rev. 2 §6.4.2.2's), as KMSs and Tink make it on imported keys,
// with tighter bounds where they cost nothing:
//   - e is exactly 65537 (odd, and inside SP 800-89's 2^16 < e < 2^256);
//   - n is 2048 to 16384 bits, in its minimal encoding (RFC 7518 §6.3.1.1);
//   - n is odd and has no prime factor below 2^17 (SP 800-89 asks for none
//     below 752; OpenSSL's check divides by the primes below 1,619);
//   - n is not prime, and not a perfect power m^k (k ≥ 2): SP 800-89's
//     "not a power of a prime", for any base;
//   - n's two factors are not so close that Fermat's method splits it at
//     once (FIPS 186-5 A.1.3 asks |p − q| > 2^(nlen/2 − 100) of a key's
//     maker; keys from broken generators, CVE-2022-26320, fail it);
//   - no private member is present, and alg and use, when given, say
//     RSA-OAEP-256 and enc.
// No check on the public key alone can prove n is a product of two large
// primes: a factor just above the trial bound still passes. The bound is
// chosen so that a factor found by these checks costs microseconds and a
// missed one needs the recipient's cooperation (it made the key).

import { checkPrimeSync } from 'node:crypto';
import { CryptoFailure } from './cryptoFailure.js';

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 16384;
/** Every prime below it divides no accepted modulus. */
export const TRIAL_DIVISION_BOUND = 1 << 17;
/** Steps of Fermat's method tried from ⌈√n⌉ (Böck's fermat-factoring check uses 100). */
export const FERMAT_STEPS = 100;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const ODD_PRIMES: readonly number[] = (() => {
  const composite = new Uint8Array(TRIAL_DIVISION_BOUND);
  const primes: number[] = [];
  for (let i = 3; i < TRIAL_DIVISION_BOUND; i += 2) {
    if (composite[i]) continue;
    primes.push(i);
    for (let j = i * i; j < TRIAL_DIVISION_BOUND; j += 2 * i) composite[j] = 1;
  }
  return primes;
})();

/**
 * The small primes in groups whose product stays below 2^53: n is reduced by
 * each group's product once (one BigInt division), and the remainder by each
 * prime as a double, which is exact there. Three to one BigInt divisions per
 * prime, a few milliseconds for the largest modulus.
 */
const PRIME_GROUPS: ReadonlyArray<{ product: bigint; primes: readonly number[] }> = (() => {
  const groups: Array<{ product: bigint; primes: number[] }> = [];
  let product = 1;
  let primes: number[] = [];
  for (const p of ODD_PRIMES) {
    if (product * p > Number.MAX_SAFE_INTEGER) {
      groups.push({ product: BigInt(product), primes });
      product = 1;
      primes = [];
    }
    product *= p;
    primes.push(p);
  }
  if (primes.length > 0) groups.push({ product: BigInt(product), primes });
  return groups;
})();

/** The smallest odd prime below TRIAL_DIVISION_BOUND that divides n, if any. */
export function smallFactor(n: bigint): number | undefined {
  for (const { product, primes } of PRIME_GROUPS) {
    const r = Number(n % product);
    for (const p of primes) if (r % p === 0) return p;
  }
  return undefined;
}

/** ⌊n^(1/k)⌋ for n ≥ 0, k ≥ 1: Newton's method in integers, from a start just above the root. */
export function integerRoot(n: bigint, k: number): bigint {
  if (n < 0n || k < 1 || !Number.isInteger(k)) throw new RangeError('integerRoot takes n ≥ 0 and an integer k ≥ 1');
  if (n < 2n || k === 1) return n;
  const K = BigInt(k);
  let x = aboveRoot(n, k);
  // From above, Newton's iterates fall monotonically to the root and stop there.
  for (;;) {
    const next = ((K - 1n) * x + n / x ** (K - 1n)) / K;
    if (next >= x) return x;
    x = next;
  }
}

/**
 * A start at or above n^(1/k), within a part in 2^30 of it: from n's top 53
 * bits as a double (log2 n to some 2^-38 at 16,384 bits), so Newton needs a
 * few steps, not the hundreds a power of two would take for a large k.
 */
function aboveRoot(n: bigint, k: number): bigint {
  const bits = n.toString(2).length;
  const shift = Math.max(0, bits - 53);
  const log2n = shift + Math.log2(Number(n >> BigInt(shift)));
  const rootLog = log2n / k;
  const whole = Math.max(0, Math.floor(rootLog) - 52);
  const estimate = BigInt(Math.ceil(2 ** (rootLog - whole))) << BigInt(whole);
  return estimate + (estimate >> 30n) + 2n;
}

/** The exponent k ≥ 2 with n = m^k for some integer m, if any (checked for prime k: m^(ab) = (m^a)^b). */
export function perfectPowerExponent(n: bigint, smallestFactor: number = 2): number | undefined {
  // Every prime factor of n is at least smallestFactor, so m ≥ smallestFactor and k ≤ log n / log smallestFactor.
  const bits = n.toString(2).length;
  const maxK = Math.floor(bits / Math.log2(smallestFactor)) + 1;
  for (const k of [2, ...ODD_PRIMES]) {
    if (k > maxK) break;
    const m = integerRoot(n, k);
    if (m ** BigInt(k) === n) return k;
  }
  return undefined;
}

/** Whether Fermat's method splits n within `steps` steps (n = a² − b² = (a − b)(a + b), a from ⌈√n⌉). */
export function fermatSplits(n: bigint, steps: number = FERMAT_STEPS): boolean {
  let a = integerRoot(n, 2);
  if (a * a < n) a += 1n;
  for (let i = 0; i < steps; i++, a += 1n) {
    const b2 = a * a - n;
    const b = integerRoot(b2, 2);
    if (b * b === b2 && a - b > 1n) return true;
  }
  return false;
}

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
  if (n.value % 2n === 0n) return 'its modulus is even (it has the factor 2), so it is no RSA modulus';
  const factor = smallFactor(n.value);
  if (factor !== undefined) return `its modulus has the small factor ${factor}, so anyone can factor it and compute the private key`;
  const k = perfectPowerExponent(n.value, TRIAL_DIVISION_BOUND);
  if (k !== undefined) return `its modulus is a perfect power (m^${k}), so anyone can take its root and compute the private key`;
  // Miller-Rabin: a composite passes a round with probability at most 1/4. (OpenSSL's and
  // BoringSSL's BN_is_prime_ex both back it; if the runtime's fails, that is said, never skipped.)
  let prime: boolean;
  try {
    prime = checkPrimeSync(n.value, { checks: 16 });
  } catch (error) {
    throw new CryptoFailure('RSA modulus primality test', error);
  }
  if (prime) return 'its modulus is prime, so anyone can compute the private key';
  if (fermatSplits(n.value)) return 'its two prime factors are so close that Fermat\'s method factors the modulus at once, so anyone can compute the private key';
  return undefined;
}

function integer(value: unknown): { value: bigint; bits: number } | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  // Canonical: decodes back to the same text, and no leading zero octet.
  if (bytes.length === 0 || bytes.toString('base64url') !== value || bytes[0] === 0) return undefined;
  return { value: BigInt(`0x${bytes.toString('hex')}`), bits: (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!)) };
}
