// Interoperability with Netflix's MSL, byte for byte, using the vectors its own
// code produced (test/vectors/msl).
import { describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { acceptKeyResponse, importWrappingKey } from '../support/device.js';
import { LadderResponder } from '../../electron/ladder/responder.js';
import { keyWrap, opensslKeyWrap, portableKeyWrap, type KeyWrapImplementation } from '../../electron/jwe/aesKeyWrap.js';
import { underElectronCryptoModel } from '../support/runtime.js';
import { parseKeyRequestData } from '../../electron/ladder/messages.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';
import { ReplayRandom, vectorDraw } from '../support/fixedRandom.js';
import { expectKeyHolds } from '../support/keyProbe.js';
import { deriveVector, exchange1, exchange2, hex, kissuerOf, type ExchangeVector } from '../support/vectors.js';

const keydataOf = (v: ExchangeVector) => ({ scheme: 'JWE_LADDER', keydata: v.response_keydata });

async function expectRecordedKeys(v: ExchangeVector, kprevHex: string): Promise<void> {
  const keys = await acceptKeyResponse(keydataOf(v), await importWrappingKey(hex(kprevHex)), 'msl');
  await expectKeyHolds(keys.kwrap, 'wrap', v.expected['kwrap_hex (new wrapping key)']);
  await expectKeyHolds(keys.kenc, 'enc', v.expected.kenc_hex);
  await expectKeyHolds(keys.khmac, 'hmac', v.expected.khmac_hex);
  expect(keys.kid).toBe(v.expected.kwrap_kid);
  expect(Buffer.from(keys.wrapdata).toString('base64')).toBe(v.response_keydata.wrapdata);
  expect(keys.kcv).toEqual({
    kwrap: kcv(hex(v.expected['kwrap_hex (new wrapping key)']), 'aes'),
    kenc: kcv(hex(v.expected.kenc_hex), 'aes'),
    khmac: kcv(hex(v.expected.khmac_hex), 'hmac'),
  });
}

describe('the requestor accepts what MSL responders send', () => {
  it('unwraps exchange-1 (PSK) with Kpw to exactly the recorded keys', async () => {
    const v = exchange1();
    await expectRecordedKeys(v, v.inputs.kpw_hex!);
  });

  it('unwraps exchange-2 (WRAP) with exchange-1\'s Kwrap to exactly the recorded keys', async () => {
    const v = exchange2();
    expect(v.inputs.prev_kwrap_hex).toBe(exchange1().expected['kwrap_hex (new wrapping key)']);
    await expectRecordedKeys(v, v.inputs.prev_kwrap_hex!);
  });

  it('refuses exchange-2 under the wrong key (Kpw instead of Kwrap)', async () => {
    await expect(acceptKeyResponse(keydataOf(exchange2()), await importWrappingKey(hex(exchange1().inputs.kpw_hex!)), 'msl')).rejects.toMatchObject({
      code: 'JWE_DECRYPTION_ERROR',
      reason: 'JWE_DECRYPTION_FAILED',
    });
  });
});

describe('Kpw derivation', () => {
  it('matches MSL for PSK-ESN', () => {
    const v = deriveVector();
    expect(deriveWrappingKey(hex(v.kpe_hex), hex(v.kph_hex)).toString('hex')).toBe(v.kpw_hex);
    expect(v.kpw_hex).toBe(exchange1().inputs.kpw_hex);
  });

  it('refuses keys of the wrong length', () => {
    expect(() => deriveWrappingKey(Buffer.alloc(15), Buffer.alloc(32))).toThrow(RangeError);
    expect(() => deriveWrappingKey(Buffer.alloc(16), Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('the responder produces MSL\'s bytes', () => {
  function mslResponder(v: ExchangeVector, kw: KeyWrapImplementation = keyWrap): { responder: LadderResponder; source: MemoryKeySource } {
    const source = new MemoryKeySource().addDevice(v.inputs.identity, hex(exchange1().inputs.kpw_hex!));
    source.addIssuer(kissuerOf(v), 'msl');
    return { responder: new LadderResponder(source, new ReplayRandom([vectorDraw(v)]), 'msl', kw), source };
  }

  // The portable key wrap (Electron's path) in every run; OpenSSL's where it exists.
  const implementations = underElectronCryptoModel() ? [portableKeyWrap] : [opensslKeyWrap, portableKeyWrap];
  for (const [name, load] of [['exchange-1 (PSK)', exchange1], ['exchange-2 (WRAP)', exchange2]] as const) it.each(implementations)(`reproduces ${name} byte for byte, given MSL's random draws, with the $name key wrap`, (kw) => {
      const v = load();
      const { responder } = mslResponder(v, kw);
      const result = responder.respond(v.inputs.identity, parseKeyRequestData({ scheme: 'JWE_LADDER', keydata: v.inputs.request_keydata }));
      expect(result.keydataJson).toBe(v['response_keydata_json_exact (MSL JsonMslObject encoding)']);
      const decoded = v['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'];
      for (const member of ['wrapkey', 'encryptionkey', 'hmackey'] as const) {
        expect(Buffer.from(result.keydata[member], 'base64').toString()).toBe(decoded[member].jwe_exact);
      }
      expect(Buffer.from(result.keydata.wrapdata, 'base64').toString('hex')).toBe(decoded.wrapdata_hex);
    });

  it('continues exchange-1\'s ladder from its wrapdata, and the requestor unwraps it with exchange-1\'s Kwrap', async () => {
    const v1 = exchange1();
    const source = new MemoryKeySource().addDevice(v1.inputs.identity, hex(v1.inputs.kpw_hex!));
    const generation = source.addIssuer(kissuerOf(v1), 'msl');
    const responder = new LadderResponder(source);
    const result = responder.respond(v1.inputs.identity, parseKeyRequestData({ scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: v1.response_keydata.wrapdata } }), { kcv: true });
    expect(result.openedGeneration).toBe(generation);
    expect(result.issuedFormat).toBe('msl');
    expect(Buffer.from(result.keydata.wrapdata, 'base64')).toHaveLength(24);
    const keys = await acceptKeyResponse({ scheme: 'JWE_LADDER', keydata: result.keydata }, await importWrappingKey(hex(v1.expected['kwrap_hex (new wrapping key)'])), 'msl');
    expect(keys.kcv).toEqual(result.kcv);
  });
});
