// The MSL server identity's generations (migration 008). The schema keeps the
// invariants (one active generation; a destroyed one has no private key; a
// key id and a key pair appear once); the service decides the transitions.

import type { Db } from '../connection.js';

export type MslIdentityStatus = 'active' | 'retiring' | 'retired' | 'destroyed';
export type MslIdentityOrigin = 'generated' | 'imported';

export interface MslIdentityRow {
  readonly generation: number;
  readonly name: string;
  readonly key_id: string;
  readonly status: MslIdentityStatus;
  readonly origin: MslIdentityOrigin;
  readonly bits: number;
  readonly thumbprint: string;
  readonly public_key: Buffer;
  readonly created_at: string;
  readonly activated_at: string | null;
  readonly retired_at: string | null;
  readonly destroyed_at: string | null;
}

const COLUMNS = 'generation, name, key_id, status, origin, bits, thumbprint, public_key, created_at, activated_at, retired_at, destroyed_at';

export class MslIdentityRepository {
  private readonly activeStmt;
  private readonly privateStmt;

  constructor(private readonly db: Db) {
    this.activeStmt = db.prepare(`SELECT ${COLUMNS} FROM msl_identities WHERE status = 'active'`);
    this.privateStmt = db.prepare('SELECT private_key FROM msl_identities WHERE generation = ?').pluck();
  }

  nextGeneration(): number {
    return ((this.db.prepare('SELECT max(generation) FROM msl_identities').pluck().get() as number | null) ?? 0) + 1;
  }

  /** Inserts a new active generation (the current one must have left 'active' first). */
  insertActive(row: { generation: number; name: string; keyId: string; origin: MslIdentityOrigin; bits: number; thumbprint: string; publicKey: Buffer; privateKey: Buffer; at: string }): void {
    this.db.prepare(`INSERT INTO msl_identities (generation, name, key_id, status, origin, bits, thumbprint, public_key, private_key, created_at, activated_at)
      VALUES (@generation, @name, @keyId, 'active', @origin, @bits, @thumbprint, @publicKey, @privateKey, @at, @at)`).run(row);
  }

  list(): MslIdentityRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_identities ORDER BY generation DESC`).all() as MslIdentityRow[];
  }

  get(generation: number): MslIdentityRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_identities WHERE generation = ?`).get(generation) as MslIdentityRow | undefined;
  }

  active(): MslIdentityRow | undefined {
    return this.activeStmt.get() as MslIdentityRow | undefined;
  }

  /** The sealed private key of a generation (null once destroyed). */
  sealedPrivateKey(generation: number): Buffer | null | undefined {
    return this.privateStmt.get(generation) as Buffer | null | undefined;
  }

  /** The generation that has this key id or this key pair (by thumbprint), if any. */
  taken(keyId: string, thumbprint: string): MslIdentityRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM msl_identities WHERE key_id = ? OR thumbprint = ? ORDER BY generation LIMIT 1`).get(keyId, thumbprint) as MslIdentityRow | undefined;
  }

  toRetiring(generation: number): void {
    this.db.prepare(`UPDATE msl_identities SET status = 'retiring' WHERE generation = ?`).run(generation);
  }

  retire(generation: number, at: string): void {
    this.db.prepare(`UPDATE msl_identities SET status = 'retired', retired_at = ? WHERE generation = ?`).run(at, generation);
  }

  /** Erases the private key for good (secure_delete is on); the public key stays, it was never secret. */
  destroy(generation: number, at: string): void {
    this.db.prepare(`UPDATE msl_identities SET status = 'destroyed', private_key = NULL, destroyed_at = ?, retired_at = coalesce(retired_at, ?) WHERE generation = ?`).run(at, at, generation);
  }
}
