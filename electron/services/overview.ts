// The store at a glance: what the Overview screen shows after an unlock. Every
// count is an SQL aggregate, so the answer costs the same for 100 devices as
// for 100,000, and for a short audit log as for a long one.

import type { IssuerApi, OverviewApi } from './api.js';
import type { StoreSession } from './session.js';
import type { StoreService } from './storeService.js';
import type { StoreOverview } from './types.js';
import { lowDiskWarning } from './diskSpace.js';

/** How far back the refusals go. */
export const REFUSAL_WINDOW_MS = 24 * 60 * 60 * 1000;

export class OverviewService implements OverviewApi {
  constructor(
    private readonly session: StoreSession,
    private readonly store: Pick<StoreService, 'sizeBytes' | 'lastVerification' | 'diskSpace'>,
    private readonly issuers: Pick<IssuerApi, 'list'>,
    private readonly now: () => Date,
  ) {}

  get(): StoreOverview {
    this.session.flushPending();
    const store = this.session.store();
    const census = store.devices.census();
    const countOf = (status: 'active' | 'revoked') => census.byStatus.find((s) => s.status === status)?.count ?? 0;
    const since = new Date(this.now().getTime() - REFUSAL_WINDOW_MS).toISOString();
    const byCode = store.audit.refusalsByCode(since);
    const msl = store.audit.mslMessagesSince(since);
    const disk = this.store.diskSpace();
    const head = store.audit.head();
    const [backup] = store.audit.list({ action: 'store.backup', outcome: 'ok', limit: 1 });
    return {
      fileBytes: this.store.sizeBytes(),
      disk: disk === undefined ? null : { ...disk, ...(disk.low ? { warning: lowDiskWarning(disk) } : {}) },
      lastVerify: this.store.lastVerification(),
      generations: this.issuers.list(),
      devices: { total: countOf('active') + countOf('revoked'), active: countOf('active'), revoked: countOf('revoked'), deleted: store.tombstones.count(), byGroup: census.byGroup },
      refusals: { since, total: byCode.reduce((n, c) => n + c.count, 0), byCode },
      msl: { since, messages: msl.messages, refused: msl.refused, byError: msl.byCode },
      auditHead: { seq: head.seq, macPrefix: head.mac.subarray(0, 8).toString('hex') },
      lastBackup: backup === undefined ? null : { at: backup.at, file: typeof backup.details['file'] === 'string' ? backup.details['file'] : null },
    };
  }
}
