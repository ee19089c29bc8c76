// Deleted devices (migration 010): a tombstone per identity, and the tags of
// the wrapdata last issued to each, so that a deleted device's wrapdata is
// refused under any name. Deleting is one call inside the caller's
// transaction: the device's rows go, the tombstone comes, or neither.

import type { Db } from '../connection.js';

export interface Tombstone {
  readonly identity: string;
  readonly deleted_at: string;
  readonly kcv_kpw: string;
  readonly kcv_kpe: string | null;
  readonly kcv_kph: string | null;
}

/** What was deleted: the device's KCVs, for the audit record. */
export interface DeletedDevice {
  readonly identity: string;
  readonly group: string | null;
  readonly status: 'active' | 'revoked';
  readonly kcvKpw: string;
  readonly kcvKpe: string | null;
  readonly kcvKph: string | null;
  /** How many wrapdata tags are now refused under every identity. */
  readonly wrapdataRefused: number;
}

export class TombstoneRepository {
  private readonly getStmt;
  private readonly deviceStmt;
  private readonly tagsStmt;
  private readonly keepTagStmt;
  private readonly buryStmt;
  private readonly deleteStmts;
  private readonly tagStmt;
  private readonly reusedStmt;
  private readonly countStmt;
  private readonly epochStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare('SELECT identity, deleted_at, kcv_kpw, kcv_kpe, kcv_kph FROM deleted_devices WHERE identity = ?');
    this.deviceStmt = db.prepare(`SELECT d.id, d.identity, g.name AS "group", d.status, d.kcv_kpw AS kcvKpw, d.kcv_kpe AS kcvKpe, d.kcv_kph AS kcvKph
      FROM devices d LEFT JOIN model_groups g ON g.id = d.group_id WHERE d.identity = ?`);
    this.tagsStmt = db.prepare('SELECT tag FROM wrapdata_issued WHERE device_id = ? UNION SELECT tag FROM wrapdata_migrated WHERE device_id = ?').pluck();
    this.keepTagStmt = db.prepare('INSERT INTO deleted_wrapdata (tag, identity) VALUES (?, ?) ON CONFLICT(tag) DO NOTHING');
    this.buryStmt = db.prepare(`INSERT INTO deleted_devices (identity, deleted_at, kcv_kpw, kcv_kpe, kcv_kph) VALUES (@identity, @at, @kcvKpw, @kcvKpe, @kcvKph)
      ON CONFLICT(identity) DO UPDATE SET deletions = deletions + 1, deleted_at = excluded.deleted_at, kcv_kpw = excluded.kcv_kpw, kcv_kpe = excluded.kcv_kpe, kcv_kph = excluded.kcv_kph`);
    // Children first: they reference devices(id). secure_delete (connection.ts) zeroes the sealed keys' freed bytes.
    this.deleteStmts = ['wrapdata_issued', 'wrapdata_migrated', 'device_stats'].map((t) => db.prepare(`DELETE FROM ${t} WHERE device_id = ?`));
    this.deleteStmts.push(db.prepare('DELETE FROM devices WHERE id = ?'));
    this.tagStmt = db.prepare('SELECT identity FROM deleted_wrapdata WHERE tag = ?').pluck();
    this.reusedStmt = db.prepare('SELECT 1 FROM devices d JOIN deleted_devices t ON t.identity = d.identity WHERE d.id = ?').pluck();
    // An identity provisioned again (--reuse-identity) is a device again, not a deleted one.
    this.countStmt = db.prepare('SELECT count(*) FROM deleted_devices t WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.identity = t.identity)').pluck();
    this.epochStmt = db.prepare('SELECT deletions FROM deleted_devices WHERE identity = ?').pluck();
  }

  /** Deleted devices whose identity is not provisioned again. */
  count(): number {
    return this.countStmt.get() as number;
  }

  get(identity: string): Tombstone | undefined {
    return this.getStmt.get(identity) as Tombstone | undefined;
  }

  /**
   * Deletes the device `identity` and leaves its tombstone; undefined when no
   * such device is provisioned. Call inside a transaction.
   */
  bury(identity: string, at: string): DeletedDevice | undefined {
    const row = this.deviceStmt.get(identity) as (Omit<DeletedDevice, 'wrapdataRefused'> & { id: number }) | undefined;
    if (row === undefined) return undefined;
    const tags = this.tagsStmt.all(row.id, row.id) as Buffer[];
    for (const tag of tags) this.keepTagStmt.run(tag, identity);
    for (const stmt of this.deleteStmts) stmt.run(row.id);
    this.buryStmt.run({ identity, at, kcvKpw: row.kcvKpw, kcvKpe: row.kcvKpe, kcvKph: row.kcvKph });
    return { identity, group: row.group, status: row.status, kcvKpw: row.kcvKpw, kcvKpe: row.kcvKpe, kcvKph: row.kcvKph, wrapdataRefused: tags.length };
  }

  /**
   * The identity's epoch (migration 012): how many times a device holding it
   * was deleted, 0 when never. A master token carries the epoch it was issued
   * at, and only tokens of the current epoch belong to the device holding the
   * identity now.
   */
  epochOf(identity: string): number {
    return (this.epochStmt.get(identity) as number | undefined) ?? 0;
  }

  /** The deleted device a wrapdata (by tag) was issued to, if any. */
  deletedOwnerOf(tag: Buffer): string | undefined {
    return this.tagStmt.get(tag) as string | undefined;
  }

  /** Whether the device holds an identity that a deleted device held before it (provisioned again with --reuse-identity). */
  isReusedIdentity(deviceId: number): boolean {
    return this.reusedStmt.get(deviceId) !== undefined;
  }
}
