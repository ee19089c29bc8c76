// Master-token bookkeeping (migration 008): per serial number, the identity,
// the newest sequence number issued, and the largest non-replayable id
// accepted. Every check-and-record is ONE UPDATE statement whose WHERE clause
// is the check, so two processes on the same store (serve's workers) cannot
// both pass it: SQLite runs a statement under the write lock, and the second
// one sees the first one's row.
//
// Also the MSL settings kept in meta (renewal window, expiration, non-replayable id window).

import type { Db } from '../connection.js';

/** MSL's MAX_LONG_VALUE (2^53): serials, sequence numbers and non-replayable ids are 0..2^53, and wrap to 0 after it. */
export const MSL_MAX_LONG = 9_007_199_254_740_992;
/** How long a serial is remembered after its newest token expired (an expired token may still be renewed). */
/** A device's last master token (MslTokenRepository.latestFor), exported for its query-plan test. */
export const MSL_LATEST_TOKEN_SQL = `SELECT serial, sequence, coalesce(renewed_at, issued_at) AS at, expires_at AS expiresAt FROM msl_tokens WHERE identity = ? ORDER BY coalesce(renewed_at, issued_at) DESC, serial DESC LIMIT 1`;

export const SERIAL_RETENTION_MS = 30 * 86_400_000;
/** Integers modulo 2^53 + 1 (not a double: written out for SQL, a BigInt in JS): the distance from one id to the next across the wrap. */
const MODULUS_SQL = '9007199254740993';
const MODULUS = 9_007_199_254_740_993n;

export interface MslTokenRow {
  readonly serial: number;
  readonly identity: string;
  readonly sequence: number;
  readonly previous_sequence: number | null;
  readonly issued_at: string;
  readonly renewed_at: string | null;
  readonly expires_at: string;
  readonly nonreplayable_id: number | null;
}

/** What acceptNonReplayableId decided, in MSL's error names. */
export type NonReplayableVerdict = 'accepted' | 'MESSAGE_REPLAYED' | 'MESSAGE_REPLAYED_UNRECOVERABLE' | 'UNKNOWN_SERIAL';

const forward = (from: string, to: string): string => `(((CAST(${to} AS INTEGER) - CAST(${from} AS INTEGER)) % ${MODULUS_SQL}) + ${MODULUS_SQL}) % ${MODULUS_SQL}`;

export class MslTokenRepository {
  private readonly getStmt;
  private readonly acceptStmt;
  private readonly renewStmt;
  private readonly insertStmt;
  private readonly adoptStmt;

  constructor(private readonly db: Db) {
    this.getStmt = db.prepare('SELECT serial, identity, sequence, previous_sequence, issued_at, renewed_at, expires_at, nonreplayable_id FROM msl_tokens WHERE serial = ?');
    // Accepted: 1 to `window` ahead of the largest accepted so far (0 before any), across the wrap.
    this.acceptStmt = db.prepare(`UPDATE msl_tokens SET nonreplayable_id = @id
      WHERE serial = @serial AND identity = @identity AND ${forward('coalesce(nonreplayable_id, 0)', '@id')} BETWEEN 1 AND @window`);
    // Renewable: the newest token of the serial, or (its response lost) the one it was renewed from,
    // while fewer than `maxSkipped` renewals went missing (MSL's ServerTokenFactory.isMasterTokenAcceptable).
    this.renewStmt = db.prepare(`UPDATE msl_tokens
      SET previous_sequence = @presented, sequence = CASE WHEN sequence = ${MSL_MAX_LONG} THEN 0 ELSE sequence + 1 END, renewed_at = @at, expires_at = @expiresAt
      WHERE serial = @serial AND identity = @identity AND (
        (previous_sequence IS NULL AND sequence = @presented)
        OR ((sequence = @presented OR previous_sequence = @presented) AND ${forward('previous_sequence', 'sequence')} < @maxSkipped))
      RETURNING sequence`).pluck();
    this.insertStmt = db.prepare(`INSERT INTO msl_tokens (serial, identity, sequence, issued_at, expires_at) VALUES (@serial, @identity, 0, @at, @expiresAt) ON CONFLICT(serial) DO NOTHING`);
    this.adoptStmt = db.prepare(`INSERT INTO msl_tokens (serial, identity, sequence, issued_at, expires_at) VALUES (@serial, @identity, @sequence, @at, @expiresAt) ON CONFLICT(serial) DO NOTHING`);
  }

