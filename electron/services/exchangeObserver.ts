// What the exchange service tells an observer (serve's metrics, electron/server/metrics.ts):
// counts and times only, never an identity or a key.

export interface ExchangeObserver {
  /** A batched write of exchange records: ok (with the records it wrote), busy (another writer held the lock) or failed. */
  auditWrite?(outcome: 'ok' | 'busy' | 'failed', records: number): void;
  /** A device looked up in the store for an exchange. */
  storeLookup?(result: 'found' | 'not_found' | 'error', seconds: number): void;
}
