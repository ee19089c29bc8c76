// The wrapdata registry's rows: which device each recent wrapdata was issued
// to, in what order, from which wrapdata (its parent), and how often it came
// back. Rows hold 16-byte keyed hashes (see electron/ladder/wrapdata.ts,
// wrapdataTag), never wrapdata.
//
// Each device keeps its last REGISTRY_DEPTH WRAP answers (its lineage) and,
// apart from them, its last REGISTRY_DEPTH PSK/MGK answers (roots): anyone
// can ask for a PSK answer under any identity, so roots must never push the
// device's lineage out. Also kept: the old responder's wrapdata each migrated
// device came with (until its generation is retired), and when this KeyLadder
// first issued under each Kissuer generation.

import type { Db } from '../connection.js';

export const REGISTRY_DEPTH = 3;
/** How many lineages (WRAP answers from distinct roots) a device keeps, REGISTRY_DEPTH rows each. */
export const REGISTRY_LINEAGES = 3;

export interface RegisteredWrapdata {
  readonly tag: Buffer;
  readonly seq: number;
  readonly presented: number;
  /** The tag of the wrapdata presented in the WRAP this answered; null for a PSK/MGK answer. */
  readonly parent: Buffer | null;
}

/** What one answered exchange changes in the registry. */
export interface RegistryUpdate {
  readonly deviceId: number;
  readonly at: string;
  /** The tag of the wrapdata just issued. */
  readonly issued: Buffer;
  /** The generation it was issued under (the first issue under each is recorded). */
  readonly generation: number;
  /** WRAP: the tag of the wrapdata that came back (the new one's parent). */
  readonly parent?: Buffer;
  /** WRAP: the tag of the wrapdata that came back, when the registry knew it (its count goes up). */
  readonly presented?: Buffer;
  /** WRAP under the migration setting: the old responder's wrapdata, now this device's. */
  readonly migrated?: { readonly tag: Buffer; readonly generation: number };
  /** The wrapdata that came back was older than the latest: mark the device. */
  readonly clone?: boolean;
}

/**
 * A generation `g` under which unknown bare-MSL wrapdata may be the old responder's: imported
 * from MSL, still opening, and no generation with the same key (the same KCV, a destroyed one's
 * included) ever issued here. import-msl refuses a known key; this holds even if one got in.
 */
const OPEN_TO_MIGRATION = `g.origin = 'imported-msl' AND g.status IN ('active', 'grace') AND NOT EXISTS (
  SELECT 1 FROM issuer_first_issue f JOIN issuer_generations s USING (generation)
  WHERE s.generation = g.generation OR s.kcv = g.kcv OR s.former_kcv = g.kcv)`;

export type ClonePolicy = 'flag' | 'refuse';
export const CLONE_POLICIES: readonly ClonePolicy[] = ['flag', 'refuse'];
const POLICY_KEY = 'clone_policy';
const MIGRATION_KEY = 'msl_migration_until';

export class WrapdataRepository {
  private readonly ownerStmt;
  private readonly historyStmt;
  private readonly presentedStmt;
  private readonly issueStmt;
  private readonly pruneRootsStmt;
  private readonly pruneLineageStmt;
  private readonly pruneLineagesStmt;
  private readonly rootOfStmt;
  private readonly cloneStmt;
  private readonly clearStmt;
  private readonly policyStmt;
  private readonly setPolicyStmt;
  private readonly migratedOwnerStmt;
  private readonly migratedOfStmt;
  private readonly migrateStmt;
  private readonly firstIssueStmt;
  private readonly migrationGenerationStmt;
  private readonly migrationUntilStmt;
  private readonly setMigrationStmt;
  private readonly clearMigrationStmt;
  private readonly openGenerationsStmt;
  private readonly forgetMigratedStmt;
  private readonly climbedBeforeStmt;

