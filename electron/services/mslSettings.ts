// The master-token times an MSL server issues with: the renewal window (how
// long after issue a client may ask to renew, MSL's `renewalwindow`) and the
// expiration (after which it must), in seconds. Kept in the store's meta,
// changed with an audit record; `serve` may override them for one run, through
// checkMslTimes, the same bounds.

import type { KeyStore } from '../../db/store.js';
import type { MslSettingKey } from '../../db/repositories/mslTokens.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger } from './keyInput.js';
import type { StoreSession } from './session.js';
import { StoreVersionCache } from './storeVersionCache.js';

export const DEFAULT_RENEWAL_WINDOW_SECONDS = 3600;
export const DEFAULT_EXPIRATION_SECONDS = 86_400;
/** A year: a master token is a session, not a credential. */
export const MAX_MSL_TIME_SECONDS = 365 * 86_400;

export interface MslTimes {
  /** Seconds from issue until the client may renew. */
  readonly renewalWindow: number;
  /** Seconds from issue until the token expires (at least the renewal window: MSL refuses a token that expires before its window opens). */
  readonly expiration: number;
}

/** Checks a pair of times (the store's, or `serve`'s overrides): whole seconds in bounds, expiration ≥ renewal window. */
export function checkMslTimes(times: { renewalWindow: unknown; expiration: unknown }): MslTimes {
  const renewalWindow = checkInteger(times.renewalWindow, 'The renewal window in seconds', 1, MAX_MSL_TIME_SECONDS);
  const expiration = checkInteger(times.expiration, 'The expiration in seconds', 1, MAX_MSL_TIME_SECONDS);
  if (expiration < renewalWindow) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The expiration (${expiration} s) must be at least the renewal window (${renewalWindow} s): MSL refuses a master token that expires before it may be renewed.`);
  return { renewalWindow, expiration };
}

const KEYS: Record<keyof MslTimes, MslSettingKey> = { renewalWindow: 'msl_renewal_window', expiration: 'msl_expiration' };

/** The store's times (the defaults where unset). */
export function mslTimes(store: KeyStore): MslTimes {
  const read = (key: MslSettingKey, fallback: number): number => {
    const value = store.mslTokens.setting(key);
    return value === undefined ? fallback : Number(value);
  };
  return { renewalWindow: read(KEYS.renewalWindow, DEFAULT_RENEWAL_WINDOW_SECONDS), expiration: read(KEYS.expiration, DEFAULT_EXPIRATION_SECONDS) };
}

export class MslSettingsService {
  /** Read on every MSL message: kept until another process commits or set() changes them. */
  private readonly cache = new StoreVersionCache<MslTimes>();

  constructor(private readonly session: StoreSession, private readonly now: () => Date) {
    session.onLock(() => this.cache.forget());
  }

  get(): MslTimes {
    const store = this.session.store();
    return this.cache.get(store, () => mslTimes(store));
  }

  /** Changes one or both times; the pair that results is checked as a whole. Audited (msl.settings) when something changed. */
  set(change: Partial<MslTimes>): MslTimes {
    const store = this.session.store();
    // This connection's own commit does not move data_version: forget the cached times here.
    try {
      return this.change(store, change);
    } finally {
      this.cache.forget();
    }
  }

  private change(store: KeyStore, change: Partial<MslTimes>): MslTimes {
    return store.transaction(() => {
      const before = mslTimes(store);
      const after = checkMslTimes({ renewalWindow: change.renewalWindow ?? before.renewalWindow, expiration: change.expiration ?? before.expiration });
      if (after.renewalWindow === before.renewalWindow && after.expiration === before.expiration) return after;
      store.mslTokens.setSetting(KEYS.renewalWindow, String(after.renewalWindow));
      store.mslTokens.setSetting(KEYS.expiration, String(after.expiration));
      store.audit.append({
        at: this.now().toISOString(), action: 'msl.settings', outcome: 'ok', subject: null,
        details: { renewalWindow: after.renewalWindow, expiration: after.expiration, previousRenewalWindow: before.renewalWindow, previousExpiration: before.expiration },
      });
      return after;
    });
  }
}
