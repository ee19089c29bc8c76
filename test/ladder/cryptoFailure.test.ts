// A primitive that breaks is INTERNAL_ERROR all the way out, never a refusal
// that blames the request. Under the Electron crypto model the OpenSSL key
// wrap is such a primitive (its cipher does not exist there): a responder
// forced onto it must not answer WRAPDATA_INVALID, as it did when the unwrap's
// exception was swallowed.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { opensslKeyWrap, portableKeyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { CryptoFailure, setCryptoFailureLog } from '../../electron/jwe/cryptoFailure.js';
import { LadderResponder } from '../../electron/ladder/responder.js';
import { describeError } from '../../electron/services/errors.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { runsHere, ELECTRON_MODEL_ONLY } from '../support/skips.js';

describe.runIf(runsHere(underElectronCryptoModel(), ELECTRON_MODEL_ONLY))('a key wrap the runtime lacks (Electron crypto model)', () => {
  let restore: ((line: string) => void) | undefined;
  const lines: string[] = [];
  beforeEach(() => { lines.length = 0; restore = setCryptoFailureLog((line) => lines.push(line)); });
  afterEach(() => { if (restore) setCryptoFailureLog(restore); });

  const ladder = () => {
    const kpw = randomBytes(16);
    const source = new MemoryKeySource().addDevice('ESN-CRYPTO-1', kpw);
    source.addIssuer(randomBytes(16), 'msl');
    source.addIssuer(randomBytes(16), 'keyladder-v1');
    return { source, kpw };
  };

  it('makes WRAP INTERNAL_ERROR (CRYPTO_PRIMITIVE_FAILED), not KEYX_WRAPPING_KEY_MISSING, for both wrapdata formats', () => {
    const { source } = ladder();
    // Wrapdata the working (portable) path issued, presented to a responder on the broken one.
    const good = new LadderResponder(source, undefined, 'msl', portableKeyWrap).respond('ESN-CRYPTO-1', { mechanism: 'PSK' });
    const broken = new LadderResponder(source, undefined, 'msl', opensslKeyWrap);
    let error: unknown;
    try {
      broken.respond('ESN-CRYPTO-1', { mechanism: 'WRAP', wrapdata: Buffer.from(good.keydata.wrapdata, 'base64') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CryptoFailure);
    expect(describeError(error)).toMatchObject({ code: 'INTERNAL_ERROR', reason: 'CRYPTO_PRIMITIVE_FAILED' });
    expect(lines.some((l) => l.startsWith('[crypto] aes-key-wrap (unwrap) failed: ERR_CRYPTO_UNKNOWN_CIPHER'))).toBe(true);
  });

  it('makes PSK INTERNAL_ERROR too, and says so in one log line per failure, with no key in it', () => {
    const { source, kpw } = ladder();
    const broken = new LadderResponder(source, undefined, 'msl', opensslKeyWrap);
    expect(() => broken.respond('ESN-CRYPTO-1', { mechanism: 'PSK' })).toThrow(CryptoFailure);
    expect(lines).toEqual([expect.stringMatching(/^\[crypto\] aes-key-wrap \(wrap\) failed: ERR_CRYPTO_UNKNOWN_CIPHER on /)]);
    expect(lines[0]).not.toContain(kpw.toString('hex'));
  });
});

describe('describeError', () => {
  it('reports Node\'s own crypto errors as INTERNAL_ERROR, not under their ERR_ code', () => {
    const nodeError = Object.assign(new Error('Unknown cipher'), { code: 'ERR_CRYPTO_UNKNOWN_CIPHER' });
    expect(describeError(nodeError)).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(describeError(Object.assign(new Error('x'), { code: 'ERR_OSSL_EVP_BAD_DECRYPT' }))).toMatchObject({ code: 'INTERNAL_ERROR' });
    // Node's argument errors quote the values they got: never shown.
    expect(describeError(Object.assign(new Error('The argument "key" is invalid. Received <Buffer 00 11>'), { code: 'ERR_INVALID_ARG_VALUE' }))).toEqual({ code: 'INTERNAL_ERROR', message: expect.not.stringContaining('Buffer') });
    expect(describeError(Object.assign(new Error('x'), { code: 'DEVICE_NOT_FOUND' }))).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });
});
