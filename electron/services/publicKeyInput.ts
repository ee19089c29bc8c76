// A public key handed to the keyring: a JWK, a JWKS (one key chosen by kid) or
// a PEM public key (SPKI). Whatever the form, what comes out is a public JWK
// with only its public members, its use (encrypt to it, or accept its
// signatures), its kid and its RFC 7638 thumbprint, or a refusal that says
// why. Weak keys are refused here, once, so no export can ever go to one.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { parseStrictJson } from '../encoding/strictJson.js';
import { visible } from '../shared/visibleText.js';
import { tooDeep } from './strictJsonInput.js';
import { MIN_RSA_BITS, rsaPublicKeyProblem } from '../jwe/rsaKeyCheck.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import type { KeyUse } from '../../db/repositories/keyring.js';
import { ALGORITHMS, algorithmEntry, type KeyManagementEntry, type SignatureEntry } from '../jose/algorithms.js';

/** Why a key is refused: the reason beside RECIPIENT_KEY_INVALID. */
export const KeyRefusal = {
  MALFORMED: 'MALFORMED',
  PRIVATE_MEMBERS: 'PRIVATE_MEMBERS',
  WEAK_RSA: 'WEAK_RSA',
  UNSUPPORTED_CURVE: 'UNSUPPORTED_CURVE',
  NOT_ON_CURVE: 'NOT_ON_CURVE',
  UNSUPPORTED_KEY_TYPE: 'UNSUPPORTED_KEY_TYPE',
  USE_UNKNOWN: 'USE_UNKNOWN',
  /** The key's declared alg is not one KeyLadder can use with it (the table says which). */
  UNSUPPORTED_ALG: 'UNSUPPORTED_ALG',
} as const;
export type KeyRefusal = (typeof KeyRefusal)[keyof typeof KeyRefusal];

const refuse = (reason: KeyRefusal, message: string): ServiceError => new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, message, undefined, reason);

/** Members that only a private (or secret) key has, per RFC 7518 §6. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** The public members kept, per key type; anything else is dropped. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { RSA: ['kty', 'n', 'e'], EC: ['kty', 'crv', 'x', 'y'], OKP: ['kty', 'crv', 'x'] };
/** Curves accepted for EC keys, with the length of a coordinate. */
const EC_CURVES: Record<string, number> = { 'P-256': 32, 'P-384': 48 };
/** SubjectPublicKeyInfo, and PKCS #1's RSA public key. */
const PUBLIC_PEM_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY']);
/**
 * The algs a public key may declare, from the table (algorithms.ts): a signer's, any signature alg
 * KeyLadder verifies; a recipient's, only what KeyLadder encrypts with, because a key bound to an
 * alg (RFC 7517 4.4) is used for that alg alone, and a recipient KeyLadder cannot encrypt to would
 * be stored only to fail at every export.
 */
const PUBLIC_KEY_TYPES: ReadonlySet<string> = new Set(['RSA', 'EC', 'OKP']);
const SIGNING_ALGS = ALGORITHMS.filter((e): e is SignatureEntry => e.kind === 'signature' && e.accepted && PUBLIC_KEY_TYPES.has(e.keyType ?? ''));
const ENCRYPTION_ALGS = ALGORITHMS.filter((e): e is KeyManagementEntry => e.kind === 'key-management' && e.produced && PUBLIC_KEY_TYPES.has(e.keyType ?? ''));

export interface PublicKeyEntry {
  readonly kid: string;
  readonly use: KeyUse;
  /** Public members only, with kid, use and (when given) alg. */
  readonly jwk: JWK;
  /** RFC 7638, SHA-256, base64url. */
  readonly thumbprint: string;
  /** For people: "RSA 3072", "EC P-256", "OKP Ed25519". */
  readonly description: string;
}

export interface PublicKeyOptions {
  readonly kid?: string;
  readonly use?: KeyUse;
}

