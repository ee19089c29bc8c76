// The MSL vectors in test/vectors/msl, produced by Netflix's own MSL code (a
// copy the repository carries, so that no test reads outside the checkout).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const VECTOR_DIR = join(here, '..', 'vectors', 'msl');

export interface DecodedJwe {
  jwe_exact: string;
  header_decoded: string;
  encrypted_key_hex: string;
  cek_hex: string;
  iv_hex: string;
  integrity_value_hex: string;
  plaintext_jwk_exact: string;
}

export interface ExchangeVector {
  inputs: { identity: string; request_keydata: { mechanism: string; wrapdata?: string }; 'msl_wrapping_key_hex (Kissuer)': string; kpw_hex?: string; prev_kwrap_hex?: string };
  response_keydata: { wrapkey: string; wrapdata: string; encryptionkey: string; hmackey: string };
  'response_keydata_json_exact (MSL JsonMslObject encoding)': string;
  expected: { 'kwrap_hex (new wrapping key)': string; kwrap_kid: string; kenc_hex: string; khmac_hex: string };
  'decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)': { wrapkey: DecodedJwe; encryptionkey: DecodedJwe; hmackey: DecodedJwe; wrapdata_hex: string };
}

export interface DeriveVector {
  identity: string;
  kpe_hex: string;
  kph_hex: string;
  kpw_hex: string;
}

const load = <T>(name: string): T => JSON.parse(readFileSync(join(VECTOR_DIR, name), 'utf8')) as T;

export const exchange1 = (): ExchangeVector => load('exchange-1-psk.json');
export const exchange2 = (): ExchangeVector => load('exchange-2-wrap.json');
export const deriveVector = (): DeriveVector => load('psk-derive-wrapping-key.json');

export const hex = (text: string): Buffer<ArrayBuffer> => Buffer.from(text, 'hex');
export const kissuerOf = (v: ExchangeVector): Buffer<ArrayBuffer> => hex(v.inputs['msl_wrapping_key_hex (Kissuer)']);
