// The keyring (electron/services/keyring.ts): the public keys of factories and
// peers that exports are encrypted to and imports are verified against, and
// this KeyLadder's own key pairs (signing and encryption), whose private halves
// are sealed like every key in the store.

import type { Migration } from './index.js';

export const migration004: Migration = {
  version: 4,
  name: 'keyring: recipients and own key pairs',
  up: (db) => {
    db.exec(`
      CREATE TABLE recipients (
        kid         TEXT PRIMARY KEY,
        label       TEXT,
        -- 'enc': exports are encrypted to it; 'sig': imports signed by it are accepted.
        use         TEXT NOT NULL CHECK (use IN ('enc', 'sig')),
        -- RFC 7638 (SHA-256, base64url): what the operator confirms out of band.
        thumbprint  TEXT NOT NULL,
        public_jwk  TEXT NOT NULL,
        added_at    TEXT NOT NULL
      ) STRICT;

      CREATE TABLE own_keys (
        kid         TEXT PRIMARY KEY,
        use         TEXT NOT NULL CHECK (use IN ('enc', 'sig')),
        alg         TEXT NOT NULL,
        public_jwk  TEXT NOT NULL,
        -- PKCS #8, sealed (db/sealing.ts, ownKeyBinding).
        private_key BLOB NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at  TEXT NOT NULL,
        retired_at  TEXT
      ) STRICT;
      -- One active key per use.
      CREATE UNIQUE INDEX own_keys_active ON own_keys(use) WHERE status = 'active';
    `);
  },
};
