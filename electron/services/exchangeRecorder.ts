// Exchange bookkeeping and audit records, written in batches.
//
// Every answer (and every refusal) updates the device's bookkeeping and appends
// an audit record. Writing each in its own transaction costs an fsync per
// exchange; instead records are buffered and flushed in one transaction when
// 256 have gathered or 20 ms have passed, and always before the store locks or
// the process exits. A crash can lose at most the last 20 ms of exchange
// records; it can never lose or tear a key change, which is written at once.

import type { KeyStore } from '../../db/store.js';
import type { AuditRecord } from '../../db/repositories/audit.js';
import type { ExchangeMark } from '../../db/repositories/devices.js';

export interface ExchangeRecord {
  readonly audit: AuditRecord;
  /** Present for answered exchanges of a provisioned device. */
  readonly mark?: ExchangeMark;
  /** The generation that issued the answer's wrapdata. */
  readonly generation?: number;
}

export class ExchangeRecorder {
  private pending: ExchangeRecord[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: () => KeyStore,
    private readonly batched: boolean,
    private readonly maxBatch = 256,
    private readonly maxDelayMs = 20,
  ) {}

  record(entry: ExchangeRecord): void {
    this.pending.push(entry);
    if (!this.batched || this.pending.length >= this.maxBatch) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
      this.timer.unref();
    }
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const store = this.store();
    const perGeneration = new Map<number, number>();
    for (const r of batch) if (r.generation !== undefined) perGeneration.set(r.generation, (perGeneration.get(r.generation) ?? 0) + 1);
    store.transaction(() => {
      store.devices.markExchanges(batch.flatMap((r) => (r.mark ? [r.mark] : [])));
      store.issuers.addExchanges(perGeneration);
      store.audit.append(...batch.map((r) => r.audit));
    });
  }
}
