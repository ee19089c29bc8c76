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
//   - Pollard's rho (Brent's variant) finds no factor within a fixed number
//     of steps (RHO_STEPS): trial division stops at 2^17, and n = P·r with r
//     a prime of 20 bits passed it yet falls to rho in milliseconds.
// No check on the public key alone can prove n is a product of two large
// primes. Rho needs some √r steps for a factor r, each two products modulo n
// with BigInt (some 4 to 8 µs at 2048 bits), so a fixed budget reaches so
// far: factors up to about 2^22 are found with near certainty (2^24: two in
// three), a 32-bit factor (some 2^16 steps) or a 40-bit one (some 2^20) only
// by luck. Those need the key's maker to have built it so.

import { checkPrimeSync } from 'node:crypto';
import { CryptoFailure } from './cryptoFailure.js';

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 16384;
/** Every prime below it divides no accepted modulus. */
export const TRIAL_DIVISION_BOUND = 1 << 17;
/** Steps of Fermat's method tried from ⌈√n⌉ (Böck's fermat-factoring check uses 100). */
export const FERMAT_STEPS = 100;
/**
 * Steps of Brent's rho tried on a modulus that passed every other check. It
 * runs on every key add and every export to an RSA key: 66 ms of CPU at 2048
 * bits, 0.2 s at 4096, 0.8 s at 8192, 3.2 s at 16384 on the (loaded) 2-core machine it was
 * measured on (node bench/rsaKeyCheck.mjs). 300 random 20-bit factors were
 * all found, 294 of 300 at 22 bits, 194 at 24 (4,096 steps missed 7 of 300
 * at 20 bits, so not fewer).
 */
export const RHO_STEPS = 8_192;
/** Products of |x − y| taken before each gcd (Brent): a gcd costs some hundred steps. */
const RHO_BATCH = 256;
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

/** The greatest common divisor (Euclid), for rho here and for checking an imported key's members (services/mslRsaKeyInput.ts). */
export const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

/**
 * A nontrivial factor of the odd composite n that Pollard's rho (Brent's
 * cycle finding, with the |x − y| batched into one gcd per RHO_BATCH steps)
 * finds within `steps` iterations of x ↦ x² + c mod n; undefined when it finds
 * none. A found factor is a real one (it divides n, 1 < g < n), so a sound key
 * is never refused by it; only its reach is bounded.
 */
export function rhoFactor(n: bigint, steps: number = RHO_STEPS, c: bigint = 1n): bigint | undefined {
  let y = 2n;
  let x = y;
  let ys = y;
  let q = 1n;
  let g = 1n;
  let done = 0;
  for (let r = 1; g === 1n && done < steps; r *= 2) {
    x = y;
    for (let i = 0; i < r && done < steps; i++, done++) y = (y * y + c) % n;
    for (let k = 0; k < r && g === 1n && done < steps; k += RHO_BATCH) {
      ys = y;
      const batch = Math.min(RHO_BATCH, r - k, steps - done);
      for (let i = 0; i < batch; i++) {
        y = (y * y + c) % n;
        q = (q * (x > y ? x - y : y - x)) % n;
      }
      done += batch;
      g = gcd(q, n);
    }
  }
  if (g === n) {
    // The batch caught every factor at once (or q hit 0): step through it one by one.
    g = 1n;
    for (let i = 0; i < RHO_BATCH && g === 1n; i++) {
      ys = (ys * ys + c) % n;
      g = gcd(x > ys ? x - ys : ys - x, n);
    }
  }
  return g > 1n && g < n ? g : undefined;
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
  const found = rhoFactor(n.value);
  if (found !== undefined) {
    const small = found * found < n.value ? found : n.value / found;
    return `its modulus has a ${small.toString(2).length}-bit factor that Pollard's rho finds in milliseconds, so anyone can compute the private key`;
  }
  return undefined;
}

function integer(value: unknown): { value: bigint; bits: number } | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  // Canonical: decodes back to the same text, and no leading zero octet.
  if (bytes.length === 0 || bytes.toString('base64url') !== value || bytes[0] === 0) return undefined;
  return { value: BigInt(`0x${bytes.toString('hex')}`), bits: (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!)) };
}
