// Passphrase-protected exports as compact JWEs, PBES2-HS512+A256KW with
// A256GCM (RFC 7518 section 4.8 and 5.3), without Web Crypto's AES-KW.
//
// jose makes and opens these everywhere else, but its PBES2 wraps the CEK
// through Web Crypto AES-KW, which Electron's main process lacks
// (electron/electron#41720), and jose has no hook to swap the key wrap. So
// KeyLadder's own exports and imports go through this module: PBKDF2 and
// AES-GCM from node:crypto (BoringSSL has both), the key wrap from
// aesKeyWrap.ts (OpenSSL's where it exists, the portable one elsewhere).
// What it writes is an ordinary JWE: the tests open every output with jose,
// and open jose's output here.
//
// Opening refuses anything but exactly this algorithm pair, a sane iteration
// count and salt, and the sizes A256GCM implies. Every failure after parsing
// (wrong passphrase, altered header, key, IV, ciphertext or tag) is one
// result, so nothing tells them apart. A primitive that breaks is a
// CryptoFailure (INTERNAL_ERROR), never "wrong passphrase".

import { createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeBase64Url } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { aesKeyUnwrap, aesKeyWrap } from './aesKeyWrap.js';
import { CryptoFailure } from './cryptoFailure.js';
import { a256gcmJweStream, type JweStream } from './gcmStream.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';

export const PBES2_ALG = 'PBES2-HS512+A256KW';
export const PBES2_ENC = 'A256GCM';
/**
 * The most iterations an import will run: exports use 600,000, and README's
 * factory snippet lets jose go to 1,000,000 (jose's own default is 10,000).
 * A file that asks for more would only hold a thread of the pool for seconds.
 */
export const MAX_PBES2_COUNT = 1_000_000;
/** RFC 7518 section 4.8.1.2 asks for at least 1,000. */
export const MIN_PBES2_COUNT = 1_000;
const SALT_INPUT_LENGTH = 16;
const KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const WRAPPED_CEK_LENGTH = KEY_LENGTH + 8;

const pbkdf2Async = promisify(pbkdf2);
const ALG_PREFIX = Buffer.from(`${PBES2_ALG}\0`, 'utf8');

/** Why opening failed. `decryption` covers every integrity failure alike; `too-deep`: a header nested beyond MAX_JSON_DEPTH. */
export type Pbes2Failure = 'malformed' | 'unsupported' | 'decryption' | 'too-deep';

export class Pbes2Error extends Error {
  override readonly name = 'Pbes2Error';
  constructor(readonly failure: Pbes2Failure, message: string) {
    super(message);
  }
}

/** The key-encryption key: PBKDF2-HMAC-SHA512 over the passphrase, salted with alg || 0x00 || p2s (RFC 7518 4.8.1.1). */
async function deriveKek(passphrase: Uint8Array, p2s: Uint8Array, p2c: number): Promise<Buffer> {
  const salt = Buffer.concat([ALG_PREFIX, p2s]);
  try {
    return await pbkdf2Async(passphrase, salt, p2c, KEY_LENGTH, 'sha512');
  } catch (cause) {
    throw new CryptoFailure('PBKDF2-HMAC-SHA512', cause);
  }
}

export interface Pbes2Options {
  /** Protected header members besides alg, enc, p2s and p2c (cty, kid …). */
  readonly header?: Readonly<Record<string, string>>;
  readonly iterations: number;
}

/** Encrypts `plaintext` to `passphrase` (UTF-8 bytes; zero them after). */
export async function pbes2Encrypt(plaintext: Uint8Array, passphrase: Uint8Array, options: Pbes2Options): Promise<string> {
  const parts: string[] = [];
  const write = await pbes2EncryptStream(passphrase, options);
  write((chunk) => parts.push(Buffer.from(chunk).toString('latin1')), (push) => push(plaintext));
  return parts.join('');
}

/**
 * The same compact JWE written as it is made, for a plaintext too large to
 * hold twice (a provisioning bundle of a million devices): the key is derived
 * now; the returned function, called once, writes the JWE's text to its `sink`
 * in pieces while `produce` pushes the plaintext in pieces (the caller zeroes
 * each piece after the push). Only a piece of plaintext and of ciphertext is
 * in memory at a time. The content key is zeroed when it returns or throws.
 */
