// Issue 19, item 12: what a keyring signing key may sign, and which signer
// speaks for each peer's revocation lists.
//   - recipients.roles: for a `sig` key, the kinds of import it is accepted
//     for ('revocations', 'issuer-export'; space-separated). A signer pinned
//     for revocation lists no longer signs Kissuer exports unless the operator
//     says so. Keys pinned before this migration keep both, as they were
//     accepted for both: the operator's choice stays, and `recipient show`
//     says it. NULL for `enc` keys.
//   - peer_lists.signer: the RFC 7638 thumbprint of the key that signed the
//     first signed list from that source; a list claiming that source from any
//     other key is refused. NULL while only unsigned lists came.
//   - peer_lists.digest: SHA-256 of the newest list, so the same list again
//     is told from another list of the same date.

import type { Migration } from './index.js';

export const migration007: Migration = {
  version: 7,
  name: 'signer roles and revocation list sources bound to their signers',
  up: (db) => {
    db.exec(`
      ALTER TABLE recipients ADD COLUMN roles TEXT;
      UPDATE recipients SET roles = 'revocations issuer-export' WHERE use = 'sig';

      ALTER TABLE peer_lists ADD COLUMN signer TEXT;
      ALTER TABLE peer_lists ADD COLUMN digest TEXT;
      CREATE UNIQUE INDEX peer_lists_signer ON peer_lists(signer) WHERE signer IS NOT NULL;
    `);
  },
};
