// Round trips between the responder (over a MemoryKeySource) and the Web Crypto
// requestor, for every mechanism x profile x wrapdata format, then multi-rung
// climbs and a Kissuer rotation. Each rung checks that both sides hold the same
// keys: KCVs agree, and the device's non-extractable CryptoKeys hold exactly
// the bytes the responder drew.
import { describe, expect, it } from 'vitest';
import { aesKeyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { MslErrorCode } from '../../electron/ladder/errors.js';
import { JWE_PROFILES } from '../../electron/jwe/keyKinds.js';
import { importWrappingKey, acceptKeyResponse } from '../support/device.js';
import { WRAPDATA_FORMATS } from '../../electron/ladder/wrapdata.js';
import { expectKeyHolds } from '../support/keyProbe.js';
import { answer, climb, device, envelope, expectRejects, expectThrows, ladder, requestJson, type Ladder } from './helpers.js';

type Climb = Awaited<ReturnType<typeof climb>>;

async function expectSameKeys(l: Ladder, rung: Climb): Promise<void> {
  const { result, keys, issued } = rung;
  expect(result.kcv).toBeDefined();
  expect(keys.kcv).toEqual(result.kcv);
  expect(result.kcv).toEqual({ kwrap: kcv(issued.kwrap, 'aes'), kenc: kcv(issued.kenc, 'aes'), khmac: kcv(issued.khmac, 'hmac') });
  await expectKeyHolds(keys.kwrap, 'wrap', issued.kwrap.toString('hex'));
  await expectKeyHolds(keys.kenc, 'enc', issued.kenc.toString('hex'));
  await expectKeyHolds(keys.khmac, 'hmac', issued.khmac.toString('hex'));
  expect(Buffer.from(keys.wrapdata).toString('base64')).toBe(result.keydata.wrapdata);
  expect(result.issuedGeneration).toBe(l.source.generations.find((g) => g.status === 'active')!.generation);
}

function expectWrapdataFormat(l: Ladder, rung: Climb): void {
  const bytes = Buffer.from(rung.result.keydata.wrapdata, 'base64');
  const generation = rung.result.issuedGeneration;
  if (rung.result.issuedFormat === 'msl') {
    // Bare MSL: exactly RFC 3394 AES-KW(Kissuer, Kwrap), default IV.
    expect(bytes.equals(aesKeyWrap(l.kissuer, rung.issued.kwrap))).toBe(true);
  } else {
    expect(bytes).toHaveLength(33);
    expect(bytes[0]).toBe(1);
    expect(bytes.readUInt32BE(1)).toBe(generation);
    // Never the bare wrap: the initial value binds it.
    expect(bytes.subarray(9).equals(aesKeyWrap(l.kissuer, rung.issued.kwrap))).toBe(false);
  }
}

describe.each(JWE_PROFILES)('round trips, profile %s', (profile) => {
  describe.each(WRAPDATA_FORMATS)('wrapdata %s', (format) => {
    it.each(['PSK', 'MGK'] as const)('%s: the device ends with the keys the responder issued', async (mechanism) => {
      const l = ladder(format, `rt-${profile}-${format}-${mechanism}`);
      const d = await device(l, mechanism, profile);
      const rung = await climb(l, d);
      expect(rung.request.keyrequestdata).toEqual({ scheme: 'JWE_LADDER', keydata: { mechanism } });
      expect(rung.result.mechanism).toBe(mechanism);
      expect(rung.result.issuedFormat).toBe(format);
      expect(rung.result.openedGeneration).toBeUndefined();
      await expectSameKeys(l, rung);
      expectWrapdataFormat(l, rung);
      expect(rung.keys.kid === undefined).toBe(profile === 'rfc7516');
    });

    it.each(['PSK', 'MGK'] as const)('WRAP after %s: the device climbs with its wrapdata and its Kwrap', async (first) => {
      const l = ladder(format, `rt-wrap-${profile}-${format}-${first}`);
      const d = await device(l, first, profile);
      const r1 = await climb(l, d);
      const r2 = await climb(l, d);
      expect(r2.request.keyrequestdata.keydata).toEqual({ mechanism: 'WRAP', wrapdata: r1.result.keydata.wrapdata });
      expect(r2.result.mechanism).toBe('WRAP');
      expect(r2.result.openedGeneration).toBe(r1.result.issuedGeneration);
      await expectSameKeys(l, r2);
      expectWrapdataFormat(l, r2);
      expect(r2.result.kcv).not.toEqual(r1.result.kcv);
    });
  });

  it.each(WRAPDATA_FORMATS)('a multi-rung climb PSK -> WRAP -> WRAP -> WRAP (wrapdata %s)', async (format) => {
    const l = ladder(format, `climb-${profile}-${format}`);
    const d = await device(l, 'PSK', profile);
    const rungs: Climb[] = [];
    for (let i = 0; i < 4; i++) {
      const rung = await climb(l, d);
      expect(rung.result.mechanism).toBe(i === 0 ? 'PSK' : 'WRAP');
      await expectSameKeys(l, rung);
      if (i > 0) expect(rung.request.keyrequestdata.keydata['wrapdata']).toBe(rungs[i - 1]!.result.keydata.wrapdata);
      rungs.push(rung);
    }
    expect(new Set(rungs.map((r) => r.result.keydata.wrapdata)).size).toBe(4);
    expect(new Set(rungs.map((r) => r.result.kcv!.kwrap)).size).toBe(4);
    // Each response opens only under the key of the rung below it.
    const kpw = await importWrappingKey(Uint8Array.from(l.kpw));
    await expectRejects(acceptKeyResponse(envelope(rungs[2]!.result), kpw, profile), MslErrorCode.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
    await expectRejects(acceptKeyResponse(envelope(rungs[2]!.result), rungs[0]!.keys.kwrap, profile), MslErrorCode.JWE_DECRYPTION_ERROR, 'JWE_DECRYPTION_FAILED');
    const again = await acceptKeyResponse(envelope(rungs[2]!.result), rungs[1]!.keys.kwrap, profile);
    expect(again.kcv).toEqual(rungs[2]!.result.kcv);
  });
});

describe('Kissuer rotation during a climb', () => {
  it.each(WRAPDATA_FORMATS)('grace accepts old wrapdata and reissues under the new generation; retired refuses it; PSK recovers (%s)', async (format) => {
    const l = ladder(format, `rotate-${format}`);
    const d = await device(l, 'PSK', 'msl');
    const r1 = await climb(l, d);
    expect(r1.result.issuedGeneration).toBe(1);
    const gen2 = l.source.addIssuer(Buffer.alloc(16, 0x42), format);
    const r2 = await climb(l, d);
    expect(r2.result.openedGeneration).toBe(1);
    expect(r2.result.issuedGeneration).toBe(gen2);
    await expectSameKeys(l, r2);
    // The generation-2 wrapdata works on the next rung, and generation 1 retires.
    l.source.setStatus(1, 'retired');
    const r3 = await climb(l, d);
    expect(r3.result.openedGeneration).toBe(gen2);
    // A device still holding generation-1 wrapdata is refused, with the reason, and falls back.
    expectThrows(() => answer(l, requestJson(l.identity, { mechanism: 'WRAP', wrapdata: r1.result.keydata.wrapdata })), MslErrorCode.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_GENERATION_RETIRED');
    d.fallBack();
    const r4 = await climb(l, d);
    expect(r4.result.mechanism).toBe('PSK');
    await expectSameKeys(l, r4);
  });

  it('wrapdata stays with its format: a bare-MSL generation in grace still opens while keyladder-v1 issues', async () => {
    const l = ladder('msl', 'mixed');
    const d = await device(l, 'PSK', 'rfc7516');
    const r1 = await climb(l, d);
    expect(Buffer.from(r1.result.keydata.wrapdata, 'base64')).toHaveLength(24);
    l.source.addIssuer(Buffer.alloc(16, 0x24), 'keyladder-v1');
    const r2 = await climb(l, d);
    expect(r2.result).toMatchObject({ openedGeneration: 1, issuedGeneration: 2, issuedFormat: 'keyladder-v1' });
    expect(Buffer.from(r2.result.keydata.wrapdata, 'base64')).toHaveLength(33);
    await expectSameKeys(l, r2);
  });
});

describe('session keys as the requestor imports them', () => {
  it('non-extractable for a device (the default); extractable, with the issued bytes, only when asked (KeyLadder\'s own MSL client, which hands them to node:crypto)', async () => {
    const l = ladder('keyladder-v1', 'session-key-import');
    const { deviceUnwrapper } = await import('../support/device.js');
    const deviceSide = await device(l, 'PSK', 'msl');
    const r = await climb(l, deviceSide);
    expect([r.keys.kenc.extractable, r.keys.khmac.extractable]).toEqual([false, false]);
    await expect(globalThis.crypto.subtle.exportKey('raw', r.keys.kenc)).rejects.toThrow();

    // This runtime's key unwrap (node:crypto's under the Electron crypto model), as main's MSL client has.
    const { LadderRequestor: Requestor } = await import('../../electron/ladder/requestor.js');
    const mainSide = new Requestor(l.identity, await importWrappingKey(Uint8Array.from(l.kpw)), 'PSK', 'msl', deviceUnwrapper, 'extractable');
    const m = await climb(l, mainSide);
    expect([m.keys.kenc.extractable, m.keys.khmac.extractable]).toEqual([true, true]);
    expect(Buffer.from(await globalThis.crypto.subtle.exportKey('raw', m.keys.kenc))).toEqual(m.issued.kenc);
    expect(Buffer.from(await globalThis.crypto.subtle.exportKey('raw', m.keys.khmac))).toEqual(m.issued.khmac);
  });
});
