// Returning wrapdata: every way it can fail, each with KEYX_WRAPPING_KEY_MISSING
// (the device then falls back to PSK or MGK) and its own reason.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesKeyUnwrap, aesKeyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { MslErrorCode as C } from '../../electron/ladder/errors.js';
import { MSL_LENGTH, V1_LENGTH, openWrapdata, sealWrapdata } from '../../electron/ladder/wrapdata.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';
import { answer, expectThrows, ladder, requestJson, type Ladder } from './helpers.js';

const MISSING = C.KEYX_WRAPPING_KEY_MISSING;
const wrapOf = (l: Ladder, identity = l.identity) => Buffer.from(answer(l, requestJson(identity, { mechanism: 'PSK' })).keydata.wrapdata, 'base64');
const present = (l: Ladder, wrapdata: Buffer, identity = l.identity) => () => answer(l, requestJson(identity, { mechanism: 'WRAP', wrapdata: wrapdata.toString('base64') }));
const flipped = (bytes: Buffer, bit: number) => {
  const out = Buffer.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

describe('keyladder-v1 wrapdata', () => {
  it('is laid out as documented: version, generation, identity tag, AES-KW with the binding IV', () => {
    const l = ladder('keyladder-v1', 'layout');
    const wrapdata = wrapOf(l);
    const kwrap = l.random.lastKeys().kwrap;
    expect(wrapdata).toHaveLength(V1_LENGTH);
    const h = createHash('sha256').update('KeyLadder wrapdata v1\0', 'latin1').update(Buffer.from([0, 0, 0, 1])).update(l.identity).digest();
    expect(wrapdata[0]).toBe(0x01);
    expect(wrapdata.readUInt32BE(1)).toBe(1);
    expect(wrapdata.subarray(5, 9).equals(h.subarray(8, 12))).toBe(true);
    expect(wrapdata.subarray(9).equals(aesKeyWrap(l.kissuer, kwrap, h.subarray(0, 8)))).toBe(true);
    expect(aesKeyUnwrap(l.kissuer, wrapdata.subarray(9), h.subarray(0, 8))!.equals(kwrap)).toBe(true);
  });

  it('under another identity: WRAPDATA_IDENTITY_MISMATCH (it is bound to the identity it was issued to)', () => {
    const l = ladder('keyladder-v1');
    l.source.addDevice('ESN-OTHER', Buffer.alloc(16, 9));
    const wrapdata = wrapOf(l);
    expect(present(l, wrapdata)().mechanism).toBe('WRAP');
    expectThrows(present(l, wrapdata, 'ESN-OTHER'), MISSING, 'WRAPDATA_IDENTITY_MISMATCH');
  });

  it('even when the identity tag is forged to match, another identity fails the key-wrap integrity check: WRAPDATA_INVALID', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    const forged = Buffer.from(wrapdata);
    const h = createHash('sha256').update('KeyLadder wrapdata v1\0', 'latin1').update(Buffer.from([0, 0, 0, 1])).update('ESN-OTHER').digest();
    h.copy(forged, 5, 8, 12);
    l.source.addDevice('ESN-OTHER', Buffer.alloc(16, 9));
    expectThrows(present(l, forged, 'ESN-OTHER'), MISSING, 'WRAPDATA_INVALID');
  });

  it('naming a generation this responder does not hold: WRAPDATA_UNKNOWN_GENERATION', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    wrapdata.writeUInt32BE(77, 1);
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_UNKNOWN_GENERATION');
    // And from a responder with another Kissuer altogether (its generation 1 is not ours).
    const other = ladder('keyladder-v1', 'other');
    expectThrows(present(other, wrapOf(l)), MISSING, 'WRAPDATA_INVALID');
  });

  it('under a retired generation: WRAPDATA_GENERATION_RETIRED; while in grace it still opens', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    l.source.addIssuer(Buffer.alloc(16, 0x11));
    expect(present(l, wrapdata)().openedGeneration).toBe(1);
    l.source.setStatus(1, 'retired');
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_GENERATION_RETIRED');
  });

  it('under a destroyed generation (its key gone): WRAPDATA_UNKNOWN_GENERATION', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    l.source.addIssuer(Buffer.alloc(16, 0x11));
    l.source.generations.splice(0, 1);
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_UNKNOWN_GENERATION');
  });

  it('naming a bare-MSL generation: WRAPDATA_MALFORMED', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    l.source.addIssuer(Buffer.alloc(16, 0x11), 'msl');
    wrapdata.writeUInt32BE(2, 1);
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_MALFORMED');
  });

  it.each([
    ['too short', Buffer.alloc(32, 1)],
    ['too long', Buffer.alloc(34, 1)],
    ['one byte', Buffer.alloc(1, 1)],
    ['another version byte', Buffer.concat([Buffer.from([0x02]), Buffer.alloc(32, 1)])],
    ['version 0', Buffer.alloc(33, 0)],
    ['16 bytes (a bare key, not wrapped)', Buffer.alloc(16, 1)],
    ['40 bytes (a wrapped 32-byte key)', Buffer.alloc(40, 1)],
  ])('malformed (%s): WRAPDATA_MALFORMED', (_, wrapdata) => {
    const l = ladder('keyladder-v1');
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_MALFORMED');
  });

  it('bit-flipped anywhere: never opens, and the reason says which part was hit', () => {
    const l = ladder('keyladder-v1');
    const wrapdata = wrapOf(l);
    const expected = (byte: number) =>
      byte === 0 ? 'WRAPDATA_MALFORMED' : byte < 5 ? 'WRAPDATA_UNKNOWN_GENERATION' : byte < 9 ? 'WRAPDATA_IDENTITY_MISMATCH' : 'WRAPDATA_INVALID';
    for (let bit = 0; bit < V1_LENGTH * 8; bit++) {
      expectThrows(present(l, flipped(wrapdata, bit)), MISSING, expected(bit >> 3));
    }
  });
});

