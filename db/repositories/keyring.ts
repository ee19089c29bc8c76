// The keyring's rows: recipients (public keys of others) and own key pairs.

import type { Db } from '../connection.js';

export type KeyUse = 'enc' | 'sig';

/** What a `sig` key's signature is accepted on (migration 007). */
export const SIGNER_ROLES = ['revocations', 'issuer-export'] as const;
export type SignerRole = (typeof SIGNER_ROLES)[number];

export interface RecipientRow {
  readonly kid: string;
  readonly label: string | null;
  readonly use: KeyUse;
  readonly thumbprint: string;
  readonly public_jwk: string;
  readonly added_at: string;
  /** A `sig` key's roles, space-separated (SIGNER_ROLES); null for `enc` keys. */
  readonly roles: string | null;
  /** For a `sig` key pinned with --source: the store id whose revocation lists it speaks for (migration 007). */
  readonly list_source: string | null;
}

export interface OwnKeyRow {
  readonly kid: string;
  readonly use: KeyUse;
  readonly alg: string;
  readonly public_jwk: string;
  readonly private_key: Buffer;
  readonly status: 'active' | 'retired';
  readonly created_at: string;
  readonly retired_at: string | null;
}

export class KeyringRepository {
  constructor(private readonly db: Db) {}

  recipients(): RecipientRow[] {
    return this.db.prepare('SELECT * FROM recipients ORDER BY kid').all() as RecipientRow[];
  }

  recipient(kid: string): RecipientRow | undefined {
    return this.db.prepare('SELECT * FROM recipients WHERE kid = ?').get(kid) as RecipientRow | undefined;
  }

  recipientByThumbprint(thumbprint: string): RecipientRow | undefined {
    return this.db.prepare('SELECT * FROM recipients WHERE thumbprint = ?').get(thumbprint) as RecipientRow | undefined;
  }

  /** The `sig` key pinned to speak for a source's revocation lists, if any. */
  recipientForListSource(source: string): RecipientRow | undefined {
    return this.db.prepare(`SELECT * FROM recipients WHERE list_source = ? AND use = 'sig'`).get(source) as RecipientRow | undefined;
  }

  addRecipient(row: RecipientRow): void {
    this.db.prepare('INSERT INTO recipients (kid, label, use, thumbprint, public_jwk, added_at, roles, list_source) VALUES (@kid, @label, @use, @thumbprint, @public_jwk, @added_at, @roles, @list_source)').run(row);
  }

  removeRecipient(kid: string): boolean {
    return this.db.prepare('DELETE FROM recipients WHERE kid = ?').run(kid).changes === 1;
  }

  /** Own keys, active first, newest first. */
  ownKeys(): OwnKeyRow[] {
    return this.db.prepare(`SELECT * FROM own_keys ORDER BY status = 'active' DESC, created_at DESC, kid`).all() as OwnKeyRow[];
  }

  ownKey(kid: string): OwnKeyRow | undefined {
    return this.db.prepare('SELECT * FROM own_keys WHERE kid = ?').get(kid) as OwnKeyRow | undefined;
  }

  activeOwnKey(use: KeyUse): OwnKeyRow | undefined {
    return this.db.prepare(`SELECT * FROM own_keys WHERE use = ? AND status = 'active'`).get(use) as OwnKeyRow | undefined;
  }

  /** Adds an own key as the active one of its use, retiring the one before. Call inside a transaction. */
  addOwnKey(row: Omit<OwnKeyRow, 'status' | 'retired_at'>): void {
    this.db.prepare(`UPDATE own_keys SET status = 'retired', retired_at = ? WHERE use = ? AND status = 'active'`).run(row.created_at, row.use);
    this.db.prepare(`INSERT INTO own_keys (kid, use, alg, public_jwk, private_key, status, created_at) VALUES (@kid, @use, @alg, @public_jwk, @private_key, 'active', @created_at)`).run(row);
  }
}
