// The keyring: public keys of the factories and peers this KeyLadder deals
// with (recipients: exports are encrypted to their `enc` keys, and imports are
// accepted when signed by their `sig` keys), and this KeyLadder's own key
// pairs, one active per use, whose public halves it hands out as a JWKS.
//
// Own keys are EC P-256: ES256 signatures and ECDH-ES+A256KW encryption. RSA
// would need a 3072-bit key for the same strength, which takes a second to make
// on every store's creation; P-256 takes a fraction of a millisecond, and both
// runtimes have it. Private halves are sealed (PKCS #8) like every key, opened
// for one operation, and never leave main.

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { KeyStore } from '../../db/store.js';
import { SIGNER_ROLES, type KeyUse, type OwnKeyRow, type RecipientRow, type SignerRole } from '../../db/repositories/keyring.js';
import { ownKeyBinding } from '../../db/sealing.js';
import { STORE_ID } from '../../db/keyfile.js';
import { visible } from '../shared/visibleText.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { readPublicKey, type PublicKeyOptions } from './publicKeyInput.js';
import type { StoreSession } from './session.js';
import type { AuditAction } from './types.js';
import { encryptToRecipient, signCompact, type ExtraHeader } from '../jose/produce.js';
import { decryptJose, verifyJose } from '../jose/open.js';
import { JoseRefusal } from '../jose/errors.js';
import { publicJwk as publicMembersOf } from '../jose/keys.js';
import { parseJose } from '../jose/inspect.js';
import { algorithmVerdict } from '../jose/algorithms.js';
import { utf8 } from '../encoding/bytes.js';

export const OWN_KEY_ALGS: Record<KeyUse, string> = { sig: 'ES256', enc: 'ECDH-ES+A256KW' };

/** The audited reads of the keyring: what an operator looked at, never a change. */
export const KEYRING_READ_ACTIONS = ['recipient.list', 'recipient.show', 'recipient.jwks', 'identity.list', 'identity.jwks'] as const satisfies readonly AuditAction[];

export interface RecipientSummary {
  readonly kid: string;
  readonly label: string | null;
  readonly use: KeyUse;
  readonly description: string;
  readonly alg: string | null;
  /** RFC 7638 (SHA-256, base64url): compare it with the owner's, out of band. */
  readonly thumbprint: string;
  readonly addedAt: string;
  /** What a signing key's signature is accepted on; empty for an encryption key. */
  readonly roles: readonly SignerRole[];
  /** The store id whose revocation lists this signing key speaks for (recipient add --source); null when none was bound. */
  readonly source: string | null;
}

/** A signing key's roles when the operator names none: revocation lists only (a Kissuer export needs --role issuer-export). */
export const DEFAULT_SIGNER_ROLES: readonly SignerRole[] = ['revocations'];

/** Which role a signer needs for each kind of signed import. */
const ROLE_FOR_KIND: Readonly<Record<string, SignerRole>> = { 'keyladder-revocation-list': 'revocations', 'keyladder-issuer-export': 'issuer-export' };

const rolesOf = (row: RecipientRow): SignerRole[] => (row.roles ?? '').split(' ').filter((r): r is SignerRole => (SIGNER_ROLES as readonly string[]).includes(r));

function checkRoles(roles: readonly unknown[] | undefined, use: KeyUse): SignerRole[] | null {
  if (use === 'enc') {
    if (roles !== undefined && roles.length > 0) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Roles say what a signing key may sign; an encryption key (--use enc) takes none.');
    return null;
  }
  if (roles === undefined || roles.length === 0) return [...DEFAULT_SIGNER_ROLES];
  const bad = roles.filter((r) => typeof r !== 'string' || !(SIGNER_ROLES as readonly string[]).includes(r));
  if (bad.length > 0) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `A signer's role is ${SIGNER_ROLES.join(' or ')} (not ${bad.map((r) => JSON.stringify(r)).join(', ')}).`);
  return SIGNER_ROLES.filter((r) => roles.includes(r));
}

/**
 * The store id a revocation signer is pinned to speak for (round 2: a source
 * is bound when its signer is pinned, not by whoever signs first). It must be
 * a store id, a signer with the revocations role, not this store, and not a
 * source already bound to another key. Checked inside the add's transaction.
 */
