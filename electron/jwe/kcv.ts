// Key check values: what operators compare instead of keys. Six hex digits:
// the first three bytes of AES-ECB(key, zero block) for AES keys, of
// HMAC-SHA256(key, empty message) for HMAC keys.

import { createCipheriv, createHmac } from 'node:crypto';

const ZERO_BLOCK = Buffer.alloc(16);

export type KcvKind = 'aes' | 'hmac';

const hex6 = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(0, 3)).toString('hex').toUpperCase();

export function kcv(key: Uint8Array, kind: KcvKind): string {
  if (kind === 'hmac') return hex6(createHmac('sha256', key).digest());
  const cipherName = key.length === 32 ? 'aes-256-ecb' : key.length === 24 ? 'aes-192-ecb' : 'aes-128-ecb';
  const cipher = createCipheriv(cipherName, key, null);
  cipher.setAutoPadding(false);
  const block = cipher.update(ZERO_BLOCK);
  // final() frees the context's key schedule now, not at the next garbage collection (aesKeyWrap.ts, release).
  cipher.final();
  return hex6(block);
}
