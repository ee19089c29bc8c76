// Decrypting a JWE and verifying a JWS with keys the caller holds (a key
// file's JWK, or candidates found by kid), every algorithm judged by the table.
//
// A recipient (or signature) is tried when the table accepts its alg and a
// given key fits it: the key type and size the entry names, and the header's
// kid. Every other is passed over with the reason, so a general JWE with an
// RSA1_5 recipient still opens through its A128KW one and says why it
// skipped the first. The refusal, when nothing opens, names its step:
// UNSUPPORTED_ALG when no recipient is acceptable, NO_KEY_FOR_KID when no key
// fits an acceptable one, INTEGRITY (one message) when every key tried failed.
//
// PBES2 is the one key management whose cost the object sets (p2c): one
// recipient may ask for MAX_PBES2_COUNT iterations (about 1.5 s), and a 1 MiB
// general JWE holds thousands of recipients, each tried with the passphrase.
// So the iterations of all the PBES2 recipients tried for one object are
// counted against MAX_PBES2_WORK; the recipient that would go beyond it is not
// derived, and the object is refused (PBES2_BUDGET).
//
// Decryption goes through jose (flattenedDecrypt, one recipient at a time,
// with allow-lists from the table), except for the table's AES-key-wrap
// entries, which KeyLadder opens itself (keyManagement.ts says why). MSL's
// pre-RFC JWE goes through the ladder's own decryptor, as ladder devices do.

import { calculateJwkThumbprint, flattenedDecrypt, flattenedVerify, importJWK, type FlattenedJWE, type FlattenedJWSInput, type JWK } from 'jose';
import { utf8 } from '../encoding/bytes.js';
import { visible } from '../shared/visibleText.js';
import { decryptJwe } from '../ladder/jweDecrypt.js';
import { LadderError, MslErrorCode } from '../ladder/errors.js';
import { MAX_PBES2_COUNT, MIN_PBES2_COUNT } from '../jwe/pbes2.js';
import { nodeKeyUnwrapper } from '../jwe/nodeKeyUnwrap.js';
import { decodeBase64Url } from '../encoding/base64.js';
import { ALGORITHMS, algorithmEntry, algorithmVerdict, type ContentEncryptionEntry, type KeyManagementEntry } from './algorithms.js';
import { openContent } from './contentCipher.js';
import { JoseRefusal, decryptionFailed, parseRefusal, verificationFailed, type Skipped } from './errors.js';
import { jweAad, parseJose, type Header, type ParsedJwe, type ParsedJws, type ParsedMslJwe, type ParsedJose } from './inspect.js';
import { unwrapCek } from './keyManagement.js';
import { candidateKeys, keyFits, octSizeMismatch, publicJwk, type JoseKey } from './keys.js';

export interface Opened {
  /** Its index among the recipients or signatures. */
  readonly index: number;
  readonly alg: string;
  readonly kid?: string;
  /** The table's warnings for the algorithms used (RSA-OAEP's migration warning), for the caller to show and audit. */
  readonly warnings: readonly string[];
  /** Recipients or signatures passed over, with the reason. */
  readonly skipped: readonly Skipped[];
}

export interface Decrypted extends Opened {
  readonly type: 'jwe' | 'msl-jwe';
  readonly enc: string;
  readonly protectedHeader?: Header;
  /** The caller zeroes it once used (summarizePlaintext says what it is without showing it). */
  readonly plaintext: Uint8Array;
}

export interface Verified extends Opened {
  readonly protectedHeader?: Header;
  /**
   * RFC 7638 thumbprint (SHA-256, base64url) of the key that verified: who signed is said by
   * it, never by the header's kid, which anyone writes (issue 19, item 7). Absent for a secret
   * (oct) key: a hash of a secret is not shown.
   */
  readonly thumbprint?: string;
  readonly payload: Uint8Array;
}

