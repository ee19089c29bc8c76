// The model of Electron's crypto is itself under test: if it stopped
// modelling, the "electron-crypto" run would pass for the wrong reason.
import { createCipheriv, createDecipheriv, getCipherInfo, getCiphers, scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { runsHere, ELECTRON_MODEL_ONLY } from '../support/skips.js';

const model = underElectronCryptoModel();

describe.runIf(runsHere(model, ELECTRON_MODEL_ONLY))('the Electron crypto model (this process runs under it)', () => {
  it('has no AES key wrap cipher, so the portable key wrap is chosen', () => {
    expect(getCiphers()).not.toContain('id-aes128-wrap');
    expect(getCiphers()).toContain('aes-128-ecb');
    expect(getCipherInfo('id-aes128-wrap')).toBeUndefined();
    expect(keyWrap.name).toBe('portable');
  });

  it('throws for a missing cipher exactly as Node does for an unknown one', () => {
    for (const name of ['id-aes128-wrap', 'id-aes256-wrap-pad', 'aes-128-ccm', 'aes128', 'chacha20-poly1305']) {
      expect(() => createCipheriv(name, Buffer.alloc(16), Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_UNKNOWN_CIPHER', message: 'Unknown cipher' }));
      expect(() => createDecipheriv(name, Buffer.alloc(16), Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_UNKNOWN_CIPHER' }));
    }
    // BoringSSL matches names without regard to case.
    expect(createCipheriv('AES-128-GCM', Buffer.alloc(16), Buffer.alloc(12)).update(Buffer.alloc(1)).length).toBe(1);
  });

  it('rejects Web Crypto AES-KW with an OperationError, after the key imports', async () => {
    const kek = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const cek = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['encrypt']);
    await expect(crypto.subtle.wrapKey('raw', cek, kek, 'AES-KW')).rejects.toMatchObject({ name: 'OperationError' });
    await expect(crypto.subtle.unwrapKey('raw', new Uint8Array(24), kek, { name: 'AES-KW' }, 'AES-GCM', false, ['decrypt'])).rejects.toMatchObject({ name: 'OperationError' });
  });

  it('makes crypto.scrypt block its caller for a whole derivation', () => {
    const options = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
    const started = performance.now();
    scrypt('passphrase', 'salt', 32, options, () => {});
    const blocked = performance.now() - started;
    // N=2^14 costs some 20-60 ms here; OpenSSL's check returns in microseconds.
    expect(blocked).toBeGreaterThan(5);
  });
});

describe.runIf(runsHere(!model, "node project only: it checks OpenSSL's AES key wrap ciphers, which the electron-crypto project's model removes"))('plain Node (OpenSSL)', () => {
  it('has the AES key wrap ciphers, so the fast path is chosen', () => {
    expect(getCiphers()).toContain('id-aes128-wrap');
    expect(keyWrap.name).toBe('openssl');
  });
});

describe.runIf(runsHere(model, ELECTRON_MODEL_ONLY))('the model in worker threads', () => {
  it('reaches an eval worker (the KDF worker is one), where Node runs no --import', async () => {
    const { Worker } = await import('node:worker_threads');
    const seen = await new Promise<unknown>((resolve, reject) => {
      const worker = new Worker(
        "const { parentPort } = require('node:worker_threads'); const c = require('node:crypto'); parentPort.postMessage({ wrap: c.getCiphers().includes('id-aes128-wrap'), mark: globalThis[Symbol.for('keyladder.electronCryptoModel')] === true });",
        { eval: true },
      );
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(seen).toEqual({ wrap: false, mark: true });
  });
});
