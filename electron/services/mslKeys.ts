// What an MSL server holds besides its devices' keys (issue 20):
//   - its identity: a name and an RSA key pair that signs its entity
//     authentication data. Generations: one 'active' (signs), earlier ones
//     'retiring' (kept and listed, never used to sign: clients that pin them
//     must be re-configured), then 'retired', then 'destroyed' (private key
//     erased). The key id (MSL's `pubkeyid`) of a generated key is its RFC 7638
//     thumbprint; an imported key keeps the id its clients know it by.
//   - the master-token keys (MSL's msl.key.enc, AES-128, and msl.key.hmac,
//     HMAC-SHA256): generations like Kissuer's. Rotation puts the active one in
//     grace, by default for the master-token expiration, so every token issued
//     before still verifies until it expires; then retired; then destroyed.
// Every change is one transaction with its audit record (generations, key ids,
// thumbprints and KCVs: never a key). For the responder, serverSigner() and
// tokenKeys() open the sealed keys once per store session and keep them until
// the store locks or the generations change (here or in another process: the
// cheap query that checks costs microseconds).

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyStore } from '../../db/store.js';
import type { MslIdentityRow } from '../../db/repositories/mslIdentities.js';
import type { MslTokenKeyRow } from '../../db/repositories/mslTokenKeys.js';
import { mslIdentityBinding, mslTokenKeyBinding } from '../../db/sealing.js';
import { encodeBase64 } from '../encoding/base64.js';
import { kcv } from '../jwe/kcv.js';
import { secretCopy, secretRandom } from '../jwe/secretBuffer.js';
import { visible } from '../shared/visibleText.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger, keyFromHex } from './keyInput.js';
import { generateMslKeyPair, readMslPrivateKey, type MslRsaKeyPair } from './mslRsaKeyInput.js';
import { identityFromText, MSL_TOKEN_KEYS_REASON, tokenKeysFromText } from './mslServerConfig.js';
import { MAX_MSL_TIME_SECONDS, mslTimes } from './mslSettings.js';
import { StoreVersionCache } from './storeVersionCache.js';
import type { StoreSession } from './session.js';

/** The server's entity identity when none is named (an MSL client's config lists `entity.auth.schemes.keyladder RSA`). */
export const DEFAULT_MSL_IDENTITY = 'keyladder';

export interface MslIdentityView {
  readonly generation: number;
  readonly name: string;
  readonly keyId: string;
  readonly status: MslIdentityRow['status'];
  readonly origin: MslIdentityRow['origin'];
  readonly bits: number;
  /** RFC 7638, SHA-256, base64url. */
  readonly thumbprint: string;
  /** SubjectPublicKeyInfo DER, standard Base64: an MSL client config's msl.rsa.pub.N. */
  readonly spki: string;
  readonly pem: string;
  readonly jwk: { readonly kty: 'RSA'; readonly n: string; readonly e: string; readonly kid: string };
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly retiredAt: string | null;
  readonly destroyedAt: string | null;
}

export interface MslTokenKeyView {
  readonly generation: number;
  readonly status: MslTokenKeyRow['status'];
  readonly origin: MslTokenKeyRow['origin'];
  /** Null once destroyed. */
  readonly kcvEnc: string | null;
  readonly kcvHmac: string | null;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly graceUntil: string | null;
  readonly retiredAt: string | null;
  readonly destroyedAt: string | null;
}

export interface MslServerSigner {
  readonly name: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly generation: number;
}

export interface MslTokenKeys {
  readonly generation: number;
  readonly status: 'active' | 'grace';
  /** AES-128 (16 bytes): a copy, which the caller zeroes. */
  readonly encryptionKey: Buffer;
  /** HMAC-SHA256 (32 bytes): a copy, which the caller zeroes. */
  readonly hmacKey: Buffer;
}

