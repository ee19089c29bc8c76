// A value read from the store (the MSL settings, the server's opened signing
// key, the opened master-token keys), kept while nothing can have changed it:
// the same store object (a lock, restore or rekey opens another one) and the
// same PRAGMA data_version (which moves when another connection, such as
// another serve worker or the CLI, committed). This connection's own writes do
// not move data_version: the service that writes forgets its cache itself.
// One pragma per use instead of the queries, each MSL message (issue 20 item 8).

import type { KeyStore } from '../../db/store.js';

export class StoreVersionCache<T> {
  private entry: { readonly store: KeyStore; readonly version: number; readonly value: T } | undefined;

  /** `dispose` zeroes what a dropped value held (opened keys). */
  constructor(private readonly dispose?: (value: T) => void) {}

  /** The cached value, or `load()`'s (cached) when the store may have changed since. */
  get(store: KeyStore, load: () => T): T {
    // The version is read BEFORE loading: a commit racing the load then moves it past what was
    // recorded, and the next call loads again (the other order could keep a stale value).
    const version = store.dataVersion();
    const entry = this.entry;
    if (entry !== undefined && entry.store === store && entry.version === version) return entry.value;
    this.forget();
    const value = load();
    this.entry = { store, version, value };
    return value;
  }

  /** Drops (and disposes of) the cached value: after a write through this connection, or a lock. */
  forget(): void {
    const entry = this.entry;
    this.entry = undefined;
    if (entry !== undefined) this.dispose?.(entry.value);
  }
}
