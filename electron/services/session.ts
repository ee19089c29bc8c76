// The one unlocked store a process holds, or none. Services ask it for the
// store at the moment of use, so a lock takes effect at once everywhere.

import { KeyStore } from '../../db/store.js';
import { StoreHold } from '../../db/storeHold.js';
import { StoreError, StoreErrorCode, storeReplacedError } from '../../db/errors.js';

export class StoreSession {
  private current: KeyStore | undefined;
  private readonly flushers: Array<() => void> = [];
  private readonly lockers: Array<() => void> = [];

  constructor(readonly dir: string) {}

  get unlocked(): boolean {
    return this.current?.isOpen === true;
  }

  store(): KeyStore {
    // A store that locked itself because its file was replaced says so (STORE_REPLACED), not just "locked".
    if (this.current?.replaced === true) throw storeReplacedError();
    if (!this.current?.isOpen) throw new StoreError(StoreErrorCode.STORE_LOCKED, 'The store is locked. Unlock it with its passphrase first.');
    return this.current;
  }

  set(store: KeyStore): void {
    this.lock();
    this.current = store;
  }

  /** Buffered writes (exchange records) that must reach the store before a read or a lock. */
  onFlush(fn: () => void): void {
    this.flushers.push(fn);
  }

  /** Runs just before the store locks, after the buffered writes (the app remembers its audit head). */
  onLock(fn: () => void): void {
    this.lockers.push(fn);
  }

  /** Writes what is buffered, so that reads see every exchange so far. */
  flushPending(): void {
    if (this.current?.isOpen) for (const fn of this.flushers) fn();
  }

  /**
   * Locks the store holding it alone, for a restore (db/store.ts, lockAlone):
   * refused with STORE_IN_USE while another process has it open, and then the
   * store stays unlocked and everything using it (the responder) goes on.
   * The caller releases the hold.
   */
  async lockAlone(then: string): Promise<StoreHold> {
    const store = this.current;
    if (!store?.isOpen) {
      this.current = undefined;
      return StoreHold.exclusive(this.dir, then);
    }
    this.flushPending();
    const alone = await store.lockAlone(then, () => { for (const fn of this.lockers) fn(); });
    this.current = undefined;
    return alone;
  }

  lock(): void {
    if (!this.current) return;
    this.flushPending();
    for (const fn of this.lockers) fn();
    this.current.lock();
    this.current = undefined;
  }
}
