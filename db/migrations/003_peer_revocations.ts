// Revocations heard from peer responders (electron/services/revocations.ts):
// identities revoked elsewhere that this store does not hold, the tags of
// wrapdata issued to revoked devices, and when each peer's list came last.

import type { Migration } from './index.js';

export const migration003: Migration = {
  version: 3,
  name: 'peer revocation lists',
  up: (db) => {
    db.exec(`
      CREATE TABLE peer_revocations (
        identity    TEXT PRIMARY KEY,
        revoked_at  TEXT NOT NULL,
        -- The store id of the responder that revoked it first.
        source      TEXT NOT NULL,
        received_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE peer_revoked_wrapdata (
        tag      BLOB PRIMARY KEY CHECK (length(tag) = 16),
        identity TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE peer_lists (
        source      TEXT PRIMARY KEY,
        list_at     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        entries     INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
