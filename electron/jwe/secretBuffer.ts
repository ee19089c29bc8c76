// Buffers for keys that are kept, and must be wiped by zeroing them.
//
// Zeroing a Buffer wipes the bytes where the Buffer is now. Two kinds of small
// Buffer have had copies elsewhere:
// - Buffer.alloc(n) and allocUnsafeSlow(n) for n <= 64 are typed arrays that
//   V8 keeps inside its own heap (checked with %DebugPrint on Node 20: a
//   non-zero base_pointer). Each young-generation GC
//   copies a live one to a new place and leaves the old bytes behind, unzeroed,
//   until something else is allocated over them; an idle `serve` worker kept a
//   destroyed Kissuer that way (issue 19, item 10: a ByteArray of 16 found in
//   a heap page by bench/probes/kissuerMemory.mjs).
// - Buffer.from(bytes), allocUnsafe(n) and Buffer.from(string) for small sizes
//   are slices of Node's shared 8 KiB pool: zeroing the slice does wipe it, but
//   posting one to a worker thread copies the whole pool.
// A Buffer over an ArrayBuffer of its own has neither problem: V8 never moves
// an ArrayBuffer's backing store, and it holds nothing else.

import { randomFillSync } from 'node:crypto';

/** `length` zero bytes in memory of their own, off the V8 heap: zeroing them wipes the only copy. */
export function secretBuffer(length: number): Buffer {
  return Buffer.from(new ArrayBuffer(length));
}

/** A copy of `bytes` in a secretBuffer. */
export function secretCopy(bytes: Uint8Array): Buffer {
  const copy = secretBuffer(bytes.length);
  copy.set(bytes);
  return copy;
}

/**
 * `length` random bytes in a secretBuffer. (Node 20's randomBytes happens to
 * return off-heap memory too; this says so instead of relying on it.)
 */
export function secretRandom(length: number): Buffer {
  return randomFillSync(secretBuffer(length));
}
