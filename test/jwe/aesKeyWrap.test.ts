// RFC 3394 key wrap: both implementations against RFC 3394's own vectors,
// the portable one against OpenSSL's id-aes*-wrap on random inputs in both
// directions, and the failure shapes (one result for every failed check; a
// primitive that breaks is INTERNAL_ERROR, never "bad input").
import { createSecretKey, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BORINGSSL_CIPHERS } from '../support/boringsslCiphers.mjs';
import { DEFAULT_IV, detectKeyWrap, keyWrap, opensslKeyWrap, portableKeyWrap, type KeyWrapImplementation } from '../../electron/jwe/aesKeyWrap.js';
import { CryptoFailure, setCryptoFailureLog } from '../../electron/jwe/cryptoFailure.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { skipsHere, runsHere, ELECTRON_MODEL_ONLY } from '../support/skips.js';

interface Rfc3394Vector { section: string; kek: string; keyData: string; ciphertext: string }
const VECTORS = (JSON.parse(readFileSync(new URL('../vectors/rfc3394/key-wrap.json', import.meta.url), 'utf8')) as { vectors: Rfc3394Vector[] }).vectors;
const model = underElectronCryptoModel();
const hex = (s: string) => Buffer.from(s, 'hex');
const flip = (b: Uint8Array, bit: number) => { const c = Buffer.from(b); c[bit >> 3]! ^= 1 << (bit & 7); return c; };

// Under the model the OpenSSL path cannot run (that is the point); it is checked in the plain-Node run.
const available: KeyWrapImplementation[] = model ? [portableKeyWrap] : [opensslKeyWrap, portableKeyWrap];

describe.each(available)('$name key wrap', (impl) => {
  it.each(VECTORS)('RFC 3394 §$section: wraps and unwraps', (v) => {
    expect(impl.wrap(hex(v.kek), hex(v.keyData)).toString('hex').toUpperCase()).toBe(v.ciphertext);
    expect(impl.unwrap(hex(v.kek), hex(v.ciphertext))?.toString('hex').toUpperCase()).toBe(v.keyData);
    // A KeyObject holding the KEK gives the same bytes.
    expect(impl.wrap(createSecretKey(hex(v.kek)), hex(v.keyData)).toString('hex').toUpperCase()).toBe(v.ciphertext);
  });

  it('fails every altered bit, wrong key and wrong initial value with the same result: undefined', () => {
    const v = VECTORS[5]!;
    const wrapped = hex(v.ciphertext);
    for (let bit = 0; bit < wrapped.length * 8; bit++) expect(impl.unwrap(hex(v.kek), flip(wrapped, bit))).toBeUndefined();
    expect(impl.unwrap(flip(hex(v.kek), 0), wrapped)).toBeUndefined();
    expect(impl.unwrap(hex(v.kek), wrapped, flip(DEFAULT_IV, 63))).toBeUndefined();
    // Shapes no wrap can have are the same refusal, not an exception.
    for (const length of [0, 8, 16, 23, 25, 33]) expect(impl.unwrap(hex(v.kek), randomBytes(length))).toBeUndefined();
  });

  it('honours an alternative initial value (what keyladder-v1 wrapdata binds with)', () => {
    const kek = randomBytes(16), key = randomBytes(16), iv = randomBytes(8);
    const wrapped = impl.wrap(kek, key, iv);
    expect(impl.unwrap(kek, wrapped, iv)?.equals(key)).toBe(true);
    expect(impl.unwrap(kek, wrapped)).toBeUndefined();
  });

  it('wrapEach gives exactly the bytes of wrapping each key, and refuses keys of mixed lengths', () => {
    const kek = randomBytes(16);
    for (const count of [1, 2, 5]) {
      const keys = Array.from({ length: count }, () => randomBytes(16));
      expect(impl.wrapEach(kek, keys).map((b) => b.toString('hex'))).toEqual(keys.map((k) => impl.wrap(kek, k).toString('hex')));
    }
    const v = VECTORS[5]!;
    expect(impl.wrapEach(hex(v.kek), [hex(v.keyData), hex(v.keyData)]).map((b) => b.toString('hex').toUpperCase())).toEqual([v.ciphertext, v.ciphertext]);
    expect(impl.wrapEach(kek, [])).toEqual([]);
    expect(() => impl.wrapEach(kek, [randomBytes(16), randomBytes(24)])).toThrow(RangeError);
  });

  it('refuses keys and key data of the wrong size', () => {
    expect(() => impl.wrap(randomBytes(15), randomBytes(16))).toThrow(RangeError);
    expect(() => impl.wrap(randomBytes(16), randomBytes(12))).toThrow(RangeError);
    expect(() => impl.wrap(randomBytes(16), randomBytes(8))).toThrow(RangeError);
    expect(() => impl.unwrap(randomBytes(20), randomBytes(24))).toThrow(RangeError);
  });
});

