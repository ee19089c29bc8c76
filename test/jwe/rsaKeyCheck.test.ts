// Recipient RSA keys (issue 11, item 11): keys that give a bundle away without
// any private key are refused before anything is encrypted to them.
import { checkPrimeSync, generateKeyPairSync, generatePrimeSync } from 'node:crypto';
import { compactDecrypt, CompactEncrypt, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fermatSplits, integerRoot, perfectPowerExponent, rhoFactor, RHO_STEPS, rsaPublicKeyProblem, smallFactor, TRIAL_DIVISION_BOUND } from '../../electron/jwe/rsaKeyCheck.js';
import { openTestServices, type TestServices } from '../support/services.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const good = publicKey.export({ format: 'jwk' }) as Record<string, string>;
const b64 = (n: bigint): string => Buffer.from(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
const nOf = (jwk: Record<string, string>): bigint => BigInt(`0x${Buffer.from(jwk['n']!, 'base64url').toString('hex')}`);

const prime = (bits: number): bigint => generatePrimeSync(bits, { bigint: true });
const nextPrime = (from: bigint): bigint => {
  let p = from | 1n;
  while (!checkPrimeSync(p)) p += 2n;
  return p;
};
const withN = (n: bigint): Record<string, string> => ({ ...good, n: b64(n) });

let t: TestServices;
beforeAll(async () => {
  t = await openTestServices();
  t.services.devices.provision({ identity: 'ESN-RSA', keys: { kind: 'generate' } });
});
afterAll(() => t.cleanup());

describe('rsaPublicKeyProblem', () => {
  it('accepts a 2048-bit key with e = 65537 (jose\'s and Node\'s usual keys)', () => {
    expect(rsaPublicKeyProblem(good)).toBeUndefined();
    expect(rsaPublicKeyProblem({ ...good, alg: 'RSA-OAEP-256', use: 'enc', kid: 'factory-1' })).toBeUndefined();
  });

  it.each([
    ['e = 1', { ...good, e: 'AQ' }, /exponent is not 65537/],
    ['e = 3', { ...good, e: 'Aw' }, /exponent is not 65537/],
    ['e = 65537 with a leading zero octet', { ...good, e: 'AAEAAQ' }, /shortest form/],
    ['a prime modulus', { ...good, n: b64(generatePrimeSync(2048, { bigint: true })) }, /modulus is prime/],
    ['an even modulus', { ...good, n: b64(nOf(good) + 1n) }, /modulus is even/],
    ['a modulus with a small factor', { ...good, n: b64(3n * ((1n << 2046n) + 1999n)) }, /small factor 3\b/],
    ['a 1024-bit modulus', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), /1024 bits/],
    ['n with a leading zero octet', { ...good, n: Buffer.concat([Buffer.alloc(1), Buffer.from(good['n']!, 'base64url')]).toString('base64url') }, /shortest form/],
    ['n not base64url', { ...good, n: `${good['n']}=` }, /base64url/],
    ['private members', privateKey.export({ format: 'jwk' }), /private members \(d, p, q, dp, dq, qi\)/],
    ['another alg', { ...good, alg: 'RSA1_5' }, /alg is not RSA-OAEP-256/],
    ['use sig', { ...good, use: 'sig' }, /use is not "enc"/],
    ['an EC key', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, /not an RSA key/],
  ])('refuses %s', (_, jwk, why) => expect(rsaPublicKeyProblem(jwk as Record<string, unknown>)).toMatch(why));
});

