// Issue 22, item 2: deleting a device. Its row, sealed keys, counters and
// wrapdata registry entries go (secure_delete zeroes the freed bytes); what
// stays is a tombstone, so that what the device held cannot come back:
//   - deleted_devices: per identity, when it was deleted and its KCVs (never
//     keys). Provisioning or importing the identity again is refused unless
//     the operator says --reuse-identity; the tombstone stays after a reuse
//     (a second delete updates it).
//   - deleted_wrapdata: the tags (keyed hashes, as wrapdata_issued keeps) of
//     the wrapdata last issued to it, and of the wrapdata it migrated with. A
//     WRAP that presents one is refused under any identity, the deleted one
//     reused included, as a revoked device's is.

import type { Migration } from './index.js';

export const migration010: Migration = {
  version: 10,
  name: 'deleted devices: tombstones and their wrapdata',
  up: (db) => {
    db.exec(`
      CREATE TABLE deleted_devices (
        identity   TEXT PRIMARY KEY,
        deleted_at TEXT NOT NULL,
        kcv_kpw    TEXT NOT NULL,
        kcv_kpe    TEXT,
        kcv_kph    TEXT
      ) STRICT;

      CREATE TABLE deleted_wrapdata (
        tag      BLOB PRIMARY KEY CHECK (length(tag) = 16),
        identity TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
