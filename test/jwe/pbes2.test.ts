// PBES2-HS512+A256KW / A256GCM without Web Crypto AES-KW: jose (under plain
// Node) opens every output, what jose made opens here (live under plain Node,
// and from a stored jose output under the Electron crypto model, where jose's
// own PBES2 cannot run), and every refusal has its stable shape.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_PBES2_COUNT, Pbes2Error, pbes2Decrypt, pbes2Encrypt } from '../../electron/jwe/pbes2.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { skipsHere, JOSE_NEEDS_AES_KW } from '../support/skips.js';

const JOSE = JSON.parse(readFileSync(new URL('../vectors/jose/pbes2-hs512-a256kw-a256gcm.json', import.meta.url), 'utf8')) as { passphrase: string; plaintext: string; jwe: string };
const model = underElectronCryptoModel();
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const PASS = 'a long enough passphrase';
const ITERATIONS = 2_000;

async function failureOf(jwe: string, passphrase = PASS): Promise<Pbes2Error> {
  try {
    await pbes2Decrypt(jwe, utf8(passphrase));
  } catch (error) {
    expect(error).toBeInstanceOf(Pbes2Error);
    return error as Pbes2Error;
  }
  throw new Error('decrypted');
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const withHeader = (jwe: string, change: (h: Record<string, unknown>) => Record<string, unknown>) => {
  const [h, ...rest] = jwe.split('.');
  return [b64(change(JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>)), ...rest].join('.');
};

describe('PBES2-HS512+A256KW with A256GCM', () => {
  it('round-trips, with the header jose expects (alg, enc, p2s of 16 bytes, p2c, cty)', async () => {
    const plaintext = randomBytes(300);
    const jwe = await pbes2Encrypt(plaintext, utf8(PASS), { iterations: ITERATIONS, header: { cty: 'test' } });
    const header = decodeProtectedHeader(jwe);
    expect(header).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'test', p2c: ITERATIONS });
    expect(Buffer.from(header.p2s as string, 'base64url')).toHaveLength(16);
    expect((await pbes2Decrypt(jwe, utf8(PASS))).plaintext.equals(plaintext)).toBe(true);
    // A fresh salt, CEK and IV every time.
    expect(await pbes2Encrypt(plaintext, utf8(PASS), { iterations: ITERATIONS })).not.toBe(jwe);
  });

  it('opens what jose made (a stored jose 6 output, so this holds under the Electron model too)', async () => {
    const { plaintext, header } = await pbes2Decrypt(JOSE.jwe, utf8(JOSE.passphrase));
    expect(plaintext.toString('utf8')).toBe(JOSE.plaintext);
    expect(header['cty']).toBe('keyladder-provisioning-bundle');
  });

  it.skipIf(skipsHere(model, JOSE_NEEDS_AES_KW))('jose opens every output, and its live output opens here (plain Node: jose needs Web Crypto AES-KW)', async () => {
    for (let i = 0; i < 5; i++) {
      const plaintext = randomBytes(1 + i * 97);
      const jwe = await pbes2Encrypt(plaintext, utf8(PASS), { iterations: ITERATIONS, header: { cty: 'x' } });
      const opened = await compactDecrypt(jwe, utf8(PASS), { keyManagementAlgorithms: ['PBES2-HS512+A256KW'], contentEncryptionAlgorithms: ['A256GCM'], maxPBES2Count: MAX_PBES2_COUNT });
      expect(Buffer.from(opened.plaintext).equals(plaintext)).toBe(true);
      const made = await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM' }).setKeyManagementParameters({ p2c: ITERATIONS }).encrypt(utf8(PASS));
      expect((await pbes2Decrypt(made, utf8(PASS))).plaintext.equals(plaintext)).toBe(true);
    }
  });

  it('fails a wrong passphrase and any altered part alike: "decryption", one message', async () => {
    const jwe = await pbes2Encrypt(randomBytes(64), utf8(PASS), { iterations: ITERATIONS });
    const parts = jwe.split('.');
    const failures = [await failureOf(jwe, 'another passphrase entirely')];
    for (let p = 1; p < 5; p++) {
      const bytes = Buffer.from(parts[p]!, 'base64url');
      for (const at of [0, bytes.length - 1]) {
        const altered = Buffer.from(bytes);
        altered[at]! ^= 0x01;
        failures.push(await failureOf(parts.map((x, i) => (i === p ? altered.toString('base64url') : x)).join('.')));
      }
    }
    // A header member changed but still valid: the AAD no longer matches.
    failures.push(await failureOf(withHeader(jwe, (h) => ({ ...h, cty: 'other' }))));
    expect(new Set(failures.map((f) => `${f.failure}: ${f.message}`))).toEqual(new Set(['decryption: The JWE does not decrypt: wrong passphrase, or it was altered.']));
  });

  it('refuses other algorithms, unsafe counts and salts, and malformed shapes before any derivation', async () => {
    const jwe = await pbes2Encrypt(randomBytes(16), utf8(PASS), { iterations: ITERATIONS });
    const cases: Array<[string, Pbes2Error['failure']]> = [
      [withHeader(jwe, (h) => ({ ...h, alg: 'PBES2-HS256+A128KW' })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, enc: 'A128GCM' })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, alg: 'dir' })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, crit: ['exp'] })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, zip: 'DEF' })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, p2c: MAX_PBES2_COUNT + 1 })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, p2c: 999 })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, p2c: '2000' })), 'unsupported'],
      [withHeader(jwe, (h) => ({ ...h, p2s: 'AAAA' })), 'malformed'],
      [withHeader(jwe, (h) => { const { p2s: _, ...rest } = h; return rest; }), 'malformed'],
      [jwe.split('.').slice(0, 4).join('.'), 'malformed'],
      [`${jwe}.`, 'malformed'],
      [jwe.replace('.', '.+'), 'malformed'],
      [[b64([1]), ...jwe.split('.').slice(1)].join('.'), 'malformed'],
      [['bm90IGpzb24', ...jwe.split('.').slice(1)].join('.'), 'malformed'],
      // The valid header with its alg named again, first as something else: JSON.parse would keep the last.
      [[Buffer.from(`{"alg":"dir",${Buffer.from(jwe.split('.')[0]!, 'base64url').toString().slice(1)}`).toString('base64url'), ...jwe.split('.').slice(1)].join('.'), 'malformed'],
    ];
    for (const [bad, failure] of cases) expect((await failureOf(bad)).failure, bad.slice(0, 60)).toBe(failure);
  });

  it('refuses iteration counts outside 1,000 to 10,000,000 when encrypting', async () => {
    await expect(pbes2Encrypt(randomBytes(16), utf8(PASS), { iterations: 999 })).rejects.toThrow(RangeError);
    await expect(pbes2Encrypt(randomBytes(16), utf8(PASS), { iterations: MAX_PBES2_COUNT + 1 })).rejects.toThrow(RangeError);
  });
});
