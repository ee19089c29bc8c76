// MSL's symmetric crypto context (crypto/SymmetricCryptoContext.java): a
// pre-shared key pair (PSK/MGK entity authentication) or a master token's
// session keys. AES-128-CBC with PKCS#5 padding and a random IV, in a v1
// ciphertext envelope naming the key id; signatures are the raw 32-byte
// HMAC-SHA256 (MSL's v1 signature envelope is the MAC itself).
//
// Both primitives exist in Node's OpenSSL and Electron's BoringSSL.

import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type Bytes, concatBytes } from '../encoding/bytes.js';
import { type RandomSource, systemRandom } from '../jwe/random.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { AES_BLOCK_BYTES, encodeEnvelopeV1, parseEnvelope } from './envelope.js';
import { MslError } from './errors.js';

export const SYMMETRIC_ENCRYPTION_KEY_BYTES = 16;
export const SYMMETRIC_HMAC_KEY_BYTES = 32;
const MAC_BYTES = 32;
const CIPHER = 'aes-128-cbc';

/** A copy that owns a plain ArrayBuffer (node:crypto's Buffers may sit in a shared pool). */
const own = (buffer: Uint8Array): Bytes => Uint8Array.from(buffer);

export class SymmetricCryptoContext implements MslCryptoContext {
  readonly #encryptionKey: KeyObject;
  readonly #hmacKey: KeyObject;

  /**
   * The keys are copied into KeyObjects; the caller's buffers are neither kept
   * nor zeroed, so the caller zeroes them when it is done with them (this
   * context may live longer, in a cache, than the buffers it was built from).
   */
  constructor(
    readonly keyId: string,
    encryptionKey: Uint8Array,
    hmacKey: Uint8Array,
    private readonly random: RandomSource = systemRandom,
  ) {
    // A wrong length is our own store or caller handing over the wrong bytes, not the peer's doing.
    if (encryptionKey.length !== SYMMETRIC_ENCRYPTION_KEY_BYTES) throw new MslError('INTERNAL_EXCEPTION', 'ENCRYPTION_KEY_LENGTH');
    if (hmacKey.length !== SYMMETRIC_HMAC_KEY_BYTES) throw new MslError('INTERNAL_EXCEPTION', 'HMAC_KEY_LENGTH');
    this.#encryptionKey = createSecretKey(encryptionKey);
    this.#hmacKey = createSecretKey(hmacKey);
  }

  encrypt(plaintext: Uint8Array): Bytes {
    const taken = this.random.take(AES_BLOCK_BYTES);
    const iv = own(taken);
    taken.fill(0);
    const cipher = createCipheriv(CIPHER, this.#encryptionKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return encodeEnvelopeV1({ keyId: this.keyId, iv, ciphertext });
  }

  /**
   * Parses the envelope, refuses one that names another key
   * (ENVELOPE_KEY_ID_MISMATCH: MSL itself does not look, but an envelope under
   * another key id cannot be one of ours), and decrypts. Every cipher failure
   * (bad padding above all) is the same DECRYPT_ERROR with no detail, so the
   * answer is no padding oracle; callers verify the MAC before decrypting anyway.
   */
  decrypt(envelopeBytes: Uint8Array): Bytes {
    const envelope = parseEnvelope(envelopeBytes);
    if (envelope.keyId !== this.keyId) throw new MslError('ENVELOPE_KEY_ID_MISMATCH');
    // The plaintext may be key material (a master token's session data), so
    // every intermediate buffer is zeroed once its bytes are in the result.
    const parts: Buffer[] = [];
    try {
      const decipher = createDecipheriv(CIPHER, this.#encryptionKey, envelope.iv);
      parts.push(decipher.update(envelope.ciphertext));
      parts.push(decipher.final());
    } catch {
      for (const part of parts) part.fill(0);
      throw new MslError('DECRYPT_ERROR');
    }
    const out = concatBytes(...parts);
    for (const part of parts) part.fill(0);
    return out;
  }

  sign(data: Uint8Array): Bytes {
    return own(createHmac('sha256', this.#hmacKey).update(data).digest());
  }

  verify(data: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== MAC_BYTES) return false;
    return timingSafeEqual(createHmac('sha256', this.#hmacKey).update(data).digest(), signature);
  }
}
