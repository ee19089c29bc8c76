// JWE content encryption (RFC 7518 section 5) on node:crypto, for the JWEs
// whose CEK KeyLadder unwraps itself (the AES-key-wrap entries of the table):
// jose cannot be handed a CEK, so the content is opened here too. AES-GCM,
// AES-CBC and HMAC are in BoringSSL's table, so this runs as is on Electron.
//
// Opening returns undefined for every failure of the content's integrity
// (tag, sizes, padding), alike; a primitive that breaks is a CryptoFailure.

import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type CipherGCMTypes } from 'node:crypto';
import { CryptoFailure } from '../jwe/cryptoFailure.js';
import type { ContentEncryptionEntry } from './algorithms.js';

export interface SealedContent {
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

export interface ContentParts {
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  readonly aad: Uint8Array;
}

const gcmName = (cek: Uint8Array): CipherGCMTypes => `aes-${cek.length * 8}-gcm` as CipherGCMTypes;

function sizes(enc: ContentEncryptionEntry): { cekBytes: number; ivBytes: number; tagBytes: number } {
  const { cekBytes, ivBytes, tagBytes, cipher } = enc;
  if (!enc.accepted || cipher === undefined || cekBytes === undefined || ivBytes === undefined || tagBytes === undefined) {
    throw new TypeError(`${enc.name} is not a content cipher KeyLadder runs.`);
  }
  return { cekBytes, ivBytes, tagBytes };
}

/** AES-GCM sealing, for the content encryption KeyLadder produces. */
export function sealContent(enc: ContentEncryptionEntry, cek: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): SealedContent {
  const { cekBytes, ivBytes, tagBytes } = sizes(enc);
  if (enc.cipher?.mode !== 'gcm' || cek.length !== cekBytes || iv.length !== ivBytes) throw new TypeError(`KeyLadder seals only with AES-GCM and a CEK and IV of its sizes.`);
  try {
    const cipher = createCipheriv(gcmName(cek), cek, iv, { authTagLength: tagBytes });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext, tag: cipher.getAuthTag() };
  } catch (cause) {
    throw new CryptoFailure(`${enc.name} (encrypt)`, cause);
  }
}

/** The caller zeroes the plaintext; undefined when the content does not authenticate under `cek`. */
export function openContent(enc: ContentEncryptionEntry, cek: Uint8Array, parts: ContentParts): Buffer | undefined {
  const { cekBytes, ivBytes, tagBytes } = sizes(enc);
  if (cek.length !== cekBytes || parts.iv.length !== ivBytes || parts.tag.length !== tagBytes) return undefined;
  return enc.cipher?.mode === 'gcm' ? openGcm(enc, cek, parts) : openCbcHmac(enc, cek, parts);
}

function openGcm(enc: ContentEncryptionEntry, cek: Uint8Array, { iv, ciphertext, tag, aad }: ContentParts): Buffer | undefined {
  let decipher, head: Buffer;
  try {
    decipher = createDecipheriv(gcmName(cek), cek, iv, { authTagLength: tag.length });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    head = decipher.update(ciphertext);
  } catch (cause) {
    throw new CryptoFailure(`${enc.name} (decrypt)`, cause);
  }
  // final() checks the tag: its only failure is a wrong key or an altered JWE.
  return finish(decipher, head);
}

/** RFC 7518 5.2.2.2: MAC_KEY is the CEK's first half, ENC_KEY its second; the tag is HMAC(AAD || IV || C || AL), truncated to half. */
function openCbcHmac(enc: ContentEncryptionEntry, cek: Uint8Array, { iv, ciphertext, tag, aad }: ContentParts): Buffer | undefined {
  if (enc.cipher?.mode !== 'cbc-hmac') return undefined;
  const half = cek.length / 2;
  const al = Buffer.alloc(8);
  al.writeBigUInt64BE(BigInt(aad.length) * 8n);
  let expected: Buffer;
  try {
    expected = createHmac(enc.cipher.hash, cek.subarray(0, half)).update(aad).update(iv).update(ciphertext).update(al).digest();
  } catch (cause) {
    throw new CryptoFailure(`${enc.name} (HMAC)`, cause);
  }
  const authentic = timingSafeEqual(expected.subarray(0, tag.length), tag);
  expected.fill(0);
  if (!authentic) return undefined;
  let decipher, head: Buffer;
  try {
    decipher = createDecipheriv(`aes-${half * 8}-cbc`, cek.subarray(half), iv);
    head = decipher.update(ciphertext);
  } catch (cause) {
    throw new CryptoFailure(`${enc.name} (decrypt)`, cause);
  }
  // The MAC held, so bad padding means the sender's cipher is broken; it is refused alike.
  return finish(decipher, head);
}

/** The plaintext, or undefined when final() refuses; the first part is zeroed either way. */
function finish(decipher: { final(): Buffer }, head: Buffer): Buffer | undefined {
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return undefined;
  } finally {
    head.fill(0);
  }
}
