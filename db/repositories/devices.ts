// Devices and their pre-shared keys (sealed), plus each device's exchange
// bookkeeping. Identity prefix search uses the identity index as a range.

import type { Db } from '../connection.js';

export type KeyOrigin = 'generated' | 'imported-kpe-kph' | 'imported-kpw';

export interface NewDevice {
  readonly identity: string;
  readonly groupId: number | null;
  readonly origin: KeyOrigin;
  readonly kpw: Buffer;
  readonly kpe: Buffer | null;
  readonly kph: Buffer | null;
  readonly kcvKpw: string;
  readonly kcvKpe: string | null;
  readonly kcvKph: string | null;
  readonly createdAt: string;
}

/** A device as listed: no key columns, sealed or not. */
export interface DeviceRow {
  readonly identity: string;
  readonly group_name: string | null;
  readonly status: 'active' | 'revoked';
  readonly origin: KeyOrigin;
  readonly kcv_kpw: string;
  readonly kcv_kpe: string | null;
  readonly kcv_kph: string | null;
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly last_exchange_at: string | null;
  readonly last_mechanism: 'PSK' | 'MGK' | 'WRAP' | null;
  readonly last_generation: number | null;
  readonly exchange_count: number;
  /** Set when a superseded wrapdata came back (a replay or a cloned device). */
  readonly clone_suspected_at: string | null;
  readonly clone_events: number;
}

/** What the responder needs for PSK and MGK, in one indexed lookup. */
export interface DeviceKeyRow {
  readonly id: number;
  readonly status: 'active' | 'revoked';
  readonly kpw: Buffer;
  readonly group_name: string | null;
  readonly kdw: Buffer | null;
}

/** What an MSL message's sender is authenticated with (PSK: Kpe/Kph; MGK: the group's), with the row's status, in one lookup. */
export interface DeviceEntityRow extends DeviceKeyRow {
  readonly kpe: Buffer | null;
  readonly kph: Buffer | null;
}

/** Sealed keys for an export bundle. */
export interface DeviceSealedKeys {
  readonly identity: string;
  readonly kpw: Buffer;
  readonly kpe: Buffer | null;
  readonly kph: Buffer | null;
}

/** A device's exchanges since the last write, coalesced. */
export interface ExchangeMark {
  readonly deviceId: number;
  readonly at: string;
  readonly mechanism: 'PSK' | 'MGK' | 'WRAP';
  readonly generation: number;
  readonly count: number;
}

const LIST_COLUMNS = `d.identity, g.name AS group_name, d.status, d.origin, d.kcv_kpw, d.kcv_kpe, d.kcv_kph, d.created_at,
  d.revoked_at, s.last_exchange_at, s.last_mechanism, s.last_generation, coalesce(s.exchange_count, 0) AS exchange_count,
  s.clone_suspected_at, coalesce(s.clone_events, 0) AS clone_events`;
const LIST_FROM = 'devices d LEFT JOIN model_groups g ON g.id = d.group_id LEFT JOIN device_stats s ON s.device_id = d.id';

/** The smallest string greater than every string that starts with `prefix`. */
const prefixEnd = (prefix: string): string => prefix + '\u{10FFFF}';

/** A set of devices named by a rule, resolved in SQL: every device, an identity prefix, or a model group's members. */
export type DeviceScope = { readonly kind: 'all' } | { readonly kind: 'prefix'; readonly prefix: string } | { readonly kind: 'group'; readonly groupId: number };

function scopeWhere(scope: DeviceScope, table = ''): { sql: string; args: unknown[] } {
  if (scope.kind === 'prefix') return { sql: `WHERE ${table}identity >= ? AND ${table}identity < ?`, args: [scope.prefix, prefixEnd(scope.prefix)] };
  if (scope.kind === 'group') return { sql: `WHERE ${table}group_id = ?`, args: [scope.groupId] };
  return { sql: '', args: [] };
}