describe('bare-MSL wrapdata', () => {
  it('is exactly RFC 3394 AES-KW(Kissuer, Kwrap) with the default IV', () => {
    const l = ladder('msl', 'bare');
    const wrapdata = wrapOf(l);
    expect(wrapdata).toHaveLength(MSL_LENGTH);
    expect(wrapdata.equals(aesKeyWrap(l.kissuer, l.random.lastKeys().kwrap))).toBe(true);
  });

  it('is not bound to an identity: another identity can present it (MSL\'s own behaviour; keyladder-v1 exists for this)', () => {
    const l = ladder('msl');
    l.source.addDevice('ESN-OTHER', Buffer.alloc(16, 9));
    expect(present(l, wrapOf(l), 'ESN-OTHER')().openedGeneration).toBe(1);
  });

  it('bit-flipped anywhere: WRAPDATA_INVALID', () => {
    const l = ladder('msl');
    const wrapdata = wrapOf(l);
    for (let bit = 0; bit < MSL_LENGTH * 8; bit++) expectThrows(present(l, flipped(wrapdata, bit)), MISSING, 'WRAPDATA_INVALID');
  });

  it('tries every usable bare-MSL generation, newest first', () => {
    const l = ladder('msl');
    const old = wrapOf(l);
    l.source.addIssuer(Buffer.alloc(16, 0x21), 'msl');
    l.source.addIssuer(Buffer.alloc(16, 0x22), 'keyladder-v1');
    expect(present(l, old)().openedGeneration).toBe(1);
  });

  it('under a retired generation: WRAPDATA_GENERATION_RETIRED', () => {
    const l = ladder('msl');
    const wrapdata = wrapOf(l);
    l.source.addIssuer(Buffer.alloc(16, 0x21), 'msl');
    l.source.setStatus(1, 'retired');
    expectThrows(present(l, wrapdata), MISSING, 'WRAPDATA_GENERATION_RETIRED');
  });

  it('when the responder holds no bare-MSL generation: WRAPDATA_UNKNOWN_GENERATION', () => {
    const l = ladder('keyladder-v1');
    expectThrows(present(l, Buffer.alloc(24, 1)), MISSING, 'WRAPDATA_UNKNOWN_GENERATION');
    const msl = ladder('msl');
    const wrapdata = wrapOf(msl);
    msl.source.addIssuer(Buffer.alloc(16, 0x21), 'keyladder-v1');
    msl.source.generations.splice(0, 1);
    expectThrows(present(msl, wrapdata), MISSING, 'WRAPDATA_UNKNOWN_GENERATION');
  });

  it('24 bytes no usable generation unwraps: WRAPDATA_INVALID', () => {
    const l = ladder('msl');
    expectThrows(present(l, Buffer.alloc(24, 1)), MISSING, 'WRAPDATA_INVALID');
  });
});

describe('openWrapdata and sealWrapdata on their own', () => {
  it('zero the issuer keys they are handed, whatever happens', () => {
    const source = new MemoryKeySource();
    source.addIssuer(Buffer.alloc(16, 0x33), 'keyladder-v1');
    source.addIssuer(Buffer.alloc(16, 0x44), 'msl');
    const handed: Buffer[] = [];
    const lookup = {
      issuer: (g: number) => {
        const i = source.issuer(g);
        if (i) handed.push(i.key);
        return i;
      },
      mslIssuers: () => {
        const all = source.mslIssuers();
        handed.push(...all.map((i) => i.key));
        return all;
      },
    };
    const kwrap = Buffer.alloc(16, 0x55);
    const v1 = sealWrapdata({ generation: 1, format: 'keyladder-v1', key: Buffer.alloc(16, 0x33) }, 'ESN-1', kwrap);
    expect(openWrapdata(lookup, 'ESN-1', v1).kwrap.equals(kwrap)).toBe(true);
    expect(() => openWrapdata(lookup, 'ESN-2', v1)).toThrow();
    const bare = sealWrapdata({ generation: 2, format: 'msl', key: Buffer.alloc(16, 0x44) }, 'ESN-1', kwrap);
    expect(openWrapdata(lookup, 'ESN-9', bare).kwrap.equals(kwrap)).toBe(true);
    expect(() => openWrapdata(lookup, 'ESN-9', Buffer.alloc(24))).toThrow();
    expect(handed.length).toBe(4);
    for (const key of handed) expect(key.every((b) => b === 0)).toBe(true);
  });

  it('reuse the binding hash of the wrapdata just opened only for the same generation and identity', () => {
    const kwrap = Buffer.alloc(16, 0x66);
    const issuer = (generation: number) => ({ generation, format: 'keyladder-v1' as const, key: Buffer.alloc(16, 0x77) });
    const fresh = sealWrapdata(issuer(2), 'ESN-1', kwrap);
    const opened = { kwrap, generation: 1, format: 'keyladder-v1' as const, identity: 'ESN-1', binding: Buffer.alloc(32, 0xee) };
    expect(sealWrapdata(issuer(2), 'ESN-1', kwrap, opened).equals(fresh)).toBe(true);
    expect(sealWrapdata(issuer(2), 'ESN-1', kwrap, { ...opened, generation: 2, identity: 'ESN-2' }).equals(fresh)).toBe(true);
  });
});
