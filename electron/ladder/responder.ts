// The responder side of JWE_LADDER (MSL's JsonWebEncryptionLadderExchange.
// generateResponse), for PSK, MGK and WRAP.
//
// It is synchronous and pure apart from node:crypto: keys come in through a
// LadderKeySource (the store in production, a Map in tests) and bytes go out.
// Every key buffer it touches, its own or one the source handed it, is zeroed
// before it returns.

import { randomBytes } from 'node:crypto';
import { kcv } from '../jwe/kcv.js';
import { ENCODERS, encodersFor, type JweProfileEncoder } from '../jwe/encrypt.js';
import { keyWrap as detectedKeyWrap, type KeyWrapImplementation } from '../jwe/aesKeyWrap.js';
import { systemRandom, type RandomSource } from '../jwe/random.js';
import { LadderError, MslErrorCode, wrappingKeyMissing } from './errors.js';
import { CEK_LENGTH, IV_LENGTH, type JweProfileName } from '../jwe/keyKinds.js';
import { keyResponseKeydataJson, type KeyRequestData, type KeyResponseKeydata, type Mechanism } from './messages.js';
import { openWrapdata, sealWrapdata, wrapdataTag, type IssuerKey, type IssuerLookup, type OpenedWrapdata, type WrapdataFormat } from './wrapdata.js';

/** The answer of a key lookup for an identity. */
export type WrappingKeyLookup =
  | { readonly status: 'active'; readonly key: Buffer }
  | { readonly status: 'revoked' }
  | { readonly status: 'unknown' }
  /** MGK only: the device exists but belongs to no model group. */
  | { readonly status: 'no-group' };

export type IdentityStatus = 'active' | 'revoked' | 'unknown';

/**
 * Where the responder gets its keys. Every Buffer it returns belongs to the
 * responder from then on, which zeroes it after use: return copies.
 */
export interface LadderKeySource extends IssuerLookup {
  /** Kpw for PSK, the model group's Kdw for MGK. */
  wrappingKey(identity: string, mechanism: 'PSK' | 'MGK'): WrappingKeyLookup;
  /** The generation that issues new wrapdata, or undefined when none is active. */
  activeIssuer(): IssuerKey | undefined;
  /**
   * Whether the identity is provisioned here, and revoked. WRAP asks it so
   * that a revoked device cannot keep climbing on wrapdata it already holds.
   * Optional: without it the responder asks wrappingKey(identity, 'PSK') and
   * zeroes the key at once, which costs a key unseal in a real store.
   */
  identityStatus?(identity: string): IdentityStatus;
  /**
   * Optional: the wrapdata registry. When the source has it, the responder
   * names each wrapdata it opens and issues by its tag (wrapdataTag) and asks
   * this about the one that came back (with its format and the generation that
   * opened it), after it opened and before anything is issued; it throws a
   * LadderError to refuse. The result carries both tags.
   */
  judgeReturningWrapdata?(identity: string, tag: Buffer, format: WrapdataFormat, generation: number): ReturningVerdict;
  /**
   * Optional, with judgeReturningWrapdata: a WRAP decoy's stand-in for it
   * (RespondOptions.decoy), the same lookups for `tag` (registered nowhere),
   * their answer thrown away, so that a decoy costs the registry's reads as
   * an answer does.
   */
  rehearseJudgement?(identity: string, tag: Buffer): void;
  /**
   * Optional: a 16-byte buffer of the responder's own for a decoy's previous
   * key (RespondOptions.decoy), got at the cost of a real key (a store opens a
   * sealed key). The responder overwrites it with random bytes.
   */
  decoyKey?(): Buffer;
}

/**
 * What the registry says of returning wrapdata: the latest issued to the
 * identity; the one before it, back once more (the device lost our answer);
 * older than the latest (a replay or a clone: answered only under the `flag`
 * policy); a root (a PSK/MGK answer, which anyone may ask for) presented a
 * third time with no answer to it ever presented ('root-replayed': a
 * stranger's cheap fork, refused or answered like 'superseded' but never a
 * clone mark); not registered (keyladder-v1 issued by a peer, or before the
 * registry); or the old responder's bare-MSL wrapdata, answered once for a
 * device migrating from it while the operator allows it.
 */