  constructor(db: Db) {
    this.ownerStmt = db.prepare('SELECT device_id FROM wrapdata_issued WHERE tag = ?').pluck();
    this.historyStmt = db.prepare('SELECT tag, seq, presented, parent FROM wrapdata_issued WHERE device_id = ? ORDER BY seq');
    this.presentedStmt = db.prepare('UPDATE wrapdata_issued SET presented = presented + 1 WHERE tag = ?');
    // Several processes may issue to one device (`serve --workers N`): the number is taken at write time.
    this.issueStmt = db.prepare(`INSERT INTO wrapdata_issued (tag, device_id, seq, issued_at, parent, root)
      VALUES (@tag, @deviceId, (SELECT coalesce(max(seq), 0) + 1 FROM wrapdata_issued WHERE device_id = @deviceId), @at, @parent,
        CASE WHEN @parent IS NOT NULL THEN coalesce((SELECT coalesce(root, tag) FROM wrapdata_issued WHERE tag = @parent), @parent) END)
      ON CONFLICT(tag) DO NOTHING RETURNING seq`).pluck();
    // Roots are kept apart from WRAP answers, REGISTRY_DEPTH of them. WRAP answers are kept per
    // lineage: REGISTRY_DEPTH per root, for the REGISTRY_LINEAGES roots last climbed from, so one
    // lineage (a stranger climbing from its own PSK answer) cannot push another's tip out.
    this.pruneRootsStmt = db.prepare(`DELETE FROM wrapdata_issued WHERE device_id = @deviceId AND parent IS NULL AND seq <= coalesce(
      (SELECT seq FROM wrapdata_issued WHERE device_id = @deviceId AND parent IS NULL ORDER BY seq DESC LIMIT 1 OFFSET ${REGISTRY_DEPTH}), 0)`);
    this.pruneLineageStmt = db.prepare(`DELETE FROM wrapdata_issued WHERE device_id = @deviceId AND root = @root AND seq <= coalesce(
      (SELECT seq FROM wrapdata_issued WHERE device_id = @deviceId AND root = @root ORDER BY seq DESC LIMIT 1 OFFSET ${REGISTRY_DEPTH}), 0)`);
    this.pruneLineagesStmt = db.prepare(`DELETE FROM wrapdata_issued WHERE device_id = @deviceId AND root IS NOT NULL AND root NOT IN
      (SELECT root FROM wrapdata_issued WHERE device_id = @deviceId AND root IS NOT NULL GROUP BY root ORDER BY max(seq) DESC LIMIT ${REGISTRY_LINEAGES})`);
    this.rootOfStmt = db.prepare('SELECT root FROM wrapdata_issued WHERE tag = ?').pluck();
    this.cloneStmt = db.prepare(`UPDATE device_stats SET clone_events = clone_events + 1,
      clone_suspected_at = coalesce(clone_suspected_at, @at) WHERE device_id = @deviceId`);
    this.clearStmt = db.prepare('UPDATE device_stats SET clone_events = 0, clone_suspected_at = NULL WHERE device_id = ? AND clone_suspected_at IS NOT NULL');
    this.policyStmt = db.prepare(`SELECT value FROM meta WHERE key = '${POLICY_KEY}'`).pluck();
    this.setPolicyStmt = db.prepare(`INSERT INTO meta (key, value) VALUES ('${POLICY_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
    this.migratedOwnerStmt = db.prepare('SELECT device_id FROM wrapdata_migrated WHERE tag = ?').pluck();
    this.migratedOfStmt = db.prepare('SELECT tag FROM wrapdata_migrated WHERE device_id = ?').pluck();
    this.migrateStmt = db.prepare('INSERT INTO wrapdata_migrated (tag, device_id, generation, migrated_at) VALUES (@tag, @deviceId, @generation, @at) ON CONFLICT DO NOTHING');
    this.firstIssueStmt = db.prepare('INSERT INTO issuer_first_issue (generation, first_issued_at) VALUES (?, ?) ON CONFLICT(generation) DO NOTHING');
    this.migrationGenerationStmt = db.prepare(`SELECT count(*) FROM issuer_generations g WHERE g.generation = ? AND ${OPEN_TO_MIGRATION}`).pluck();
    this.openGenerationsStmt = db.prepare(`SELECT g.generation FROM issuer_generations g WHERE ${OPEN_TO_MIGRATION} ORDER BY g.generation`).pluck();
    this.migrationUntilStmt = db.prepare(`SELECT value FROM meta WHERE key = '${MIGRATION_KEY}'`).pluck();
    this.setMigrationStmt = db.prepare(`INSERT INTO meta (key, value) VALUES ('${MIGRATION_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
    this.clearMigrationStmt = db.prepare(`DELETE FROM meta WHERE key = '${MIGRATION_KEY}'`);
    this.climbedBeforeStmt = db.prepare('SELECT climbed_before_lineages FROM device_stats WHERE device_id = ?').pluck();
    this.forgetMigratedStmt = db.prepare(`DELETE FROM wrapdata_migrated WHERE generation IN
      (SELECT generation FROM issuer_generations WHERE status IN ('retired', 'destroyed'))`);
  }

  /** The device a wrapdata (by tag) was issued to, if it is among the registered ones, or migrated with. */
  ownerOf(tag: Buffer): number | undefined {
    return this.issuedOwnerOf(tag) ?? (this.migratedOwnerStmt.get(tag) as number | undefined);
  }

  /** The device a wrapdata (by tag) was issued to, if it is among the registered ones (ownerOf's first look). */
  issuedOwnerOf(tag: Buffer): number | undefined {
    return this.ownerStmt.get(tag) as number | undefined;
  }

  /** Whether the device had exchanges before lineages were recorded (migration 005): it counts as having climbed. */
  climbedBeforeLineages(deviceId: number): boolean {
    return this.climbedBeforeStmt.get(deviceId) === 1;
  }

  /** The old responder's wrapdata the device migrated with (by tag), if it did. */
  migratedOf(deviceId: number): Buffer | undefined {
    return this.migratedOfStmt.get(deviceId) as Buffer | undefined;
  }

  /**
   * Whether unknown bare-MSL wrapdata that opened under this generation may be
   * the old responder's: the generation came from MSL (imported-msl), still
   * opens returning wrapdata, and this KeyLadder never issued under it (an
   * active one closes at its first issue: rotate right after importing it).
   */
  openToMigration(generation: number): boolean {
    return this.migrationGenerationStmt.get(generation) === 1;
  }

  /** The generations openToMigration() would accept. */
  generationsOpenToMigration(): number[] {
    return this.openGenerationsStmt.all() as number[];
  }

  /** The end of the migration window (ISO 8601), or undefined when none was set. */
  migrationUntil(): string | undefined {
    return this.migrationUntilStmt.get() as string | undefined;
  }

  setMigrationUntil(until: string | undefined): void {
    if (until === undefined) this.clearMigrationStmt.run();
    else this.setMigrationStmt.run(until);
  }

  /** Migrated wrapdata of retired and destroyed generations opens nowhere any more: forgotten. Call inside a transaction. */
  forgetRetiredMigrations(): number {
    return this.forgetMigratedStmt.run().changes;
  }

  /** The device's registered wrapdata, oldest first. */
  historyOf(deviceId: number): RegisteredWrapdata[] {
    return this.historyStmt.all(deviceId) as RegisteredWrapdata[];
  }

  /**
   * Applies answered exchanges in order, and records that this KeyLadder
   * issued under `issuedUnder` generations (the first time counts). Call
   * inside a transaction.
   */
  apply(updates: readonly RegistryUpdate[], issuedUnder: Iterable<number> = [], at = ''): void {
    for (const generation of issuedUnder) this.firstIssueStmt.run(generation, at);
    for (const u of updates) {
      if (u.presented !== undefined) this.presentedStmt.run(u.presented);
      if (u.migrated !== undefined) this.migrateStmt.run({ tag: u.migrated.tag, deviceId: u.deviceId, generation: u.migrated.generation, at: u.at });
      const seq = this.issueStmt.get({ tag: u.issued, deviceId: u.deviceId, at: u.at, parent: u.parent ?? null }) as number | undefined;
      if (seq !== undefined) {
        if (u.parent === undefined) this.pruneRootsStmt.run({ deviceId: u.deviceId });
        else {
          this.pruneLineageStmt.run({ deviceId: u.deviceId, root: this.rootOfStmt.get(u.issued) });
          this.pruneLineagesStmt.run({ deviceId: u.deviceId });
        }
      }
      if (u.clone) this.cloneStmt.run({ deviceId: u.deviceId, at: u.at });
    }
  }

  /** The operator has looked into a "possible clone" mark; whether there was one. */
  clearClone(deviceId: number): boolean {
    return this.clearStmt.run(deviceId).changes === 1;
  }

  clonePolicy(): ClonePolicy {
    const value = this.policyStmt.get() as string | undefined;
    return value === 'refuse' ? 'refuse' : 'flag';
  }

  setClonePolicy(policy: ClonePolicy): void {
    this.setPolicyStmt.run(policy);
  }
}
