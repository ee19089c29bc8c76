// Audit retention (issue 19, item 8): the log may be archived and trimmed, and
// answered exchanges may be counted per device per hour instead of one row each.
//
//   - audit_cut: at most one row, the checkpoint (db/checkpoint.ts) of the last
//     entry moved to an archive file: its number, its MAC, and the archive's
//     SHA-256. The first kept entry chains from that MAC, so `audit verify`
//     proves the kept part starts where the archive ends.
//   - audit_no_delete now lets through only entries at or before the cut,
//     which the trim moves in the same transaction as its DELETE.
//   - exchange_counts: the open hour's answered exchanges per device under
//     the 'summary' policy (meta 'exchange_audit_policy'); each hour, once
//     past, becomes one chained audit row (exchange.summary) and leaves here.

import type { Migration } from './index.js';

export const migration006: Migration = {
  version: 6,
  name: 'audit retention: archive cut and per-hour exchange counts',
  up: (db) => {
    db.exec(`
      CREATE TABLE audit_cut (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        -- The last archived entry and its MAC: the kept chain starts after them.
        seq            INTEGER NOT NULL CHECK (seq > 0),
        mac            BLOB NOT NULL,
        at             TEXT NOT NULL,
        -- SHA-256 (hex) of the archive file that holds the entries up to seq.
        archive_sha256 TEXT NOT NULL,
        -- The checkpoint's MAC (db/checkpoint.ts) over storeId, seq, mac and at.
        tag            TEXT NOT NULL
      ) STRICT;

      DROP TRIGGER audit_no_delete;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
        WHEN old.seq > coalesce((SELECT seq FROM audit_cut), 0)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: only archived entries may be trimmed'); END;

      CREATE TABLE exchange_counts (
        -- The device's identity (the exchange record's subject).
        subject        TEXT NOT NULL,
        -- The hour (ISO 8601, UTC) the exchanges fall in.
        hour           TEXT NOT NULL,
        count          INTEGER NOT NULL,
        first_at       TEXT NOT NULL,
        last_at        TEXT NOT NULL,
        PRIMARY KEY (subject, hour)
      ) STRICT;
      -- Hours are closed oldest first, once past.
      CREATE INDEX exchange_counts_hour ON exchange_counts(hour);
    `);
  },
};
