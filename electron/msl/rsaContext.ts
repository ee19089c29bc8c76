// MSL's RSA entity authentication context (crypto/RsaCryptoContext.java in
// SIGN_VERIFY mode, as entityauth/RsaAuthenticationFactory builds it): the
// server's own identity toward a client that has no master token yet.
// RSA entity authentication does not encrypt, so `headerdata` and `errordata`
// are plaintext JSON and encrypt/decrypt hand the bytes back unchanged; the
// signature is SHA256withRSA (PKCS#1 v1.5), raw, over those bytes.

import { type KeyObject, sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import type { Bytes } from '../encoding/bytes.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { MslError } from './errors.js';

export interface RsaKeys {
  readonly publicKey: KeyObject;
  /** Only the side that signs (the server for its own headers) has it; a verifier passes none. */
  readonly privateKey?: KeyObject;
}

export class RsaCryptoContext implements MslCryptoContext {
  readonly #publicKey: KeyObject;
  readonly #privateKey: KeyObject | undefined;

  constructor({ publicKey, privateKey }: RsaKeys) {
    if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'rsa') throw new MslError('INTERNAL_EXCEPTION', 'RSA_PUBLIC_KEY_EXPECTED');
    if (privateKey !== undefined && (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa')) {
      throw new MslError('INTERNAL_EXCEPTION', 'RSA_PRIVATE_KEY_EXPECTED');
    }
    this.#publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** RSA entity authentication does not encrypt: a copy of the input. */
  encrypt(plaintext: Uint8Array): Bytes {
    return Uint8Array.from(plaintext);
  }

  /** RSA entity authentication does not encrypt: a copy of the input. */
  decrypt(envelope: Uint8Array): Bytes {
    return Uint8Array.from(envelope);
  }

  sign(data: Uint8Array): Bytes {
    if (this.#privateKey === undefined) throw new MslError('SIGN_NOT_SUPPORTED', 'NO_PRIVATE_KEY');
    return Uint8Array.from(rsaSign('sha256', data, this.#privateKey));
  }

  /** False for a wrong, truncated or garbage signature; never throws. */
  verify(data: Uint8Array, signature: Uint8Array): boolean {
    try {
      return rsaVerify('sha256', data, this.#publicKey, signature);
    } catch {
      return false;
    }
  }
}
