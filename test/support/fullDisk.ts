// A full disk, for one store connection: SQLite's max_page_count set to the
// database's current size makes every write that needs a new page fail with
// SQLITE_FULL, exactly as a full file system does, until it is raised again.
// (Reached through the services' private fields: tests only.)
import type Database from 'better-sqlite3-multiple-ciphers';
import type { KeyLadderRuntime } from '../../electron/services/index.js';

function storeDb(services: KeyLadderRuntime): Database.Database {
  const session = (services.store as unknown as { session: { store(): unknown } }).session;
  return (session.store() as { db: Database.Database }).db;
}

export function fillDisk(services: KeyLadderRuntime): void {
  const db = storeDb(services);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
}

export function freeDisk(services: KeyLadderRuntime): void {
  storeDb(services).pragma('max_page_count = 4294967294');
}
