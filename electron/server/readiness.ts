// GET /v1/ready's view of the services: a worker is not ready while the
// responder is still starting, while its store is locked, or while exchanges
// are refused because their audit records cannot be written (the audit log
// fails closed: services/exchangeRecorder.ts). Draining is the door's own
// state (httpResponder.ts). /v1/health stays the liveness check: it answers
// 200 in all of these.

import type { KeyLadderRuntime } from '../services/index.js';
import type { NotReadyReason } from './httpResponder.js';

export function servicesReadiness(services: Pick<KeyLadderRuntime, 'store' | 'exchanges'>, started: () => boolean): () => NotReadyReason | undefined {
  return () => {
    if (!started()) return 'STARTING';
    if (!services.store.status().unlocked) return 'STORE_LOCKED';
    if (services.exchanges.auditRefusal() !== undefined) return 'AUDIT_UNAVAILABLE';
    return undefined;
  };
}