export type ReturningVerdict = 'latest' | 'retry' | 'superseded' | 'root-replayed' | 'unregistered' | 'migrated';

/** The registry's view of one answered exchange. */
export interface RegistryTags {
  /** The tag of the wrapdata just issued. */
  readonly issued: Buffer;
  /** WRAP: the tag of the wrapdata that came back, and the verdict on it. */
  readonly returning?: { readonly tag: Buffer; readonly verdict: ReturningVerdict };
}

export interface ExchangeKcvs {
  readonly kwrap: string;
  readonly kenc: string;
  readonly khmac: string;
}

export interface ResponderResult {
  readonly keydata: KeyResponseKeydata;
  /** The keydata as MSL's JsonMslObject writes it (member order included). */
  readonly keydataJson: string;
  readonly mechanism: Mechanism;
  /** The Kissuer generation that sealed the new wrapdata. */
  readonly issuedGeneration: number;
  readonly issuedFormat: WrapdataFormat;
  /** For WRAP: the generation that opened the returning wrapdata. */
  readonly openedGeneration?: number;
  /** Only when asked for (test exchanges): KCVs of the keys just issued. */
  readonly kcv?: ExchangeKcvs;
  /** Only when the key source keeps the wrapdata registry. */
  readonly registry?: RegistryTags;
  /**
   * Only with RespondOptions.decoy: the refusal this answer stands in for. Its
   * keys were random and are gone; it answers nothing and grants nothing.
   */
  readonly refused?: Refusal;
  /**
   * Only with RespondOptions.sessionKeys (and never on a decoy): copies of Kenc
   * and Khmac as issued, for an MSL master token that must carry the same keys
   * as the JWEs. The caller owns them and must zero them.
   */
  readonly sessionKeys?: SessionKeys;
}

/** The session keys of one answer (16-byte AES-128 Kenc, 32-byte HMAC-SHA256 Khmac). */
export interface SessionKeys {
  readonly kenc: Buffer<ArrayBuffer>;
  readonly khmac: Buffer<ArrayBuffer>;
}

/** Why a request was refused, in the terms of LadderError. */
export interface Refusal {
  readonly code: MslErrorCode;
  readonly reason: string;
  readonly message: string;
}

export interface RespondOptions {
  readonly profile?: JweProfileName;
  /** Compute KCVs of the issued keys (costs three extra cipher calls). */
  readonly kcv?: boolean;
  /**
   * Answer a refusal that the identity's state or its wrapdata decides
   * (isDecoyed) with a decoy instead of throwing: the same steps and cipher
   * calls as an answer, with a random previous key and the active generation's
   * number and format over a random Kissuer key, so that its wrapdata, sent back,
   * opens nowhere. The result carries `refused`. (serve --uniform-refusals.)
   */
  readonly decoy?: boolean;
  /**
   * Return copies of Kenc and Khmac (ResponderResult.sessionKeys): the MSL
   * responder puts them in the master token it issues with the answer.
   */
  readonly sessionKeys?: boolean;
}

/**
 * The refusals that an identity's state (unknown, revoked, no model group) or
 * the wrapdata it brought back decide: the ones that would tell a caller which
 * identities exist and which are revoked.
 */
export function isDecoyed(refusal: { readonly code: string; readonly reason: string }): boolean {
  return refusal.code === MslErrorCode.ENTITY_NOT_FOUND || refusal.code === MslErrorCode.ENTITY_REVOKED
    || refusal.code === MslErrorCode.KEYX_WRAPPING_KEY_MISSING || refusal.reason === 'NO_MODEL_GROUP';
}

// One random draw per exchange, laid out as MSL draws it: the three keys, the
// kid, then a CEK and an IV per JWE.
const KWRAP = 0, KENC = 16, KHMAC = 32, KID = 64, CEKS = 72, IVS = CEKS + 3 * CEK_LENGTH;
export const EXCHANGE_RANDOM_BYTES = IVS + 3 * IV_LENGTH;

/**
 * The key lookup's refusals as decoys record them, made once: a decoy's
 * refusal costs no Error (and no stack trace), which a real answer does not make either.
 */
