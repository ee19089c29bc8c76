// The master-token key generations (migration 008), like Kissuer's
// (issuers.ts): rows only; the lifecycle is the service's (mslKeys.ts).

import type { Db } from '../connection.js';

export type MslTokenKeyStatus = 'active' | 'grace' | 'retired' | 'destroyed';
export type MslTokenKeyOrigin = 'generated' | 'imported-msl';

export interface MslTokenKeyRow {
  readonly generation: number;
  readonly status: MslTokenKeyStatus;
  readonly origin: MslTokenKeyOrigin;
  readonly kcv_enc: string | null;
  readonly kcv_hmac: string | null;
  readonly created_at: string;
  readonly activated_at: string | null;
  readonly grace_until: string | null;
  readonly retired_at: string | null;
  readonly destroyed_at: string | null;
}

export interface MslTokenKeySealed {
  readonly generation: number;
  readonly status: 'active' | 'grace';
  readonly grace_until: string | null;
  readonly encryption_key: Buffer;
  readonly hmac_key: Buffer;
}

const COLUMNS = 'generation, status, origin, kcv_enc, kcv_hmac, created_at, activated_at, grace_until, retired_at, destroyed_at';

export class MslTokenKeyRepository {
  private readonly usableStmt;
  private readonly usableShapeStmt;

  constructor(private readonly db: Db) {
    // Active first, then grace generations newest first: the order a token is tried in.
    const usable = `FROM msl_token_keys WHERE status IN ('active', 'grace') ORDER BY status = 'active' DESC, generation DESC`;
    this.usableStmt = db.prepare(`SELECT generation, status, grace_until, encryption_key, hmac_key ${usable}`);
    this.usableShapeStmt = db.prepare(`SELECT generation, grace_until ${usable}`);
  }

  nextGeneration(): number {
    return ((this.db.prepare('SELECT max(generation) FROM msl_token_keys').pluck().get() as number | null) ?? 0) + 1;
  }

  insertActive(row: { generation: number; origin: MslTokenKeyOrigin; encryptionKey: Buffer; hmacKey: Buffer; kcvEnc: string; kcvHmac: string; at: string }): void {
    this.db.prepare(`INSERT INTO msl_token_keys (generation, status, origin, encryption_key, hmac_key, kcv_enc, kcv_hmac, created_at, activated_at)
      VALUES (@generation, 'active', @origin, @encryptionKey, @hmacKey, @kcvEnc, @kcvHmac, @at, @at)`).run(row);
  }

  list(): MslTokenKeyRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_token_keys ORDER BY generation DESC`).all() as MslTokenKeyRow[];
  }

  get(generation: number): MslTokenKeyRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_token_keys WHERE generation = ?`).get(generation) as MslTokenKeyRow | undefined;
  }

  active(): MslTokenKeyRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_token_keys WHERE status = 'active'`).get() as MslTokenKeyRow | undefined;
  }

  /** The sealed keys of the active and grace generations, active first. */
  usable(): MslTokenKeySealed[] {
    return this.usableStmt.all() as MslTokenKeySealed[];
  }

  /** Just the generations usable() would return, in its order, with their grace ends: cheap, to tell whether a cached list still holds. */
  usableShape(): Array<{ generation: number; grace_until: string | null }> {
    return this.usableShapeStmt.all() as Array<{ generation: number; grace_until: string | null }>;
  }

  /** The oldest generation either of whose keys has (or, destroyed, had) one of these KCVs. */
  knownKcv(kcvEnc: string, kcvHmac: string): { generation: number; status: MslTokenKeyStatus } | undefined {
    return this.db.prepare(`SELECT generation, status FROM msl_token_keys WHERE kcv_enc = @e OR former_kcv_enc = @e OR kcv_hmac = @h OR former_kcv_hmac = @h ORDER BY generation LIMIT 1`)
      .get({ e: kcvEnc, h: kcvHmac }) as { generation: number; status: MslTokenKeyStatus } | undefined;
  }

  toGrace(generation: number, graceUntil: string): void {
    this.db.prepare(`UPDATE msl_token_keys SET status = 'grace', grace_until = ? WHERE generation = ?`).run(graceUntil, generation);
  }

  retire(generation: number, at: string): void {
    this.db.prepare(`UPDATE msl_token_keys SET status = 'retired', grace_until = NULL, retired_at = ? WHERE generation = ?`).run(at, generation);
  }

  /** Erases both keys for good (secure_delete is on); the KCVs move to former_kcv_* (knownKcv). */
  destroy(generation: number, at: string): void {
    this.db.prepare(`UPDATE msl_token_keys SET status = 'destroyed', encryption_key = NULL, hmac_key = NULL, former_kcv_enc = kcv_enc, former_kcv_hmac = kcv_hmac,
      kcv_enc = NULL, kcv_hmac = NULL, grace_until = NULL, destroyed_at = ?, retired_at = coalesce(retired_at, ?) WHERE generation = ?`).run(at, at, generation);
  }

  /** Grace periods that have ended become retired. Returns the generations retired. */
  expireGrace(now: string): number[] {
    const ended = this.db.prepare(`SELECT generation FROM msl_token_keys WHERE status = 'grace' AND grace_until <= ?`).pluck().all(now) as number[];
    for (const g of ended) this.retire(g, now);
    return ended;
  }
}
