// One interface for every key that protects an MSL structure, as MSL's own
// ICryptoContext: a header, an error header, a payload chunk, a master token
// and a service token are encrypted, decrypted, signed and verified through
// it, and none of them knows where its keys came from (a device's PSK pair,
// a model group's pair, a master token's session keys, the server's RSA key,
// the store's master-token keys).
//
// Synchronous on purpose: node:crypto's AES-128-CBC, HMAC-SHA256 and
// SHA256withRSA exist in Node's OpenSSL and in Electron's BoringSSL alike, and
// a responder that answers thousands of messages a second should not pay a
// promise per primitive.

import type { Bytes } from '../encoding/bytes.js';

export interface MslCryptoContext {
  /**
   * Encrypts `plaintext` and returns the bytes MSL puts in the structure's
   * field: a version 1 ciphertext envelope for symmetric keys, the plaintext
   * itself for a scheme that does not encrypt (RSA entity authentication).
   */
  encrypt(plaintext: Uint8Array): Bytes;
  /**
   * The inverse of encrypt. Throws MslError (CIPHERTEXT_ENVELOPE_PARSE_ERROR,
   * ENVELOPE_KEY_ID_MISMATCH, DECRYPT_ERROR): every decryption failure of a
   * well-formed envelope looks alike.
   */
  decrypt(envelope: Uint8Array): Bytes;
  /** The raw signature MSL writes (v1 signature envelope: the MAC or RSA signature bytes). */
  sign(data: Uint8Array): Bytes;
  /** Constant time for MACs; never throws on a wrong-length or garbage signature (false). */
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}
