/** See boringsslCiphers.mjs. */
export declare const BORINGSSL_CIPHERS: readonly string[];
