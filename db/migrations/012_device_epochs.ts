// Issue 22, item 2, second pass: what a deleted device's master tokens prove.
// A master token names an identity, and an identity can outlive its device:
// deleted, then provisioned again with --reuse-identity, it belongs to a new
// device with new keys. The old device's tokens (whose session keys it still
// holds) must not work for the new one. So each identity has an epoch: how
// many times a device holding it was deleted (0 when never). The responder
// writes the epoch into each master token it issues (MSL's issuerdata, inside
// the encrypted and signed session data) and refuses a token whose epoch is
// not the identity's current one.
//
// `deletions` counts the deletes of the identity; tombstones written before
// this migration were each one delete (the second delete of an identity
// updated its row without counting, so the epoch may be lower than the real
// count: it only has to differ from the epoch of every token issued to a
// device that is gone, and every such token carries an epoch below it).

import type { Migration } from './index.js';

export const migration012: Migration = {
  version: 12,
  name: 'deleted devices: the epoch their identity is at',
  up: (db) => {
    db.exec(`ALTER TABLE deleted_devices ADD COLUMN deletions INTEGER NOT NULL DEFAULT 1 CHECK (deletions >= 1)`);
  },
};