function checkListSource(store: KeyStore, source: string | undefined, use: KeyUse, roles: readonly SignerRole[] | null, thumbprint: string): string | null {
  if (source === undefined) return null;
  if (use !== 'sig' || !roles?.includes('revocations')) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A source binds a key that signs revocation lists: --source needs --use sig and the revocations role.');
  if (!STORE_ID.test(source)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `A source is a peer's store id (the peer's \`keyladder revocation export\` prints it, \`keyladder revocation peers\` lists those seen: 8-4-4-4-12 lowercase hex), not "${visible(source, 60)}".`);
  if (source === store.storeId) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'That is this store\'s own id; a peer\'s signer speaks for the peer\'s store.');
  const pinned = store.keyring.recipientForListSource(source);
  if (pinned) throw new ServiceError(ServiceErrorCode.RECIPIENT_EXISTS, `Source ${source} is already bound to "${visible(pinned.kid)}" (thumbprint ${pinned.thumbprint}). Remove that key first to bind another.`);
  const seen = store.revocations.peerList(source)?.signer;
  if (seen != null && seen !== thumbprint) throw new ServiceError(ServiceErrorCode.RECIPIENT_EXISTS, `Lists from ${source} came signed by the key of thumbprint ${seen}, not this one. If the peer changed its key, say so with revocation import --bind-source after checking with its operator.`);
  const other = store.revocations.sourceOfSigner(thumbprint);
  if (other !== undefined && other !== source) throw new ServiceError(ServiceErrorCode.RECIPIENT_EXISTS, `This key already signs the lists of ${other}; a signer speaks for one source.`);
  return source;
}

export interface OwnKeySummary {
  readonly kid: string;
  readonly use: KeyUse;
  readonly alg: string;
  readonly status: 'active' | 'retired';
  readonly thumbprint: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

const describe = (jwk: JWK): string => (jwk.kty === 'RSA' ? `RSA ${Buffer.from(jwk.n!, 'base64url').length * 8}` : `${jwk.kty} ${jwk.crv}`);

function recipientSummary(row: RecipientRow): RecipientSummary {
  const jwk = JSON.parse(row.public_jwk) as JWK;
  return { kid: row.kid, label: row.label, use: row.use, description: describe(jwk), alg: jwk.alg ?? null, thumbprint: row.thumbprint, addedAt: row.added_at, roles: rolesOf(row), source: row.list_source };
}

const ownSummary = (row: OwnKeyRow): OwnKeySummary => ({
  kid: row.kid, use: row.use, alg: row.alg, status: row.status, thumbprint: row.kid, createdAt: row.created_at, retiredAt: row.retired_at,
});

/** A new P-256 key pair: its public JWK, its kid (the RFC 7638 thumbprint) and its private half as PKCS #8, which the caller zeroes. */
async function newKeyPair(): Promise<{ publicJwk: JWK; kid: string; der: Buffer }> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { publicJwk, kid: await calculateJwkThumbprint(publicJwk, 'sha256'), der: privateKey.export({ format: 'der', type: 'pkcs8' }) };
}

/**
 * Stores an own key pair as the active one of its use (the one before is
 * retired: kept, so what was encrypted or signed with it still opens and
 * verifies), sealed, and audited. Call inside a transaction.
 */
function addOwnKeyRow(store: KeyStore, use: KeyUse, at: Date, kid: string, publicJwk: JWK, der: Buffer): OwnKeySummary {
  const iso = at.toISOString();
  try {
    // An own key's kid is its thumbprint.
    refuseTakenKid(store, kid, kid);
    const previous = store.keyring.activeOwnKey(use);
    store.keyring.addOwnKey({
      kid, use, alg: OWN_KEY_ALGS[use], created_at: iso,
      public_jwk: JSON.stringify({ ...publicJwk, kid, use, alg: OWN_KEY_ALGS[use] }),
      private_key: store.sealer.seal(ownKeyBinding(kid), der),
    });
    store.audit.append({ at: iso, action: previous ? 'identity.rotate' : 'identity.create', outcome: 'ok', subject: kid, details: { use, alg: OWN_KEY_ALGS[use], previous: previous?.kid ?? null } });
  } finally {
    der.fill(0);
  }
  return ownSummary(store.keyring.ownKey(kid)!);
}

/**
 * Both own key pairs, made in one step (the store's creation, or the first
 * use of a store made before the keyring). Generation comes first, outside the
 * transaction, so the transaction itself is synchronous.
 */
