// The cipher names Node finds in Electron's main process: BoringSSL's
// kCiphers[] in crypto/cipher/get_cipher.cc (google/boringssl at a0689af,
// 2026-08-21) plus the entries Electron's
// patches/boringssl/feat_expose_several_extra_cipher_functions.patch adds
// (electron/electron at 96f3996, 2026-08-22), marked below. Data only: the
// model (electronCryptoModel.mjs) and tests import it without side effects.

/** BoringSSL's kCiphers[] (get_cipher.cc) with Electron's additions marked. */
export const BORINGSSL_CIPHERS = Object.freeze([
  'aes-128-cbc', 'aes-128-cfb' /* Electron */, 'aes-128-ctr', 'aes-128-ecb', 'aes-128-gcm', 'aes-128-ofb',
  'aes-192-cbc', 'aes-192-ctr', 'aes-192-ecb', 'aes-192-gcm', 'aes-192-ofb',
  'aes-256-cbc', 'aes-256-cfb' /* Electron */, 'aes-256-ctr', 'aes-256-ecb', 'aes-256-gcm', 'aes-256-ofb',
  'bf-cbc' /* Electron */, 'bf-cfb' /* Electron */, 'bf-ecb' /* Electron */,
  'des-cbc', 'des-ecb', 'des-ede-cbc', 'des-ede', 'des-ede3' /* Electron */, 'des-ede3-cbc',
  'rc2-cbc', 'rc4', 'rc2-40-cbc' /* Electron */,
]);
