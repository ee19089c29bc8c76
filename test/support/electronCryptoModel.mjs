// A model of the crypto that Electron's main process has: Node linked against
// BoringSSL instead of OpenSSL. Loaded as a vitest setup file (the
// "electron-crypto" project in vitest.config.ts) and as a preload for plain
// Node, so that anything can be run as the shipped app would run it:
//
//   node --import ./test/support/electronCryptoModel.mjs dist/electron/cli.js …
//
// Worker threads started from a file inherit `--import`, and so do
// node:cluster workers (serve's execArgv is the parent's); `eval: true`
// workers get the model at the head of their code (see install). Child
// processes that tests spawn get it from test/support/runtime.ts.
//
// What it changes, and where each fact comes from:
//
// - The cipher table. Node asks BoringSSL's EVP_get_cipherbyname, whose table
//   is BoringSSL's crypto/cipher/get_cipher.cc (google/boringssl at a0689af,
//   2026-08-21) plus Electron's patches/boringssl/
//   feat_expose_several_extra_cipher_functions.patch (electron/electron at
//   96f3996, 2026-08-22, the line whose DEPS pins Node v24.18.1). Names match
//   case-insensitively there (OPENSSL_strcasecmp). There is no id-aes*-wrap,
//   no -wrap-pad, no aes-*-ccm/ocb/xts, no chacha20, and none of OpenSSL's
//   aliases ("aes128", "id-aes128-GCM"). A name outside the table throws
//   exactly as Node throws for an unknown cipher: the error is Node's own,
//   made by asking the real createCipheriv for a name no library has.
// - getCiphers() lists that table, so feature detection sees what Electron
//   would show; getCipherInfo() answers undefined outside it.
// - Web Crypto AES-KW. Importing and generating AES-KW keys works in Electron
//   (they are bytes); wrapKey/unwrapKey with AES-KW reject with an
//   OperationError from Node's AES-KW cipher job, which has no cipher
//   (electron/electron#41720; Node's own AES-KW tests are skipped there).
// - scrypt. Node checks scrypt's parameters by calling EVP_PBE_scrypt with no
//   output buffer on the calling thread. OpenSSL returns at once; BoringSSL
//   derives the whole key. So crypto.scrypt() blocks its caller for one full
//   derivation before its thread-pool job does it again, and scryptSync()
//   pays twice.
//
// Everything else (AES-GCM, AES-CBC, AES-ECB, HMAC, HKDF, PBKDF2, RSA-OAEP,
// randomness, KeyObjects) behaves as on OpenSSL for this project's purposes.

import { createRequire } from 'node:module';
import { BORINGSSL_CIPHERS } from './boringsslCiphers.mjs';

// install() runs here, and again as source text at the head of every
// `eval: true` worker (Node runs no --import there, and the KDF worker is
// one): so it takes everything it needs as arguments and names nothing of
// this module's.
function install(require, ciphers) {
  const MARK = Symbol.for('keyladder.electronCryptoModel');
  if (globalThis[MARK]) return;
  const { syncBuiltinESMExports } = require('node:module');
  const crypto = require('node:crypto');
  const threads = require('node:worker_threads');
  const known = new Set(ciphers);
  const inTable = (name) => typeof name === 'string' && known.has(name.toLowerCase());
  // A name that no crypto library defines: Node then throws its own error
  // (after its own key and IV checks, in its own order).
  const NO_SUCH_CIPHER = 'keyladder-model-no-such-cipher';

  const { createCipheriv, createDecipheriv, getCipherInfo, scrypt, scryptSync } = crypto;
  crypto.createCipheriv = function (name, key, iv, options) {
    return createCipheriv.call(this, inTable(name) ? name : NO_SUCH_CIPHER, key, iv, options);
  };
  crypto.createDecipheriv = function (name, key, iv, options) {
    return createDecipheriv.call(this, inTable(name) ? name : NO_SUCH_CIPHER, key, iv, options);
  };
  crypto.getCiphers = () => [...ciphers].sort();
  crypto.getCipherInfo = function (nameOrNid, options) {
    if (typeof nameOrNid === 'string' && !inTable(nameOrNid)) return undefined;
    const info = getCipherInfo.call(this, nameOrNid, options);
    return info === undefined || inTable(info.name) ? info : undefined;
  };

  // scrypt: the parameter check is a whole derivation on the calling thread.
  const checkOnCallingThread = (password, salt, keylen, options) => {
    scryptSync(password, salt, keylen, options ?? {}).fill(0);
  };
  crypto.scrypt = function (password, salt, keylen, options, callback) {
    checkOnCallingThread(password, salt, keylen, typeof options === 'function' ? undefined : options);
    return scrypt.call(this, password, salt, keylen, options, callback);
  };
  crypto.scryptSync = function (password, salt, keylen, options) {
    checkOnCallingThread(password, salt, keylen, options);
    return scryptSync.call(this, password, salt, keylen, options);
  };

  // Web Crypto AES-KW: the keys import, the cipher job fails.
  const subtleProto = Object.getPrototypeOf(globalThis.crypto.subtle);
  const isAesKw = (algorithm) => {
    const name = typeof algorithm === 'string' ? algorithm : algorithm?.name;
    return typeof name === 'string' && name.toUpperCase() === 'AES-KW';
  };
  const operationError = () => Promise.reject(new DOMException('The operation failed for an operation-specific reason', 'OperationError'));
  const { wrapKey, unwrapKey } = subtleProto;
  subtleProto.wrapKey = function (format, key, wrappingKey, wrapAlgorithm, ...rest) {
    return isAesKw(wrapAlgorithm) ? operationError() : wrapKey.call(this, format, key, wrappingKey, wrapAlgorithm, ...rest);
  };
  subtleProto.unwrapKey = function (format, wrappedKey, unwrappingKey, unwrapAlgorithm, ...rest) {
    return isAesKw(unwrapAlgorithm) ? operationError() : unwrapKey.call(this, format, wrappedKey, unwrappingKey, unwrapAlgorithm, ...rest);
  };

  // Eval workers: their code starts with this same install.
  const prelude = `(${install.toString()})(require, ${JSON.stringify([...ciphers])});\n`;
  const { Worker } = threads;
  threads.Worker = class extends Worker {
    constructor(code, options) {
      super(options?.eval === true && typeof code === 'string' ? prelude + code : code, options);
    }
  };

  // ESM's `import { createCipheriv } from 'node:crypto'` reads these bindings.
  syncBuiltinESMExports();
  Object.defineProperty(globalThis, MARK, { value: true });
}

install(createRequire(import.meta.url), BORINGSSL_CIPHERS);
