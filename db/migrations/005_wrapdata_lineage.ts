// The wrapdata registry as lineages (electron/services/wrapdataRegistry.ts),
// and the migration from MSL's own responder:
//   - each issue records its parent: the tag of the wrapdata presented in the
//     WRAP it answered, or NULL for a PSK/MGK answer (a root). Rows from
//     before this migration have no known parent and count as roots, so a
//     device with any history before it is marked as having climbed
//     (device_stats.climbed_before_lineages): it never migrates from MSL;
//   - the old responder's wrapdata a device migrated with, kept (as its tag)
//     until its generation is retired, so that it is refused under any other
//     identity, and after a revocation under every one;
//   - when this KeyLadder first issued wrapdata under each Kissuer generation:
//     unknown bare-MSL wrapdata is answered (during a migration window) only
//     under an imported-msl generation that never issued here, since any
//     other could have issued it to a device since revoked.

import type { Migration } from './index.js';

export const migration005: Migration = {
  version: 5,
  name: 'wrapdata lineages and the migration from MSL',
  up: (db) => {
    db.exec(`
      ALTER TABLE wrapdata_issued ADD COLUMN parent BLOB CHECK (parent IS NULL OR length(parent) = 16);
      -- A WRAP answer's lineage: the root it climbed from (its parent's root, or its parent when
      -- that is not registered); NULL for a root. Lineages are pruned apart, so that one root
      -- (a stranger's PSK answer) cannot push another root's tip out.
      ALTER TABLE wrapdata_issued ADD COLUMN root BLOB CHECK (root IS NULL OR length(root) = 16);

      -- Lineages start here: whether a device climbed before cannot be read from its rows (all
      -- roots now), so any device with exchanges or registered wrapdata counts as having climbed.
      -- Else a revoked device's MSL-era wrapdata would migrate under its identity.
      ALTER TABLE device_stats ADD COLUMN climbed_before_lineages INTEGER NOT NULL DEFAULT 0 CHECK (climbed_before_lineages IN (0, 1));
      UPDATE device_stats SET climbed_before_lineages = 1
        WHERE exchange_count > 0 OR last_mechanism IS NOT NULL OR device_id IN (SELECT device_id FROM wrapdata_issued);

      CREATE TABLE wrapdata_migrated (
        tag         BLOB PRIMARY KEY CHECK (length(tag) = 16),
        -- One migration per device, ever.
        device_id   INTEGER NOT NULL UNIQUE REFERENCES devices(id),
        generation  INTEGER NOT NULL REFERENCES issuer_generations(generation),
        migrated_at TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- A destroyed generation's KCV (its kcv column is emptied): MSL's Kissuer imported again
      -- must be known as the generation it was, destroyed or not. Earlier destructions kept it
      -- in their audit record only.
      ALTER TABLE issuer_generations ADD COLUMN former_kcv TEXT;
      UPDATE issuer_generations SET former_kcv = (SELECT json_extract(a.details, '$.kcv') FROM audit_log a
        WHERE a.action = 'issuer.destroy' AND a.subject = CAST(issuer_generations.generation AS TEXT) ORDER BY a.seq DESC LIMIT 1)
        WHERE status = 'destroyed';

      CREATE TABLE issuer_first_issue (
        generation      INTEGER PRIMARY KEY REFERENCES issuer_generations(generation),
        first_issued_at TEXT NOT NULL
      ) STRICT;
      -- A generation that answered exchanges before this migration has issued here; so may the
      -- active one have (its count is written a second late). Both count as having issued.
      INSERT INTO issuer_first_issue (generation, first_issued_at)
        SELECT generation, coalesce(activated_at, created_at) FROM issuer_generations
        WHERE exchange_count > 0 OR status = 'active' OR activated_at IS NOT NULL;
    `);
  },
};
