// RFC 3394 AES key wrap, in two implementations chosen once, at load:
//
// - `openssl`: OpenSSL's id-aes*-wrap ciphers, one cipher call per wrap
//   (about 3.6 us). Node on OpenSSL has them: the CLI, `keyladder serve`.
// - `portable`: RFC 3394 section 2.2.1 and 2.2.2 (the index-based form) on
//   AES-ECB, one block at a time. Electron's main process runs Node on
//   BoringSSL, whose cipher table has aes-*-ecb but no id-aes*-wrap
//   (crypto/cipher/get_cipher.cc; electron/electron#31874), so the fast path
//   would throw there on every exchange.
//
// Both take the same inputs, give the same bytes and fail alike: a failed
// integrity check is `undefined`, whatever failed (key, initial value, bytes),
// and any other failure of the primitive is a CryptoFailure (INTERNAL_ERROR).
// The portable path compares the initial value in constant time and zeroes
// every intermediate block. AES itself is the runtime's (constant-time
// AES-NI, or BoringSSL's constant-time fallbacks), never a JS table.

import { createCipheriv, createDecipheriv, getCiphers, timingSafeEqual, type Cipher, type Decipher, type KeyObject } from 'node:crypto';
import { CryptoFailure } from './cryptoFailure.js';

/** RFC 3394's default initial value. MSL uses it for CEKs and for wrapdata. */
export const DEFAULT_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

/** A key-encryption key: raw bytes, or a secret KeyObject that holds them. */
export type Kek = Uint8Array | KeyObject;

export type KeyWrapImplementationName = 'openssl' | 'portable';

export interface KeyWrapImplementation {
  readonly name: KeyWrapImplementationName;
  /** Wraps `keyData` (a multiple of 8 bytes, at least 16) under `kek`. */
  wrap(kek: Kek, keyData: Uint8Array, iv?: Uint8Array): Buffer;
  /** Unwraps, or returns undefined when the integrity check fails. Callers turn that into their own error. */
  unwrap(kek: Kek, wrapped: Uint8Array, iv?: Uint8Array): Buffer | undefined;
  /**
   * Wraps several keys of one length under one KEK (the default initial
   * value): the same bytes as wrapping each, but the portable path shares
   * one pass of AES calls among them.
   */
  wrapEach(kek: Kek, keys: readonly Uint8Array[]): Buffer[];
}

const PRIMITIVE = 'aes-key-wrap';
/** Far above any key; keeps the step counter t below 2^32 (see the portable path). */
const MAX_KEY_DATA = 1 << 20;

function kekLength(kek: Kek): number {
  const length = kek instanceof Uint8Array ? kek.length : kek.symmetricKeySize;
  if (length !== 16 && length !== 24 && length !== 32) throw new RangeError('AES key wrap needs a 16, 24 or 32 byte key.');
  return length;
}

function checkInput(keyData: Uint8Array, iv: Uint8Array): void {
  if (keyData.length < 16 || keyData.length % 8 !== 0 || keyData.length > MAX_KEY_DATA) throw new RangeError('AES key wrap takes a multiple of 8 bytes, at least 16.');
  if (iv.length !== 8) throw new RangeError('AES key wrap takes an 8-byte initial value.');
}

function checkOneLength(keys: readonly Uint8Array[]): void {
  if (keys.some((key) => key.length !== keys[0]!.length)) throw new RangeError('wrapEach takes keys of one length.');
}

const wellFormed = (wrapped: Uint8Array, iv: Uint8Array): boolean => wrapped.length >= 24 && wrapped.length % 8 === 0 && wrapped.length <= MAX_KEY_DATA + 8 && iv.length === 8;

/** Runs a primitive; anything it throws is an unexpected failure of the runtime's crypto, never bad input. */
function guarded<T>(operation: string, run: () => T): T {
  try {
    return run();
  } catch (cause) {
    throw new CryptoFailure(`${PRIMITIVE} (${operation})`, cause);
  }
}

const wrapCipher = (length: number): string => `id-aes${length * 8}-wrap`;

/**
 * Ends a cipher context now. Node frees a context's native memory, and with it
 * the expanded key, whose first round key is the KEK's raw bytes, only when the
 * JS object is collected: an idle responder kept every Kissuer it had used in
 * dozens of live contexts long after the generation was destroyed (issue 19,
 * item 10). final() frees it at once (OpenSSL cleanses it), for about 0.8 us.
 * A context that already failed may throw here: it is freed all the same.
 */
