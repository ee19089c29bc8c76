// GET /v1/ready's view of the services: a worker is not ready while the
// responder is still starting, while its store is locked, or while exchanges
// are refused because their audit records cannot be written (the audit log
// fails closed: services/exchangeRecorder.ts). Draining is the door's own
// state (httpResponder.ts). /v1/health stays the liveness check: it answers
// 200 in all of these. The app's responder (appResponder.ts) uses it too; it
// listens only while the store is unlocked, so it is never STARTING.

import type { NotReadyReason } from './httpResponder.js';

/** What readiness reads of the services (a serve worker's runtime; the app's responder passes its own). */
export interface ReadinessSources {
  readonly store: { status(): { readonly unlocked: boolean } };
  readonly exchanges: { auditRefusal?(): string | undefined };
}

export function servicesReadiness(services: ReadinessSources, started: () => boolean): () => NotReadyReason | undefined {
  return () => {
    if (!started()) return 'STARTING';
    if (!services.store.status().unlocked) return 'STORE_LOCKED';
    if (services.exchanges.auditRefusal?.() !== undefined) return 'AUDIT_UNAVAILABLE';
    return undefined;
  };
}
