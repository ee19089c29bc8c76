// Issue 20: what an MSL server holds, so that `POST /msl` answers whole MSL
// messages (electron/services/mslKeys.ts, mslTokens.ts).
//   - msl_identities: the server's entity identity (its name, `entity.auth.schemes.<name> RSA`
//     in an MSL client's config) and RSA key pair, in generations: one 'active' (signs), earlier
//     ones 'retiring' (kept and listed, never used to sign: clients that pin them must be
//     re-configured), then 'retired', then 'destroyed' (private key erased). The public key is
//     kept in the clear (SPKI DER: it is what clients pin); the private key is sealed PKCS #8
//     (db/sealing.ts, mslIdentityBinding). key_id is MSL's `pubkeyid`; a thumbprint (RFC 7638)
//     names one key pair once.
//   - msl_token_keys: the keys master tokens are encrypted (AES-128) and signed (HMAC-SHA256)
//     with (MSL's msl.key.enc, msl.key.hmac), generations like Kissuer's: one active, grace ones
//     still verify the tokens issued before a rotation, then retired, then destroyed. A destroyed
//     generation keeps its KCVs in former_kcv_* so that the same keys are not imported again.
//   - msl_tokens: per master-token serial number: the identity it was issued to, the newest
//     sequence number issued and the one renewed from, when, until when the newest token is
//     valid, and the largest non-replayable id accepted under it (TokenFactory's bookkeeping).
//   - The renewal window and expiration (seconds) live in meta ('msl_renewal_window',
//     'msl_expiration'); absent means the defaults.

import type { Migration } from './index.js';

export const migration008: Migration = {
  version: 8,
  name: 'MSL server: identity, master-token keys, token serials',
  up: (db) => {
    db.exec(`
      CREATE TABLE msl_identities (
        generation   INTEGER PRIMARY KEY,
        name         TEXT NOT NULL,
        key_id       TEXT NOT NULL UNIQUE,
        status       TEXT NOT NULL CHECK (status IN ('active', 'retiring', 'retired', 'destroyed')),
        origin       TEXT NOT NULL CHECK (origin IN ('generated', 'imported')),
        bits         INTEGER NOT NULL,
        -- RFC 7638 (SHA-256, base64url) of the public key.
        thumbprint   TEXT NOT NULL UNIQUE,
        -- SubjectPublicKeyInfo, DER: public.
        public_key   BLOB NOT NULL,
        -- PKCS #8, sealed (mslIdentityBinding); erased when destroyed.
        private_key  BLOB,
        created_at   TEXT NOT NULL,
        activated_at TEXT,
        retired_at   TEXT,
        destroyed_at TEXT,
        CHECK ((status = 'destroyed') = (private_key IS NULL))
      ) STRICT;
      -- One identity signs: the database itself refuses a second.
      CREATE UNIQUE INDEX msl_identity_one_active ON msl_identities(status) WHERE status = 'active';

      CREATE TABLE msl_token_keys (
        generation      INTEGER PRIMARY KEY,
        status          TEXT NOT NULL CHECK (status IN ('active', 'grace', 'retired', 'destroyed')),
        origin          TEXT NOT NULL CHECK (origin IN ('generated', 'imported-msl')),
        -- AES-128 and HMAC-SHA256 keys, sealed (mslTokenKeyBinding); erased when destroyed.
        encryption_key  BLOB,
        hmac_key        BLOB,
        kcv_enc         TEXT,
        kcv_hmac        TEXT,
        former_kcv_enc  TEXT,
        former_kcv_hmac TEXT,
        created_at      TEXT NOT NULL,
        activated_at    TEXT,
        grace_until     TEXT,
        retired_at      TEXT,
        destroyed_at    TEXT,
        CHECK ((status = 'destroyed') = (encryption_key IS NULL)),
        CHECK ((encryption_key IS NULL) = (hmac_key IS NULL)),
        CHECK ((status = 'grace') = (grace_until IS NOT NULL))
      ) STRICT;
      CREATE UNIQUE INDEX msl_token_key_one_active ON msl_token_keys(status) WHERE status = 'active';

      CREATE TABLE msl_tokens (
        serial            INTEGER PRIMARY KEY CHECK (serial BETWEEN 0 AND 9007199254740992),
        identity          TEXT NOT NULL,
        sequence          INTEGER NOT NULL CHECK (sequence BETWEEN 0 AND 9007199254740992),
        -- The sequence number the newest token was renewed from (NULL until the first renewal).
        previous_sequence INTEGER,
        issued_at         TEXT NOT NULL,
        renewed_at        TEXT,
        -- When the newest token issued under this serial expires: afterwards the row may go.
        expires_at        TEXT NOT NULL,
        -- The largest non-replayable id accepted (NULL: none yet, taken as 0 as MSL's TokenFactory says).
        nonreplayable_id  INTEGER CHECK (nonreplayable_id BETWEEN 0 AND 9007199254740992)
      ) STRICT;
      CREATE INDEX msl_tokens_expires ON msl_tokens(expires_at);
    `);
  },
};