export async function pbes2EncryptStream(passphrase: Uint8Array, options: Pbes2Options): Promise<JweStream> {
  const { iterations } = options;
  if (!Number.isInteger(iterations) || iterations < MIN_PBES2_COUNT || iterations > MAX_PBES2_COUNT) {
    throw new RangeError(`PBES2 needs an iteration count from ${MIN_PBES2_COUNT} to ${MAX_PBES2_COUNT}.`);
  }
  const p2s = randomBytes(SALT_INPUT_LENGTH);
  const header = { ...options.header, alg: PBES2_ALG, enc: PBES2_ENC, p2s: p2s.toString('base64url'), p2c: iterations };
  const headerB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  const kek = await deriveKek(passphrase, p2s, iterations);
  const cek = randomBytes(KEY_LENGTH);
  let encryptedKey: Buffer;
  try {
    encryptedKey = aesKeyWrap(kek, cek);
  } catch (e) {
    cek.fill(0);
    throw e;
  } finally {
    kek.fill(0);
  }
  return a256gcmJweStream(headerB64, encryptedKey, cek);
}

interface ParsedJwe {
  readonly headerB64: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly p2s: Uint8Array;
  readonly p2c: number;
  readonly encryptedKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

const badShape = (message: string) => new Pbes2Error('malformed', message);

function parse(jwe: string): ParsedJwe {
  const parts = typeof jwe === 'string' ? jwe.split('.') : [];
  if (parts.length !== 5) throw badShape('A compact JWE has five parts.');
  const [headerB64, ekB64, ivB64, ctB64, tagB64] = parts as [string, string, string, string, string];
  const bytes = [headerB64, ekB64, ivB64, ctB64, tagB64].map(decodeBase64Url);
  if (bytes.some((b) => b === undefined)) throw badShape('A part of the JWE is not base64url.');
  const [headerBytes, encryptedKey, iv, ciphertext, tag] = bytes as Uint8Array[] as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const parsed = parseStrictJson(fromUtf8(headerBytes) ?? '');
  if (!parsed.ok && parsed.problem === 'too-deep') throw new Pbes2Error('too-deep', `The JWE header nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);
  if (!parsed.ok) throw badShape(parsed.problem === 'duplicate' ? 'The JWE header names a parameter twice.' : 'The JWE header is not JSON.');
  const header = parsed.value;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw badShape('The JWE header is not a JSON object.');
  const h = header as Record<string, unknown>;
  if (h['alg'] !== PBES2_ALG || h['enc'] !== PBES2_ENC) throw new Pbes2Error('unsupported', `The JWE is not ${PBES2_ALG} with ${PBES2_ENC}.`);
  if ('crit' in h || 'zip' in h) throw new Pbes2Error('unsupported', 'The JWE has critical or compression header parameters.');
  const p2c = h['p2c'];
  if (typeof p2c !== 'number' || !Number.isInteger(p2c) || p2c < MIN_PBES2_COUNT || p2c > MAX_PBES2_COUNT) {
    throw new Pbes2Error('unsupported', `The JWE's iteration count (p2c) is outside ${MIN_PBES2_COUNT} to ${MAX_PBES2_COUNT}.`);
  }
  const p2s = typeof h['p2s'] === 'string' ? decodeBase64Url(h['p2s']) : undefined;
  if (p2s === undefined || p2s.length < 8) throw badShape('The JWE\'s salt (p2s) is missing or shorter than 8 bytes.');
  if (encryptedKey.length !== WRAPPED_CEK_LENGTH || iv.length !== IV_LENGTH || tag.length !== TAG_LENGTH) {
    throw badShape('The JWE\'s encrypted key, IV or tag has the wrong size for A256GCM.');
  }
  return { headerB64, header: h, p2s, p2c, encryptedKey, iv, ciphertext, tag };
}

/**
 * Decrypts a PBES2-HS512+A256KW / A256GCM compact JWE. The caller zeroes the
 * plaintext once read, and the passphrase bytes.
 */
export async function pbes2Decrypt(jwe: string, passphrase: Uint8Array): Promise<{ plaintext: Buffer; header: Readonly<Record<string, unknown>> }> {
  const parsed = parse(jwe);
  const failed = () => new Pbes2Error('decryption', 'The JWE does not decrypt: wrong passphrase, or it was altered.');
  const kek = await deriveKek(passphrase, parsed.p2s, parsed.p2c);
  let cek: Buffer | undefined;
  try {
    cek = aesKeyUnwrap(kek, parsed.encryptedKey);
    if (cek === undefined) throw failed();
    const { decipher, head } = (() => {
      try {
        const d = createDecipheriv('aes-256-gcm', cek, parsed.iv, { authTagLength: TAG_LENGTH });
        d.setAAD(Buffer.from(parsed.headerB64, 'latin1'));
        d.setAuthTag(parsed.tag);
        return { decipher: d, head: d.update(parsed.ciphertext) };
      } catch (cause) {
        throw new CryptoFailure('AES-256-GCM (decrypt)', cause);
      }
    })();
    try {
      // final() checks the tag: its only failure is an altered JWE.
      const plaintext = Buffer.concat([head, decipher.final()]);
      return { plaintext, header: parsed.header };
    } catch {
      throw failed();
    } finally {
      head.fill(0);
    }
  } finally {
    kek.fill(0);
    cek?.fill(0);
  }
}
