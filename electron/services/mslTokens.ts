// The responder's master-token bookkeeping (MSL's TokenFactory): serial numbers
// issued, the newest sequence number of each, and the non-replayable ids
// accepted under each. Every check-and-record is one statement in the store
// (db/repositories/mslTokens.ts), so serve's worker processes agree: an id is
// accepted once, a token renewed once. Nothing here is audited: the
// responder's exchange records say what was issued.

import { randomBytes } from 'node:crypto';
import { MSL_MAX_LONG, SERIAL_RETENTION_MS, type MslTokenRow, type NonReplayableVerdict } from '../../db/repositories/mslTokens.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { DEFAULT_NON_REPLAYABLE_WINDOW, mslTimes } from './mslSettings.js';
import type { StoreSession } from './session.js';

/** How far ahead of the largest accepted a non-replayable id may be, unless the store's settings say otherwise (MSL: msl.mtoken.non_replay_id_window, TokenFactory's 65536). */
export const NON_REPLAYABLE_WINDOW = DEFAULT_NON_REPLAYABLE_WINDOW;
/**
 * How far behind the largest accepted an id is still "replayed" (the sender
 * recovers by sending a larger one) rather than unrecoverable: MSL's server
 * takes MslConstants.MAX_MESSAGES / 2, the messages of one exchange.
 */
export const NON_REPLAYABLE_CATCHUP = 6;
/** Renewals whose responses may go missing before a serial's older token may no longer renew (MSL: msl.mtoken.max_skipped). */
export const MAX_SKIPPED_RENEWALS = 5;

export type RenewalResult = { readonly ok: true; readonly sequence: number } | { readonly ok: false; readonly error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' };
export type NonReplayableResult = Exclude<NonReplayableVerdict, 'UNKNOWN_SERIAL'> | 'NONREPLAYABLE_ID_OUT_OF_RANGE' | 'MASTERTOKEN_UNTRUSTED';

function checkMslInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MSL_MAX_LONG) {
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `${what} must be a whole number from 0 to 2^53.`);
  }
  return value;
}

/** A random serial number, 0 to 2^53 - 1. */
function randomSerial(): number {
  const bytes = randomBytes(8);
  return Number(bytes.readBigUInt64BE() & ((1n << 53n) - 1n));
}

/**
 * `adoptUnknown`: the caller has verified the token under this store's master-token keys, so a
 * serial with no row is taken up at the token's sequence number (MslTokenRepository.adopt)
 * instead of refused: an MSL server sharing the keys issued it, or its first contact's row is
 * still in a worker's batch.
 */
export interface AdoptOption {
  readonly adoptUnknown?: boolean;
}

export class MslTokenService {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  private expiresAt(expiresAt: Date | undefined): string {
    return (expiresAt ?? new Date(this.now().getTime() + mslTimes(this.session.store()).expiration * 1000)).toISOString();
  }

  /**
   * A new serial number for a master token issued to `identity`, at sequence number 0, its token
   * valid until `expiresAt` (default: now + the store's expiration). Serials remembered past
   * their retention are forgotten in the same transaction.
   */
  allocateSerial(identity: string, expiresAt?: Date): number {
    if (typeof identity !== 'string' || identity.length === 0) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A master token names an identity.');
    const store = this.session.store();
    const at = this.now();
    const expires = this.expiresAt(expiresAt);
    return store.transaction(() => {
      store.mslTokens.pruneExpired(new Date(at.getTime() - SERIAL_RETENTION_MS).toISOString());
      for (;;) {
        const serial = randomSerial();
        if (store.mslTokens.insert({ serial, identity, at: at.toISOString(), expiresAt: expires })) return serial;
      }
    });
  }

  /**
   * A serial number for a first contact's master token, drawn but not written: the responder
   * records it with its exchange's batched audit record (ExchangeRecorder), so a first contact
   * costs no transaction of its own. Among 2^53 values a collision is negligible, and harmless:
   * the batch's insert leaves the first row, and the second token is adopted when it comes back.
   */
  drawSerial(): number {
    return randomSerial();
  }

  /**
   * Renews the token of `serial` presented at sequence number `presented`: the newest one of the
   * serial, or the one it was renewed from if that renewal's response was lost (fewer than
   * MAX_SKIPPED_RENEWALS times). Returns the new sequence number, recorded; or
   * MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC (an older token, another identity, an unknown serial).
   */
  recordRenewal(serial: number, identity: string, presented: number, expiresAt?: Date, options: AdoptOption = {}): RenewalResult {
    checkMslInteger(serial, 'A serial number');
    checkMslInteger(presented, 'A sequence number');
    const store = this.session.store();
    const expires = this.expiresAt(expiresAt);
    const at = this.now().toISOString();
    // Relaxed durability: still one statement under the write lock, so two workers never renew one
    // token twice; only an OS crash or power cut can lose the last renewals (the token then renews
    // once more, through a key exchange that needs the device's keys anyway). A fsync per renewal
    // capped the store at about 290 a second.
    const sequence = store.transaction(() => {
      if (options.adoptUnknown) store.mslTokens.adopt({ serial, identity, sequence: presented, at, expiresAt: expires });
      return store.mslTokens.renew({ serial, identity, presented, maxSkipped: MAX_SKIPPED_RENEWALS, at, expiresAt: expires });
    }, 'relaxed');
    return sequence === undefined ? { ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' } : { ok: true, sequence };
  }

  /** The newest sequence number issued under `serial`, if the serial is known. */
  newestSequence(serial: number): number | undefined {
    checkMslInteger(serial, 'A serial number');
    return this.session.store().mslTokens.get(serial)?.sequence;
  }

  /** The bookkeeping of one serial (tests, forensics). */
  serial(serial: number): MslTokenRow | undefined {
    checkMslInteger(serial, 'A serial number');
    return this.session.store().mslTokens.get(serial);
  }

  /**
   * MSL's acceptNonReplayableId for a master token of `serial` issued to `identity`: 'accepted'
   * (and recorded) or the MSL error to answer with. A serial this store did not issue, or issued
   * to another identity, is MASTERTOKEN_UNTRUSTED.
   */
  acceptNonReplayableId(serial: number, identity: string, id: number, options: AdoptOption & { readonly sequence?: number; readonly expiresAt?: Date; readonly window?: number } = {}): NonReplayableResult {
    checkMslInteger(serial, 'A serial number');
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MSL_MAX_LONG) return 'NONREPLAYABLE_ID_OUT_OF_RANGE';
    const store = this.session.store();
    const expires = options.adoptUnknown ? this.expiresAt(options.expiresAt) : '';
    // Fully durable, unlike a renewal: an id accepted and then lost to a power cut could be replayed.
    const verdict = store.transaction(() => {
      if (options.adoptUnknown) store.mslTokens.adopt({ serial, identity, sequence: checkMslInteger(options.sequence ?? 0, 'A sequence number'), at: this.now().toISOString(), expiresAt: expires });
      return store.mslTokens.acceptNonReplayableId(serial, identity, id, options.window ?? NON_REPLAYABLE_WINDOW, NON_REPLAYABLE_CATCHUP);
    });
    return verdict === 'UNKNOWN_SERIAL' ? 'MASTERTOKEN_UNTRUSTED' : verdict;
  }
}
