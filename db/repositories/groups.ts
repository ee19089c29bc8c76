// Model groups and their keys (sealed), for the MGK mechanism.

import type { Db } from '../connection.js';
import type { KeyOrigin } from './devices.js';

export interface NewGroup {
  readonly name: string;
  readonly origin: KeyOrigin;
  readonly kdw: Buffer;
  readonly kde: Buffer | null;
  readonly kdh: Buffer | null;
  readonly kcvKdw: string;
  readonly kcvKde: string | null;
  readonly kcvKdh: string | null;
  readonly createdAt: string;
}

export interface GroupRow {
  readonly id: number;
  readonly name: string;
  readonly origin: KeyOrigin;
  readonly kcv_kdw: string;
  readonly kcv_kde: string | null;
  readonly kcv_kdh: string | null;
  readonly created_at: string;
  readonly device_count: number;
}

export interface GroupSealedKeys {
  readonly name: string;
  readonly kdw: Buffer;
  readonly kde: Buffer | null;
  readonly kdh: Buffer | null;
}

export class GroupRepository {
  private readonly idStmt;

  constructor(private readonly db: Db) {
    this.idStmt = db.prepare('SELECT id FROM model_groups WHERE name = ?').pluck();
  }

  insert(group: NewGroup): number {
    return Number(this.db.prepare(`INSERT INTO model_groups (name, origin, kdw, kde, kdh, kcv_kdw, kcv_kde, kcv_kdh, created_at)
      VALUES (@name, @origin, @kdw, @kde, @kdh, @kcvKdw, @kcvKde, @kcvKdh, @createdAt)`).run(group).lastInsertRowid);
  }

  idOf(name: string): number | undefined {
    return this.idStmt.get(name) as number | undefined;
  }

  list(): GroupRow[] {
    return this.db.prepare(`SELECT g.id, g.name, g.origin, g.kcv_kdw, g.kcv_kde, g.kcv_kdh, g.created_at,
      (SELECT count(*) FROM devices d WHERE d.group_id = g.id) AS device_count FROM model_groups g ORDER BY g.name`).all() as GroupRow[];
  }

  /** The group's sealed keys, for a group bundle (GroupService.exportBundle). */
  sealedKeys(name: string): GroupSealedKeys | undefined {
    return this.db.prepare('SELECT name, kdw, kde, kdh FROM model_groups WHERE name = ?').get(name) as GroupSealedKeys | undefined;
  }

  get(name: string): GroupRow | undefined {
    return this.list().find((g) => g.name === name);
  }
}
