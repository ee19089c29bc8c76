// Where the app is: the store's status, which screen is showing, and the
// notices that outlive a screen (such as "locked after being idle").

import type { AppInfo } from '../../../electron/ipc/contract';
import type { StoreStatus } from '../../../electron/services/types';
import { asApiError, bridge, call, whenStoreLocked, type ApiError } from '../api/client';
import { responder } from './responder.svelte';

export const SCREENS = [
  { id: 'overview', label: 'Overview' },
  { id: 'devices', label: 'Devices' },
  { id: 'groups', label: 'Model groups' },
  { id: 'exchange', label: 'Test exchange' },
  { id: 'responder', label: 'Responder' },
  { id: 'kissuer', label: 'Kissuer' },
  { id: 'mslserver', label: 'MSL server' },
  { id: 'keys', label: 'Keys' },
  { id: 'jose', label: 'JOSE' },
  // Not "MSL inspector": a button named so would also answer to the JOSE screen's "Inspect" (Playwright's name match).
  { id: 'msl-inspector', label: 'MSL decoder' },
  { id: 'audit', label: 'Audit' },
  { id: 'settings', label: 'Settings' },
] as const;
export type Screen = (typeof SCREENS)[number]['id'];

const ACTIVITY_PING_MS = 30_000;

export class Session {
  status = $state.raw<StoreStatus | null>(null);
  info = $state.raw<AppInfo | null>(null);
  /** Where an unlock lands first; after a lock, the operator comes back where they were. */
  screen = $state<Screen>('overview');
  notice = $state<string | null>(null);
  loadError = $state.raw<ApiError | null>(null);
  /** A device handed from the Devices screen to Test exchange. */
  exchangeIdentity = $state<string | null>(null);
  #lastPing = 0;

  unlocked = $derived(this.status?.unlocked === true);

  async load(): Promise<void> {
    try {
      const kl = bridge();
      [this.status, this.info] = await Promise.all([call(kl.store.status()), call(kl.app.info())]);
      kl.events.onLocked(({ reason }) =>
        this.lockedByMain(
          reason === 'idle'
            ? `The store was locked after ${this.info?.settings.idleLockMinutes ?? 'some'} minutes without activity.`
            : 'The store was locked because the screen locked or the computer went to sleep.',
        ),
      );
      whenStoreLocked(() => this.lockedByMain('The store is locked. Unlock it to go on.'));
    } catch (error) {
      this.loadError = asApiError(error);
    }
  }

  /** Main locked the store: back to the unlock screen, saying why. */
  lockedByMain(notice: string): void {
    if (this.status === null || !this.status.unlocked) return;
    this.status = { ...this.status, unlocked: false };
    this.notice = notice;
    // Main stops the HTTP responder whenever the store locks.
    responder.forget();
  }

  unlockedWith(status: StoreStatus): void {
    this.status = status;
    this.notice = null;
  }

  /** A backup replaced the store, which main left locked: unlock it with the backup's passphrase. */
  restored(status: StoreStatus, file: string): void {
    this.status = status;
    this.notice = `The store was restored from ${file}. Unlock it with the passphrase that was in force when that backup was taken.`;
    responder.forget();
  }

  /** A restore failed: main may have locked the store for it, and then the unlock screen says why. */
  async afterFailedRestore(error: ApiError): Promise<void> {
    const status = await call(bridge().store.status()).catch(() => null);
    // Restoring from the unlock screen: the store was locked already, and the form shows the error.
    if (status === null || status.unlocked || !this.unlocked) return;
    this.status = status;
    const why = error.code === 'WRONG_PASSPHRASE'
      ? 'that passphrase does not open the backup (it needs the passphrase in force when the backup was taken).'
      : `${error.message} (${error.code})`;
    this.notice = `Nothing was restored: ${why} The store was locked for the attempt: unlock it with its current passphrase.`;
    responder.forget();
  }

  async lock(): Promise<void> {
    try {
      this.status = await call(bridge().store.lock());
      this.notice = 'The store is locked.';
      responder.forget();
    } catch (error) {
      this.notice = `Locking failed: ${asApiError(error).message}`;
    }
  }

  go(screen: Screen): void {
    this.screen = screen;
  }

  testExchange(identity: string): void {
    this.exchangeIdentity = identity;
    this.screen = 'exchange';
  }

  /** Operator activity (keys, pointer) keeps the idle lock away; sent at most every 30 s. */
  activity(): void {
    if (!this.unlocked) return;
    const now = Date.now();
    if (now - this.#lastPing < ACTIVITY_PING_MS) return;
    this.#lastPing = now;
    void bridge().app.touch().catch(() => undefined);
  }
}

export const session = new Session();
