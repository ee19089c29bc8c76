// The body of a compact JWE with A256GCM content encryption, written as it is
// made: header, encrypted key and IV first, then the ciphertext in base64url
// pieces as the plaintext comes, then the tag. The key management (PBES2's
// key wrap, RSA-OAEP's encryption of the CEK) is the caller's: it hands over
// the encrypted key and the CEK, which is zeroed once the body is written, or
// if it never is. What it writes is an ordinary compact JWE (the tests open
// it with jose).

import { createCipheriv, randomBytes } from 'node:crypto';
import { CryptoFailure } from './cryptoFailure.js';

export const GCM_KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** Writes the JWE to `sink` in pieces; `produce` pushes the plaintext in pieces (each may be zeroed once pushed). */
export type JweStream = (sink: (chunk: Uint8Array) => void, produce: (push: (piece: Uint8Array) => void) => void) => void;

/** The stream of a JWE whose protected header is `headerB64` (base64url of its JSON) and whose CEK `cek` (32 bytes, taken over) is `encryptedKey`. */
export function a256gcmJweStream(headerB64: string, encryptedKey: Buffer, cek: Buffer): JweStream {
  if (cek.length !== GCM_KEY_LENGTH) {
    cek.fill(0);
    throw new RangeError('A256GCM takes a 32-byte CEK.');
  }
  return (sink, produce) => {
    try {
      const iv = randomBytes(IV_LENGTH);
      sink(Buffer.from(`${headerB64}.${encryptedKey.toString('base64url')}.${iv.toString('base64url')}.`, 'latin1'));
      let cipher;
      try {
        cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: TAG_LENGTH });
        cipher.setAAD(Buffer.from(headerB64, 'latin1'));
      } catch (cause) {
        throw new CryptoFailure('AES-256-GCM (encrypt)', cause);
      }
      // base64url in pieces: whole groups of 3 bytes each time, the rest carried to the next piece.
      let carry: Buffer = Buffer.alloc(0);
      const encode = (bytes: Buffer, last: boolean) => {
        const all = carry.length ? Buffer.concat([carry, bytes]) : bytes;
        const cut = last ? all.length : all.length - (all.length % 3);
        if (cut > 0) sink(Buffer.from(all.subarray(0, cut).toString('base64url'), 'latin1'));
        carry = Buffer.from(all.subarray(cut));
      };
      produce((piece) => encode(cipher.update(piece), false));
      let tag: Buffer;
      try {
        encode(cipher.final(), true);
        tag = cipher.getAuthTag();
      } catch (cause) {
        throw new CryptoFailure('AES-256-GCM (encrypt)', cause);
      }
      sink(Buffer.from(`.${tag.toString('base64url')}`, 'latin1'));
    } finally {
      cek.fill(0);
    }
  };
}