function release(context: Cipher | Decipher): Buffer {
  try {
    return context.final();
  } catch {
    return Buffer.alloc(0);
  }
}

export const opensslKeyWrap: KeyWrapImplementation = {
  name: 'openssl',
  wrap(kek, keyData, iv = DEFAULT_IV) {
    const name = wrapCipher(kekLength(kek));
    checkInput(keyData, iv);
    return guarded('wrap', () => {
      const cipher = createCipheriv(name, kek, iv);
      const out = cipher.update(keyData);
      // OpenSSL's wrap mode does the whole wrap in update(); final() adds no
      // bytes, and is called to free the key schedule (release).
      const rest = release(cipher);
      return rest.length === 0 ? out : Buffer.concat([out, rest]);
    });
  },
  wrapEach(kek, keys) {
    checkOneLength(keys);
    return keys.map((key) => opensslKeyWrap.wrap(kek, key));
  },
  unwrap(kek, wrapped, iv = DEFAULT_IV) {
    const name = wrapCipher(kekLength(kek));
    if (!wellFormed(wrapped, iv)) return undefined;
    const decipher = guarded('unwrap', () => createDecipheriv(name, kek, iv));
    let out: Buffer;
    try {
      // As above: update() unwraps and checks integrity in one step; it throws
      // when the check fails, and that is the only thing left that can fail.
      out = decipher.update(wrapped);
    } catch {
      release(decipher);
      return undefined;
    }
    const rest = release(decipher);
    if (rest.length === 0) return out;
    const whole = Buffer.concat([out, rest]);
    out.fill(0);
    rest.fill(0);
    return whole;
  },
};

const ecbCipher = (length: number): string => `aes-${length * 8}-ecb`;

/**
 * Runs `steps` on one AES-ECB context (encrypting for wrap, decrypting for
 * unwrap), guarded, and ends it with final(): that frees the context and its
 * key schedule at once instead of at the next garbage collection.
 */
function withEcb(operation: 'wrap' | 'unwrap', length: number, kek: Kek, steps: (aes: Cipher | Decipher) => void): void {
  guarded(operation, () => {
    const name = ecbCipher(length);
    const aes = (operation === 'wrap' ? createCipheriv(name, kek, null) : createDecipheriv(name, kek, null)).setAutoPadding(false);
    try {
      steps(aes);
    } finally {
      aes.final().fill(0);
    }
  });
}

// The portable path moves 8-byte halves with plain byte loops: for blocks
// this small they cost a few nanoseconds, where Buffer.copy calls cost more
// than the AES itself. The step counter t = n*j + i is XORed into A
// big-endian; it stays below 2^32 (MAX_KEY_DATA), so only A's low four bytes
// change.

/**
 * RFC 3394 2.2.1 for m keys of n 64-bit halves each, under one KEK, in
 * lockstep: step (j, i) of every key goes through one AES call of m blocks.
 * ECB encrypts each block on its own, so the keys never mix.
 */
function portableWrapAll(kek: Kek, keys: readonly Uint8Array[], iv: Uint8Array): Buffer[] {
  const length = kekLength(kek);
  const first = keys[0];
  if (first === undefined) return [];
  checkOneLength(keys);
  for (const key of keys) checkInput(key, iv);
  const n = first.length / 8;
  const m = keys.length;
  // Per key: A || R[1..n], laid out as its output (out[0..8) is A, out[8i..8i+8) is R[i]).
  const outs = keys.map((key) => {
    const out = Buffer.allocUnsafe(8 + key.length);
    out.set(iv, 0);
    out.set(key, 8);
    return out;
  });
  const blocks = new Uint8Array(16 * m);
  let done = false;
  try {
    withEcb('wrap', length, kek, (aes) => {
      for (let j = 0; j < 6; j++) {
        for (let i = 1; i <= n; i++) {
          const r = 8 * i;
          for (let x = 0; x < m; x++) {
            const out = outs[x]!, o = 16 * x;
            for (let k = 0; k < 8; k++) {
              blocks[o + k] = out[k]!;
              blocks[o + 8 + k] = out[r + k]!;
            }
          }
          const b = aes.update(blocks); // B = AES(K, A | R[i]), for every key
          const t = n * j + i;
          for (let x = 0; x < m; x++) {
            const out = outs[x]!, o = 16 * x;
            for (let k = 0; k < 8; k++) {
              out[k] = b[o + k]!; // A = MSB(64, B) ^ t
              out[r + k] = b[o + 8 + k]!; // R[i] = LSB(64, B)
            }
            out[7]! ^= t & 0xff;
            out[6]! ^= (t >>> 8) & 0xff;
            out[5]! ^= (t >>> 16) & 0xff;
            out[4]! ^= t >>> 24;
          }
          b.fill(0);
        }
      }
    });
    done = true;
    return outs;
  } finally {
    blocks.fill(0);
    if (!done) for (const out of outs) out.fill(0);
  }
}

