// Issue 21, item 5: the Overview counts the last day's refusals, of /v1/keyx
// exchanges and of MSL messages, by code. Both queries walk audit_action
// (action, seq) from the window's first seq, and each row in that range was
// read from the table to test its outcome: on a busy store that is every
// answered exchange and message of the day. This partial index holds the
// refused rows only (a few: the refusal aggregator folds a client's flood into
// one row a minute), so those counts read only what they count.
//
// A device's detail shows its last master token: msl_tokens gets an index by
// identity (it had only its serial and expiry), so that is a lookup, not a scan.
//
// Indexes, no data: nothing to copy at a rekey (db/rekey.ts copies tables;
// the new database is made by the same migrations).

import type { Migration } from './index.js';

export const migration009: Migration = {
  version: 9,
  name: 'indexes of the audit log\'s refusals and of master tokens by identity',
  up: (db) => {
    db.exec(`
      CREATE INDEX audit_refused ON audit_log(action, seq) WHERE outcome = 'refused';
      CREATE INDEX msl_tokens_identity ON msl_tokens(identity);
    `);
  },
};