  get(serial: number): MslTokenRow | undefined {
    return this.getStmt.get(serial) as MslTokenRow | undefined;
  }

  /** Records a new serial at sequence 0; false if the serial is taken (the caller draws another). */
  insert(row: { serial: number; identity: string; at: string; expiresAt: string }): boolean {
    return this.insertStmt.run(row).changes === 1;
  }

  /**
   * Takes up a serial this store has no row for, at the sequence number of a
   * token that verified under this store's master-token keys: one an MSL
   * server sharing those keys issued, or a first contact whose row is still in
   * another worker's batch. A serial already known (to any identity) is left
   * as it is: the checks then decide on its row.
   */
  adopt(row: { serial: number; identity: string; sequence: number; at: string; expiresAt: string }): void {
    this.adoptStmt.run(row);
  }

  /** The new sequence number, or undefined when the presented token is not one this serial may renew from (or the serial is unknown). */
  renew(row: { serial: number; identity: string; presented: number; maxSkipped: number; at: string; expiresAt: string }): number | undefined {
    return this.renewStmt.get(row) as number | undefined;
  }

  /**
   * MSL's TokenFactory.acceptNonReplayableId, as one statement: accepted if the
   * id is 1 to `window` past the largest accepted so far (0 before any). Otherwise
   * REPLAYED if it is the largest or up to `catchup` behind it (the sender
   * recovers by sending a larger one), else REPLAYED_UNRECOVERABLE (too far
   * ahead or behind). The refusal's kind is read after the UPDATE changed
   * nothing: only which refusal it is can depend on a racing writer.
   */
  acceptNonReplayableId(serial: number, identity: string, id: number, window: number, catchup: number): NonReplayableVerdict {
    if (this.acceptStmt.run({ serial, identity, id, window }).changes === 1) return 'accepted';
    const row = this.get(serial);
    if (row === undefined || row.identity !== identity) return 'UNKNOWN_SERIAL';
    const largest = row.nonreplayable_id ?? 0;
    const behind = (((BigInt(largest) - BigInt(id)) % MODULUS) + MODULUS) % MODULUS;
    return behind < BigInt(catchup) ? 'MESSAGE_REPLAYED' : 'MESSAGE_REPLAYED_UNRECOVERABLE';
  }

  /** Forgets serials whose newest token expired before `before`. Returns how many. */
  pruneExpired(before: string): number {
    return this.db.prepare('DELETE FROM msl_tokens WHERE expires_at < ?').run(before).changes;
  }

  /** Forgets the serials an operator's simulated device was issued (they are `identity`'s only). Returns how many. */
  forget(serials: readonly number[], identity: string): number {
    const remove = this.db.prepare('DELETE FROM msl_tokens WHERE serial = ? AND identity = ?');
    let removed = 0;
    for (const serial of serials) removed += remove.run(serial, identity).changes;
    return removed;
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM msl_tokens').pluck().get() as number;
  }

  /** The identity's most recently issued or renewed token (over the msl_tokens_identity index, migration 009). */
  latestFor(identity: string): { serial: number; sequence: number; at: string; expiresAt: string } | undefined {
    return this.db.prepare(MSL_LATEST_TOKEN_SQL).get(identity) as { serial: number; sequence: number; at: string; expiresAt: string } | undefined;
  }

  /** A setting kept in meta (renewal window, expiration, non-replayable id window), as stored; undefined when unset. */
  setting(key: MslSettingKey): string | undefined {
    return this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
  }

  setSetting(key: MslSettingKey, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}

export type MslSettingKey = 'msl_renewal_window' | 'msl_expiration' | 'msl_non_replay_window';
