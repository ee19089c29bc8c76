// Reading and verifying the audit log (appends happen with each change).

import type { AuditCheckpoint } from '../../db/checkpoint.js';
import type { AuditApi } from './api.js';
import type { Delivery } from './delivery.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkInteger } from './keyInput.js';
import { signAsKeyLadder } from './keyring.js';
import type { StoreSession } from './session.js';
import type { AuditEntry, AuditQuery, AuditVerification } from './types.js';

/** The JWS header's typ of a signed audit export. */
export const AUDIT_EXPORT_TYP = 'keyladder-audit+jws';
/** Entries in one export at most: the JWS is built in memory. */
const MAX_EXPORT_ENTRIES = 100_000;

export interface SignedAuditExport {
  /** A compact JWS (ES256 by this KeyLadder's signing key, kid in the header); its payload is AuditExportPayload. */
  readonly jws: string;
  readonly from: number;
  readonly to: number;
  readonly signer: string;
}

/** What the JWS signs: entries from..to and the chain's MAC at `to`, which `audit checkpoint` and `verify --checkpoint` speak of too. */
export interface AuditExportPayload {
  readonly format: 'keyladder-audit-export';
  readonly version: 1;
  readonly storeId: string;
  readonly exportedAt: string;
  readonly from: number;
  readonly to: number;
  readonly head: { readonly seq: number; readonly mac: string };
  readonly entries: readonly AuditEntry[];
}

export class AuditService implements AuditApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date = () => new Date()) {}

  /**
   * A checkpoint of the chain's head for the operator to keep outside the
   * store (`verify --checkpoint` holds the store against it later). Its own
   * audit record comes first, so the checkpoint covers it; with `delivery`,
   * the checkpoint (as JSON text) is delivered inside the record's
   * transaction, so a failed write rolls the record back.
   */
  checkpoint(delivery?: Delivery): AuditCheckpoint {
    this.session.flushPending();
    const store = this.session.store();
    const at = this.now().toISOString();
    let delivered = false;
    let checkpoint: AuditCheckpoint;
    try {
      checkpoint = store.transaction(() => {
        store.audit.append({ at, action: 'audit.checkpoint', outcome: 'ok', subject: null, details: { seq: store.audit.head().seq + 1 } });
        const made = store.auditCheckpoint(at);
        delivery?.write(JSON.stringify(made, null, 2));
        delivered = true;
        return made;
      });
    } catch (e) {
      // The commit failed after the file was written: no record, no file (the one it replaced comes back).
      if (delivered) delivery?.undo();
      throw e;
    }
    // Committed: the file stands, and what it replaced is dropped.
    delivery?.done();
    return checkpoint;
  }

  /**
   * Entries `from` to `to` (default: the whole log, this export's own record
   * included), signed by this KeyLadder, so anyone holding its public JWKS
   * can check them without the store. The record of the export comes first;
   * a range that does not exist is refused before it, changing nothing.
   *
   * With `delivery`, the JWS is delivered once signed. Its "ok" record is
   * inside what it signs, so it cannot wait for the file as other exports'
   * records do; a delivery that fails (a full or failing disk, after the
   * caller's checks) gets a second record, outcome "refused", naming the
   * failure's code (never the path), so the log does not end on an "ok" for
   * a file that was never written.
   */
  async exportSigned(range: { readonly from?: number; readonly to?: number } = {}, delivery?: Delivery): Promise<SignedAuditExport> {
    this.session.flushPending();
    const store = this.session.store();
    const last = store.audit.head().seq + 1;
    const from = checkInteger(range.from ?? 1, 'from', 1, last);
    const to = checkInteger(range.to ?? last, 'to', from, last);
    if (to - from + 1 > MAX_EXPORT_ENTRIES) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Export at most ${MAX_EXPORT_ENTRIES.toLocaleString('en-US')} entries at a time (--from, --to).`);
    const at = this.now().toISOString();
    const payload = store.transaction((): AuditExportPayload => {
      store.audit.append({ at, action: 'audit.export', outcome: 'ok', subject: null, details: { from, to } });
      const entries = (store.audit.list({ beforeSeq: to + 1, limit: to - from + 1 }) as AuditEntry[]).reverse();
      return { format: 'keyladder-audit-export', version: 1, storeId: store.storeId, exportedAt: at, from, to, head: { seq: to, mac: store.audit.macAt(to)!.toString('hex') }, entries };
    });
    const { jws, kid } = await signAsKeyLadder(store, Buffer.from(JSON.stringify(payload), 'utf8'), { typ: AUDIT_EXPORT_TYP, cty: 'json' });
    if (delivery !== undefined) {
      try {
        delivery.write(jws);
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        try {
          store.audit.append({ at: this.now().toISOString(), action: 'audit.export', outcome: 'refused', subject: null, details: { from, to, reason: typeof code === 'string' ? code : 'WRITE_FAILED' } });
        } catch {
          // The write's failure is the one the operator must see; a log that cannot take this record either
          // will refuse the next operation in its own words.
        }
        throw e;
      }
      delivery.done();
    }
    return { jws, from, to, signer: kid };
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
