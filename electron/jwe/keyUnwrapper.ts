// The seam between a JWE decrypter and whichever AES key unwrap the runtime
// has: Web Crypto's AES-KW on devices and in browsers, node:crypto's (or the
// portable RFC 3394 path) in the main process, where Electron has no AES-KW.
import type { Bytes } from '../encoding/bytes.js';

/**
 * How a requestor holds its wrapping keys (Kpw, Kdw, Kwrap) and unwraps a
 * JWE's CEK with one. K is the key's type: a non-extractable CryptoKey for Web
 * Crypto, something else for another implementation.
 */
export interface KeyUnwrapper<K> {
  /** Takes raw key bytes into a K, and zeroes `raw`. */
  importWrappingKey(raw: Bytes): Promise<K>;
  /**
   * Unwraps a 24-byte wrapped CEK into a non-extractable AES-GCM decryption
   * key, or resolves undefined when the key wrap's integrity check fails. A
   * primitive that fails for any other reason rejects: that is not a bad JWE.
   */
  unwrapCek(kek: K, encryptedKey: Bytes): Promise<CryptoKey | undefined>;
}