function identityView(row: MslIdentityRow): MslIdentityView {
  const publicKey = publicKeyOf(row);
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return {
    generation: row.generation, name: row.name, keyId: row.key_id, status: row.status, origin: row.origin, bits: row.bits, thumbprint: row.thumbprint,
    spki: encodeBase64(row.public_key),
    pem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    jwk: { kty: 'RSA', n: jwk.n, e: jwk.e, kid: row.key_id },
    createdAt: row.created_at, activatedAt: row.activated_at, retiredAt: row.retired_at, destroyedAt: row.destroyed_at,
  };
}

const publicKeyOf = (row: MslIdentityRow): KeyObject => createPublicKey({ key: row.public_key, format: 'der', type: 'spki' });

function tokenKeyView(row: MslTokenKeyRow): MslTokenKeyView {
  return {
    generation: row.generation, status: row.status, origin: row.origin, kcvEnc: row.kcv_enc, kcvHmac: row.kcv_hmac,
    createdAt: row.created_at, activatedAt: row.activated_at, graceUntil: row.grace_until, retiredAt: row.retired_at, destroyedAt: row.destroyed_at,
  };
}

/** The lines an MSL client's config (mslcli.cfg) takes to authenticate this server: its scheme, msl.rsa.id.N and msl.rsa.pub.N (N: the client's own numbering). */
export const mslClientConfigLines = (i: Pick<MslIdentityView, 'name' | 'keyId' | 'spki'>): string =>
  [`entity.auth.schemes.${i.name} RSA`, `msl.rsa.id.N ${i.keyId}`, `msl.rsa.pub.N ${i.spki}`].join('\n');

/** An MSL entity identity or key id: written in MSL client configs (space-separated), so printable ASCII without spaces. */
export function checkMslName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(value)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `${what} is 1 to 128 printable ASCII characters, without spaces.`);
  return value;
}

/**
 * Adds a key pair as the active identity generation; the active one before (if any) becomes
 * 'retiring'. A key id or key pair this store holds or held is refused. Call inside a transaction.
 * Zeroes the pair's PKCS #8.
 */
export function addActiveIdentity(store: KeyStore, pair: MslRsaKeyPair, origin: 'generated' | 'imported', at: Date, name?: string, keyId?: string): number {
  const iso = at.toISOString();
  try {
    const current = store.mslIdentities.active();
    const identityName = name ?? current?.name ?? DEFAULT_MSL_IDENTITY;
    const kid = keyId ?? pair.thumbprint;
    const taken = store.mslIdentities.taken(kid, pair.thumbprint);
    if (taken) {
      throw new ServiceError(ServiceErrorCode.MSL_KEY_KNOWN, taken.thumbprint === pair.thumbprint
        ? `This key pair is MSL identity generation ${taken.generation} here (${taken.status}, key id "${visible(taken.key_id, 130)}"). Nothing was changed.`
        : `The key id "${visible(kid, 130)}" names MSL identity generation ${taken.generation} (${taken.status}), another key pair: MSL clients find the key by it. Choose another key id. Nothing was changed.`);
    }
    const generation = store.mslIdentities.nextGeneration();
    if (current) store.mslIdentities.toRetiring(current.generation);
    store.mslIdentities.insertActive({
      generation, name: identityName, keyId: kid, origin, bits: pair.bits, thumbprint: pair.thumbprint, publicKey: pair.spki,
      privateKey: store.sealer.seal(mslIdentityBinding(generation), pair.pkcs8), at: iso,
    });
    store.audit.append({
      at: iso,
      action: origin === 'imported' ? 'msl.identity-import' : current ? 'msl.identity-rotate' : 'msl.identity-create',
      outcome: 'ok', subject: String(generation),
      details: { name: identityName, keyId: kid, bits: pair.bits, thumbprint: pair.thumbprint, previous: current?.generation ?? null },
    });
    return generation;
  } finally {
    pair.pkcs8.fill(0);
  }
}

/**
 * Adds a master-token key pair as the active generation; the active one before goes into grace
 * for `graceSeconds` (0: retired at once). Imported keys this store holds or held (either of the
 * two, by KCV; a destroyed generation's too) are refused. Call inside a transaction. Zeroes both keys.
 */