// jose's allow-lists, from the table: what it accepts, less what KeyLadder opens itself.
const JOSE_KEY_MANAGEMENT = ALGORITHMS.filter((e) => e.kind === 'key-management' && e.accepted && e.aesKeyWrap === undefined).map((e) => e.name);
const JOSE_CONTENT_ENCRYPTION = ALGORITHMS.filter((e) => e.kind === 'content-encryption' && e.accepted).map((e) => e.name);
const JOSE_SIGNATURE = ALGORITHMS.filter((e) => e.kind === 'signature' && e.accepted).map((e) => e.name);

const kidOf = (header: Header): string | undefined => (typeof header['kid'] === 'string' ? header['kid'] : undefined);
const withKid = (kid: string | undefined): { kid?: string } => (kid === undefined ? {} : { kid });

/** What jose's error means here. Undefined: the key did not open it (an integrity failure, told apart from nothing). */
function joseRefusal(error: unknown): JoseRefusal | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_JWE_INVALID' || code === 'ERR_JWS_INVALID') return parseRefusal(`jose refused the object's shape: ${(error as Error).message}`);
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED' || code === 'ERR_JOSE_NOT_SUPPORTED') return new JoseRefusal('UNSUPPORTED_ALG', `jose refused it: ${(error as Error).message}`);
  return undefined;
}

/**
 * The PBKDF2 iterations one object may cost in all, across its PBES2
 * recipients: the heaviest recipient KeyLadder accepts (MAX_PBES2_COUNT,
 * about 1.5 s) and one more. A passphrase export has one recipient at 600,000.
 */
export const MAX_PBES2_WORK = 2 * MAX_PBES2_COUNT;

/** What deriving this recipient's KEK costs: its p2c, for a PBES2 entry tried with a passphrase; 0 otherwise. */
function pbes2Cost(entry: KeyManagementEntry, key: JoseKey, header: Header): number {
  if (entry.aesKeyWrap?.kek.from !== 'pbes2' || key.kind !== 'passphrase') return 0;
  const p2c = header['p2c'];
  // An out-of-range count is refused by the derivation itself, before any work.
  return typeof p2c === 'number' && Number.isInteger(p2c) && p2c >= MIN_PBES2_COUNT && p2c <= MAX_PBES2_COUNT ? p2c : 0;
}

async function importForJose(jwk: JWK, alg: string): Promise<CryptoKey | Uint8Array> {
  const { kid: _kid, use: _use, key_ops: _ops, ...bare } = jwk;
  return importJWK(bare, alg);
}

/** Headers KeyLadder refuses before any key is tried: compression (no inflating of attacker input) and critical parameters it does not know. */
function refuseExtensions(headers: readonly Header[], what: string): void {
  if (headers.some((h) => 'zip' in h)) throw new JoseRefusal('UNSUPPORTED_ALG', `The ${what} is compressed ("zip"), which KeyLadder does not accept.`);
  if (headers.some((h) => 'crit' in h)) throw new JoseRefusal('UNSUPPORTED_ALG', `The ${what} has critical header parameters ("crit") KeyLadder does not understand.`);
}

/** A key of the wrong size for an AES key wrap recipient: "the key given is 32 bytes; A128KW takes 16". */
const keySizeRefusal = (alg: string, size: { readonly given: number; readonly wanted: number }, skipped: readonly Skipped[] = []): JoseRefusal =>
  new JoseRefusal('KEY_SIZE', `The key given is ${size.given} bytes: ${visible(alg, 40)} takes a ${size.wanted}-byte key (${size.wanted * 8} bits).`, skipped);

/** `lacking`: the acceptable recipients or signatures no key fitted. */
function nothingOpened(what: 'JWE' | 'JWS', skipped: readonly Skipped[], attempted: boolean, lacking: readonly Skipped[]): JoseRefusal {
  if (attempted) return what === 'JWE' ? decryptionFailed(skipped) : verificationFailed(skipped);
  const reasons = skipped.map((s) => `${what === 'JWE' ? 'recipient' : 'signature'} ${s.index} (${visible(s.alg, 80)}): ${s.reason}`).join('; ');
  if (lacking.length > 0) {
    const kids = lacking.filter((s) => s.kid !== undefined).map((s) => `"${visible(s.kid!, 130)}"`);
    const message = kids.length > 0 ? `No key for kid ${kids.join(', ')}.` : 'No key given fits this object.';
    return new JoseRefusal('NO_KEY_FOR_KID', `${message} (${reasons})`, skipped);
  }
  return new JoseRefusal('UNSUPPORTED_ALG', `KeyLadder accepts none of the object's algorithms: ${reasons}.`, skipped);
}

