// The passphrase KDF runs on a worker thread, so the main thread's event loop
// keeps turning while scrypt works, even on Electron's BoringSSL, where Node's
// scrypt parameter check is itself a whole derivation on the calling thread
// (the electron-crypto run models that). A failing scrypt is INTERNAL_ERROR,
// never a wrong passphrase.
import { scryptSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { longestBlock } from '../../bench/eventLoop.js';
import { deriveKek, deriveKekInThread, type ScryptParams } from '../../db/kdf.js';
import { setCryptoFailureLog } from '../../electron/jwe/cryptoFailure.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { runsHere, ELECTRON_MODEL_ONLY } from '../support/skips.js';

const params = (logN: number): ScryptParams => ({ name: 'scrypt', logN, r: 8, p: 1, salt: Buffer.from('0123456789abcdef').toString('base64') });
const reference = (passphrase: string, q: ScryptParams) =>
  scryptSync(Buffer.from(passphrase.normalize('NFC')), Buffer.from(q.salt, 'base64'), 32, { N: 2 ** q.logN, r: 8, p: 1, maxmem: 512 * 1024 * 1024 });

const longestBlockMs = async (work: () => Promise<unknown>): Promise<number> => (await longestBlock(work)).blockMs;

describe('deriveKek', () => {
  let restore: ((line: string) => void) | undefined;
  afterEach(() => { if (restore) setCryptoFailureLog(restore); });

  it('gives scrypt\'s key, on the worker and in-thread alike, with the passphrase in NFC', async () => {
    const q = params(12);
    const decomposed = 'Cafe\u0301 passphrase here';
    const expected = reference('Café passphrase here', q);
    expect((await deriveKek(decomposed, q)).equals(expected)).toBe(true);
    expect((await deriveKekInThread(decomposed, q)).equals(expected)).toBe(true);
    expect((await deriveKek('another passphrase', q)).equals(expected)).toBe(false);
  });

  it('leaves the main thread\'s event loop free while it derives', async () => {
    // N = 2^17, the default: some 300-700 ms of scrypt here, twice that under the model.
    const block = await longestBlockMs(() => deriveKek('a passphrase long enough', params(17)));
    expect(block).toBeLessThan(150);
  });

  it.runIf(runsHere(underElectronCryptoModel(), ELECTRON_MODEL_ONLY))('where the in-thread path would freeze it (the model: BoringSSL checks by deriving)', async () => {
    const inThread = await longestBlockMs(() => deriveKekInThread('a passphrase long enough', params(17)));
    const worker = await longestBlockMs(() => deriveKek('a passphrase long enough', params(17)));
    expect(inThread).toBeGreaterThan(200);
    expect(worker).toBeLessThan(inThread / 3);
  });

  it('reports a failing scrypt as INTERNAL_ERROR naming scrypt, not as a wrong passphrase', async () => {
    const lines: string[] = [];
    restore = setCryptoFailureLog((line) => lines.push(line));
    const broken = params(12.5); // N = 2^12.5 is no power of two: scrypt itself refuses
    await expect(deriveKek('a passphrase long enough', broken)).rejects.toMatchObject({ code: 'INTERNAL_ERROR', reason: 'CRYPTO_PRIMITIVE_FAILED', primitive: 'scrypt' });
    await expect(deriveKekInThread('a passphrase long enough', broken)).rejects.toMatchObject({ code: 'INTERNAL_ERROR', primitive: 'scrypt' });
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/^\[crypto\] scrypt failed: ERR_OUT_OF_RANGE on /);
    expect(lines.join('\n')).not.toContain('passphrase');
  });
});