export function addActiveTokenKeys(store: KeyStore, encryptionKey: Buffer, hmacKey: Buffer, origin: 'generated' | 'imported-msl', at: Date, graceSeconds: number): number {
  const iso = at.toISOString();
  try {
    const kcvEnc = kcv(encryptionKey, 'aes');
    const kcvHmac = kcv(hmacKey, 'hmac');
    // Imports only (as Kissuer's): a KCV is 3 bytes, so a fresh random key would, once in 2^24 per
    // key held, be refused for a KCV it merely shares.
    const known = origin === 'imported-msl' ? store.mslTokenKeys.knownKcv(kcvEnc, kcvHmac) : undefined;
    if (known) throw new ServiceError(ServiceErrorCode.MSL_KEY_KNOWN, `These master-token keys (or one of them) are generation ${known.generation} here (${known.status}). Nothing was imported.`);
    const current = store.mslTokenKeys.active();
    const generation = store.mslTokenKeys.nextGeneration();
    if (current) {
      if (graceSeconds === 0) store.mslTokenKeys.retire(current.generation, iso);
      else store.mslTokenKeys.toGrace(current.generation, new Date(at.getTime() + graceSeconds * 1000).toISOString());
    }
    store.mslTokenKeys.insertActive({
      generation, origin, kcvEnc, kcvHmac, at: iso,
      encryptionKey: store.sealer.seal(mslTokenKeyBinding(generation, 'enc'), encryptionKey),
      hmacKey: store.sealer.seal(mslTokenKeyBinding(generation, 'hmac'), hmacKey),
    });
    store.audit.append({
      at: iso,
      action: origin === 'imported-msl' ? 'msl.keys-import' : current ? 'msl.keys-rotate' : 'msl.keys-create',
      outcome: 'ok', subject: String(generation),
      details: { kcvEnc, kcvHmac, previous: current?.generation ?? null, graceSeconds: current ? graceSeconds : null },
    });
    return generation;
  } finally {
    encryptionKey.fill(0);
    hmacKey.fill(0);
  }
}

/** What `keyladder init` adds for MSL: an identity key pair made beforehand (RSA generation takes a while), and the first master-token keys. */
export async function mslServerFor(at: Date): Promise<(store: KeyStore) => void> {
  const pair = await generateMslKeyPair();
  return (store) => {
    try {
      if (!store.mslIdentities.active()) addActiveIdentity(store, pair, 'generated', at);
      if (!store.mslTokenKeys.active()) addActiveTokenKeys(store, secretRandom(16), secretRandom(32), 'generated', at, 0);
    } finally {
      pair.pkcs8.fill(0);
    }
  };
}

interface CachedTokenKey {
  readonly generation: number;
  readonly status: 'active' | 'grace';
  readonly graceUntil: string | null;
  readonly encryptionKey: Buffer;
  readonly hmacKey: Buffer;
}

export class MslKeyService {
  /** The active identity's signing key, opened: read on every first contact and error header. */
  private readonly signer = new StoreVersionCache<MslServerSigner & { readonly generation: number }>();
  /** The active and grace generations' keys, unsealed (zeroed when dropped). */
  private readonly tokenKeyCache = new StoreVersionCache<CachedTokenKey[]>((keys) => {
    for (const k of keys) {
      k.encryptionKey.fill(0);
      k.hmacKey.fill(0);
    }
  });

  constructor(private readonly session: StoreSession, private readonly now: () => Date) {
    session.onLock(() => this.forget());
  }

  /** Zeroes and drops the opened keys (the store locks, or the generations changed). */
  forget(): void {
    this.signer.forget();
    this.tokenKeyCache.forget();
  }

  /**
   * A change to the identities or master-token keys, as one transaction. This connection's own
   * commit does not move data_version, so the caches are dropped here (also when it failed).
   */
  private write<T>(store: KeyStore, change: () => T): T {
    try {
      return store.transaction(change);
    } finally {
      this.forget();
    }
  }

  // ---- identity

  identities(): MslIdentityView[] {
    return this.session.store().mslIdentities.list().map(identityView);
  }