export async function ownKeysFor(at: Date): Promise<(store: KeyStore) => void> {
  const made = await Promise.all((['sig', 'enc'] as const).map(async (use) => ({ use, ...(await newKeyPair()) })));
  return (store) => {
    for (const k of made) if (!store.keyring.activeOwnKey(k.use)) addOwnKeyRow(store, k.use, at, k.kid, k.publicJwk, k.der);
    for (const k of made) k.der.fill(0);
  };
}

/**
 * A kid names one key, across own keys and the keyring (issue 19, item 7): a
 * keyring key under this KeyLadder's own kid made a JWS signed by it read as
 * "signed by this KeyLadder". Checked both ways, inside the transaction that
 * adds the key. The same key under the same kid is no collision (an own key's
 * kid is its RFC 7638 thumbprint): an operator may pin this KeyLadder's own
 * public key to export to itself.
 */
function refuseTakenKid(store: KeyStore, kid: string, thumbprint: string): void {
  if (store.keyring.ownKey(kid) && thumbprint !== kid) throw new ServiceError(ServiceErrorCode.KID_TAKEN, `The kid "${kid}" is this KeyLadder's own key's (keyladder identity list), and this is another key: a keyring key cannot take it. Ask the key's owner for another kid. Nothing was added.`);
  const recipient = store.keyring.recipient(kid);
  if (recipient && recipient.thumbprint !== thumbprint) throw new ServiceError(ServiceErrorCode.KID_TAKEN, `The kid "${kid}" names a keyring key (thumbprint ${recipient.thumbprint}): remove it (keyladder recipient remove ${kid}) before this KeyLadder takes a key of that kid. Nothing was changed.`);
}

/** RFC 7638 thumbprints of this KeyLadder's own keys (active and retired) of `use`. */
async function ownThumbprints(store: KeyStore, use: KeyUse): Promise<Set<string>> {
  const rows = store.keyring.ownKeys().filter((k) => k.use === use);
  return new Set(await Promise.all(rows.map((k) => calculateJwkThumbprint(publicMembersOf(JSON.parse(k.public_jwk) as JWK), 'sha256'))));
}

/** Who a verifying key (by thumbprint) is: an own key, or the keyring entry with that thumbprint and use. */
export async function signerByThumbprint(store: KeyStore, thumbprint: string | undefined): Promise<{ kind: 'own' } | { kind: 'recipient'; row: RecipientRow } | undefined> {
  if (thumbprint === undefined) return undefined;
  if ((await ownThumbprints(store, 'sig')).has(thumbprint)) return { kind: 'own' };
  const row = store.keyring.recipients().find((r) => r.use === 'sig' && r.thumbprint === thumbprint);
  return row ? { kind: 'recipient', row } : undefined;
}

export class KeyringService {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  async addRecipient(keyText: string, options: PublicKeyOptions & { readonly label?: string; readonly roles?: readonly SignerRole[]; readonly source?: string } = {}): Promise<RecipientSummary> {
    const label = options.label === undefined ? null : checkLabel(options.label);
    const entry = await readPublicKey(keyText, options);
    const roles = checkRoles(options.roles, entry.use);
    const store = this.session.store();
    const at = this.now().toISOString();
    store.transaction(() => {
      if (store.keyring.recipient(entry.kid)) throw new ServiceError(ServiceErrorCode.RECIPIENT_EXISTS, `A recipient with kid "${entry.kid}" is already in the keyring. Remove it first to replace it.`);
      refuseTakenKid(store, entry.kid, entry.thumbprint);
      const same = store.keyring.recipientByThumbprint(entry.thumbprint);
      if (same && same.use === entry.use) throw new ServiceError(ServiceErrorCode.RECIPIENT_EXISTS, `That key is already in the keyring, as "${same.kid}".`);
      const listSource = checkListSource(store, options.source, entry.use, roles, entry.thumbprint);
      store.keyring.addRecipient({ kid: entry.kid, label, use: entry.use, thumbprint: entry.thumbprint, public_jwk: JSON.stringify(entry.jwk), added_at: at, roles: roles === null ? null : roles.join(' '), list_source: listSource });
      store.audit.append({ at, action: 'recipient.add', outcome: 'ok', subject: entry.kid, details: { use: entry.use, key: entry.description, thumbprint: entry.thumbprint, ...(roles === null ? {} : { roles: roles.join(' ') }), ...(listSource === null ? {} : { source: listSource }) } });
    });
    return this.findRecipient(entry.kid);
  }

