// Kissuer generations. The schema keeps the invariants (one active generation;
// a destroyed one has no key; grace has an end date); this repository only
// reads and writes rows. Transitions are the issuer service's business.

import type { Db } from '../connection.js';

export type IssuerStatus = 'active' | 'grace' | 'retired' | 'destroyed';
export type IssuerFormat = 'keyladder-v1' | 'msl';
export type IssuerOrigin = 'generated' | 'imported-msl' | 'imported-peer';

export interface IssuerRow {
  readonly generation: number;
  readonly status: IssuerStatus;
  readonly format: IssuerFormat;
  readonly origin: IssuerOrigin;
  readonly kcv: string | null;
  readonly created_at: string;
  readonly activated_at: string | null;
  readonly grace_until: string | null;
  readonly retired_at: string | null;
  readonly destroyed_at: string | null;
  readonly exchange_count: number;
}

export interface IssuerKeyRow {
  readonly generation: number;
  readonly status: IssuerStatus;
  readonly format: IssuerFormat;
  readonly grace_until: string | null;
  readonly key: Buffer | null;
}

const COLUMNS = 'generation, status, format, origin, kcv, created_at, activated_at, grace_until, retired_at, destroyed_at, exchange_count';

export class IssuerRepository {
  private readonly activeStmt;
  private readonly keyStmt;
  private readonly mslStmt;
  private readonly countStmt;

  constructor(private readonly db: Db) {
    this.activeStmt = db.prepare(`SELECT generation, status, format, grace_until, key FROM issuer_generations WHERE status = 'active'`);
    this.keyStmt = db.prepare('SELECT generation, status, format, grace_until, key FROM issuer_generations WHERE generation = ?');
    this.mslStmt = db.prepare(`SELECT generation, status, format, grace_until, key FROM issuer_generations WHERE format = 'msl' AND status != 'destroyed' ORDER BY generation DESC`);
    this.countStmt = db.prepare('UPDATE issuer_generations SET exchange_count = exchange_count + ? WHERE generation = ?');
  }

  nextGeneration(): number {
    return ((this.db.prepare('SELECT max(generation) FROM issuer_generations').pluck().get() as number | null) ?? 0) + 1;
  }

  insertActive(row: { generation: number; format: IssuerFormat; origin: IssuerOrigin; key: Buffer; kcv: string; at: string }): void {
    this.db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, activated_at)
      VALUES (@generation, 'active', @format, @origin, @key, @kcv, @at, @at)`).run(row);
  }

  /** Inserts a generation received from a peer, in the status the peer gave it. */
  insertImported(row: { generation: number; status: 'grace' | 'retired'; format: IssuerFormat; key: Buffer; kcv: string; at: string; graceUntil: string | null }): void {
    this.db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, grace_until, retired_at)
      VALUES (@generation, @status, @format, 'imported-peer', @key, @kcv, @at, @graceUntil, CASE WHEN @status = 'retired' THEN @at END)`).run(row);
  }

  list(): IssuerRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM issuer_generations ORDER BY generation DESC`).all() as IssuerRow[];
  }

  get(generation: number): IssuerRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM issuer_generations WHERE generation = ?`).get(generation) as IssuerRow | undefined;
  }

  active(): IssuerKeyRow | undefined {
    return this.activeStmt.get() as IssuerKeyRow | undefined;
  }

  keyOf(generation: number): IssuerKeyRow | undefined {
    return this.keyStmt.get(generation) as IssuerKeyRow | undefined;
  }

  /** The oldest generation whose key has (or, destroyed, had) this KCV. */
  knownKcv(kcv: string): { generation: number; status: IssuerStatus } | undefined {
    return this.db.prepare('SELECT generation, status FROM issuer_generations WHERE kcv = ? OR former_kcv = ? ORDER BY generation LIMIT 1').get(kcv, kcv) as
      | { generation: number; status: IssuerStatus }
      | undefined;
  }

  /** The generations whose key is gone. */
  destroyedGenerations(): number[] {
    return this.db.prepare(`SELECT generation FROM issuer_generations WHERE status = 'destroyed'`).pluck().all() as number[];
  }

  mslKeys(): IssuerKeyRow[] {
    return this.mslStmt.all() as IssuerKeyRow[];
  }

  toGrace(generation: number, graceUntil: string): void {
    this.db.prepare(`UPDATE issuer_generations SET status = 'grace', grace_until = ? WHERE generation = ?`).run(graceUntil, generation);
  }

  retire(generation: number, at: string): void {
    this.db.prepare(`UPDATE issuer_generations SET status = 'retired', grace_until = NULL, retired_at = ? WHERE generation = ?`).run(at, generation);
  }

  /**
   * Erases the key for good: secure_delete is on, so SQLite overwrites the freed bytes.
   * The KCV leaves the kcv column (the API promises null once destroyed) for former_kcv: the
   * same key imported again must be known as this generation's (knownKcv).
   */
  destroy(generation: number, at: string): void {
    this.db.prepare(`UPDATE issuer_generations SET status = 'destroyed', key = NULL, former_kcv = kcv, kcv = NULL, grace_until = NULL, destroyed_at = ?,
      retired_at = coalesce(retired_at, ?) WHERE generation = ?`).run(at, at, generation);
  }

  /** Grace periods that have ended become retired. Returns the generations retired. */
  expireGrace(now: string): number[] {
    const ended = this.db.prepare(`SELECT generation FROM issuer_generations WHERE status = 'grace' AND grace_until <= ?`).pluck().all(now) as number[];
    for (const g of ended) this.retire(g, now);
    return ended;
  }

  addExchanges(counts: ReadonlyMap<number, number>): void {
    for (const [generation, n] of counts) this.countStmt.run(n, generation);
  }

  activeCount(): number {
    return this.db.prepare(`SELECT count(*) FROM issuer_generations WHERE status = 'active'`).pluck().get() as number;
  }
}