async function openRecipient(jwe: ParsedJwe, index: number, entry: KeyManagementEntry, enc: ContentEncryptionEntry, key: JoseKey): Promise<Uint8Array | undefined> {
  const recipient = jwe.recipients[index]!;
  if (entry.aesKeyWrap !== undefined) {
    const cek = await unwrapCek(entry, key, recipient.joseHeader, recipient.encryptedKey.bytes, enc.cekBytes ?? 0);
    if (cek === undefined) return undefined;
    try {
      return openContent(enc, cek, { iv: jwe.iv.bytes, ciphertext: jwe.ciphertext.bytes, tag: jwe.tag.bytes, aad: jweAad(jwe) });
    } finally {
      cek.fill(0);
    }
  }
  if (key.kind !== 'jwk') return undefined;
  const flattened: FlattenedJWE = {
    ...(jwe.protectedB64 === '' ? {} : { protected: jwe.protectedB64 }),
    ...(jwe.sharedUnprotected === undefined ? {} : { unprotected: { ...jwe.sharedUnprotected } }),
    ...(recipient.header === undefined ? {} : { header: { ...recipient.header } }),
    // jose refuses an empty encrypted key for "dir" and "ECDH-ES"; compact JWEs write it as "".
    ...(recipient.encryptedKey.b64 === '' ? {} : { encrypted_key: recipient.encryptedKey.b64 }),
    iv: jwe.iv.b64,
    ciphertext: jwe.ciphertext.b64,
    tag: jwe.tag.b64,
    ...(jwe.aad === undefined ? {} : { aad: jwe.aad.b64 }),
  };
  let joseKey: CryptoKey | Uint8Array;
  try {
    joseKey = await importForJose(key.jwk, entry.name);
  } catch {
    return undefined;
  }
  try {
    const { plaintext } = await flattenedDecrypt(flattened, joseKey, {
      keyManagementAlgorithms: JOSE_KEY_MANAGEMENT,
      contentEncryptionAlgorithms: JOSE_CONTENT_ENCRYPTION,
      maxPBES2Count: MAX_PBES2_COUNT,
    });
    return plaintext;
  } catch (error) {
    const refusal = joseRefusal(error);
    if (refusal !== undefined) throw refusal;
    return undefined;
  } finally {
    if (joseKey instanceof Uint8Array) joseKey.fill(0);
  }
}