describe.skipIf(skipsHere(model, "node project only: Electron's BoringSSL (the model) has no id-aes*-wrap to compare with"))('portable key wrap against OpenSSL id-aes*-wrap (plain Node only: the model has no id-aes*-wrap)', () => {
  it('agrees on 600 random inputs, wrapping and unwrapping, every key size', () => {
    for (let i = 0; i < 600; i++) {
      const kek = randomBytes([16, 24, 32][i % 3]!);
      const data = randomBytes(8 * randomInt(2, 9));
      const iv = i % 2 === 0 ? DEFAULT_IV : randomBytes(8);
      const fast = opensslKeyWrap.wrap(kek, data, iv);
      expect(portableKeyWrap.wrap(kek, data, iv).equals(fast)).toBe(true);
      expect(portableKeyWrap.unwrap(kek, fast, iv)?.equals(data)).toBe(true);
      expect(opensslKeyWrap.unwrap(kek, portableKeyWrap.wrap(kek, data, iv), iv)?.equals(data)).toBe(true);
      const bad = flip(fast, randomInt(fast.length * 8));
      expect(portableKeyWrap.unwrap(kek, bad, iv)).toBeUndefined();
      expect(opensslKeyWrap.unwrap(kek, bad, iv)).toBeUndefined();
    }
  });
});

describe('choosing the implementation', () => {
  it('takes the fast path only where every id-aes*-wrap is listed and really wraps', () => {
    expect(detectKeyWrap(BORINGSSL_CIPHERS).name).toBe('portable');
    expect(detectKeyWrap([...BORINGSSL_CIPHERS, 'id-aes128-wrap']).name).toBe('portable');
    const listed = [...BORINGSSL_CIPHERS, 'id-aes128-wrap', 'id-aes192-wrap', 'ID-AES256-WRAP'];
    expect(detectKeyWrap(listed, () => true).name).toBe('openssl');
    // Listed but not working (a runtime that names the cipher and throws, or gets it wrong): portable.
    expect(detectKeyWrap(listed, () => false).name).toBe('portable');
    expect(detectKeyWrap(listed).name).toBe(model ? 'portable' : 'openssl');
    expect(keyWrap.name).toBe(model ? 'portable' : 'openssl');
  });
});

describe.runIf(runsHere(model, ELECTRON_MODEL_ONLY))('a primitive the runtime lacks (under the Electron crypto model)', () => {
  let restore: ((line: string) => void) | undefined;
  afterEach(() => { if (restore) setCryptoFailureLog(restore); });

  it('is INTERNAL_ERROR naming the primitive, never a failed integrity check, and logs no key', () => {
    const lines: string[] = [];
    restore = setCryptoFailureLog((line) => lines.push(line));
    const kek = randomBytes(16);
    const wrapped = portableKeyWrap.wrap(kek, randomBytes(16));
    // OpenSSL's wrap cipher is missing here: unwrapping must throw, not answer "bad wrapdata".
    let error: unknown;
    try { opensslKeyWrap.unwrap(kek, wrapped); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(CryptoFailure);
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', reason: 'CRYPTO_PRIMITIVE_FAILED', primitive: 'aes-key-wrap (unwrap)' });
    expect(() => opensslKeyWrap.wrap(kek, randomBytes(16))).toThrow(CryptoFailure);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[crypto\] aes-key-wrap \(unwrap\) failed: ERR_CRYPTO_UNKNOWN_CIPHER on /);
    for (const text of [...lines, (error as Error).message]) {
      expect(text).not.toContain(kek.toString('hex'));
      expect(text).not.toContain(kek.toString('base64'));
    }
  });
});
