// Proves that a non-extractable CryptoKey holds given key bytes, by using it
// and comparing with node:crypto under the expected bytes. A wrapping key held
// as a KeyObject (the main process's unwrapper, test/support/device.ts) is
// compared with KeyObject.equals, which compares in constant time.
import { KeyObject, createCipheriv, createHmac, createSecretKey } from 'node:crypto';
import { expect } from 'vitest';
import { aesKeyWrap } from '../../electron/jwe/aesKeyWrap.js';

const subtle = globalThis.crypto.subtle;
const PROBE = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

export async function expectKeyHolds(key: CryptoKey | KeyObject, kind: 'wrap' | 'enc' | 'hmac', expectedHex: string): Promise<void> {
  const expected = Buffer.from(expectedHex, 'hex');
  if (key instanceof KeyObject) {
    expect(kind).toBe('wrap');
    expect(key.type).toBe('secret');
    expect(key.equals(createSecretKey(expected))).toBe(true);
    return;
  }
  expect(key.extractable).toBe(false);
  if (kind === 'wrap') {
    expect(key.algorithm.name).toBe('AES-KW');
    const probe = await subtle.importKey('raw', PROBE.subarray(0, 16), 'AES-GCM', true, ['encrypt']);
    const wrapped = Buffer.from(await subtle.wrapKey('raw', probe, key, 'AES-KW'));
    expect(wrapped.toString('hex')).toBe(aesKeyWrap(expected, PROBE.subarray(0, 16)).toString('hex'));
  } else if (kind === 'enc') {
    expect(key.algorithm.name).toBe('AES-CBC');
    const iv = new Uint8Array(16);
    const ours = Buffer.from(await subtle.encrypt({ name: 'AES-CBC', iv }, key, PROBE));
    const cipher = createCipheriv('aes-128-cbc', expected, iv);
    expect(ours.toString('hex')).toBe(Buffer.concat([cipher.update(PROBE), cipher.final()]).toString('hex'));
  } else {
    expect(key.algorithm.name).toBe('HMAC');
    const ours = Buffer.from(await subtle.sign('HMAC', key, PROBE));
    expect(ours.toString('hex')).toBe(createHmac('sha256', expected).update(PROBE).digest('hex'));
  }
}