const DECOYED_LOOKUPS: Readonly<Record<'revoked' | 'unknown' | 'no-group', Refusal>> = {
  revoked: { code: MslErrorCode.ENTITY_REVOKED, reason: 'DEVICE_REVOKED', message: 'The device is revoked.' },
  unknown: { code: MslErrorCode.ENTITY_NOT_FOUND, reason: 'DEVICE_UNKNOWN', message: 'The device is not provisioned.' },
  'no-group': { code: MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, reason: 'NO_MODEL_GROUP', message: 'The device belongs to no model group, so MGK cannot be used.' },
};

const unavailable = (reason: string, message: string): LadderError => new LadderError(MslErrorCode.KEYX_RESPONDER_UNAVAILABLE, reason, message);

export class LadderResponder {
  private readonly encoders: Readonly<Record<JweProfileName, JweProfileEncoder>>;

  /**
   * `keyWrap` is the RFC 3394 implementation, the one this runtime detected
   * unless given (the bench passes each in turn, to compare them).
   */
  constructor(
    private readonly keys: LadderKeySource,
    private readonly random: RandomSource = systemRandom,
    private readonly defaultProfile: JweProfileName = 'msl',
    private readonly keyWrap: KeyWrapImplementation = detectedKeyWrap,
  ) {
    this.encoders = keyWrap === detectedKeyWrap ? ENCODERS : encodersFor(keyWrap);
  }

