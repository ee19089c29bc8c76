// Issue 19, item 12: what a keyring signing key may sign, and which signer
// speaks for each peer's revocation lists.
//   - recipients.roles: for a `sig` key, the kinds of import it is accepted
//     for ('revocations', 'issuer-export'; space-separated). A signer pinned
//     for revocation lists no longer signs Kissuer exports unless the operator
//     says so. Keys pinned before this migration keep both, as they were
//     accepted for both: the operator's choice stays, and `recipient show`
//     says it. NULL for `enc` keys.
//   - recipients.list_source: the store id whose revocation lists a `sig` key
//     speaks for, bound by the operator when the key is pinned
//     (`recipient add --source`); one key per source.
//   - peer_lists.signer: the RFC 7638 thumbprint of the key bound to that
//     source; a list claiming that source from any other key is refused.
//   - peer_lists.digest: SHA-256 of the newest list, so the same list again
//     is told from another list of the same date.
//
// A store upgraded from 006 holds lists that were accepted before any binding
// existed. Left NULL, the first signer to claim such a source afterwards would
// have taken it (round 2 re-review). So each source is bound here from the
// audit log's signed `revocation.import` rows, which name the signer's keyring
// kid (and, from this version on, its thumbprint): only where the evidence is
// unambiguous, that is, every signed import of the source names one kid, that
// kid signed for no other source, and it is still a pinned `sig` key. Sources
// left unbound accept no signed list until the operator binds one (pin with
// --source, or import with --bind-source).

import type Database from 'better-sqlite3-multiple-ciphers';
import type { Migration } from './index.js';

export const migration007: Migration = {
  version: 7,
  name: 'signer roles and revocation list sources bound to their signers',
  up: (db) => {
    db.exec(`
      ALTER TABLE recipients ADD COLUMN roles TEXT;
      UPDATE recipients SET roles = 'revocations issuer-export' WHERE use = 'sig';
      ALTER TABLE recipients ADD COLUMN list_source TEXT;
      CREATE UNIQUE INDEX recipients_list_source ON recipients(list_source) WHERE list_source IS NOT NULL;

      ALTER TABLE peer_lists ADD COLUMN signer TEXT;
      ALTER TABLE peer_lists ADD COLUMN digest TEXT;
      CREATE UNIQUE INDEX peer_lists_signer ON peer_lists(signer) WHERE signer IS NOT NULL;
    `);
    bindSourcesFromAudit(db);
  },
};

/** Binds each upgraded source to the one signer its signed imports name, where that is unambiguous (see above). */
function bindSourcesFromAudit(db: Database.Database): void {
  const rows = db.prepare(`SELECT json_extract(details, '$.source') AS source, json_extract(details, '$.signer') AS kid
    FROM audit_log WHERE action = 'revocation.import' AND outcome = 'ok' AND json_valid(details) AND json_extract(details, '$.signer') IS NOT NULL`).all() as Array<{ source: unknown; kid: unknown }>;
  const kidsOf = new Map<string, Set<string>>();
  const sourcesOf = new Map<string, Set<string>>();
  for (const { source, kid } of rows) {
    if (typeof source !== 'string' || typeof kid !== 'string') continue;
    kidsOf.set(source, (kidsOf.get(source) ?? new Set()).add(kid));
    sourcesOf.set(kid, (sourcesOf.get(kid) ?? new Set()).add(source));
  }
  const thumbprintOf = db.prepare(`SELECT thumbprint FROM recipients WHERE kid = ? AND use = 'sig'`).pluck();
  const bind = db.prepare('UPDATE peer_lists SET signer = ? WHERE source = ? AND signer IS NULL');
  for (const [source, kids] of kidsOf) {
    if (kids.size !== 1) continue;
    const [kid] = [...kids] as [string];
    if (sourcesOf.get(kid)?.size !== 1) continue;
    const thumbprint = thumbprintOf.get(kid) as string | undefined;
    if (thumbprint !== undefined) bind.run(thumbprint, source);
  }
}
