// The wrapdata registry (see electron/services/wrapdataRegistry.ts): for each
// device, keyed hashes of the last wrapdata issued to it, never the wrapdata;
// and the "possible clone" mark a superseded wrapdata leaves on its device.

import type { Migration } from './index.js';

export const migration002: Migration = {
  version: 2,
  name: 'wrapdata registry and clone marks',
  up: (db) => {
    db.exec(`
      CREATE TABLE wrapdata_issued (
        tag       BLOB PRIMARY KEY CHECK (length(tag) = 16),
        device_id INTEGER NOT NULL REFERENCES devices(id),
        -- The device's issue number: the highest is the wrapdata it should hold now.
        seq       INTEGER NOT NULL,
        -- How often it came back in a WRAP request.
        presented INTEGER NOT NULL DEFAULT 0,
        issued_at TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE UNIQUE INDEX wrapdata_issued_device ON wrapdata_issued(device_id, seq);

      ALTER TABLE device_stats ADD COLUMN clone_suspected_at TEXT;
      ALTER TABLE device_stats ADD COLUMN clone_events INTEGER NOT NULL DEFAULT 0;
    `);
  },
};