async function decryptRfcJwe(jwe: ParsedJwe, keys: readonly JoseKey[]): Promise<Decrypted> {
  const encVerdict = algorithmVerdict('content-encryption', jwe.enc);
  const enc = algorithmEntry('content-encryption', jwe.enc);
  if (enc === undefined || !enc.accepted) throw new JoseRefusal('UNSUPPORTED_ALG', `The JWE's content encryption ${encVerdict.name} is refused: ${encVerdict.reason}.`);
  refuseExtensions(jwe.recipients.map((r) => r.joseHeader), 'JWE');
  const skipped: Skipped[] = [];
  let attempted = false;
  const lacking: Skipped[] = [];
  // The first recipient passed over only because the secret key given is of another size.
  let wrongSize: { readonly alg: string; readonly given: number; readonly wanted: number } | undefined;
  let pbes2Work = 0;
  for (const [index, recipient] of jwe.recipients.entries()) {
    const kid = kidOf(recipient.joseHeader);
    const entry = algorithmEntry('key-management', recipient.alg);
    if (entry === undefined || !entry.accepted) {
      skipped.push({ index, alg: recipient.alg, ...withKid(kid), reason: algorithmVerdict('key-management', recipient.alg).reason! });
      continue;
    }
    const candidates = candidateKeys(keys, kid).filter((key) => keyFits(entry, key, enc));
    if (candidates.length === 0) {
      if (wrongSize === undefined) {
        const size = candidateKeys(keys, kid).map((key) => octSizeMismatch(entry, key, enc)).find((s) => s !== undefined);
        if (size !== undefined) wrongSize = { alg: entry.name, ...size };
      }
      const skip = { index, alg: recipient.alg, ...withKid(kid), reason: kid === undefined ? `no key given fits ${entry.name}` : `no key for kid "${visible(kid, 130)}"` };
      lacking.push(skip);
      skipped.push(skip);
      continue;
    }
    for (const key of candidates) {
      const cost = pbes2Cost(entry, key, recipient.joseHeader);
      if (pbes2Work + cost > MAX_PBES2_WORK) {
        throw new JoseRefusal('PBES2_BUDGET', `The JWE's PBES2 recipients ask for more than ${MAX_PBES2_WORK.toLocaleString('en-US')} PBKDF2 iterations in all; KeyLadder stopped at recipient ${index} of ${jwe.recipients.length}, after ${pbes2Work.toLocaleString('en-US')}.`, skipped);
      }
      pbes2Work += cost;
      attempted = true;
      const plaintext = await openRecipient(jwe, index, entry, enc, key);
      if (plaintext !== undefined) {
        return {
          type: 'jwe',
          index,
          alg: entry.name,
          enc: enc.name,
          ...withKid(kid),
          ...(jwe.protectedHeader === undefined ? {} : { protectedHeader: jwe.protectedHeader }),
          warnings: [entry.warning, enc.warning].filter((w): w is string => w !== undefined),
          skipped,
          plaintext,
        };
      }
    }
    skipped.push({ index, alg: recipient.alg, ...withKid(kid), reason: 'it did not decrypt with the keys given' });
  }
  // No key was tried, and one would have been at its right size: say that, not "no key for kid".
  if (!attempted && wrongSize !== undefined) throw keySizeRefusal(wrongSize.alg, wrongSize, skipped);
  throw nothingOpened('JWE', skipped, attempted, lacking);
}

/** MSL's JWE (A128KW + A128GCM, AAD header.encrypted_key.iv) with an oct key: a device's Kpw, a group's Kdw. */
async function decryptMslJwe(jwe: ParsedMslJwe, keys: readonly JoseKey[]): Promise<Decrypted> {
  const { alg, enc } = jwe.parts.header;
  const entry = algorithmEntry('key-management', alg);
  const encEntry = algorithmEntry('content-encryption', enc);
  if (entry === undefined || !entry.accepted || encEntry === undefined || !encEntry.accepted) {
    throw new JoseRefusal('UNSUPPORTED_ALG', `KeyLadder accepts neither alg ${String(alg)} nor enc ${String(enc)} here.`);
  }
  const candidates = keys.filter((key) => keyFits(entry, key, encEntry));
  if (candidates.length === 0) {
    const size = keys.map((key) => octSizeMismatch(entry, key, encEntry)).find((s) => s !== undefined);
    if (size !== undefined) throw keySizeRefusal(entry.name, size);
    throw new JoseRefusal('NO_KEY_FOR_KID', `No key given fits ${entry.name}: MSL's JWE names no kid, so give the ${entry.keyBytes}-byte wrapping key.`);
  }
  for (const key of candidates) {
    const raw = key.kind === 'jwk' && typeof key.jwk.k === 'string' ? decodeBase64Url(key.jwk.k) : undefined;
    if (raw === undefined) continue;
    const kek = await nodeKeyUnwrapper.importWrappingKey(raw);
    try {
      const plaintext = await decryptJwe(utf8(jwe.text), kek, 'msl', nodeKeyUnwrapper);
      return { type: 'msl-jwe', index: 0, alg: entry.name, enc: encEntry.name, warnings: [], skipped: [], plaintext };
    } catch (error) {
      if (!(error instanceof LadderError)) throw error;
      if (error.code === MslErrorCode.JWE_PARSE_ERROR) throw parseRefusal(error.message);
      if (error.code === MslErrorCode.UNSUPPORTED_JWE_ALGORITHM) throw new JoseRefusal('UNSUPPORTED_ALG', error.message);
    }
  }
  throw decryptionFailed();
}

