// Payload compression as MSL does it (util/MslCompression.java): GZIP, and
// LZW in MSL's own variant (io/LZWOutputStream.java, io/LZWInputStream.java).
//
// MSL's LZW, as its code writes and reads it (our own implementation):
// - the dictionary starts with the 256 single bytes and is never reset; there
//   is no clear code and no end code (the stream ends where the bytes end);
// - codes are packed most significant bit first; the last byte is padded
//   with zero bits, and a reader ignores trailing bits too few for a code;
// - the first code is 8 bits wide, every later one starts at 9 bits and
//   widens by one as soon as the dictionary holds 2^width entries (the writer
//   widens when the entry it adds needs the extra bit, the reader when its
//   dictionary, one entry behind, reaches that size: the same code).
//
// Every uncompression is bounded before it allocates: the output may not
// exceed the caller's `maxOutput`, nor MSL's own limit of 200 times the
// compressed length (MslCompression's maxDeflateRatio), so a bomb fails fast
// with UNCOMPRESSION_ERROR and never runs the process out of memory. LZW's
// dictionary is kept as (prefix code, last byte) pairs, so it costs a few
// bytes per code whatever the strings' lengths.

import { gunzipSync, gzipSync } from 'node:zlib';
import type { Bytes } from '../encoding/bytes.js';
import { MslError } from './errors.js';

export type CompressionAlgorithm = 'GZIP' | 'LZW';
export const COMPRESSION_ALGORITHMS: readonly CompressionAlgorithm[] = ['GZIP', 'LZW'];

/** MSL's MslCompression default: output at most this many times the compressed length. */
export const MAX_DEFLATE_RATIO = 200;

export const isCompressionAlgorithm = (name: unknown): name is CompressionAlgorithm => name === 'GZIP' || name === 'LZW';

const own = (buffer: Uint8Array): Bytes => Uint8Array.from(buffer);

/**
 * Uncompresses `data` compressed with `algo` (MSL's name, case as MSL writes
 * it). UNIDENTIFIED_COMPRESSION for a name MSL does not define;
 * UNCOMPRESSION_ERROR for corrupt data or output over the cap.
 */
export function uncompress(algo: string, data: Uint8Array, maxOutput: number): Bytes {
  if (!isCompressionAlgorithm(algo)) throw new MslError('UNIDENTIFIED_COMPRESSION');
  const cap = Math.min(maxOutput, MAX_DEFLATE_RATIO * data.length);
  if (algo === 'LZW') return lzwDecode(data, cap);
  try {
    return own(gunzipSync(data, { maxOutputLength: Math.max(cap, 1) }));
  } catch {
    // Corrupt data, or the cap reached (ERR_BUFFER_TOO_LARGE, thrown as soon as it is).
    throw new MslError('UNCOMPRESSION_ERROR', 'GZIP');
  }
}

/** Compresses `data` as MSL does. */
export function compress(algo: CompressionAlgorithm, data: Uint8Array): Bytes {
  return algo === 'GZIP' ? own(gzipSync(data)) : lzwEncode(data);
}

/** MSL's rule (MslCompression.compress, PayloadChunk): use the compressed form only when it is smaller. */
export function compressIfSmaller(algo: CompressionAlgorithm, data: Uint8Array): Bytes | undefined {
  const compressed = compress(algo, data);
  return compressed.length < data.length ? compressed : undefined;
}

const BYTE_RANGE = 256;

function lzwDecode(data: Uint8Array, maxOutput: number): Bytes {
  const failed = (): MslError => new MslError('UNCOMPRESSION_ERROR', 'LZW');
  // Every code reads at least 8 bits and writes at least one byte, and a code
  // that would pass maxOutput is refused, so no more entries than this can
  // ever exist: the tables cost at most 10 bytes per byte of input or of cap,
  // whichever is smaller.
  const capacity = BYTE_RANGE + Math.min(data.length, maxOutput) + 1;
  const prefix = new Int32Array(capacity);
  const last = new Uint8Array(capacity);
  const first = new Uint8Array(capacity);
  const length = new Int32Array(capacity);
  for (let i = 0; i < BYTE_RANGE; i++) {
    last[i] = first[i] = i;
    length[i] = 1;
    prefix[i] = -1;
  }
  let size = BYTE_RANGE;
  let out = new Uint8Array(Math.min(maxOutput, Math.max(64, data.length * 4)));
  let written = 0;
  const totalBits = data.length * 8;
  let bitPos = 0;
  let width = 8;
  let previous = -1;
  while (bitPos + width <= totalBits) {
    let code = 0;
    for (let need = width; need > 0; ) {
      const offset = bitPos & 7;
      const take = Math.min(8 - offset, need);
      code = code * (1 << take) + ((data[bitPos >> 3]! >> (8 - offset - take)) & ((1 << take) - 1));
      need -= take;
      bitPos += take;
    }
    if (previous === -1) {
      width++;
    } else {
      // The new entry is the previous string plus the first byte of this one;
      // a code one past the dictionary is that very entry (the KwKwK case).
      if (code > size) throw failed();
      prefix[size] = previous;
      last[size] = code === size ? first[previous]! : first[code]!;
      first[size] = first[previous]!;
      length[size] = length[previous]! + 1;
      size++;
      if (size === 1 << width) width++;
    }
    const n = length[code]!;
    if (written + n > maxOutput) throw failed();
    if (written + n > out.length) {
      const grown = new Uint8Array(Math.min(maxOutput, Math.max(written + n, out.length * 2)));
      grown.set(out.subarray(0, written));
      out = grown;
    }
    for (let c = code, at = written + n - 1; c !== -1; c = prefix[c]!, at--) out[at] = last[c]!;
    written += n;
    previous = code;
  }
  return out.slice(0, written);
}

function lzwEncode(data: Uint8Array): Bytes {
  const out: number[] = [];
  let acc = 0; // Bits not yet written, right-aligned.
  let accBits = 0;
  const emit = (code: number, width: number): void => {
    acc = acc * (1 << width) + code;
    accBits += width;
    while (accBits >= 8) {
      accBits -= 8;
      const shift = 2 ** accBits;
      out.push(Math.floor(acc / shift) & 0xff);
      acc %= shift;
    }
  };
  // (prefix code, next byte) → code.
  const dictionary = new Map<number, number>();
  let size = BYTE_RANGE;
  let width = 8;
  let current = -1;
  for (const byte of data) {
    if (current === -1) {
      current = byte;
      continue;
    }
    const key = current * BYTE_RANGE + byte;
    const known = dictionary.get(key);
    if (known !== undefined) {
      current = known;
      continue;
    }
    emit(current, width);
    if (size >> width !== 0) width++;
    dictionary.set(key, size++);
    current = byte;
  }
  if (current !== -1) emit(current, width);
  if (accBits > 0) out.push((acc * (1 << (8 - accBits))) & 0xff);
  return Uint8Array.from(out);
}
