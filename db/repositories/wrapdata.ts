// The wrapdata registry's rows: which device each recent wrapdata was issued
// to, in what order, and how often it came back. Rows hold 16-byte keyed
// hashes (see electron/ladder/wrapdata.ts, wrapdataTag), never wrapdata.
//
// Each device keeps its last REGISTRY_DEPTH issues: enough to tell the latest
// from the one before it (a device whose answer was lost retries with that,
// once) and from a clone replaying an older one.

import type { Db } from '../connection.js';

export const REGISTRY_DEPTH = 3;

export interface RegisteredWrapdata {
  readonly tag: Buffer;
  readonly seq: number;
  readonly presented: number;
}

/** What one answered exchange changes in the registry. */
export interface RegistryUpdate {
  readonly deviceId: number;
  readonly at: string;
  /** The tag of the wrapdata just issued. */
  readonly issued: Buffer;
  /** WRAP: the tag of the wrapdata that came back, when the registry knew it. */
  readonly presented?: Buffer;
  /** The wrapdata that came back was older than the latest: mark the device. */
  readonly clone?: boolean;
}

export type ClonePolicy = 'flag' | 'refuse';
export const CLONE_POLICIES: readonly ClonePolicy[] = ['flag', 'refuse'];
const POLICY_KEY = 'clone_policy';

export class WrapdataRepository {
  private readonly ownerStmt;
  private readonly historyStmt;
  private readonly presentedStmt;
  private readonly issueStmt;
  private readonly pruneStmt;
  private readonly cloneStmt;
  private readonly clearStmt;
  private readonly policyStmt;
  private readonly setPolicyStmt;

  constructor(db: Db) {
    this.ownerStmt = db.prepare('SELECT device_id FROM wrapdata_issued WHERE tag = ?').pluck();
    this.historyStmt = db.prepare('SELECT tag, seq, presented FROM wrapdata_issued WHERE device_id = ? ORDER BY seq');
    this.presentedStmt = db.prepare('UPDATE wrapdata_issued SET presented = presented + 1 WHERE tag = ?');
    // Several processes may issue to one device (`serve --workers N`): the number is taken at write time.
    this.issueStmt = db.prepare(`INSERT INTO wrapdata_issued (tag, device_id, seq, issued_at)
      VALUES (@tag, @deviceId, (SELECT coalesce(max(seq), 0) + 1 FROM wrapdata_issued WHERE device_id = @deviceId), @at)
      ON CONFLICT(tag) DO NOTHING RETURNING seq`).pluck();
    // Issue numbers only grow, so at most one row falls out per issue: the one REGISTRY_DEPTH back.
    this.pruneStmt = db.prepare('DELETE FROM wrapdata_issued WHERE device_id = @deviceId AND seq = @seq');
    this.cloneStmt = db.prepare(`UPDATE device_stats SET clone_events = clone_events + 1,
      clone_suspected_at = coalesce(clone_suspected_at, @at) WHERE device_id = @deviceId`);
    this.clearStmt = db.prepare('UPDATE device_stats SET clone_events = 0, clone_suspected_at = NULL WHERE device_id = ? AND clone_suspected_at IS NOT NULL');
    this.policyStmt = db.prepare(`SELECT value FROM meta WHERE key = '${POLICY_KEY}'`).pluck();
    this.setPolicyStmt = db.prepare(`INSERT INTO meta (key, value) VALUES ('${POLICY_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  }

  /** The device a wrapdata (by tag) was issued to, if it is among the registered ones. */
  ownerOf(tag: Buffer): number | undefined {
    return this.ownerStmt.get(tag) as number | undefined;
  }

  /** The device's registered wrapdata, oldest first. */
  historyOf(deviceId: number): RegisteredWrapdata[] {
    return this.historyStmt.all(deviceId) as RegisteredWrapdata[];
  }

  /** Applies answered exchanges in order. Call inside a transaction. */
  apply(updates: readonly RegistryUpdate[]): void {
    for (const u of updates) {
      if (u.presented !== undefined) this.presentedStmt.run(u.presented);
      const seq = this.issueStmt.get({ tag: u.issued, deviceId: u.deviceId, at: u.at }) as number | undefined;
      if (seq !== undefined && seq > REGISTRY_DEPTH) this.pruneStmt.run({ deviceId: u.deviceId, seq: seq - REGISTRY_DEPTH });
      if (u.clone) this.cloneStmt.run({ deviceId: u.deviceId, at: u.at });
    }
  }

  /** The operator has looked into a "possible clone" mark; whether there was one. */
  clearClone(deviceId: number): boolean {
    return this.clearStmt.run(deviceId).changes === 1;
  }

  clonePolicy(): ClonePolicy {
    const value = this.policyStmt.get() as string | undefined;
    return value === 'refuse' ? 'refuse' : 'flag';
  }

  setClonePolicy(policy: ClonePolicy): void {
    this.setPolicyStmt.run(policy);
  }
}
