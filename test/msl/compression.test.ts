import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress, compressIfSmaller, MAX_DEFLATE_RATIO, uncompress } from '../../electron/msl/compression.js';
import { MslError } from '../../electron/msl/errors.js';
import { mslRefusal as refusal } from '../support/mslRefusal.js';
import { MSL_VECTORS } from '../support/mslVectors.js';

const LZW_VECTORS = join(MSL_VECTORS, '..', 'msl-lzw');
const lzwVector = (name: string): Uint8Array => new Uint8Array(readFileSync(join(LZW_VECTORS, name)));
const MiB = 1024 * 1024;

function lcg(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out[i] = (x >> 16) & 0xff;
  }
  return out;
}

/** 008's payload text, which MSL's client sent GZIP-compressed (read from the capture's decoded view: length and start). */
const text008 = (): Uint8Array => uncompress('LZW', lzwVector('text008.lzw'), MiB);

const SMALL: Array<[string, () => Uint8Array]> = [
  ['abababa', () => lzwVector('abababa.txt')],
  ['tobeornot', () => lzwVector('tobeornot.txt')],
  ['single', () => lzwVector('single.txt')],
  ['lcg20000', () => lcg(20000)],
  ['zeros100000', () => new Uint8Array(100000)],
];

describe('LZW as MSL writes it (vectors written by MSL\'s own LZWOutputStream)', () => {
  it.each(SMALL)('%s: decodes MSL\'s bytes to the input, and encodes the input to exactly MSL\'s bytes', (name, input) => {
    const msl = lzwVector(`${name}.lzw`);
    expect(Buffer.from(uncompress('LZW', msl, MiB)).equals(Buffer.from(input()))).toBe(true);
    expect(Buffer.from(compress('LZW', input())).equals(Buffer.from(msl))).toBe(true);
  });

  it('hand-derived from MSL\'s algorithm: "ABABABA" is codes 0x41 (8 bits), 0x42, 0x100, 0x102 (9 bits), packed MSB first', () => {
    // 01000001 001000010 100000000 100000010 + 5 zero bits of padding
    expect([...compress('LZW', new TextEncoder().encode('ABABABA'))]).toEqual([0x41, 0x21, 0x40, 0x20, 0x40]);
    expect(new TextDecoder().decode(uncompress('LZW', new Uint8Array([0x41, 0x21, 0x40, 0x20, 0x40]), 100))).toBe('ABABABA');
  });

  it('text008: MSL\'s LZW of the 55,844-byte text of capture 008 decodes to it and re-encodes to the same bytes', () => {
    const text = text008();
    expect(text.length).toBe(55844);
    expect(new TextDecoder().decode(text.subarray(0, 40))).toBe('gamma beta delta token alpha alpha chunk');
    expect(Buffer.from(compress('LZW', text)).equals(Buffer.from(lzwVector('text008.lzw')))).toBe(true);
  });

  it('round-trips other inputs (empty, all byte values, long runs across several code widths)', () => {
    const all = Uint8Array.from({ length: 256 * 4 }, (_, i) => (i * 7) & 0xff);
    const runs = new Uint8Array(300000).map((_, i) => (i >> 12) & 3);
    for (const input of [new Uint8Array(0), all, runs, lcg(70000)]) {
      expect(Buffer.from(uncompress('LZW', compress('LZW', input), 1 << 24)).equals(Buffer.from(input))).toBe(true);
    }
  });

  it('refuses garbage as UNCOMPRESSION_ERROR: a code past the next dictionary entry', () => {
    // 0x41 (8 bits) then 0x1FF (9 bits): the dictionary holds 256 entries, so 0x100 is the highest code allowed.
    expect(refusal(() => uncompress('LZW', new Uint8Array([0x41, 0xff, 0x80]), 100))).toEqual({ code: 'UNCOMPRESSION_ERROR', detail: 'LZW' });
    let refused = 0;
    const garbage = lcg(4096);
    for (let i = 0; i < 50; i++) {
      try {
        uncompress('LZW', garbage.subarray(i * 80, i * 80 + 80), 1 << 20);
      } catch (e) {
        expect((e as MslError).code).toBe('UNCOMPRESSION_ERROR');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(40);
  });

  it('reads trailing bits as MSL\'s reader does (checked against LZWInputStream): too few for a code are ignored, enough make one', () => {
    // 32 bits: codes of 8 + 9 + 9 bits, then 6 bits, too few for a 9-bit code.
    expect(new TextDecoder().decode(uncompress('LZW', new Uint8Array([0x41, 0x21, 0x40, 0x20]), 100))).toBe('ABAB');
    // The 5 padding bits plus 8 more are a 9-bit code (0x0F), which MSL's reader decodes too.
    expect([...uncompress('LZW', new Uint8Array([0x41, 0x21, 0x40, 0x20, 0x40, 0xff]), 100)]).toEqual([...new TextEncoder().encode('ABABABA'), 0x0f]);
  });

  it('decodes at exactly the cap (its tables are sized by the smaller of input and cap) and refuses one byte under it', () => {
    const msl = lzwVector('lcg20000.lzw');
    expect(Buffer.from(uncompress('LZW', msl, 20000)).equals(Buffer.from(lcg(20000)))).toBe(true);
    expect(refusal(() => uncompress('LZW', msl, 19999)).code).toBe('UNCOMPRESSION_ERROR');
    expect(refusal(() => uncompress('LZW', msl, 100)).code).toBe('UNCOMPRESSION_ERROR');
  });

  it('stops at the output cap and at MSL\'s deflate ratio of 200: an LZW bomb fails fast', () => {
    const zeros = lzwVector('zeros100000.lzw');
    expect(uncompress('LZW', zeros, 100000).length).toBe(100000);
    expect(refusal(() => uncompress('LZW', zeros, 99999)).code).toBe('UNCOMPRESSION_ERROR');
    // Zeros encode as codes 0, 0x100, 0x101, ...: K codes make K(K+1)/2 bytes. 50,000 codes
    // (~100 KB) would make 1.25 GB; the ratio cap refuses it after ~20 MB of output.
    const bomb = zeroBomb(50_000);
    const started = performance.now();
    expect(refusal(() => uncompress('LZW', bomb, 1 << 30)).code).toBe('UNCOMPRESSION_ERROR');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(MAX_DEFLATE_RATIO * bomb.length).toBeLessThan(1 << 30);
  });
});

/** MSL LZW codes for K·(K+1)/2 zero bytes, built directly (no gigabyte input needed). */
function zeroBomb(codes: number): Uint8Array {
  const bits: number[] = [];
  let width = 8;
  for (let j = 0; j < codes; j++) {
    const code = j === 0 ? 0 : 255 + j;
    for (let b = width - 1; b >= 0; b--) bits.push((code >> b) & 1);
    if (j === 0) width++;
    else if (256 + j === 1 << width) width++;
  }
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => (out[i >> 3]! |= bit << (7 - (i & 7))));
  return out;
}

/** A valid gzip member of `mib` MiB of zeros, built from one flushed deflate block repeated (about 1 KB per MiB). */
function gzipOfZeros(mib: number): Uint8Array {
  const zeroMiB = Buffer.alloc(MiB);
  const block = deflateRawSync(zeroMiB, { finishFlush: constants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeroMiB, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((mib * MiB) % 2 ** 32, 4);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  return new Uint8Array(Buffer.concat([header, ...Array.from({ length: mib }, () => block), deflateRawSync(Buffer.alloc(0)), trailer]));
}

describe('GZIP', () => {
  it('round-trips and reads what Java\'s GZIPOutputStream style gzip writes', () => {
    const text = text008();
    expect(Buffer.from(uncompress('GZIP', compress('GZIP', text), MiB)).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(gunzipSync(compress('GZIP', text))).equals(Buffer.from(text))).toBe(true);
  });

  it('the bomb builder makes real gzip (4 MiB of zeros inflates whole)', () => {
    const small = gzipOfZeros(4);
    const out = gunzipSync(small);
    expect(out.length).toBe(4 * MiB);
    expect(out.every((b) => b === 0)).toBe(true);
  });

  it('a GZIP bomb (1 GiB of zeros in ~1 MB) fails fast with UNCOMPRESSION_ERROR at the cap, never inflating it', () => {
    const bomb = gzipOfZeros(1024);
    expect(bomb.length).toBeLessThan(2 * MiB);
    const started = performance.now();
    expect(refusal(() => uncompress('GZIP', bomb, 16 * MiB))).toEqual({ code: 'UNCOMPRESSION_ERROR', detail: 'GZIP' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('applies MSL\'s deflate ratio of 200 even under a larger cap', () => {
    const zeros = gzipSync(new Uint8Array(MiB));
    expect(MiB / zeros.length).toBeGreaterThan(MAX_DEFLATE_RATIO);
    expect(refusal(() => uncompress('GZIP', zeros, 16 * MiB)).code).toBe('UNCOMPRESSION_ERROR');
    const ok = gzipSync(lcg(10000));
    expect(uncompress('GZIP', ok, 10000).length).toBe(10000);
    expect(refusal(() => uncompress('GZIP', ok, 9999)).code).toBe('UNCOMPRESSION_ERROR');
  });

  it('refuses corrupt and truncated gzip as UNCOMPRESSION_ERROR', () => {
    const good = compress('GZIP', lcg(5000));
    const flipped = Uint8Array.from(good);
    flipped[good.length - 6]! ^= 0xff; // The CRC.
    for (const bad of [flipped, good.subarray(0, good.length - 10), new Uint8Array([1, 2, 3, 4]), new Uint8Array(0)]) {
      expect(refusal(() => uncompress('GZIP', bad, MiB))).toEqual({ code: 'UNCOMPRESSION_ERROR', detail: 'GZIP' });
    }
  });
});

describe('algorithm names and MSL\'s smaller-only rule', () => {
  it('refuses a name MSL does not define (case counts, as in MSL\'s enum) as UNIDENTIFIED_COMPRESSION', () => {
    for (const name of ['gzip', 'lzw', 'DEFLATE', '', 'GZIP ']) expect(refusal(() => uncompress(name, new Uint8Array(10), MiB)).code).toBe('UNIDENTIFIED_COMPRESSION');
  });

  it('compressIfSmaller gives the compressed form only when it is strictly smaller', () => {
    const text = text008();
    expect(compressIfSmaller('GZIP', text)!.length).toBeLessThan(text.length);
    expect(compressIfSmaller('LZW', text)!.length).toBeLessThan(text.length);
    expect(compressIfSmaller('GZIP', new TextEncoder().encode('hi'))).toBeUndefined();
    expect(compressIfSmaller('LZW', lcg(20000))).toBeUndefined();
    expect(compressIfSmaller('LZW', new Uint8Array([0x78]))).toBeUndefined(); // 1 byte → 1 byte: not smaller.
  });
});