  respond(identity: string, request: KeyRequestData, options: RespondOptions = {}): ResponderResult {
    const profile = options.profile ?? this.defaultProfile;
    // Own members only: a profile named "constructor" or "__proto__" must not find Object's.
    const encoder = Object.hasOwn(this.encoders, profile) ? this.encoders[profile] : undefined;
    if (encoder === undefined) throw new LadderError(MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, 'UNKNOWN_PROFILE', 'The JWE profile is neither msl nor rfc7516.');
    const issuer = this.keys.activeIssuer();
    if (issuer === undefined) throw unavailable('NO_ACTIVE_ISSUER', 'The responder has no active Kissuer generation; create or rotate one.');
    let kprev: Buffer | undefined;
    let r: Buffer | undefined;
    let refused: Refusal | undefined;
    try {
      if (issuer.key.length !== 16) throw unavailable('ISSUER_KEY_LENGTH', 'The active Kissuer is not a 16-byte AES key.');
      let opened: OpenedWrapdata | undefined;
      let returning: RegistryTags['returning'];
      let judged = false;
      try {
        if (request.mechanism === 'WRAP') {
          // Under `decoy`, the wrapdata is opened before the revocation check, as for every identity.
          if (!options.decoy) this.refuseRevoked(identity);
          const wrapdata = request.wrapdata;
          if (wrapdata === undefined || wrapdata.length === 0) {
            throw wrappingKeyMissing(wrapdata === undefined ? 'WRAPDATA_MISSING' : 'WRAPDATA_EMPTY', 'A WRAP request must carry the wrapdata of the previous exchange.');
          }
          opened = openWrapdata(this.keys, identity, wrapdata, this.keyWrap);
          kprev = opened.kwrap;
          if (options.decoy) {
            this.balanceUnwrap(false);
            this.refuseRevoked(identity);
          }
          if (this.keys.judgeReturningWrapdata) {
            const tag = wrapdataTag(opened.kwrap, wrapdata);
            judged = true;
            returning = { tag, verdict: this.keys.judgeReturningWrapdata(identity, tag, opened.format, opened.generation) };
          }
        } else if (request.mechanism === 'PSK' || request.mechanism === 'MGK') {
          const found = this.wrappingKey(identity, request.mechanism, options.decoy === true);
          if (Buffer.isBuffer(found)) kprev = found;
          else refused = found;
        } else {
          throw new LadderError(MslErrorCode.UNIDENTIFIED_KEYX_MECHANISM, 'UNKNOWN_MECHANISM', 'The mechanism is not PSK, MGK or WRAP.');
        }
      } catch (error) {
        if (!options.decoy || !(error instanceof LadderError) || !isDecoyed(error)) throw error;
        refused = { code: error.code, reason: error.reason, message: error.message };
        // Wrapdata that failed its integrity check (a decoy's, say) cost a failed unwrap; an answer's
        // cost a successful one: each does the other too, so that both cost one of each.
        if (error.reason === 'WRAPDATA_INVALID') this.balanceUnwrap(true);
        // An answer's wrapdata goes on to the registry (its tag, three reads): so does a decoy's.
        if (request.mechanism === 'WRAP' && !judged) this.rehearseJudgement(identity, request.wrapdata);
      }
      if (refused !== undefined) {
        // The decoy: a random previous key, and the active generation over a random Kissuer.
        kprev?.fill(0);
        // A WRAP answer's previous key comes out of its wrapdata, never out of a sealed record: only
        // PSK and MGK decoys open one (an extra unseal made a WRAP decoy cost more than its answer).
        kprev = (request.mechanism === 'WRAP' ? undefined : this.keys.decoyKey?.()) ?? Buffer.alloc(16);
        this.randomize(kprev);
        opened = undefined;
        returning = undefined;
        // The issuer's key is the source's copy, the responder's own: overwritten, not the store's.
        this.randomize(issuer.key);
      }
      // A128KW says AES-128: a source that hands out another length is refused, not wrapped with AES-192/256.
      if (kprev === undefined || kprev.length !== 16) throw unavailable('WRAPPING_KEY_LENGTH', `The ${request.mechanism} wrapping key is not a 16-byte AES key.`);

      r = this.random.take(EXCHANGE_RANDOM_BYTES);
      const kwrap = r.subarray(KWRAP, KENC);
      const kenc = r.subarray(KENC, KHMAC);
      const khmac = r.subarray(KHMAC, KID);
      // MSL names the wrapping key with a random Java long; so do we.
      const kid = r.readBigInt64BE(KID).toString();
      // Every CEK is wrapped before any JWK plaintext exists, so a key wrap that fails leaves
      // no JWK unzeroed. Kenc's and Khmac's CEKs go under Kwrap together (one pass on the portable key wrap).
      const kwrapCek = this.keyWrap.wrap(kprev, cekOf(r, 0));
      const [encCek, hmacCek] = this.keyWrap.wrapEach(kwrap, [cekOf(r, 1), cekOf(r, 2)]) as [Buffer, Buffer];
      const wrapdata = sealWrapdata(issuer, identity, kwrap, opened, this.keyWrap);
      const registry: RegistryTags | undefined = this.keys.judgeReturningWrapdata
        ? { issued: wrapdataTag(kwrap, wrapdata), ...(returning === undefined ? {} : { returning }) }
        : undefined;
      const keydata: KeyResponseKeydata = {
        wrapkey: seal(encoder, encoder.jwk('wrap', kwrap, kid), r, 0, kwrapCek),
        wrapdata: wrapdata.toString('base64'),
        encryptionkey: seal(encoder, encoder.jwk('enc', kenc), r, 1, encCek),
        hmackey: seal(encoder, encoder.jwk('hmac', khmac), r, 2, hmacCek),
      };
      const result: ResponderResult = {
        keydata,
        keydataJson: keyResponseKeydataJson(keydata),
        mechanism: request.mechanism,
        issuedGeneration: issuer.generation,
        issuedFormat: issuer.format,
        ...(opened === undefined ? {} : { openedGeneration: opened.generation }),
        ...(options.kcv ? { kcv: { kwrap: kcv(kwrap, 'aes'), kenc: kcv(kenc, 'aes'), khmac: kcv(khmac, 'hmac') } } : {}),
        ...(registry === undefined ? {} : { registry }),
        ...(refused === undefined ? {} : { refused }),
        // Copies: `r` is zeroed below. A decoy grants nothing, so it has none.
        ...(options.sessionKeys && refused === undefined ? { sessionKeys: { kenc: ownCopy(kenc), khmac: ownCopy(khmac) } } : {}),
      };
      return result;
    } finally {
      r?.fill(0);
      kprev?.fill(0);
      issuer.key.fill(0);
    }
  }

  /** WRAP only: a device revoked here gets no new rung. Unknown identities pass (trusted peers answer devices they do not hold). */
  private refuseRevoked(identity: string): void {
    let status: IdentityStatus;
    if (this.keys.identityStatus) status = this.keys.identityStatus(identity);
    else {
      const found = this.keys.wrappingKey(identity, 'PSK');
      if (found.status === 'active') found.key.fill(0);
      status = found.status === 'revoked' ? 'revoked' : found.status === 'unknown' ? 'unknown' : 'active';
    }
    if (status === 'revoked') throw new LadderError(MslErrorCode.ENTITY_REVOKED, 'DEVICE_REVOKED', `Device "${identity}" is revoked.`);
  }