export const portableKeyWrap: KeyWrapImplementation = {
  name: 'portable',
  wrap(kek, keyData, iv = DEFAULT_IV) {
    return portableWrapAll(kek, [keyData], iv)[0]!;
  },
  wrapEach(kek, keys) {
    return portableWrapAll(kek, keys, DEFAULT_IV);
  },
  unwrap(kek, wrapped, iv = DEFAULT_IV) {
    const length = kekLength(kek);
    if (!wellFormed(wrapped, iv)) return undefined;
    const n = wrapped.length / 8 - 1;
    const a = Buffer.alloc(8);
    a.set(wrapped.subarray(0, 8));
    // R[1..n] at r[8(i-1)..8i): the plaintext, once the check passes. Its own
    // memory (Buffer.alloc), not a slice of Node's shared pool.
    const r = Buffer.alloc(8 * n);
    r.set(wrapped.subarray(8));
    const block = new Uint8Array(16);
    let ok = false;
    try {
      withEcb('unwrap', length, kek, (aes) => {
        for (let j = 5; j >= 0; j--) {
          for (let i = n; i >= 1; i--) {
            const t = n * j + i;
            const at = 8 * (i - 1);
            for (let k = 0; k < 8; k++) {
              block[k] = a[k]!;
              block[8 + k] = r[at + k]!;
            }
            block[7]! ^= t & 0xff; // B = AES-1(K, (A ^ t) | R[i])
            block[6]! ^= (t >>> 8) & 0xff;
            block[5]! ^= (t >>> 16) & 0xff;
            block[4]! ^= t >>> 24;
            const b = aes.update(block);
            for (let k = 0; k < 8; k++) {
              a[k] = b[k]!; // A = MSB(64, B)
              r[at + k] = b[8 + k]!; // R[i] = LSB(64, B)
            }
            b.fill(0);
          }
        }
      });
      // One comparison, in constant time, and one result for every failure.
      ok = timingSafeEqual(a, iv);
      return ok ? r : undefined;
    } finally {
      a.fill(0);
      block.fill(0);
      if (!ok) r.fill(0);
    }
  },
};

// RFC 3394 section 4.1, for the probe below.
const PROBE_KEK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const PROBE_DATA = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const PROBE_WRAPPED = Buffer.from('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5', 'hex');

/** Whether OpenSSL's wrap cipher really works here: listed is not enough, it must give RFC 3394's bytes. */
function fastPathWorks(): boolean {
  try {
    return (
      createCipheriv('id-aes128-wrap', PROBE_KEK, DEFAULT_IV).update(PROBE_DATA).equals(PROBE_WRAPPED) &&
      createDecipheriv('id-aes128-wrap', PROBE_KEK, DEFAULT_IV).update(PROBE_WRAPPED).equals(PROBE_DATA)
    );
  } catch {
    return false;
  }
}

/**
 * The fast path where the runtime lists every id-aes*-wrap and the probe
 * wraps RFC 3394's vector right; the portable one elsewhere.
 */
export function detectKeyWrap(ciphers: readonly string[] = getCiphers(), probe: () => boolean = fastPathWorks): KeyWrapImplementation {
  const has = new Set(ciphers.map((c) => c.toLowerCase()));
  return [16, 24, 32].every((length) => has.has(wrapCipher(length))) && probe() ? opensslKeyWrap : portableKeyWrap;
}

/** The implementation this process uses, chosen once. */
export const keyWrap: KeyWrapImplementation = detectKeyWrap();

/** Wraps `keyData` (a multiple of 8 bytes, at least 16) under `kek`. */
export const aesKeyWrap = (kek: Kek, keyData: Uint8Array, iv: Uint8Array = DEFAULT_IV): Buffer => keyWrap.wrap(kek, keyData, iv);

/**
 * Unwraps, or returns undefined when the integrity check fails (wrong key,
 * wrong IV, altered bytes). Callers turn that into their own error.
 */
export const aesKeyUnwrap = (kek: Kek, wrapped: Uint8Array, iv: Uint8Array = DEFAULT_IV): Buffer | undefined => keyWrap.unwrap(kek, wrapped, iv);
