// Per-record sealing, and the sealer's memory of opened Kissuer keys: what it
// hands out is always what `unseal` would give, a changed record is opened
// afresh, and nothing opened survives `forget` or `destroy`.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordSealer } from '../../db/sealing.js';

const BINDING = 'issuer/1/key';

function sealerWith(key = randomBytes(16)) {
  const sealer = RecordSealer.forStore(randomBytes(32));
  return { sealer, key, sealed: sealer.seal(BINDING, key) };
}

/** The sealer's remembered copies, read through its private field, to see that they are wiped. */
const rememberedOf = (sealer: RecordSealer) =>
  (sealer as unknown as { remembered: Map<string, { plain: Buffer }> }).remembered;

describe('RecordSealer', () => {
  it('opens what it sealed, only under the same binding', () => {
    const { sealer, key, sealed } = sealerWith();
    expect(sealer.unseal(BINDING, sealed)).toEqual(key);
    expect(() => sealer.unseal('issuer/2/key', sealed)).toThrow(expect.objectContaining({ code: 'RECORD_SEAL_INVALID' }));
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    expect(() => sealer.unseal(BINDING, flipped)).toThrow(expect.objectContaining({ code: 'RECORD_SEAL_INVALID' }));
  });

  it('unsealRemembered hands out a fresh copy each time, which the caller may zero', () => {
    const { sealer, key, sealed } = sealerWith();
    const first = sealer.unsealRemembered(BINDING, sealed);
    expect(first).toEqual(key);
    first.fill(0);
    const second = sealer.unsealRemembered(BINDING, sealed);
    expect(second).toEqual(key);
    expect(second.buffer === first.buffer && second.byteOffset === first.byteOffset).toBe(false);
  });

  it('opens a record afresh when its sealed bytes change (a rotated, restored or altered key)', () => {
    const { sealer, key, sealed } = sealerWith();
    expect(sealer.unsealRemembered(BINDING, sealed)).toEqual(key);
    const other = randomBytes(16);
    expect(sealer.unsealRemembered(BINDING, sealer.seal(BINDING, other))).toEqual(other);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    expect(() => sealer.unsealRemembered(BINDING, altered)).toThrow(expect.objectContaining({ code: 'RECORD_SEAL_INVALID' }));
    // A record sealed under one binding does not open under another, remembered or not.
    expect(() => sealer.unsealRemembered('issuer/2/key', sealed)).toThrow(expect.objectContaining({ code: 'RECORD_SEAL_INVALID' }));
  });

  it('the remembered key and every copy handed out are in memory of their own: an ArrayBuffer of the key\'s length, not Node\'s shared pool', () => {
    // (Issue 19, item 10.) A pool slice is wiped by zeroing, but Buffer.alloc(16) is a typed array
    // inside V8's heap, which a garbage collection copies and leaves behind: see secretBuffer.ts.
    const { sealer, sealed } = sealerWith();
    const own = (b: Buffer): boolean => b.byteOffset === 0 && b.buffer.byteLength === 16;
    const missed = sealer.unsealRemembered(BINDING, sealed);
    const hit = sealer.unsealRemembered(BINDING, sealed);
    expect([own(missed), own(hit), own(rememberedOf(sealer).get(BINDING)!.plain)]).toEqual([true, true, true]);
  });

  it('forget and destroy wipe the remembered copies; it keeps at most 8', () => {
    const { sealer, sealed } = sealerWith();
    sealer.unsealRemembered(BINDING, sealed);
    const kept = rememberedOf(sealer).get(BINDING)!.plain;
    sealer.forget(BINDING);
    expect(kept.every((b) => b === 0)).toBe(true);
    expect(rememberedOf(sealer).size).toBe(0);

    const copies: Buffer[] = [];
    for (let g = 1; g <= 12; g++) {
      sealer.unsealRemembered(`issuer/${g}/key`, sealer.seal(`issuer/${g}/key`, randomBytes(16)));
      copies.push(rememberedOf(sealer).get(`issuer/${g}/key`)!.plain);
    }
    expect(rememberedOf(sealer).size).toBe(8);
    for (const c of copies.slice(0, 4)) expect(c.every((b) => b === 0)).toBe(true);
    sealer.destroy();
    expect(rememberedOf(sealer).size).toBe(0);
    for (const c of copies) expect(c.every((b) => b === 0)).toBe(true);
  });
});