  /** The active identity; MSL_NOT_FOUND when there is none (a store from before schema 8: msl identity create). */
  identity(): MslIdentityView {
    const row = this.session.store().mslIdentities.active();
    if (!row) throw noIdentity();
    return identityView(row);
  }

  /** The first identity of a store that has none (one upgraded from before schema 8). */
  async createIdentity(name?: string): Promise<MslIdentityView> {
    const identityName = checkMslName(name ?? DEFAULT_MSL_IDENTITY, 'An MSL identity name');
    if (this.session.store().mslIdentities.active()) throw new ServiceError(ServiceErrorCode.MSL_TRANSITION, 'This store has an MSL server identity already: rotate it (keyladder msl identity rotate) to replace its key. Nothing was changed.');
    const pair = await generateMslKeyPair();
    return this.addIdentity(pair, 'generated', identityName);
  }

  /** A new key pair for the identity (its name kept, unless `name` renames it). */
  async rotateIdentity(name?: string): Promise<MslIdentityView> {
    const identityName = name === undefined ? undefined : checkMslName(name, 'An MSL identity name');
    if (!this.session.store().mslIdentities.active()) throw noIdentity();
    const pair = await generateMslKeyPair();
    return this.addIdentity(pair, 'generated', identityName);
  }

  /**
   * An existing server's key pair becomes the active identity, under the key id its clients pin.
   * `publicKeyText`: the public key those clients pin (msl.rsa.pub.N), refused unless it is the pair's own.
   */
  async importIdentity(keyText: string, keyId: string, name?: string, publicKeyText?: string): Promise<MslIdentityView> {
    const kid = checkMslName(keyId, 'A key id');
    const identityName = name === undefined ? undefined : checkMslName(name, 'An MSL identity name');
    this.session.store();
    const pair = await readMslPrivateKey(keyText, publicKeyText);
    return this.addIdentity(pair, 'imported', identityName, kid);
  }

  /**
   * importIdentity() from a file main read: a private key file, or an MSL server config whose
   * msl.rsa.priv.N is imported under its msl.rsa.id.N and checked against its msl.rsa.pub.N.
   * `keyId` picks the pair (and names a key file's); `publicKeyText` (a second file) overrides the config's.
   */
  async importIdentityText(text: string, options: { readonly keyId?: string; readonly name?: string; readonly publicKeyText?: string } = {}): Promise<MslIdentityView> {
    const keyId = options.keyId === undefined ? undefined : checkMslName(options.keyId, 'A key id');
    const found = identityFromText(text, keyId);
    if (found.keyId === undefined) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Give the key id the MSL clients pin this key by (msl.rsa.id.N in their config): a key file does not say it. Nothing was changed.');
    return this.importIdentity(found.privateKey, found.keyId, options.name, options.publicKeyText ?? found.publicKey);
  }

  private addIdentity(pair: MslRsaKeyPair, origin: 'generated' | 'imported', name?: string, keyId?: string): MslIdentityView {
    const store = this.session.store();
    const generation = this.write(store, () => addActiveIdentity(store, pair, origin, this.now(), name, keyId));
    return identityView(store.mslIdentities.get(generation)!);
  }

  private identityRow(generation: number): MslIdentityRow {
    checkInteger(generation, 'The generation', 1, 2 ** 32 - 1);
    const row = this.session.store().mslIdentities.get(generation);
    if (!row) throw new ServiceError(ServiceErrorCode.MSL_NOT_FOUND, `There is no MSL identity generation ${generation}: see keyladder msl identity show --all.`);
    return row;
  }