  /** The keyring's recipients, audited (recipient.list: how many, never a key). */
  recipients(): RecipientSummary[] {
    const list = this.session.store().keyring.recipients().map(recipientSummary);
    this.auditRead('recipient.list', null, { count: list.length, sig: list.filter((r) => r.use === 'sig').length, enc: list.filter((r) => r.use === 'enc').length });
    return list;
  }

  /** One recipient, audited (recipient.show: its kid, use and thumbprint). A kid not in the keyring is refused, unaudited, as remove refuses it. */
  recipient(kid: string): RecipientSummary {
    const r = this.findRecipient(kid);
    this.auditRead('recipient.show', r.kid, { use: r.use, thumbprint: r.thumbprint });
    return r;
  }

  private findRecipient(kid: string): RecipientSummary {
    const row = this.session.store().keyring.recipient(checkKid(kid));
    if (!row) throw new ServiceError(ServiceErrorCode.RECIPIENT_NOT_FOUND, `No recipient with kid "${kid}" is in the keyring.`);
    return recipientSummary(row);
  }

  /**
   * Reads of the keyring an operator asks for (list, show, the JWKS) are
   * audited like its changes: who looked at which keys, and how many. Details
   * are kids, uses, thumbprints and counts, never a key. Internal lookups
   * (an export finding its recipient, a verification its signers) are not.
   */
  private auditRead(action: (typeof KEYRING_READ_ACTIONS)[number], subject: string | null, details: Record<string, string | number>): void {
    const store = this.session.store();
    const at = this.now().toISOString();
    store.transaction(() => store.audit.append({ at, action, outcome: 'ok', subject, details }));
  }

  removeRecipient(kid: string): RecipientSummary {
    const removed = this.findRecipient(kid);
    const store = this.session.store();
    const at = this.now().toISOString();
    store.transaction(() => {
      store.keyring.removeRecipient(removed.kid);
      store.audit.append({ at, action: 'recipient.remove', outcome: 'ok', subject: removed.kid, details: { use: removed.use, thumbprint: removed.thumbprint } });
    });
    return removed;
  }

  /** The keyring's public keys as a JWKS, audited (recipient.jwks: how many). */
  recipientsJwks(): { keys: JWK[] } {
    const keys = this.session.store().keyring.recipients().map((r) => JSON.parse(r.public_jwk) as JWK);
    this.auditRead('recipient.jwks', null, { count: keys.length });
    return { keys };
  }

  /** A recipient's public JWK, for encrypting to (`enc`) or verifying (`sig`). */
  recipientKey(kid: string, use: KeyUse): JWK {
    return JSON.parse(recipientRow(this.session.store(), checkKid(kid), use).public_jwk) as JWK;
  }

  /** A nested JWT to recipient `kid`: signed by this KeyLadder, encrypted to the recipient (sealForRecipient). */
  async sealTo(cty: string, plaintext: Uint8Array, kid: string): Promise<string> {
    return sealForRecipient(this.session.store(), cty, plaintext, checkKid(kid));
  }

  /** Opens a JWE made for this KeyLadder's keys, checking who signed it (openWithKeyring). */
  async openSealed(cty: string, jwe: string, allowUnsigned = false): Promise<OpenedFromKeyring> {
    return openWithKeyring(this.session.store(), cty, jwe, allowUnsigned);
  }

  /** This KeyLadder's own keys, made now if the store predates the keyring. */
  async ownKeys(): Promise<OwnKeySummary[]> {
    await this.ensureOwnKeys();
    const keys = this.session.store().keyring.ownKeys().map(ownSummary);
    this.auditRead('identity.list', null, { count: keys.length, active: keys.filter((k) => k.status === 'active').length });
    return keys;
  }

  /** The public halves of this KeyLadder's keys (active and retired), to hand to factories and peers; audited (identity.jwks: the kids handed out). */
  async identityJwks(): Promise<{ keys: JWK[] }> {
    const jwks = await this.ownPublicJwks();
    this.auditRead('identity.jwks', null, { count: jwks.keys.length, kids: jwks.keys.map((k) => k.kid).join(' ') });
    return jwks;
  }

  /** identityJwks without its audit record, for KeyLadder's own use (verifying what it signed). */
  async ownPublicJwks(): Promise<{ keys: JWK[] }> {
    await this.ensureOwnKeys();
    return { keys: this.session.store().keyring.ownKeys().map((k) => JSON.parse(k.public_jwk) as JWK) };
  }