export class DeviceRepository {
  private readonly insertStmt;
  private readonly existsStmt;
  private readonly getStmt;
  private readonly keyStmt;
  private readonly markStmt;
  private readonly statsStmt;
  private readonly revokeStmt;
  private readonly sealedStmt;
  private readonly entityStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO devices (identity, group_id, status, origin, kpw, kpe, kph, kcv_kpw, kcv_kpe, kcv_kph, created_at)
      VALUES (@identity, @groupId, 'active', @origin, @kpw, @kpe, @kph, @kcvKpw, @kcvKpe, @kcvKph, @createdAt)`);
    this.existsStmt = db.prepare('SELECT 1 FROM devices WHERE identity = ?').pluck();
    this.getStmt = db.prepare(`SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} WHERE d.identity = ?`);
    this.keyStmt = db.prepare('SELECT d.id, d.status, d.kpw, g.name AS group_name, g.kdw FROM devices d LEFT JOIN model_groups g ON g.id = d.group_id WHERE d.identity = ?');
    this.statsStmt = db.prepare('INSERT INTO device_stats (device_id) VALUES (?)');
    // Several processes may write one device's counters (`serve --workers N`), each up to a second
    // late: the count adds up, and the latest exchange stays the latest, whichever writes last.
    this.markStmt = db.prepare(`UPDATE device_stats SET
      last_mechanism = CASE WHEN last_exchange_at IS NULL OR @at >= last_exchange_at THEN @mechanism ELSE last_mechanism END,
      last_generation = CASE WHEN last_exchange_at IS NULL OR @at >= last_exchange_at THEN @generation ELSE last_generation END,
      last_exchange_at = CASE WHEN last_exchange_at IS NULL OR @at >= last_exchange_at THEN @at ELSE last_exchange_at END,
      exchange_count = exchange_count + @count WHERE device_id = @deviceId`);
    this.revokeStmt = db.prepare(`UPDATE devices SET status = 'revoked', revoked_at = ? WHERE identity = ? AND status = 'active'`);
    this.sealedStmt = db.prepare('SELECT identity, kpw, kpe, kph FROM devices WHERE identity = ?');
    this.entityStmt = db.prepare('SELECT d.id, d.status, d.kpw, d.kpe, d.kph, g.name AS group_name, g.kdw FROM devices d LEFT JOIN model_groups g ON g.id = d.group_id WHERE d.identity = ?');
  }

  insert(device: NewDevice): void {
    this.statsStmt.run(this.insertStmt.run(device).lastInsertRowid);
  }

  exists(identity: string): boolean {
    return this.existsStmt.get(identity) !== undefined;
  }

  get(identity: string): DeviceRow | undefined {
    return this.getStmt.get(identity) as DeviceRow | undefined;
  }

  keys(identity: string): DeviceKeyRow | undefined {
    return this.keyStmt.get(identity) as DeviceKeyRow | undefined;
  }

  /** keys() and Kpe/Kph at once: read for every MSL message authenticated by PSK or MGK. */
  entityKeys(identity: string): DeviceEntityRow | undefined {
    return this.entityStmt.get(identity) as DeviceEntityRow | undefined;
  }

  sealedKeys(identity: string): DeviceSealedKeys | undefined {
    return this.sealedStmt.get(identity) as DeviceSealedKeys | undefined;
  }

  revoke(identity: string, at: string): boolean {
    return this.revokeStmt.run(at, identity).changes === 1;
  }

  markExchanges(marks: readonly ExchangeMark[]): void {
    for (const m of marks) this.markStmt.run(m);
  }

  list(prefix: string, offset: number, limit: number): { total: number; rows: DeviceRow[] } {
    if (prefix === '') {
      return {
        total: this.db.prepare('SELECT count(*) FROM devices').pluck().get() as number,
        rows: this.db.prepare(`SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} ORDER BY d.identity LIMIT ? OFFSET ?`).all(limit, offset) as DeviceRow[],
      };
    }
    const end = prefixEnd(prefix);
    return {
      total: this.db.prepare('SELECT count(*) FROM devices WHERE identity >= ? AND identity < ?').pluck().get(prefix, end) as number,
      rows: this.db.prepare(`SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} WHERE d.identity >= ? AND d.identity < ? ORDER BY d.identity LIMIT ? OFFSET ?`).all(prefix, end, limit, offset) as DeviceRow[],
    };
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM devices').pluck().get() as number;
  }

  /** How many devices a scope holds, and how many of them are revoked. */
  countScope(scope: DeviceScope): { total: number; revoked: number } {
    const { sql, args } = scopeWhere(scope);
    const row = this.db.prepare(`SELECT count(*) AS total, coalesce(sum(status = 'revoked'), 0) AS revoked FROM devices ${sql}`).get(...args) as { total: number; revoked: number };
    return { total: row.total, revoked: row.revoked };
  }

  /** The identities of a scope, in identity order, at most `limit` of them. */
  identitiesOf(scope: DeviceScope, limit: number): string[] {
    const { sql, args } = scopeWhere(scope);
    return this.db.prepare(`SELECT identity FROM devices ${sql} ORDER BY identity LIMIT ?`).pluck().all(...args, limit) as string[];
  }

  /** How many of these identities are provisioned, and how many of those are revoked. */
  countIdentities(identities: readonly string[]): { total: number; revoked: number } {
    let total = 0;
    let revoked = 0;
    // In slices: SQLite takes at most 32,766 parameters.
    for (let i = 0; i < identities.length; i += 500) {
      const slice = identities.slice(i, i + 500);
      const row = this.db.prepare(`SELECT count(*) AS total, coalesce(sum(status = 'revoked'), 0) AS revoked FROM devices WHERE identity IN (${slice.map(() => '?').join(', ')})`).get(...slice) as { total: number; revoked: number };
      total += row.total;
      revoked += row.revoked;
    }
    return { total, revoked };
  }

  /** Which of these identities are provisioned. */
  provisioned(identities: readonly string[]): Set<string> {
    const found = new Set<string>();
    // In slices: SQLite takes at most 32,766 parameters.
    for (let i = 0; i < identities.length; i += 500) {
      const slice = identities.slice(i, i + 500);
      for (const id of this.db.prepare(`SELECT identity FROM devices WHERE identity IN (${slice.map(() => '?').join(', ')})`).pluck().all(...slice) as string[]) found.add(id);
    }
    return found;
  }

  /**
   * A page of a scope by cursor: the devices after identity `after` (from the
   * first when null), in identity order. A cursor, unlike an offset, costs
   * the same on the last page as on the first, and skips nothing when
   * devices are added or deleted between pages.
   */
  pageAfter(scope: DeviceScope, after: string | null, limit: number): DeviceRow[] {
    const { sql, args } = scopeWhere(scope, 'd.');
    const cursor = after === null ? '' : `${sql ? ' AND' : 'WHERE'} d.identity > ?`;
    return this.db.prepare(`SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} ${sql}${cursor} ORDER BY d.identity LIMIT ?`).all(...args, ...(after === null ? [] : [after]), limit) as DeviceRow[];
  }

  /** Devices by status, and by model group (null: no group). */
  census(): { byStatus: Array<{ status: 'active' | 'revoked'; count: number }>; byGroup: Array<{ group: string | null; count: number }> } {
    return {
      byStatus: this.db.prepare('SELECT status, count(*) AS count FROM devices GROUP BY status ORDER BY status').all() as Array<{ status: 'active' | 'revoked'; count: number }>,
      byGroup: this.db.prepare('SELECT g.name AS "group", count(*) AS count FROM devices d LEFT JOIN model_groups g ON g.id = d.group_id GROUP BY d.group_id ORDER BY count DESC, g.name').all() as Array<{ group: string | null; count: number }>,
    };
  }
}