  /** The key, or (under `decoy`) the refusal a decoy stands in for; else the refusal is thrown. */
  private wrappingKey(identity: string, mechanism: 'PSK' | 'MGK', decoy: boolean): Buffer | Refusal {
    const found = this.keys.wrappingKey(identity, mechanism);
    if (found.status === 'active') return found.key;
    if (decoy) return DECOYED_LOOKUPS[found.status];
    switch (found.status) {
      case 'revoked':
        throw new LadderError(MslErrorCode.ENTITY_REVOKED, 'DEVICE_REVOKED', `Device "${identity}" is revoked.`);
      case 'unknown':
        throw new LadderError(MslErrorCode.ENTITY_NOT_FOUND, 'DEVICE_UNKNOWN', `Device "${identity}" is not provisioned.`);
      case 'no-group':
        throw new LadderError(MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, 'NO_MODEL_GROUP', `Device "${identity}" belongs to no model group, so MGK cannot be used.`);
    }
  }

  /** A WRAP decoy's registry lookups (LadderKeySource.rehearseJudgement), over a tag as an answer computes one. */
  private rehearseJudgement(identity: string, wrapdata: Uint8Array | undefined): void {
    if (this.keys.rehearseJudgement === undefined) return;
    const kwrap = this.random.take(16);
    try {
      this.keys.rehearseJudgement(identity, wrapdataTag(kwrap, wrapdata ?? new Uint8Array(0)));
    } finally {
      kwrap.fill(0);
    }
  }

  /** One unwrap that opens, or one that fails its integrity check, of nothing secret (see balancerFor). */
  private balanceUnwrap(opens: boolean): void {
    const b = balancerFor(this.keyWrap);
    this.keyWrap.unwrap(b.kek, opens ? b.opens : b.fails)?.fill(0);
  }

  /** Overwrites a key with random bytes (the pool's copy is zeroed at once). */
  private randomize(key: Buffer): void {
    const drawn = this.random.take(key.length);
    drawn.copy(key);
    drawn.fill(0);
  }
}

/**
 * Under `decoy`, a native key unwrap that fails its integrity check costs more
 * than one that opens (it raises an error): about 15 us here, enough to tell
 * a decoy's wrapdata from an answer's over many requests. So a WRAP that opens
 * also runs one unwrap that fails, and one that fails also runs one that opens,
 * over this pair: a random KEK and a key wrapped under it, as made and with one
 * byte flipped. They guard nothing.
 */
const balancers = new WeakMap<KeyWrapImplementation, { readonly kek: Buffer; readonly opens: Buffer; readonly fails: Buffer }>();
function balancerFor(kw: KeyWrapImplementation): { readonly kek: Buffer; readonly opens: Buffer; readonly fails: Buffer } {
  let b = balancers.get(kw);
  if (b === undefined) {
    const kek = randomBytes(16);
    const opens = kw.wrap(kek, randomBytes(16));
    const fails = Buffer.from(opens);
    fails[8]! ^= 0x01;
    b = { kek, opens, fails };
    balancers.set(kw, b);
  }
  return b;
}

/** A copy in its own memory (Buffer.from would take a slice of Node's shared pool), for the caller to zero. */
function ownCopy(key: Buffer): Buffer<ArrayBuffer> {
  const copy = Buffer.alloc(key.length);
  key.copy(copy);
  return copy;
}

const cekOf = (r: Buffer, i: number): Buffer => r.subarray(CEKS + i * CEK_LENGTH, CEKS + (i + 1) * CEK_LENGTH);

/** One JWE of the response, Base64 for the keydata, given its wrapped CEK; zeroes the JWK plaintext. */
function seal(encoder: JweProfileEncoder, jwk: Buffer, r: Buffer, i: number, wrappedCek: Buffer): string {
  try {
    const iv = r.subarray(IVS + i * IV_LENGTH, IVS + (i + 1) * IV_LENGTH);
    // The serialization is ASCII, so btoa gives its Base64 directly (natively, about 3x
    // faster here than going through a Buffer).
    return btoa(encoder.encryptWrapped(wrappedCek, jwk, cekOf(r, i), iv));
  } finally {
    jwk.fill(0);
  }
}
