// KeyLadder's own key management for the table's AES-key-wrap entries
// (A*KW, ECDH-ES+A*KW, PBES2-*+A*KW), on every runtime.
//
// Why not jose: jose wraps and unwraps the CEK with Web Crypto's AES-KW,
// which Electron's main process lacks (electron/electron#41720); there it
// fails, and jose, by design, turns the failure into a random CEK and a
// plain "decryption failed". jose has no hook to swap the key wrap, and no
// way to be handed a CEK for an alg other than "dir" (alg is protected).
// So for these entries KeyLadder derives the KEK (the key itself, ECDH-ES's
// Concat KDF, or PBKDF2), unwraps with electron/jwe/aesKeyWrap.ts (OpenSSL's
// wrap cipher or the portable RFC 3394 over AES-ECB, chosen once at load)
// and opens the content with contentCipher.ts. Tests check both directions
// against jose on plain Node, and the RFC vectors on both runtimes.

import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, pbkdf2, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import { decodeBase64Url } from '../encoding/base64.js';
import { utf8 } from '../encoding/bytes.js';
import { aesKeyUnwrap, aesKeyWrap } from '../jwe/aesKeyWrap.js';
import { CryptoFailure } from '../jwe/cryptoFailure.js';
import { MAX_PBES2_COUNT, MIN_PBES2_COUNT } from '../jwe/pbes2.js';
import type { AesKeyWrapSpec, KeyManagementEntry } from './algorithms.js';
import { JoseRefusal, parseRefusal } from './errors.js';
import type { Header } from './inspect.js';
import type { JoseKey } from './keys.js';

const pbkdf2Async = promisify(pbkdf2);

const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const lengthPrefixed = (bytes: Uint8Array): Buffer => Buffer.concat([uint32(bytes.length), bytes]);

/** RFC 7518 4.6.2: Concat KDF (NIST SP 800-56A) with SHA-256, for key wrapping (AlgorithmID is the alg). */
function concatKdf(z: Uint8Array, alg: string, apu: Uint8Array, apv: Uint8Array, bytes: number): Buffer {
  const otherInfo = Buffer.concat([lengthPrefixed(utf8(alg)), lengthPrefixed(apu), lengthPrefixed(apv), uint32(bytes * 8)]);
  const rounds: Buffer[] = [];
  for (let counter = 1; rounds.length * 32 < bytes; counter++) rounds.push(createHash('sha256').update(uint32(counter)).update(z).update(otherInfo).digest());
  const all = Buffer.concat(rounds);
  const out = Buffer.from(all.subarray(0, bytes));
  all.fill(0);
  for (const round of rounds) round.fill(0);
  return out;
}

function optionalB64(header: Header, name: string): Uint8Array {
  const value = header[name];
  if (value === undefined) return new Uint8Array();
  const bytes = typeof value === 'string' ? decodeBase64Url(value) : undefined;
  if (bytes === undefined) throw parseRefusal(`The JWE header's "${name}" is not base64url.`);
  return bytes;
}

