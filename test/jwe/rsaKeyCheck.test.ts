// Recipient RSA keys (issue 11, item 11): keys that give a bundle away without
// any private key are refused before anything is encrypted to them.
import { generateKeyPairSync, generatePrimeSync } from 'node:crypto';
import { compactDecrypt, CompactEncrypt, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rsaPublicKeyProblem } from '../../electron/jwe/rsaKeyCheck.js';
import { openTestServices, type TestServices } from '../support/services.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const good = publicKey.export({ format: 'jwk' }) as Record<string, string>;
const b64 = (n: bigint): string => Buffer.from(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
const nOf = (jwk: Record<string, string>): bigint => BigInt(`0x${Buffer.from(jwk['n']!, 'base64url').toString('hex')}`);

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
    ['an even modulus', { ...good, n: b64(nOf(good) + 1n) }, /small factor/],
    ['a modulus with a small factor', { ...good, n: b64(3n * ((1n << 2046n) + 1999n)) }, /small factor/],
    ['a 1024-bit modulus', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), /1024 bits/],
    ['n with a leading zero octet', { ...good, n: Buffer.concat([Buffer.alloc(1), Buffer.from(good['n']!, 'base64url')]).toString('base64url') }, /shortest form/],
    ['n not base64url', { ...good, n: `${good['n']}=` }, /base64url/],
    ['private members', privateKey.export({ format: 'jwk' }), /private members \(d, p, q, dp, dq, qi\)/],
    ['another alg', { ...good, alg: 'RSA1_5' }, /alg is not RSA-OAEP-256/],
    ['use sig', { ...good, use: 'sig' }, /use is not "enc"/],
    ['an EC key', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, /not an RSA key/],
  ])('refuses %s', (_, jwk, why) => expect(rsaPublicKeyProblem(jwk as Record<string, unknown>)).toMatch(why));
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
