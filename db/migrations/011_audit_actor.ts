// Issue 22 item 3: who did it. Every audit row of an operator action names
// who acted (`actor`: the OS user and host for the CLI, the operator name
// given at unlock for the app), and a destructive one may say why (`reason`,
// the operator's --reason text).
//
// Both are covered by the chain's MAC (db/repositories/audit.ts, canonical):
// a row with an actor or a reason is MACed over the canonical form extended by
// the two; a row with neither over the form every row had before this
// migration. So the rows written before it verify unchanged (nothing is
// rewritten, which the append-only triggers would refuse anyway), and an actor
// added to, removed from or changed in any row breaks the chain.
//
// Responder rows (device exchanges, MSL messages, their summaries) are not an
// operator's actions and carry no actor: they are written as before, at the
// same cost.

import type { Migration } from './index.js';

export const migration011: Migration = {
  version: 11,
  name: 'audit: actor and reason',
  up: (db) => {
    db.exec(`
      ALTER TABLE audit_log ADD COLUMN actor TEXT;
      ALTER TABLE audit_log ADD COLUMN reason TEXT;
      -- audit list --actor: operator rows only (responder rows have none, and are most of the log).
      CREATE INDEX audit_actor ON audit_log(actor, seq) WHERE actor IS NOT NULL;
    `);
  },
};