function importEc(jwk: JWK, half: 'private' | 'public'): KeyObject {
  try {
    return half === 'private' ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch {
    // A point off the curve, or members that do not decode.
    throw parseRefusal(half === 'public' ? 'The JWE header\'s "epk" is not an EC public key on its curve.' : 'The key is not an EC private key.');
  }
}

/** The ephemeral public key of an ECDH-ES header, checked to be on the recipient's curve. */
function ephemeralKey(header: Header, crv: unknown): KeyObject {
  const epk = header['epk'];
  if (typeof epk !== 'object' || epk === null || Array.isArray(epk)) throw parseRefusal('The JWE header has no "epk" object.');
  const { kty, crv: epkCrv, x, y } = epk as Record<string, unknown>;
  if (kty !== 'EC' || epkCrv !== crv || typeof x !== 'string' || typeof y !== 'string') throw parseRefusal('The JWE header\'s "epk" is not an EC public key on the recipient\'s curve.');
  return importEc({ kty: 'EC', crv: epkCrv as string, x, y }, 'public');
}

function agree(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch (cause) {
    throw new CryptoFailure('ECDH', cause);
  }
}

async function deriveKek(spec: AesKeyWrapSpec, alg: string, key: JoseKey, header: Header): Promise<Buffer | undefined> {
  const { kek } = spec;
  if (kek.from === 'key') {
    // A fresh copy of the key's bytes, zeroed by the caller.
    const raw = key.kind === 'jwk' && typeof key.jwk.k === 'string' ? decodeBase64Url(key.jwk.k) : undefined;
    if (raw?.length === spec.kekBytes) return Buffer.from(raw.buffer, raw.byteOffset, raw.length);
    raw?.fill(0);
    return undefined;
  }
  if (kek.from === 'ecdh-es') {
    if (key.kind !== 'jwk') return undefined;
    const z = agree(importEc(key.jwk, 'private'), ephemeralKey(header, key.jwk.crv));
    try {
      return concatKdf(z, alg, optionalB64(header, 'apu'), optionalB64(header, 'apv'), spec.kekBytes);
    } finally {
      z.fill(0);
    }
  }
  if (key.kind !== 'passphrase') return undefined;
  const p2c = header['p2c'];
  if (typeof p2c !== 'number' || !Number.isInteger(p2c) || p2c < MIN_PBES2_COUNT || p2c > MAX_PBES2_COUNT) {
    throw new JoseRefusal('UNSUPPORTED_ALG', `The JWE's PBES2 iteration count (p2c) is outside ${MIN_PBES2_COUNT} to ${MAX_PBES2_COUNT}.`);
  }
  const p2s = header['p2s'] === undefined ? undefined : optionalB64(header, 'p2s');
  if (p2s === undefined || p2s.length < 8) throw parseRefusal('The JWE\'s PBES2 salt (p2s) is missing or shorter than 8 bytes.');
  // RFC 7518 4.8.1.1: the salt is the alg, a zero octet, and p2s.
  const salt = Buffer.concat([utf8(alg), Buffer.alloc(1), p2s]);
  try {
    return await pbkdf2Async(key.passphrase, salt, p2c, spec.kekBytes, kek.hash);
  } catch (cause) {
    throw new CryptoFailure(`PBKDF2-HMAC-${kek.hash.toUpperCase()}`, cause);
  }
}

function specOf(entry: KeyManagementEntry): AesKeyWrapSpec {
  if (entry.aesKeyWrap === undefined) throw new TypeError(`${entry.name} is not an AES key wrap entry.`);
  return entry.aesKeyWrap;
}

/**
 * Unwraps the CEK of one recipient. Undefined when the key does not unwrap
 * it (wrong key, altered wrapped key, or a CEK of the wrong length); the
 * caller zeroes the CEK after use.
 */
export async function unwrapCek(entry: KeyManagementEntry, key: JoseKey, joseHeader: Header, encryptedKey: Uint8Array, cekBytes: number): Promise<Buffer | undefined> {
  const kek = await deriveKek(specOf(entry), entry.name, key, joseHeader);
  if (kek === undefined) return undefined;
  try {
    const cek = aesKeyUnwrap(kek, encryptedKey);
    if (cek !== undefined && cek.length !== cekBytes) {
      cek.fill(0);
      return undefined;
    }
    return cek;
  } finally {
    kek.fill(0);
  }
}

/** ECDH-ES+A*KW for a recipient's EC public key: a fresh ephemeral key, the CEK wrapped, and the header's epk. */
export function wrapCekForEcRecipient(entry: KeyManagementEntry, recipient: JWK, cek: Uint8Array): { encryptedKey: Buffer; epk: JWK } {
  const keySpec = specOf(entry);
  if (keySpec.kek.from !== 'ecdh-es') throw new TypeError(`${entry.name} is not ECDH-ES key wrapping.`);
  const publicKey = importEc({ kty: recipient.kty, crv: recipient.crv, x: recipient.x, y: recipient.y } as JWK, 'public');
  const ephemeral = generateKeyPairSync('ec', { namedCurve: publicKey.asymmetricKeyDetails?.namedCurve ?? '' });
  const z = agree(ephemeral.privateKey, publicKey);
  const kek = concatKdf(z, entry.name, new Uint8Array(), new Uint8Array(), keySpec.kekBytes);
  z.fill(0);
  try {
    const { kty, crv, x, y } = ephemeral.publicKey.export({ format: 'jwk' });
    return { encryptedKey: aesKeyWrap(kek, cek), epk: { kty, crv, x, y } as JWK };
  } finally {
    kek.fill(0);
  }
}
