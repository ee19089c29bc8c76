// Wrapdata: Kwrap sealed under Kissuer, which devices hand back unchanged.
//
// Two formats, chosen per Kissuer generation:
//
// `keyladder-v1` (the default), 33 bytes:
//
//     offset  size  field
//     0       1     0x01, the format version
//     1       4     Kissuer generation, unsigned big-endian
//     5       4     identity tag = H[8..12)
//     9       24    RFC 3394 AES-KW(Kissuer, Kwrap) with initial value H[0..8)
//
//   where H = SHA-256("KeyLadder wrapdata v1" || 0x00 || generation(4) || identity UTF-8).
//   The generation in the header finds the key in one step (as Tink's key-ID
//   prefix does). Key wrap's integrity check covers the initial value (RFC 3394
//   section 2.2.3.2, "alternative initial values"), so the wrapdata is
//   authenticated and bound to both the identity and the generation: presented
//   under another identity or with another generation number, it fails to
//   unwrap. The identity tag only lets us say *why* it failed; it is not what
//   protects it.
//
// `msl` (bare): the 24-byte RFC 3394 wrap with the default initial value, as
//   Netflix's MSL responder makes it. It names no generation and no identity,
//   so the responder tries the usable bare-MSL generations in turn.

import { hash } from 'node:crypto';
import { keyWrap as detectedKeyWrap, type KeyWrapImplementation } from '../jwe/aesKeyWrap.js';
import { wrappingKeyMissing, type LadderError } from './errors.js';

export type WrapdataFormat = 'keyladder-v1' | 'msl';
export const WRAPDATA_FORMATS: readonly WrapdataFormat[] = ['keyladder-v1', 'msl'];

const VERSION_1 = 0x01;
export const V1_LENGTH = 33;
export const MSL_LENGTH = 24;
const DOMAIN = Buffer.from('KeyLadder wrapdata v1\0', 'latin1');

const TAG_DOMAIN = Buffer.from('KeyLadder wrapdata registry v1\0', 'latin1');
export const WRAPDATA_TAG_LENGTH = 16;

/**
 * The wrapdata registry's name for one wrapdata: SHA-256 over a domain, the
 * Kwrap inside it and the wrapdata, first 16 bytes. Kwrap is the key: only a
 * holder of Kissuer (or the device itself) can compute it, so a copy of the
 * registry does not let anyone match wrapdata seen on the wire, and the same
 * wrapdata has the same tag at every responder that shares Kissuer. It is used
 * for equality only, never as a MAC.
 */
export function wrapdataTag(kwrap: Uint8Array, wrapdata: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(TAG_DOMAIN.length + kwrap.length + wrapdata.length);
  TAG_DOMAIN.copy(input, 0);
  input.set(kwrap, TAG_DOMAIN.length);
  input.set(wrapdata, TAG_DOMAIN.length + kwrap.length);
  try {
    return hash('sha256', input, 'buffer').subarray(0, WRAPDATA_TAG_LENGTH);
  } finally {
    input.fill(0);
  }
}

/** What the responder needs to know about a Kissuer generation. */
export interface IssuerKey {
  readonly generation: number;
  readonly format: WrapdataFormat;
  /** 16 bytes. The responder zeroes it once done, so sources hand out copies. */
  readonly key: Buffer;
}

/** H of the layout above: one SHA-256 over domain || generation || identity. */
function bindingHash(generation: number, identity: string): Buffer {
  const input = Buffer.allocUnsafe(DOMAIN.length + 4 + Buffer.byteLength(identity, 'utf8'));
  DOMAIN.copy(input, 0);
  input.writeUInt32BE(generation, DOMAIN.length);
  input.write(identity, DOMAIN.length + 4, 'utf8');
  return hash('sha256', input, 'buffer');
}

/**
 * Seals Kwrap for `identity` under the issuer. `opened` (the wrapdata this
 * exchange opened) lets a WRAP exchange reuse the binding hash when the same
 * generation opens and seals; it is only a shortcut, never a different answer.
 */
export function sealWrapdata(issuer: IssuerKey, identity: string, kwrap: Uint8Array, opened?: OpenedWrapdata, kw: KeyWrapImplementation = detectedKeyWrap): Buffer {
  if (issuer.format === 'msl') return kw.wrap(issuer.key, kwrap);
  const h =
    opened?.binding !== undefined && opened.generation === issuer.generation && opened.identity === identity
      ? opened.binding
      : bindingHash(issuer.generation, identity);
  const out = Buffer.allocUnsafe(V1_LENGTH);
  out[0] = VERSION_1;
  out.writeUInt32BE(issuer.generation, 1);
  h.copy(out, 5, 8, 12);
  kw.wrap(issuer.key, kwrap, h.subarray(0, 8)).copy(out, 9);
  return out;
}