/** Parses, checks and describes one public key. */
export async function readPublicKey(text: string, options: PublicKeyOptions = {}): Promise<PublicKeyEntry> {
  const { source, publicJwk, alg, use, description } = checkedKey(text, options);
  // The kid is the key owner's (a JWE to the key names it, and the owner finds its key by it):
  // --kid only names a key that has none, or chooses one from a JWKS.
  const ownKid = typeof source['kid'] === 'string' ? source['kid'] : undefined;
  if (options.kid !== undefined && ownKid !== undefined && options.kid !== ownKid) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The key names itself "${visible(ownKid, 130)}"; its owner finds it by that kid, so it cannot be added as "${visible(options.kid, 130)}".`);
  const kid = options.kid ?? ownKid;
  if (kid === undefined || !/^[\x21-\x7e]{1,128}$/.test(kid)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Name the key with a kid: 1 to 128 printable characters, no spaces (--kid KID).');
  const jwk: JWK = { ...publicJwk, kid, use, ...(alg ? { alg } : {}) };
  return { kid, use, jwk, thumbprint: await calculateJwkThumbprint(publicJwk, 'sha256'), description };
}

/** An ad-hoc key file (not kept in the keyring, so it needs no kid): the same checks, its public members only. */
export function readAdHocPublicKey(text: string, use: KeyUse): { readonly jwk: JWK; readonly description: string } {
  const { publicJwk, description } = checkedKey(text, { use });
  return { jwk: publicJwk, description };
}

function checkedKey(text: string, options: PublicKeyOptions): { source: Record<string, unknown>; publicJwk: JWK; alg: string | undefined; use: KeyUse; description: string } {
  if (typeof text !== 'string' || text.trim() === '') throw refuse(KeyRefusal.MALFORMED, 'The key file is empty.');
  const source = text.trim().startsWith('-----BEGIN') ? fromPem(text) : chooseFromJson(text, options.kid);
  const present = PRIVATE_MEMBERS.filter((m) => m in source);
  if (present.length > 0) {
    throw refuse(KeyRefusal.PRIVATE_MEMBERS, source['kty'] === 'oct'
      ? 'That is a secret (symmetric) key: a recipient is a public key. Nothing was added.'
      : `That key holds private members (${present.join(', ')}): give the public key only, and keep the private one where it is. Nothing was added.`);
  }
  const kty = source['kty'];
  const keep = typeof kty === 'string' ? PUBLIC_MEMBERS[kty] : undefined;
  if (!keep) throw refuse(KeyRefusal.UNSUPPORTED_KEY_TYPE, `Key type ${JSON.stringify(kty)} is not accepted: give an RSA, EC (P-256, P-384) or Ed25519 public key.`);
  const publicJwk = Object.fromEntries(keep.filter((m) => source[m] !== undefined).map((m) => [m, source[m]])) as JWK;
  const alg = typeof source['alg'] === 'string' ? source['alg'] : undefined;
  const description = checkStrength(publicJwk);
  const use = useOf(options.use, source['use'], alg, publicJwk);
  return { source, publicJwk, alg, use, description };
}

function fromPem(text: string): Record<string, unknown> {
  // createPublicKey would take a private key too (and give its public half), so the PEM labels are
  // allowed, not denied: a public key's only. Anything else (a private key, encrypted or not, a
  // certificate) is refused before any parsing.
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  if (labels.some((label) => label!.includes('PRIVATE'))) {
    throw refuse(KeyRefusal.PRIVATE_MEMBERS, 'That is a private key: give the public key only (PEM "PUBLIC KEY", a JWK or a JWKS). Nothing was added.');
  }
  if (labels.length !== 1 || !PUBLIC_PEM_LABELS.has(labels[0]!)) {
    throw refuse(KeyRefusal.MALFORMED, `Give one public key: a PEM "PUBLIC KEY" block (this file has ${labels.length === 1 ? `a "${labels[0]}"` : `${labels.length} blocks`}), a JWK or a JWKS.`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw refuse(KeyRefusal.MALFORMED, 'The PEM text is not a public key (expected -----BEGIN PUBLIC KEY-----, SubjectPublicKeyInfo).');
  }
  return key.export({ format: 'jwk' }) as Record<string, unknown>;
}

function chooseFromJson(text: string, kid: string | undefined): Record<string, unknown> {
  const parsed = parseStrictJson(text);
  if (!parsed.ok && parsed.problem === 'too-deep') throw tooDeep('key file');
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    throw refuse(KeyRefusal.MALFORMED, parsed.ok || parsed.problem !== 'duplicate'
      ? 'The key file is neither a JWK, a JWKS nor a PEM public key.'
      : `The key file names the member "${visible(parsed.member, 80)}" twice.`);
  }
  const value = parsed.value as Record<string, unknown>;
  if (!('keys' in value)) return value;
  const keys = value['keys'];
  if (!Array.isArray(keys) || keys.some((k) => k === null || typeof k !== 'object' || Array.isArray(k))) throw refuse(KeyRefusal.MALFORMED, 'A JWKS is {"keys":[JWK, …]}.');
  const kids = keys.map((k) => (k as Record<string, unknown>)['kid']);
  if (kid !== undefined) {
    const found = keys.filter((k) => (k as Record<string, unknown>)['kid'] === kid);
    if (found.length !== 1) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, found.length === 0 ? `The JWKS has no key with kid "${visible(kid, 130)}" (it has: ${kids.map((k) => visible(String(k), 130)).join(', ') || 'none'}).` : `The JWKS has ${found.length} keys with kid "${visible(kid, 130)}".`);
    return found[0] as Record<string, unknown>;
  }
  if (keys.length === 1) return keys[0] as Record<string, unknown>;
  throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The JWKS holds ${keys.length} keys: choose one with --kid (it has: ${kids.map((k) => visible(String(k), 130)).join(', ')}).`);
}