  /** A retiring generation (clients re-configured) becomes retired. */
  retireIdentity(generation: number): MslIdentityView {
    const row = this.identityRow(generation);
    if (row.status !== 'retiring') throw new ServiceError(ServiceErrorCode.MSL_TRANSITION, row.status === 'active' ? `Generation ${generation} is the active identity: rotate first.` : `Generation ${generation} is already ${row.status}.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    this.write(store, () => {
      store.mslIdentities.retire(generation, at);
      store.audit.append({ at, action: 'msl.identity-retire', outcome: 'ok', subject: String(generation), details: { keyId: row.key_id, thumbprint: row.thumbprint } });
    });
    return identityView(store.mslIdentities.get(generation)!);
  }

  /** Erases a retired generation's private key for good (its public key stays listed). */
  destroyIdentity(generation: number): MslIdentityView {
    const row = this.identityRow(generation);
    if (row.status !== 'retired') throw new ServiceError(ServiceErrorCode.MSL_TRANSITION, row.status === 'destroyed' ? `Generation ${generation} is already destroyed.` : `Generation ${generation} is ${row.status}: only a retired generation can be destroyed.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    this.write(store, () => {
      store.mslIdentities.destroy(generation, at);
      store.audit.append({ at, action: 'msl.identity-destroy', outcome: 'ok', subject: String(generation), details: { keyId: row.key_id, thumbprint: row.thumbprint } });
    });
    store.checkpoint();
    return identityView(store.mslIdentities.get(generation)!);
  }

  /**
   * The active identity's signing key, opened once per store session; opened again
   * when the active generation changes (a rotation here or in another process).
   */
  serverSigner(): MslServerSigner {
    const store = this.session.store();
    return this.signer.get(store, () => {
      const row = store.mslIdentities.active();
      if (!row) throw noIdentity();
      const pkcs8 = store.sealer.unseal(mslIdentityBinding(row.generation), store.mslIdentities.sealedPrivateKey(row.generation)!);
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      } finally {
        pkcs8.fill(0);
      }
      return { name: row.name, keyId: row.key_id, privateKey, publicKey: publicKeyOf(row), generation: row.generation };
    });
  }

  // ---- master-token keys

  /** Turns ended grace periods into retirements, with their audit records. */
  private expire(store: KeyStore): void {
    const at = this.now().toISOString();
    this.write(store, () => {
      for (const generation of store.mslTokenKeys.expireGrace(at)) {
        store.audit.append({ at, action: 'msl.keys-retire', outcome: 'ok', subject: String(generation), details: { reason: 'grace period ended' } });
      }
    });
  }

  tokenKeyGenerations(): MslTokenKeyView[] {
    const store = this.session.store();
    this.expire(store);
    return store.mslTokenKeys.list().map(tokenKeyView);
  }

  /** A new active generation; the one before verifies tokens for `graceSeconds` more (default: the master-token expiration). */
  rotateTokenKeys(graceSeconds?: number): MslTokenKeyView {
    const store = this.session.store();
    const grace = graceSeconds === undefined ? mslTimes(store).expiration : checkInteger(graceSeconds, 'The grace period in seconds', 0, MAX_MSL_TIME_SECONDS);
    this.expire(store);
    const generation = this.write(store, () => addActiveTokenKeys(store, secretRandom(16), secretRandom(32), 'generated', this.now(), grace));
    return tokenKeyView(store.mslTokenKeys.get(generation)!);
  }

  /** An MSL server's msl.key.enc (32 hex digits) and msl.key.hmac (64) become the active generation. */
  importTokenKeys(encHex: string, hmacHex: string, graceSeconds?: number): MslTokenKeyView {
    const store = this.session.store();
    const grace = graceSeconds === undefined ? mslTimes(store).expiration : checkInteger(graceSeconds, 'The grace period in seconds', 0, MAX_MSL_TIME_SECONDS);
    const enc = tokenKeyFromHex(encHex, 'msl.key.enc', 16);
    let hmac: Buffer;
    try {
      hmac = tokenKeyFromHex(hmacHex, 'msl.key.hmac', 32);
    } catch (e) {
      enc.fill(0);
      throw e;
    }
    const generation = this.write(store, () => addActiveTokenKeys(store, enc, hmac, 'imported-msl', this.now(), grace));
    return tokenKeyView(store.mslTokenKeys.get(generation)!);
  }

  /** importTokenKeys() from a file main read: an MSL server config (msl.key.enc, msl.key.hmac lines) or {"enc","hmac"} JSON. */
  importTokenKeysText(text: string, graceSeconds?: number): MslTokenKeyView {
    const { enc, hmac } = tokenKeysFromText(text);
    return this.importTokenKeys(enc, hmac, graceSeconds);
  }

