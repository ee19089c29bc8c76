// The requestor's key unwrap for the main process: KeyLadder's own AES key
// wrap (aesKeyWrap.ts, portable where the runtime lacks id-aes*-wrap) instead
// of Web Crypto's AES-KW, which Electron's main process does not have
// (electron/electron#41720). Test exchanges and "Check a response" run the
// device's side here, so they need it; devices and browsers keep Web Crypto.
//
// Wrapping keys are held as secret KeyObjects: the bytes live in native
// memory, not in a JS buffer that could be copied around, and never reach the
// renderer. The CEK exists as bytes only between the unwrap and its import
// into a non-extractable AES-GCM key, and is zeroed then.

import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Bytes } from '../encoding/bytes.js';
import type { KeyUnwrapper } from './keyUnwrapper.js';
import { aesKeyUnwrap } from './aesKeyWrap.js';
import { CryptoFailure } from './cryptoFailure.js';

export const nodeKeyUnwrapper: KeyUnwrapper<KeyObject> = {
  async importWrappingKey(raw: Bytes): Promise<KeyObject> {
    try {
      return createSecretKey(raw);
    } finally {
      raw.fill(0);
    }
  },
  async unwrapCek(kek: KeyObject, encryptedKey: Bytes): Promise<CryptoKey | undefined> {
    const cek = aesKeyUnwrap(kek, encryptedKey);
    if (cek === undefined) return undefined;
    try {
      // aesKeyUnwrap's result is a Buffer over a plain ArrayBuffer of its own.
      return await globalThis.crypto.subtle.importKey('raw', cek as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['decrypt']);
    } catch (cause) {
      throw new CryptoFailure('AES-GCM key import', cause);
    } finally {
      cek.fill(0);
    }
  },
};
