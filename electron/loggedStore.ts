// The app's store calls, written to the app's log (appLog.ts): create,
// unlock, lock (with why), rekey, restore and a passphrase change, each with
// its outcome and, when refused, its error code. Never an argument: the
// passphrases, the operator's name and the files stay out of the log.

import type { AppLog, AppLogEvent } from './appLog.js';
import type { StoreApi } from './services/api.js';

export type LockReason = 'operator' | 'idle' | 'system';

export interface LoggedStore extends StoreApi {
  /** Locks, logging why (the idle timer, the screen locking, the Lock button). */
  lockFor(reason: LockReason): void;
}

export function loggedStore(store: StoreApi, log: Pick<AppLog, 'info' | 'failure'>): LoggedStore {
  const logged = async <T>(event: AppLogEvent, call: () => Promise<T>): Promise<T> => {
    try {
      const value = await call();
      log.info(event, { outcome: 'ok' });
      return value;
    } catch (error) {
      log.failure(event, error, { outcome: 'refused' }, 'warn');
      throw error;
    }
  };
  const lockFor = (reason: LockReason): void => {
    store.lock();
    log.info('store.lock', { reason });
  };
  return {
    status: () => store.status(),
    create: (passphrase, join, operator) => logged('store.create', () => store.create(passphrase, join, operator)),
    unlock: (passphrase, operator) => logged('store.unlock', () => store.unlock(passphrase, operator)),
    lock: () => lockFor('operator'),
    lockFor,
    changePassphrase: (current, next) => logged('store.passphrase-change', () => store.changePassphrase(current, next)),
    rekey: (passphrase, next, reason) => logged('store.rekey', () => store.rekey(passphrase, next, reason)),
    backup: (file, onProgress, force) => store.backup(file, onProgress, force),
    restore: (file, passphrase, options) => logged('store.restore', () => store.restore(file, passphrase, options)),
    previewRestore: (file, passphrase, options) => store.previewRestore(file, passphrase, options),
    verify: (checkpoint) => store.verify(checkpoint),
  };
}
