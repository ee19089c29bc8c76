// Byte helpers every protocol room shares (ladder, jwe, jose, msl). Plain
// Uint8Array and TextEncoder only, so they run unchanged in Node and in a
// browser, where the device-side requestor and MSL client also run.

/** Bytes backed by a plain ArrayBuffer, which is what Web Crypto takes. */
export type Bytes = Uint8Array<ArrayBuffer>;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (text: string): Bytes => utf8Encoder.encode(text);

/** Decodes UTF-8, returning undefined for invalid sequences. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** One buffer holding `parts` in order. */
export function concatBytes(...parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Equality whose time depends only on the lengths, for MACs and tags where a
 * early exit would tell an attacker how many leading bytes were right.
 * (node:crypto's timingSafeEqual is not available in a browser.)
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