  private tokenKeyRow(generation: number): MslTokenKeyRow {
    checkInteger(generation, 'The generation', 1, 2 ** 32 - 1);
    const row = this.session.store().mslTokenKeys.get(generation);
    if (!row) throw new ServiceError(ServiceErrorCode.MSL_NOT_FOUND, `There is no master-token key generation ${generation}: see keyladder msl keys show.`);
    return row;
  }

  /** Ends a grace period now: tokens issued under the generation no longer verify. */
  retireTokenKeys(generation: number): MslTokenKeyView {
    const row = this.tokenKeyRow(generation);
    if (row.status !== 'grace') throw new ServiceError(ServiceErrorCode.MSL_TRANSITION, row.status === 'active' ? `Generation ${generation} is the active one: rotate first.` : `Generation ${generation} is already ${row.status}.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    this.write(store, () => {
      store.mslTokenKeys.retire(generation, at);
      store.audit.append({ at, action: 'msl.keys-retire', outcome: 'ok', subject: String(generation), details: { reason: 'operator' } });
    });
    return tokenKeyView(store.mslTokenKeys.get(generation)!);
  }

  /** Erases a retired generation's keys for good. */
  destroyTokenKeys(generation: number): MslTokenKeyView {
    const row = this.tokenKeyRow(generation);
    if (row.status !== 'retired') throw new ServiceError(ServiceErrorCode.MSL_TRANSITION, row.status === 'destroyed' ? `Generation ${generation} is already destroyed.` : `Generation ${generation} is ${row.status}: only a retired generation can be destroyed.`);
    const store = this.session.store();
    const at = this.now().toISOString();
    this.write(store, () => {
      store.mslTokenKeys.destroy(generation, at);
      store.audit.append({ at, action: 'msl.keys-destroy', outcome: 'ok', subject: String(generation), details: { kcvEnc: row.kcv_enc, kcvHmac: row.kcv_hmac } });
    });
    store.checkpoint();
    return tokenKeyView(store.mslTokenKeys.get(generation)!);
  }

  /**
   * The keys a master token is issued with (the first, active) and verified with (active, then
   * grace generations whose grace has not ended), as copies the caller zeroes. Empty when the
   * store has none (a store from before schema 8: msl keys rotate). Opened once, and again only
   * when the generations change.
   */
  tokenKeys(): MslTokenKeys[] {
    const store = this.session.store();
    const keys = this.tokenKeyCache.get(store, () => store.mslTokenKeys.usable().map((r) => ({
      generation: r.generation,
      status: r.status,
      graceUntil: r.grace_until,
      encryptionKey: store.sealer.unseal(mslTokenKeyBinding(r.generation, 'enc'), r.encryption_key),
      hmacKey: store.sealer.unseal(mslTokenKeyBinding(r.generation, 'hmac'), r.hmac_key),
    })));
    // A grace period ends with time, not with a write: checked on every call.
    const now = this.now().toISOString();
    return keys.filter((k) => k.graceUntil === null || k.graceUntil > now)
      .map((k) => ({ generation: k.generation, status: k.status, encryptionKey: secretCopy(k.encryptionKey), hmacKey: secretCopy(k.hmacKey) }));
  }
}

/** keyFromHex, its refusal marked as a master-token key's (MSL_TOKEN_KEYS), so the app's advice speaks of msl.key.enc/hmac, not a device's keys. */
function tokenKeyFromHex(value: string, name: string, length: number): Buffer {
  try {
    return keyFromHex(value, name, length);
  } catch (e) {
    if (e instanceof ServiceError && e.code === ServiceErrorCode.INVALID_KEY) throw new ServiceError(e.code, e.message, undefined, MSL_TOKEN_KEYS_REASON);
    throw e;
  }
}

function noIdentity(): ServiceError {
  return new ServiceError(ServiceErrorCode.MSL_NOT_FOUND, 'This store has no MSL server identity yet: create one (keyladder msl identity create) or import the one your MSL clients pin (keyladder msl identity import).');
}
