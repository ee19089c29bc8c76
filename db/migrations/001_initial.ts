// The first schema: devices, model groups, Kissuer generations, the audit log.
// Key columns hold sealed blobs (see db/sealing.ts), never raw keys.

import type { Migration } from './index.js';

export const migration001: Migration = {
  version: 1,
  name: 'initial schema',
  up: (db) => {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE model_groups (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        origin     TEXT NOT NULL CHECK (origin IN ('generated', 'imported-kpe-kph', 'imported-kpw')),
        kdw        BLOB NOT NULL,
        kde        BLOB,
        kdh        BLOB,
        kcv_kdw    TEXT NOT NULL,
        kcv_kde    TEXT,
        kcv_kdh    TEXT,
        created_at TEXT NOT NULL,
        CHECK ((kde IS NULL) = (kdh IS NULL))
      ) STRICT;

      CREATE TABLE devices (
        id               INTEGER PRIMARY KEY,
        identity         TEXT NOT NULL UNIQUE,
        group_id         INTEGER REFERENCES model_groups(id),
        status           TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        origin           TEXT NOT NULL CHECK (origin IN ('generated', 'imported-kpe-kph', 'imported-kpw')),
        kpw              BLOB NOT NULL,
        kpe              BLOB,
        kph              BLOB,
        kcv_kpw          TEXT NOT NULL,
        kcv_kpe          TEXT,
        kcv_kph          TEXT,
        created_at       TEXT NOT NULL,
        revoked_at       TEXT,
        CHECK ((kpe IS NULL) = (kph IS NULL)),
        CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
      ) STRICT;
      CREATE INDEX devices_group ON devices(group_id);

      -- Exchange bookkeeping lives apart from the wide, rarely written device
      -- rows: about 100 devices fit one page here, so the pages an exchange
      -- dirties stay few and cached (see electron/services/exchangeRecorder.ts).
      CREATE TABLE device_stats (
        device_id        INTEGER PRIMARY KEY REFERENCES devices(id),
        last_exchange_at TEXT,
        last_mechanism   TEXT CHECK (last_mechanism IN ('PSK', 'MGK', 'WRAP')),
        last_generation  INTEGER,
        exchange_count   INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE issuer_generations (
        generation     INTEGER PRIMARY KEY,
        status         TEXT NOT NULL CHECK (status IN ('active', 'grace', 'retired', 'destroyed')),
        format         TEXT NOT NULL CHECK (format IN ('keyladder-v1', 'msl')),
        origin         TEXT NOT NULL CHECK (origin IN ('generated', 'imported-msl', 'imported-peer')),
        key            BLOB,
        kcv            TEXT,
        created_at     TEXT NOT NULL,
        activated_at   TEXT,
        grace_until    TEXT,
        retired_at     TEXT,
        destroyed_at   TEXT,
        exchange_count INTEGER NOT NULL DEFAULT 0,
        CHECK ((status = 'destroyed') = (key IS NULL)),
        CHECK ((status = 'grace') = (grace_until IS NOT NULL))
      ) STRICT;
      -- Exactly one generation issues wrapdata: the database itself refuses a second.
      CREATE UNIQUE INDEX issuer_one_active ON issuer_generations(status) WHERE status = 'active';

      CREATE TABLE audit_log (
        seq     INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        action  TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
        subject TEXT,
        details TEXT NOT NULL,
        mac     BLOB NOT NULL
      ) STRICT;
      -- Exchanges are most of the log and arrive thousands a second: indexing
      -- them by subject would cost a random index write each (5x the append).
      -- Operator actions are indexed by subject; exchanges are found by action.
      CREATE INDEX audit_subject ON audit_log(subject, seq) WHERE action != 'exchange';
      CREATE INDEX audit_action ON audit_log(action, seq);
      -- Append-only. (Someone holding the store key can drop these; the MAC chain still catches them.)
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `);
  },
};
