// Strict Base64 codecs that run unchanged in Node and in a browser (atob/btoa),
// because the requestor and the message codecs must run in both.
//
// MSL's wire values are standard Base64 *with* padding; the JWE parts inside
// are base64url *without* padding. Each decoder accepts exactly its own flavour
// and only the canonical encoding (no stray bits in the last character), so one
// value has one spelling and a tampered spelling cannot slip through.

// Groups of four are counted by the length, not by the pattern: V8 runs a repeated
// group on its backtrack stack, and /^(?:[A-Za-z0-9+/]{4})*…$/ threw RangeError
// ("Maximum call stack size exceeded") from some 8 million characters on, which
// one chunk of a 16 MiB MSL message may have. A repeated character class does not.
const STANDARD = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

import type { Bytes } from './bytes.js';

function bytesFromBinary(binary: string): Bytes {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// fromCharCode.apply, not a spread: V8 spreads a typed array element by element
// into a fresh argument list, ten times slower here (121 µs against 12 µs for
// an MSL response header's 2 KB, measured by the msl bench suite's profile).
// Chunks of 32 KiB stay well under every engine's argument-count limit.
function binaryFromBytes(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return s;
}

export function encodeBase64(bytes: Uint8Array): string {
  return btoa(binaryFromBytes(bytes));
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Canonical spelling: the bits of the last character that fall past the end of
// the data must be zero. A character carrying 2 bytes' tail (before "==" or at
// unpadded length 4n+2) keeps 2 data bits, so its alphabet index is a multiple
// of 16; one carrying 3 bytes' tail (before "=" or at 4n+3) keeps 4, so its
// index is a multiple of 4. Checking that one character is exact and cheaper
// than re-encoding.
const TAIL_OF_ONE = 'AQgw';
const TAIL_OF_TWO = 'AEIMQUYcgkosw048';

/** Decodes standard padded Base64; returns undefined for anything else. */
export function decodeBase64(text: string): Bytes | undefined {
  if (text.length % 4 !== 0 || !STANDARD.test(text)) return undefined;
  const n = text.length;
  if (text.charCodeAt(n - 1) === 0x3d /* = */) {
    const twoPad = text.charCodeAt(n - 2) === 0x3d;
    if (!(twoPad ? TAIL_OF_ONE : TAIL_OF_TWO).includes(text.charAt(n - (twoPad ? 3 : 2)))) return undefined;
  }
  return bytesFromBinary(atob(text));
}

/** Decodes unpadded base64url; returns undefined for anything else. */
export function decodeBase64Url(text: string): Bytes | undefined {
  if (!URL_SAFE.test(text)) return undefined;
  const rest = text.length % 4;
  if (rest === 1) return undefined;
  if (rest !== 0 && !(rest === 2 ? TAIL_OF_ONE : TAIL_OF_TWO).includes(text.charAt(text.length - 1))) return undefined;
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return bytesFromBinary(atob(rest === 0 ? standard : standard + (rest === 2 ? '==' : '=')));
}
