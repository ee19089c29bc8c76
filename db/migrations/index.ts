// Numbered migrations, each applied in its own transaction together with the
// bump of PRAGMA user_version, so a crash leaves the store at one version or the
// next. A store from a newer KeyLadder is refused before anything is written.

import type Database from 'better-sqlite3-multiple-ciphers';
import { StoreError, StoreErrorCode } from '../errors.js';
import { migration001 } from './001_initial.js';
import { migration002 } from './002_wrapdata_registry.js';
import { migration003 } from './003_peer_revocations.js';
import { migration004 } from './004_keyring.js';
import { migration005 } from './005_wrapdata_lineage.js';
import { migration006 } from './006_audit_retention.js';
import { migration007 } from './007_signer_bindings.js';
import { migration008 } from './008_msl_server.js';
import { migration009 } from './009_audit_refusals_index.js';
import { migration010 } from './010_device_tombstones.js';
import { migration011 } from './011_audit_actor.js';
import { migration012 } from './012_device_epochs.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007, migration008, migration009, migration010, migration011, migration012];
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function refuseNewer(version: number): void {
  if (version > LATEST_VERSION) {
    throw new StoreError(StoreErrorCode.STORE_TOO_NEW, `This store was written by a newer KeyLadder (schema ${version}; this one knows up to ${LATEST_VERSION}). Use that version or newer; nothing was changed.`);
  }
}

export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = schemaVersion(db);
  refuseNewer(current);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    // Under the write lock, and only if no other process applied it in the meantime.
    const ran = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}