  async rotateOwnKey(use: KeyUse): Promise<OwnKeySummary> {
    if (use !== 'sig' && use !== 'enc') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The key to rotate is "sig" or "enc".');
    await this.ensureOwnKeys();
    const store = this.session.store();
    const { publicJwk, kid, der } = await newKeyPair();
    return store.transaction(() => addOwnKeyRow(store, use, this.now(), kid, publicJwk, der));
  }

  /**
   * The private half of an own key, by kid (or the active one of `use`), as a
   * KeyObject for one operation. Undefined when this KeyLadder has no such key.
   */
  async ownPrivateKey(use: KeyUse, kid?: string): Promise<{ kid: string; key: KeyObject; publicJwk: JWK } | undefined> {
    await this.ensureOwnKeys();
    const store = this.session.store();
    const row = kid === undefined ? store.keyring.activeOwnKey(use) : store.keyring.ownKey(kid);
    if (!row || row.use !== use) return undefined;
    const der = store.sealer.unseal(ownKeyBinding(row.kid), row.private_key);
    try {
      return { kid: row.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), publicJwk: JSON.parse(row.public_jwk) as JWK };
    } finally {
      der.fill(0);
    }
  }

  private async ensureOwnKeys(): Promise<void> {
    const store = this.session.store();
    if (store.keyring.activeOwnKey('sig') && store.keyring.activeOwnKey('enc')) return;
    const add = await ownKeysFor(this.now());
    store.transaction(() => add(store));
  }
}

function checkKid(kid: unknown): string {
  if (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A kid is 1 to 128 printable characters, no spaces.');
  return kid;
}

function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || label.length > 200 || /[\u0000-\u001f\u007f]/.test(label)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A label is at most 200 characters, without control characters.');
  return label;
}

/**
 * A nested JWT (RFC 7519 §5.2): `plaintext` signed by this KeyLadder's active
 * signing key (ES256, `cty` naming the payload), inside a JWE to the keyring's
 * `enc` recipient `recipientKid` (RSA-OAEP-256 or ECDH-ES+A256KW, A256GCM,
 * `cty` "JWT"). The receiver learns who made it, and only it can read it.
 *
 * The signed header names the recipient (`aud`, its kid) and the time (`iat`),
 * replicated as RFC 7519 §5.3 allows: the signature alone says who made it,
 * not for whom, so a recipient could otherwise re-encrypt what it received to
 * a third party, who would take it as sent to it. The bundle's plaintext (and
 * its version) is unchanged, so a factory's reader keeps working.
 */
export async function sealForRecipient(store: KeyStore, cty: string, plaintext: Uint8Array, recipientKid: string): Promise<string> {
  const recipient = recipientRow(store, recipientKid, 'enc');
  try {
    const { jws } = await signAsKeyLadder(store, plaintext, { typ: 'JWT', cty, aud: recipient.kid, iat: Math.floor(Date.now() / 1000) });
    return await encryptToRecipient(utf8(jws), JSON.parse(recipient.public_jwk) as JWK, recipient.kid, { cty: 'JWT' });
  } catch (error) {
    // jose's refusal (a stored recipient KeyLadder cannot encrypt to: one added before add-time checks,
    // say) is the operator's to fix, so it gets a code, not INTERNAL_ERROR.
    if (error instanceof JoseRefusal) throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, `Recipient "${recipient.kid}" cannot be exported to: ${error.message} Remove it and add the owner's key again (keyladder recipient add).`, undefined, error.code);
    throw error;
  }
}

/** A compact JWS of `payload` by this KeyLadder's active signing key (ES256, its kid in the header), which `identity jwks` publishes. */
export async function signAsKeyLadder(store: KeyStore, payload: Uint8Array, header: ExtraHeader): Promise<{ jws: string; kid: string }> {
  const signer = await ownKey(store, 'sig');
  return { jws: await signCompact(payload, signer.jwk, signer.kid, header), kid: signer.kid };
}

export interface OpenedFromKeyring {
  /** The caller zeroes it. */
  readonly plaintext: Uint8Array;
  /** The keyring's kid of the signer; null for an unsigned JWE (accepted only when asked). */
  readonly signer: string | null;
  /** The signer's RFC 7638 thumbprint (the key that verified); absent for an unsigned JWE. */
  readonly signerThumbprint?: string;
  readonly warnings: readonly string[];
}