/** Refuses weak or malformed keys; describes the acceptable ones. */
function checkStrength(jwk: JWK): string {
  if (jwk.kty === 'RSA') {
    const problem = rsaPublicKeyProblem(jwk as Record<string, unknown>);
    if (problem !== undefined) throw refuse(problem.includes('base64url') ? KeyRefusal.MALFORMED : KeyRefusal.WEAK_RSA, `The RSA key is refused: ${problem}. It must have at least ${MIN_RSA_BITS} bits and e = 65537. Nothing was added.`);
    return `RSA ${Buffer.from(jwk.n!, 'base64url').length * 8}`;
  }
  const crv = jwk.crv ?? '';
  if (jwk.kty === 'OKP') {
    if (crv !== 'Ed25519') throw refuse(KeyRefusal.UNSUPPORTED_CURVE, `OKP curve "${crv}" is not accepted: Ed25519 only (for signatures).`);
    importOrRefuse(jwk, 32);
    return 'OKP Ed25519';
  }
  const size = EC_CURVES[crv];
  if (size === undefined) throw refuse(KeyRefusal.UNSUPPORTED_CURVE, `EC curve "${crv}" is not accepted: P-256 or P-384.`);
  importOrRefuse(jwk, size);
  return `EC ${crv}`;
}

/** Coordinates of the curve's size, and a point on the curve (the runtime checks it on import). */
function importOrRefuse(jwk: JWK, size: number): void {
  for (const c of [jwk.x, ...(jwk.kty === 'EC' ? [jwk.y] : [])]) {
    if (typeof c !== 'string' || !/^[A-Za-z0-9_-]+$/.test(c) || Buffer.from(c, 'base64url').length !== size) throw refuse(KeyRefusal.MALFORMED, `Each coordinate of a ${jwk.crv} key is ${size} bytes, base64url.`);
  }
  try {
    createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch {
    throw refuse(KeyRefusal.NOT_ON_CURVE, `The point is not on ${jwk.crv}: that is no public key of the curve. Nothing was added.`);
  }
}

/** The entry `alg` names for a key of this type and curve, refused with the reason when KeyLadder cannot use it so. */
function algEntry(alg: string, jwk: JWK): SignatureEntry | KeyManagementEntry {
  const entry = SIGNING_ALGS.find((e) => e.name === alg) ?? ENCRYPTION_ALGS.find((e) => e.name === alg);
  const key = jwk.kty === 'RSA' ? 'RSA' : `${jwk.kty} ${String(jwk.crv)}`;
  if (entry === undefined) {
    const known = algorithmEntry('key-management', alg) ?? algorithmEntry('signature', alg);
    const why = known === undefined ? 'KeyLadder does not know it'
      : !known.accepted ? `KeyLadder refuses it: ${known.refusal}`
      : known.kind === 'key-management' ? 'KeyLadder opens it but never encrypts with it, and a key bound to an alg is used for that alg alone'
      : 'it is no public-key signature';
    throw refuse(KeyRefusal.UNSUPPORTED_ALG, `The key declares alg "${alg}": ${why}. KeyLadder encrypts to ${ENCRYPTION_ALGS.map((e) => e.name).join(' or ')} keys and verifies ${SIGNING_ALGS.map((e) => e.name).join(', ')}; ask the owner for a key with one of those, or with no alg. Nothing was added.`);
  }
  if (entry.keyType !== jwk.kty || (entry.curves !== undefined && !entry.curves.includes(String(jwk.crv)))) {
    const wants = `${entry.keyType}${entry.curves ? ` ${entry.curves.join(' or ')}` : ''}`;
    throw refuse(KeyRefusal.UNSUPPORTED_ALG, `The key declares alg "${alg}", which takes an ${wants} key, but it is an ${key} key: it could never be used. Nothing was added.`);
  }
  return entry;
}

function useOf(option: KeyUse | undefined, declared: unknown, alg: string | undefined, jwk: JWK): KeyUse {
  const fromAlg: KeyUse | undefined = alg === undefined ? undefined : algEntry(alg, jwk).kind === 'signature' ? 'sig' : 'enc';
  const stated = option ?? (declared === 'enc' || declared === 'sig' ? declared : undefined);
  if (stated !== undefined && fromAlg !== undefined && stated !== fromAlg) throw refuse(KeyRefusal.USE_UNKNOWN, `The key says alg ${alg}, which is for ${fromAlg === 'sig' ? 'signatures' : 'encryption'}, not "${stated}".`);
  const use = stated ?? fromAlg ?? (jwk.kty === 'OKP' ? 'sig' : undefined);
  if (use === undefined) throw refuse(KeyRefusal.USE_UNKNOWN, 'Say what the key is for: --use enc (exports are encrypted to it) or --use sig (imports signed by it are accepted).');
  if (use === 'enc' && jwk.kty === 'OKP') throw refuse(KeyRefusal.UNSUPPORTED_KEY_TYPE, 'Ed25519 keys sign; they cannot be encrypted to.');
  return use;
}
