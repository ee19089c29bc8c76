// The master-token times an MSL server issues with: the renewal window (how
// long after issue a client may ask to renew, MSL's `renewalwindow`) and the
// expiration (after which it must), in seconds. Kept in the store's meta,
// changed with an audit record; `serve` may override them for one run, through
// checkMslTimes, the same bounds. Beside them, the non-replayable id window
// (MSL's msl.mtoken.non_replay_id_window): how far past the largest id accepted
// under a master token the next may be.

import type { KeyStore } from '../../db/store.js';
import type { MslSettingKey } from '../../db/repositories/mslTokens.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger } from './keyInput.js';
import type { StoreSession } from './session.js';
import { StoreVersionCache } from './storeVersionCache.js';

export const DEFAULT_RENEWAL_WINDOW_SECONDS = 3600;
export const DEFAULT_EXPIRATION_SECONDS = 86_400;
/** MSL's msl.mtoken.non_replay_id_window, TokenFactory's 65536. */
export const DEFAULT_NON_REPLAYABLE_WINDOW = 65_536;
/** A year: a master token is a session, not a credential. */
export const MAX_MSL_TIME_SECONDS = 365 * 86_400;

export interface MslTimes {
  /** Seconds from issue until the client may renew. */
  readonly renewalWindow: number;
  /** Seconds from issue until the token expires (at least the renewal window: MSL refuses a token that expires before its window opens). */
  readonly expiration: number;
}

/** The non-replayable id window's bounds: MSL's TokenFactory takes at least 1; ids are below 2^53, so a window past 2^32 buys nothing. */
export const MAX_NON_REPLAYABLE_WINDOW = 2 ** 32;

/** The times and the non-replayable id window, as the app shows and changes them. */
export interface MslSettings extends MslTimes {
  /** How far past the largest non-replayable id accepted under a master token the next may be. */
  readonly nonReplayableWindow: number;
}

/** Checks a pair of times (the store's, or `serve`'s overrides): whole seconds in bounds, expiration ≥ renewal window. */
export function checkMslTimes(times: { renewalWindow: unknown; expiration: unknown }): MslTimes {
  const renewalWindow = checkInteger(times.renewalWindow, 'The renewal window in seconds', 1, MAX_MSL_TIME_SECONDS);
  const expiration = checkInteger(times.expiration, 'The expiration in seconds', 1, MAX_MSL_TIME_SECONDS);
  if (expiration < renewalWindow) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The expiration (${expiration} s) must be at least the renewal window (${renewalWindow} s): MSL refuses a master token that expires before it may be renewed.`);
  return { renewalWindow, expiration };
}

const KEYS: Record<keyof MslSettings, MslSettingKey> = { renewalWindow: 'msl_renewal_window', expiration: 'msl_expiration', nonReplayableWindow: 'msl_non_replay_window' };

const readSetting = (store: KeyStore, key: MslSettingKey, fallback: number): number => {
  const value = store.mslTokens.setting(key);
  return value === undefined ? fallback : Number(value);
};

/** The store's times (the defaults where unset). */
export function mslTimes(store: KeyStore): MslTimes {
  return { renewalWindow: readSetting(store, KEYS.renewalWindow, DEFAULT_RENEWAL_WINDOW_SECONDS), expiration: readSetting(store, KEYS.expiration, DEFAULT_EXPIRATION_SECONDS) };
}

/** The store's times and non-replayable id window (the defaults where unset). */
export function mslSettings(store: KeyStore): MslSettings {
  return { ...mslTimes(store), nonReplayableWindow: readSetting(store, KEYS.nonReplayableWindow, DEFAULT_NON_REPLAYABLE_WINDOW) };
}

const checkWindow = (value: unknown): number => checkInteger(value, 'The non-replayable id window', 1, MAX_NON_REPLAYABLE_WINDOW);

export class MslSettingsService {
  /** Read on every MSL message: kept until another process commits or set() changes them. */
  private readonly cache = new StoreVersionCache<{ readonly all: MslSettings; readonly times: MslTimes }>();

  constructor(private readonly session: StoreSession, private readonly now: () => Date) {
    session.onLock(() => this.cache.forget());
  }

  /** The master-token times. */
  get(): MslTimes {
    return this.cached().times;
  }

  /** The times and the non-replayable id window. */
  all(): MslSettings {
    return this.cached().all;
  }

  /** Both answers made once per data_version: the responder reads them on every message, without a copy each time. */
  private cached(): { readonly all: MslSettings; readonly times: MslTimes } {
    const store = this.session.store();
    return this.cache.get(store, () => {
      const all = mslSettings(store);
      return { all, times: { renewalWindow: all.renewalWindow, expiration: all.expiration } };
    });
  }

  /** The non-replayable id window the responder accepts ids in. */
  nonReplayableWindow(): number {
    return this.all().nonReplayableWindow;
  }

  /**
   * Changes one or both times, or the window; the pair of times that results is checked as a
   * whole, and nothing is written unless every value passes. Audited (msl.settings) when
   * something changed. Returns the times (use all() for the window too).
   */
  set(change: Partial<MslSettings>): MslTimes {
    const { renewalWindow, expiration } = this.setAll(change);
    return { renewalWindow, expiration };
  }

  /** set(), answering with the window too. */
  setAll(change: Partial<MslSettings>): MslSettings {
    const store = this.session.store();
    // This connection's own commit does not move data_version: forget the cached times here.
    try {
      return this.change(store, change);
    } finally {
      this.cache.forget();
    }
  }

  private change(store: KeyStore, change: Partial<MslSettings>): MslSettings {
    return store.transaction(() => {
      const before = mslSettings(store);
      const times = checkMslTimes({ renewalWindow: change.renewalWindow ?? before.renewalWindow, expiration: change.expiration ?? before.expiration });
      const after: MslSettings = { ...times, nonReplayableWindow: change.nonReplayableWindow === undefined ? before.nonReplayableWindow : checkWindow(change.nonReplayableWindow) };
      const timesChanged = after.renewalWindow !== before.renewalWindow || after.expiration !== before.expiration;
      const windowChanged = after.nonReplayableWindow !== before.nonReplayableWindow;
      if (!timesChanged && !windowChanged) return after;
      if (timesChanged) {
        store.mslTokens.setSetting(KEYS.renewalWindow, String(after.renewalWindow));
        store.mslTokens.setSetting(KEYS.expiration, String(after.expiration));
      }
      if (windowChanged) store.mslTokens.setSetting(KEYS.nonReplayableWindow, String(after.nonReplayableWindow));
      store.audit.append({
        at: this.now().toISOString(), action: 'msl.settings', outcome: 'ok', subject: null,
        details: {
          renewalWindow: after.renewalWindow, expiration: after.expiration, previousRenewalWindow: before.renewalWindow, previousExpiration: before.expiration,
          ...(windowChanged ? { nonReplayableWindow: after.nonReplayableWindow, previousNonReplayableWindow: before.nonReplayableWindow } : {}),
        },
      });
      return after;
    });
  }
}
