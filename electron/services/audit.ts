// Reading and verifying the audit log (appends happen with each change).

import type { AuditCheckpoint } from '../../db/checkpoint.js';
import type { AuditApi } from './api.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger } from './keyInput.js';
import type { StoreSession } from './session.js';
import type { AuditEntry, AuditQuery, AuditVerification } from './types.js';

export class AuditService implements AuditApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date = () => new Date()) {}

  /**
   * A checkpoint of the chain's head for the operator to keep outside the
   * store (`verify --checkpoint` holds the store against it later). Its own
   * audit record comes first, so the checkpoint covers it.
   */
  checkpoint(): AuditCheckpoint {
    this.session.flushPending();
    const store = this.session.store();
    const at = this.now().toISOString();
    return store.transaction(() => {
      store.audit.append({ at, action: 'audit.checkpoint', outcome: 'ok', subject: null, details: { seq: store.audit.head().seq + 1 } });
      return store.auditCheckpoint(at);
    });
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const limit = checkInteger(query.limit ?? 100, 'limit', 1, 10_000);
    if (query.outcome !== undefined && query.outcome !== 'ok' && query.outcome !== 'refused') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The outcome filter is "ok" or "refused".');
    if (query.beforeSeq !== undefined) checkInteger(query.beforeSeq, 'beforeSeq', 1, Number.MAX_SAFE_INTEGER);
    this.session.flushPending();
    return this.session.store().audit.list({ ...query, limit }) as AuditEntry[];
  }

  verify(): AuditVerification {
    this.session.flushPending();
    return this.session.store().audit.verify();
  }
}