/** How the responder looks up Kissuer generations for returning wrapdata. */
export interface IssuerLookup {
  /** A generation by number, with whether it still accepts returning wrapdata. */
  issuer(generation: number): (IssuerKey & { readonly accepts: boolean }) | undefined;
  /**
   * The bare-MSL generations whose key still exists, newest first, each with
   * whether it accepts returning wrapdata. Retired ones are tried only to say
   * why the wrapdata was refused.
   */
  mslIssuers(): Array<IssuerKey & { readonly accepts: boolean }>;
}

export interface OpenedWrapdata {
  readonly kwrap: Buffer;
  readonly generation: number;
  readonly format: WrapdataFormat;
  /** keyladder-v1 only: the identity it was bound to and its binding hash H. */
  readonly identity?: string;
  readonly binding?: Buffer;
}

const fail = (reason: string, message: string): LadderError => wrappingKeyMissing(reason, message);

/**
 * Recovers Kwrap from returning wrapdata. Every failure is
 * KEYX_WRAPPING_KEY_MISSING (the device then falls back to PSK or MGK), with a
 * reason that tells the operator which case it was. `kw` is the key wrap
 * implementation (this runtime's unless given).
 */
export function openWrapdata(lookup: IssuerLookup, identity: string, wrapdata: Uint8Array, kw: KeyWrapImplementation = detectedKeyWrap): OpenedWrapdata {
  if (wrapdata.length === MSL_LENGTH) return openMsl(lookup, wrapdata, kw);
  if (wrapdata.length !== V1_LENGTH || wrapdata[0] !== VERSION_1) {
    throw fail('WRAPDATA_MALFORMED', 'The wrapdata is in no format this responder issues.');
  }
  const bytes = Buffer.from(wrapdata.buffer, wrapdata.byteOffset, wrapdata.byteLength);
  const generation = bytes.readUInt32BE(1);
  const issuer = lookup.issuer(generation);
  if (issuer === undefined) throw fail('WRAPDATA_UNKNOWN_GENERATION', `The wrapdata names Kissuer generation ${generation}, which this responder does not hold.`);
  try {
    if (!issuer.accepts) throw fail('WRAPDATA_GENERATION_RETIRED', `The wrapdata was issued under Kissuer generation ${generation}, which no longer accepts returning wrapdata.`);
    if (issuer.format !== 'keyladder-v1') throw fail('WRAPDATA_MALFORMED', `Kissuer generation ${generation} does not issue keyladder-v1 wrapdata.`);
    const h = bindingHash(generation, identity);
    if (!h.subarray(8, 12).equals(bytes.subarray(5, 9))) {
      throw fail('WRAPDATA_IDENTITY_MISMATCH', 'The wrapdata was issued to another identity.');
    }
    const kwrap = kw.unwrap(issuer.key, bytes.subarray(9), h.subarray(0, 8));
    if (kwrap === undefined || kwrap.length !== 16) {
      kwrap?.fill(0);
      throw fail('WRAPDATA_INVALID', 'The wrapdata failed its integrity check.');
    }
    return { kwrap, generation, format: 'keyladder-v1', identity, binding: h };
  } finally {
    issuer.key.fill(0);
  }
}

function openMsl(lookup: IssuerLookup, wrapdata: Uint8Array, kw: KeyWrapImplementation): OpenedWrapdata {
  const candidates = lookup.mslIssuers();
  let found: OpenedWrapdata | undefined;
  let retired = false;
  try {
    for (const issuer of candidates) {
      if (found !== undefined || retired) break;
      // Only a failed integrity check is `undefined`; a primitive that fails
      // throws (INTERNAL_ERROR) and is never taken for bad wrapdata.
      const kwrap = kw.unwrap(issuer.key, wrapdata);
      if (kwrap !== undefined && kwrap.length === 16) {
        if (issuer.accepts) found = { kwrap, generation: issuer.generation, format: 'msl' };
        else {
          retired = true;
          kwrap.fill(0);
        }
      } else kwrap?.fill(0);
    }
  } finally {
    for (const issuer of candidates) issuer.key.fill(0);
  }
  if (found) return found;
  if (retired) throw fail('WRAPDATA_GENERATION_RETIRED', 'The wrapdata was issued under a bare-MSL Kissuer generation that no longer accepts returning wrapdata.');
  if (!candidates.some((c) => c.accepts)) throw fail('WRAPDATA_UNKNOWN_GENERATION', 'This responder holds no bare-MSL Kissuer generation that accepts returning wrapdata.');
  throw fail('WRAPDATA_INVALID', 'No usable bare-MSL Kissuer generation unwraps this wrapdata.');
}
