// Rekeying: the store's data under a new random store key, so that an old key
// file (with the passphrase it had) or a recovery key printed earlier opens
// nothing any more.
//
// The new database is built beside the old one, in restore-pending/ (the
// restore journal, db/store.ts): the schema by the same migrations, then every
// row copied in one read of the old database, with
//   - every sealed key opened under the old sealing subkey and sealed again
//     under the new one (the same bindings),
//   - the audit chain's MACs computed again under the new audit subkey (the
//     entries themselves unchanged), with the rekey's own record last.
// The new key file follows, then READY, and the swap is the restore's: a crash
// before READY leaves the old store as it was (the staging is discarded at the
// next unlock), a crash after it rolls forward at the next unlock. SQLCipher's
// PRAGMA rekey would rewrite the pages in place, but not reseal the records or
// re-MAC the chain; and in WAL mode SQLite3 Multiple Ciphers keeps the old salt.

import type { Db } from './connection.js';
import { AuditRepository, readCut, type AuditRecord } from './repositories/audit.js';
import { deviceBinding, groupBinding, issuerBinding, mslIdentityBinding, mslTokenKeyBinding, ownKeyBinding, type RecordSealer } from './sealing.js';

/** Tables copied as they are: nothing in them is sealed or MACed under the store key. */
const PLAIN_TABLES = ['device_stats', 'wrapdata_issued', 'wrapdata_migrated', 'issuer_first_issue', 'peer_revocations', 'peer_revoked_wrapdata', 'peer_lists', 'recipients', 'exchange_counts', 'msl_tokens', 'deleted_devices', 'deleted_wrapdata'] as const;
/** Tables copied below with their sealed columns resealed, or (the audit log) chained again. */
const RESEALED_TABLES = ['meta', 'model_groups', 'devices', 'issuer_generations', 'own_keys', 'msl_identities', 'msl_token_keys', 'audit_log', 'audit_cut'] as const;

/**
 * A table that a later migration adds must be named above, or the rekey would
 * leave its rows behind: refused, before anything is copied.
 */
function checkEveryTableCopied(from: Db): void {
  const known = new Set<string>([...PLAIN_TABLES, ...RESEALED_TABLES]);
  const tables = from.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
  const unknown = tables.filter((t) => !known.has(t));
  if (unknown.length > 0) throw new Error(`rekey does not know how to copy the table(s) ${unknown.join(', ')}`);
}

export interface RekeyCounts {
  readonly devices: number;
  readonly groups: number;
  readonly generations: number;
  readonly auditEntries: number;
}

type Row = Record<string, unknown>;

/** Copies every row of `from` into the freshly migrated, empty `to`. Call inside a transaction on `to`. */
export function copyResealed(from: Db, to: Db, oldSealer: RecordSealer, newSealer: RecordSealer, newAuditKey: Buffer, storeId: string, rekeyRecord: (counts: RekeyCounts) => AuditRecord): RekeyCounts {
  checkEveryTableCopied(from);
  const reseal = (binding: string, sealed: unknown): Buffer | null => {
    if (sealed === null) return null;
    const plain = oldSealer.unseal(binding, sealed as Buffer);
    try {
      return newSealer.seal(binding, plain);
    } finally {
      plain.fill(0);
    }
  };
  const copy = (table: string, rows: Iterable<Row>, transform: (row: Row) => Row = (r) => r): number => {
    let n = 0;
    let insert: ReturnType<Db['prepare']> | undefined;
    for (const row of rows) {
      const out = transform(row);
      insert ??= to.prepare(`INSERT INTO ${table} (${Object.keys(out).join(', ')}) VALUES (${Object.keys(out).map((k) => `@${k}`).join(', ')})`);
      insert.run(out);
      n += 1;
    }
    return n;
  };

  // meta: all but the audit head, which the new chain writes.
  copy('meta', from.prepare(`SELECT key, value FROM meta WHERE key != 'audit_head'`).iterate() as Iterable<Row>);
  const groups = copy('model_groups', from.prepare('SELECT * FROM model_groups ORDER BY id').iterate() as Iterable<Row>, (g) => {
    const name = g['name'] as string;
    return { ...g, kdw: reseal(groupBinding(name, 'kdw'), g['kdw']), kde: reseal(groupBinding(name, 'kde'), g['kde']), kdh: reseal(groupBinding(name, 'kdh'), g['kdh']) };
  });
  const devices = copy('devices', from.prepare('SELECT * FROM devices ORDER BY id').iterate() as Iterable<Row>, (d) => {
    const identity = d['identity'] as string;
    return { ...d, kpw: reseal(deviceBinding(identity, 'kpw'), d['kpw']), kpe: reseal(deviceBinding(identity, 'kpe'), d['kpe']), kph: reseal(deviceBinding(identity, 'kph'), d['kph']) };
  });
  const generations = copy('issuer_generations', from.prepare('SELECT * FROM issuer_generations ORDER BY generation').iterate() as Iterable<Row>, (g) => ({
    ...g,
    key: reseal(issuerBinding(g['generation'] as number), g['key']),
  }));
  copy('own_keys', from.prepare(`SELECT * FROM own_keys ORDER BY status = 'active', created_at`).iterate() as Iterable<Row>, (k) => ({
    ...k,
    private_key: reseal(ownKeyBinding(k['kid'] as string), k['private_key']),
  }));
  copy('msl_identities', from.prepare('SELECT * FROM msl_identities ORDER BY generation').iterate() as Iterable<Row>, (i) => ({
    ...i,
    private_key: reseal(mslIdentityBinding(i['generation'] as number), i['private_key']),
  }));
  copy('msl_token_keys', from.prepare('SELECT * FROM msl_token_keys ORDER BY generation').iterate() as Iterable<Row>, (k) => ({
    ...k,
    encryption_key: reseal(mslTokenKeyBinding(k['generation'] as number, 'enc'), k['encryption_key']),
    hmac_key: reseal(mslTokenKeyBinding(k['generation'] as number, 'hmac'), k['hmac_key']),
  }));
  for (const table of PLAIN_TABLES) copy(table, from.prepare(`SELECT * FROM ${table}`).iterate() as Iterable<Row>);

  // The chain again, entry for entry, under the new audit key; then the rekey's own record.
  const audit = new AuditRepository(to, newAuditKey, storeId);
  // A trimmed log: the copy starts at the same cut (same entry, same MAC), its checkpoint under the new key.
  const cut = readCut(from);
  if (cut !== undefined) audit.startAfterCut(cut);
  let auditEntries = 0;
  const batch: Array<AuditRecord & { seq: number }> = [];
  const flush = () => {
    audit.appendAt(batch);
    batch.length = 0;
  };
  for (const row of from.prepare('SELECT seq, at, action, outcome, subject, details, actor, reason FROM audit_log ORDER BY seq').iterate() as Iterable<Row>) {
    // Each entry keeps its actor and reason (migration 011), which the new MAC covers as the old one did.
    batch.push({
      seq: row['seq'] as number, at: row['at'] as string, action: row['action'] as string, outcome: row['outcome'] as 'ok' | 'refused', subject: row['subject'] as string | null, details: JSON.parse(row['details'] as string),
      actor: row['actor'] as string | null, reason: row['reason'] as string | null,
    });
    auditEntries += 1;
    if (batch.length === 1000) flush();
  }
  flush();
  const counts = { devices, groups, generations, auditEntries };
  audit.append(rekeyRecord(counts));
  return counts;
}