/**
 * Opens a JWE made for one of this KeyLadder's own encryption keys, found by
 * the JWE's kid, and, when it is a nested JWT, verifies its signature with the
 * keyring's `sig` key of the signature's kid. A JWE that is not signed is
 * refused unless `allowUnsigned`.
 */
export async function openWithKeyring(store: KeyStore, cty: string, jwe: string, allowUnsigned: boolean): Promise<OpenedFromKeyring> {
  const outer = parseOrRefuse(jwe);
  if (outer.type !== 'jwe') throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is not a JWE.');
  const kids = [...new Set(outer.recipients.map((r) => r.joseHeader['kid']).filter((k): k is string => typeof k === 'string'))];
  const own = kids.map((kid) => store.keyring.ownKey(kid)).filter((row): row is OwnKeyRow => row !== undefined && row.use === 'enc');
  if (own.length === 0) throw new ServiceError(ServiceErrorCode.NO_KEY_FOR_KID, kids.length === 0 ? 'The JWE names no kid, so no key of this KeyLadder can be chosen for it: open it with the passphrase or key file it was made for.' : `No key for kid ${kids.map((k) => `"${k}"`).join(', ')}: it was made for another key than this KeyLadder's (keyladder identity jwks lists its kids).`);
  refuseOtherAlgs(outer, own);
  const decrypted = await joseStep(() => decryptJose(outer, own.map((row) => ({ kind: 'jwk' as const, jwk: privateJwkOf(store, row), kid: row.kid }))));
  const { plaintext } = decrypted;
  const contentType = decrypted.protectedHeader?.['cty'];
  if (contentType !== 'JWT') {
    if (!allowUnsigned) {
      plaintext.fill(0);
      throw new ServiceError(ServiceErrorCode.SIGNATURE_REQUIRED, 'The JWE is not signed, so nothing says who made it. Import it only if you know where it came from, and say so (--unsigned); the audit log records it.');
    }
    return { plaintext, signer: null, warnings: decrypted.warnings };
  }
  const inner = Buffer.from(plaintext).toString('utf8');
  plaintext.fill(0);
  const jws = parseOrRefuse(inner);
  if (jws.type !== 'jws') throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'The JWE says it holds a signed JWT, but holds no JWS.');
  const signers = store.keyring.recipients().filter((r) => r.use === 'sig').map((r) => ({ kind: 'jwk' as const, jwk: JSON.parse(r.public_jwk) as JWK, kid: r.kid }));
  const verified = await joseStep(() => verifyJose(jws, signers), 'signer');
  // The signer is the keyring entry whose key verified (by thumbprint), not whatever the header's kid says.
  const signer = store.keyring.recipients().find((r) => r.use === 'sig' && r.thumbprint === verified.thumbprint);
  if (signer === undefined) {
    verified.payload.fill(0);
    throw new ServiceError(ServiceErrorCode.SIGNER_UNKNOWN, 'The key that verified the signature is no signing key the keyring pins. Nothing was imported.');
  }
  if (verified.protectedHeader?.['cty'] !== cty) {
    verified.payload.fill(0);
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The signed content is not a ${cty}.`);
  }
  const role = ROLE_FOR_KIND[cty];
  if (role !== undefined && !rolesOf(signer).includes(role)) {
    verified.payload.fill(0);
    throw new ServiceError(ServiceErrorCode.SIGNER_ROLE, `Keyring signer "${signer.kid}" (thumbprint ${signer.thumbprint}) is pinned to sign ${rolesOf(signer).join(' and ') || 'nothing'}, not ${role}. If it should, remove it and add it again with --role ${[...rolesOf(signer), role].join(',')}. Nothing was imported.`, undefined, role);
  }
  checkAudience(store, verified.protectedHeader?.['aud'], verified.payload);
  return { plaintext: verified.payload, signer: signer.kid, signerThumbprint: signer.thumbprint, warnings: [...decrypted.warnings, ...verified.warnings] };
}

/**
 * Own keys are bound to their alg (ECDH-ES+A256KW, as identity jwks publishes them), so a JWE to
 * one of their kids under another alg (ECDH-ES, ECDH-ES+A128KW) is refused as what it is, an
 * algorithm this key does not take, rather than as a kid this KeyLadder has no key for.
 */
function refuseOtherAlgs(jwe: Extract<ReturnType<typeof parseJose>, { type: 'jwe' }>, own: readonly OwnKeyRow[]): void {
  const byKid = new Map(own.map((row) => [row.kid, row]));
  const toOwn = jwe.recipients.filter((r) => byKid.has(r.joseHeader['kid'] as string));
  if (toOwn.some((r) => r.alg === byKid.get(r.joseHeader['kid'] as string)!.alg)) return;
  const first = toOwn[0]!;
  const row = byKid.get(first.joseHeader['kid'] as string)!;
  const verdict = algorithmVerdict('key-management', first.alg);
  throw new ServiceError(ServiceErrorCode.JOSE_UNSUPPORTED_ALG,
    `The JWE to kid "${row.kid}" uses ${verdict.name}${verdict.supported ? '' : ` (refused: ${verdict.reason})`}; this KeyLadder's key of that kid takes ${row.alg} only, as its JWK in keyladder identity jwks says. Ask the sender to encrypt with ${row.alg}.`,
    undefined, 'UNSUPPORTED_ALG');
}