// Issue 19, item 6: n = P·2003 and n = P² passed (2003 is the first prime above the old
// trial-division bound of 2,000, and a square has no small factor and is not prime), and a
// bundle to them was opened from the public key alone. SP 800-89's partial validation refuses both.
describe('rsaPublicKeyProblem: SP 800-89 partial public-key validation', () => {
  it.each([
    ['n = P·2003 (the review\'s key)', () => prime(2040) * 2003n, /small factor 2003\b/],
    ['n = P·131071 (the largest prime below the trial bound)', () => prime(2040) * 131071n, /small factor 131071\b/],
    ['n = P·3·5 (several small factors)', () => prime(2046) * 15n, /small factor 3\b/],
    ['n = P² (the review\'s key)', () => prime(1100) ** 2n, /perfect power \(m\^2\)/],
    ['n = P³', () => prime(700) ** 3n, /perfect power \(m\^3\)/],
    ['n = P⁵', () => prime(420) ** 5n, /perfect power \(m\^5\)/],
    ['n = (P·Q)², a square of a composite', () => (prime(600) * prime(600)) ** 2n, /perfect power \(m\^2\)/],
    ['n = P·Q with P and Q adjacent primes (Fermat splits it)', () => { const p = prime(1100); return p * nextPrime(p + 2n); }, /Fermat/],
    ['a tiny n (15)', () => 15n, /modulus has 4 bits/],
    ['n = 1', () => 1n, /modulus has 1 bits/],
  ])('refuses %s', (_, n, why) => expect(rsaPublicKeyProblem(withN(n()))).toMatch(why));

  it('accepts a product of two large, unrelated primes', () => {
    expect(rsaPublicKeyProblem(withN(prime(1024) * prime(1024)))).toBeUndefined();
  });

  it('finds the smallest odd prime factor below the bound, and none in a product of large primes', () => {
    expect(smallFactor(prime(1000) * 131071n * 3n)).toBe(3);
    expect(smallFactor(prime(1000) * 131071n)).toBe(131071);
    expect(smallFactor(prime(1000) * 131101n)).toBeUndefined(); // 131101 is the first prime above 2^17
    expect(TRIAL_DIVISION_BOUND).toBe(131072);
  });

  it('takes exact integer roots, and spots perfect powers of any exponent and only those', () => {
    for (let i = 0n; i < 3000n; i++) {
      for (const k of [2, 3, 7]) {
        const r = integerRoot(i, k);
        expect(r ** BigInt(k) <= i && (r + 1n) ** BigInt(k) > i, `${k}-th root of ${i}`).toBe(true);
      }
    }
    const p = prime(300);
    expect(integerRoot(p ** 7n, 7)).toBe(p);
    expect(integerRoot(p ** 7n - 1n, 7)).toBe(p - 1n);
    expect(perfectPowerExponent(p ** 6n)).toBe(2);
    expect(perfectPowerExponent(p ** 11n)).toBe(11);
    expect(perfectPowerExponent(p ** 2n * prime(300))).toBeUndefined();
    expect(perfectPowerExponent(p ** 2n + 2n)).toBeUndefined();
  });

  it('Fermat\'s method splits close factors and not distant ones', () => {
    const p = prime(1024);
    expect(fermatSplits(p * nextPrime(p + (1n << 400n)))).toBe(true);
    expect(fermatSplits(prime(1024) * prime(1024))).toBe(false);
  });

  // Round 2: trial division stops at 2^17; n = P·r with r a 20-bit prime passed every check, and
  // Pollard's rho splits it in milliseconds. Rho's walk modulo r depends on r alone (x ↦ x² + 1 from
  // 2), not on P, so fixed primes r make these deterministic whatever random P is drawn.
  const FACTORS_20 = [nextPrime((1n << 19n) + 12345n), nextPrime((1n << 19n) + 300_000n), nextPrime((1n << 20n) - 5000n), nextPrime(131101n + 2n)];
  it.each(FACTORS_20.map((r) => [r]))('refuses n = P·%s, a factor above the trial bound that rho finds within RHO_STEPS', (r) => {
    expect(smallFactor(r)).toBeUndefined();
    expect(rsaPublicKeyProblem(withN(prime(2040) * r))).toMatch(/has a (18|19|20)-bit factor that Pollard's rho finds/);
  });

  it('rho finds 32- and 40-bit factors given the steps they need (about √r), and nothing in a sound modulus', () => {
    // A 64-bit cofactor keeps each step cheap: the steps rho needs depend on r, not on n's size.
    // At 2048 bits a step costs microseconds, so RHO_STEPS reaches ~2^22 for sure, not these (README says so).
    const p = prime(64);
    const r32 = nextPrime((1n << 31n) + 12345n);
    const r40 = nextPrime((1n << 39n) + 12345n);
    expect(rhoFactor(p * r32, 1 << 19)).toBe(r32);
    expect(rhoFactor(p * r40, 1 << 23)).toBe(r40);
    expect(rhoFactor(prime(1024) * prime(1024))).toBeUndefined();
    expect(RHO_STEPS).toBe(8192);
  });

  it('exports refuse n = P·2003 and n = P² with RECIPIENT_KEY_INVALID, and the keyring adds neither', async () => {
    for (const n of [prime(2040) * 2003n, prime(1100) ** 2n]) {
      const before = { keyring: t.services.keyring.recipients().length, audit: t.services.audit.list({ limit: 10_000 }).length };
      await expect(t.services.devices.exportBundle(['ESN-RSA'], { kind: 'rsa', publicJwk: withN(n) })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
      await expect(t.services.keyring.addRecipient(JSON.stringify(withN(n)), { kid: 'weak', use: 'enc' })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID', reason: 'WEAK_RSA' });
      expect(t.services.keyring.recipients().length).toBe(before.keyring);
      expect(t.services.audit.list({ limit: 10_000 }).length).toBe(before.audit + 1); // the recipients() read above, only
    }
  });
});

describe('exports refuse such keys with RECIPIENT_KEY_INVALID, and write nothing', () => {
  it('e = 1: what jose alone would produce is readable without any private key', async () => {
    // The attack the review ran: with e = 1, RSA "encryption" leaves the OAEP-padded CEK in the clear.
    const weak = { ...good, e: 'AQ' };
    const jwe = await new CompactEncrypt(new TextEncoder().encode('kpw')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(await importJWK({ ...weak, alg: 'RSA-OAEP-256' }, 'RSA-OAEP-256'));
    expect(jwe.split('.')[1]!.length).toBeGreaterThan(0);
    const audit = t.services.audit.list({ limit: 1000 }).length;
    for (const bad of [weak, { ...good, e: 'Aw' }, { ...good, n: b64(generatePrimeSync(2048, { bigint: true })) }]) {
      await expect(t.services.devices.exportBundle(['ESN-RSA'], { kind: 'rsa', publicJwk: bad })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
      await expect(t.services.issuers.exportToPeer([1], { kind: 'rsa', publicJwk: bad })).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
    }
    expect(t.services.audit.list({ limit: 1000 })).toHaveLength(audit);
  });

  it('a good key still works end to end', async () => {
    const jwe = await t.services.devices.exportBundle(['ESN-RSA'], { kind: 'rsa', publicJwk: good });
    const { plaintext } = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'] });
    expect(new TextDecoder().decode(plaintext)).toContain('ESN-RSA');
  });
});