const asParsed = (input: string | Uint8Array | ParsedJose): ParsedJose => (typeof input === 'string' || input instanceof Uint8Array ? parseJose(input) : input);

/**
 * Decrypts a JWE (any serialization, or MSL's) with the first key that fits
 * an acceptable recipient and opens it. Throws a JoseRefusal naming the step.
 */
export async function decryptJose(input: string | Uint8Array | ParsedJose, keys: readonly JoseKey[]): Promise<Decrypted> {
  const parsed = asParsed(input);
  if (parsed.type === 'jws') throw parseRefusal('This is a JWS (signed, not encrypted): verify it instead.');
  return parsed.type === 'jwe' ? decryptRfcJwe(parsed, keys) : decryptMslJwe(parsed, keys);
}

async function verifyOne(jws: ParsedJws, index: number, alg: string, key: JoseKey): Promise<Uint8Array | undefined> {
  if (key.kind !== 'jwk') return undefined;
  const signature = jws.signatures[index]!;
  const flattened: FlattenedJWSInput = {
    ...(signature.protectedB64 === '' ? {} : { protected: signature.protectedB64 }),
    ...(signature.header === undefined ? {} : { header: { ...signature.header } }),
    payload: jws.payload.b64,
    signature: signature.signature.b64,
  };
  let joseKey: CryptoKey | Uint8Array;
  try {
    joseKey = await importForJose(publicJwk(key.jwk), alg);
  } catch {
    return undefined;
  }
  try {
    return (await flattenedVerify(flattened, joseKey, { algorithms: JOSE_SIGNATURE })).payload;
  } catch (error) {
    const refusal = joseRefusal(error);
    if (refusal !== undefined) throw refusal;
    return undefined;
  } finally {
    if (joseKey instanceof Uint8Array) joseKey.fill(0);
  }
}

/** Verifies a JWS (any serialization) through the first signature that an acceptable alg and a fitting key verify. */
export async function verifyJose(input: string | Uint8Array | ParsedJose, keys: readonly JoseKey[]): Promise<Verified> {
  const jws = asParsed(input);
  if (jws.type !== 'jws') throw parseRefusal('This is a JWE (encrypted, not signed): decrypt it instead.');
  refuseExtensions(jws.signatures.map((s) => s.joseHeader), 'JWS');
  const skipped: Skipped[] = [];
  let attempted = false;
  const lacking: Skipped[] = [];
  for (const [index, signature] of jws.signatures.entries()) {
    const kid = kidOf(signature.joseHeader);
    const entry = algorithmEntry('signature', signature.alg);
    if (entry === undefined || !entry.accepted) {
      skipped.push({ index, alg: signature.alg, ...withKid(kid), reason: algorithmVerdict('signature', signature.alg).reason! });
      continue;
    }
    const candidates = candidateKeys(keys, kid).filter((key) => keyFits(entry, key, undefined, 'verify'));
    if (candidates.length === 0) {
      const skip = { index, alg: signature.alg, ...withKid(kid), reason: kid === undefined ? `no key given fits ${entry.name}` : `no key for kid "${visible(kid, 130)}"` };
      lacking.push(skip);
      skipped.push(skip);
      continue;
    }
    for (const key of candidates) {
      attempted = true;
      const payload = await verifyOne(jws, index, entry.name, key);
      if (payload !== undefined && key.kind === 'jwk') {
        return {
          ...(key.jwk.kty === 'oct' ? {} : { thumbprint: await calculateJwkThumbprint(publicJwk(key.jwk), 'sha256') }),
          index,
          alg: entry.name,
          ...withKid(kid),
          ...(signature.protectedHeader === undefined ? {} : { protectedHeader: signature.protectedHeader }),
          warnings: entry.warning === undefined ? [] : [entry.warning],
          skipped,
          payload,
        };
      }
    }
    skipped.push({ index, alg: signature.alg, ...withKid(kid), reason: 'it did not verify with the keys given' });
  }
  throw nothingOpened('JWS', skipped, attempted, lacking);
}