/**
 * The signed `aud` must name one of this KeyLadder's own encryption keys (a
 * rotated one too): anything else was made for another recipient and
 * re-encrypted to this one. Checked before anything is imported; the payload
 * is zeroed on refusal.
 */
function checkAudience(store: KeyStore, aud: unknown, payload: Uint8Array): void {
  if (typeof aud === 'string' && store.keyring.ownKey(aud)?.use === 'enc') return;
  payload.fill(0);
  throw new ServiceError(ServiceErrorCode.AUDIENCE_MISMATCH, typeof aud === 'string'
    ? `The export was signed for recipient "${aud}", which is no key of this KeyLadder: it was re-encrypted on the way. Ask its maker to export it --to this KeyLadder's key. Nothing was imported.`
    : 'The export is signed without naming its recipient ("aud"), so nothing says it was made for this KeyLadder: ask its maker to export it again with a current KeyLadder. Nothing was imported.');
}

function parseOrRefuse(text: string): ReturnType<typeof parseJose> {
  try {
    return parseJose(text.trim());
  } catch (error) {
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `That is not a JOSE object KeyLadder reads: ${error instanceof JoseRefusal ? error.message : 'it does not parse'}.`);
  }
}

/** jose's refusals as service errors: which step failed, never why a decryption failed. */
async function joseStep<T>(step: () => Promise<T>, role: 'decrypt' | 'signer' = 'decrypt'): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof JoseRefusal)) throw error;
    if (error.code === 'NO_KEY_FOR_KID') {
      throw role === 'signer'
        ? new ServiceError(ServiceErrorCode.SIGNER_UNKNOWN, `${error.message} The keyring pins no signing key of that kid: add the signer's public key (keyladder recipient add FILE --kid KID --use sig) after confirming its thumbprint.`)
        : new ServiceError(ServiceErrorCode.NO_KEY_FOR_KID, error.message);
    }
    throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, role === 'signer' && error.code === 'INTEGRITY' ? 'The signature does not verify: the content was altered, or not signed by that key.' : error.message, undefined, error.code);
  }
}

function recipientRow(store: KeyStore, kid: string, use: KeyUse): RecipientRow {
  const row = store.keyring.recipient(kid);
  if (!row) throw new ServiceError(ServiceErrorCode.RECIPIENT_NOT_FOUND, `No recipient with kid "${kid}" is in the keyring: add its public key with keyladder recipient add.`);
  if (row.use !== use) throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, `Recipient "${kid}" is a ${row.use === 'sig' ? 'signing' : 'encryption'} key, not one to ${use === 'enc' ? 'encrypt to' : 'verify with'}.`, undefined, 'USE_MISMATCH');
  return row;
}

/**
 * An own private key as a JWK, for jose. Its members are JS strings, which
 * cannot be zeroed: it lives for one operation, in main only.
 */
function privateJwkOf(store: KeyStore, row: OwnKeyRow): JWK {
  const der = store.sealer.unseal(ownKeyBinding(row.kid), row.private_key);
  try {
    return { ...(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }) as JWK), kid: row.kid, use: row.use, alg: row.alg };
  } finally {
    der.fill(0);
  }
}

async function ownKey(store: KeyStore, use: KeyUse): Promise<{ kid: string; jwk: JWK }> {
  let row = store.keyring.activeOwnKey(use);
  if (!row) {
    const add = await ownKeysFor(new Date());
    store.transaction(() => add(store));
    row = store.keyring.activeOwnKey(use)!;
  }
  return { kid: row.kid, jwk: privateJwkOf(store, row) };
}
