// What each key of a ladder response is, in one table: its JWK algorithm, the
// MSL `use`, the Web Crypto usages (which are also the RFC 7517 key_ops), its
// length and its Web Crypto algorithm. Both JWE profiles, the responder and the
// requestor read from here instead of repeating these facts.

export type KeyKind = 'wrap' | 'enc' | 'hmac';

export interface KeyKindSpec {
  readonly jwkAlg: 'A128KW' | 'A128CBC' | 'HS256';
  readonly mslUse: 'wrap' | 'enc' | 'sig';
  readonly keyOps: readonly KeyUsage[];
  readonly length: number;
  readonly webCrypto: AlgorithmIdentifier | HmacImportParams;
  readonly kcv: 'aes' | 'hmac';
}

export const KEY_KINDS: Readonly<Record<KeyKind, KeyKindSpec>> = {
  wrap: { jwkAlg: 'A128KW', mslUse: 'wrap', keyOps: ['wrapKey', 'unwrapKey'], length: 16, webCrypto: { name: 'AES-KW' }, kcv: 'aes' },
  enc: { jwkAlg: 'A128CBC', mslUse: 'enc', keyOps: ['encrypt', 'decrypt'], length: 16, webCrypto: { name: 'AES-CBC' }, kcv: 'aes' },
  hmac: { jwkAlg: 'HS256', mslUse: 'sig', keyOps: ['sign', 'verify'], length: 32, webCrypto: { name: 'HMAC', hash: 'SHA-256' }, kcv: 'hmac' },
};

export type JweProfileName = 'msl' | 'rfc7516';
export const JWE_PROFILES: readonly JweProfileName[] = ['msl', 'rfc7516'];

/** The only key management and content encryption MSL's JWE ladder uses. */
export const JWE_ALG = 'A128KW';
export const JWE_ENC = 'A128GCM';
export const JWE_CTY = 'jwk+json';
export const CEK_LENGTH = 16;
export const WRAPPED_CEK_LENGTH = 24;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
