// Revocation lists: what this store can tell peers, and what peers told it.

import type { Db } from '../connection.js';

export interface RevokedDevice {
  readonly identity: string;
  readonly revokedAt: string;
  /** Tags of the wrapdata last issued to it, and of the old responder's it migrated with (the wrapdata registry). */
  readonly tags: Buffer[];
}

export interface PeerListRow {
  readonly source: string;
  readonly list_at: string;
  readonly received_at: string;
  readonly entries: number;
  /** RFC 7638 thumbprint of the key bound to this source (migration 007); null while only unsigned lists came. */
  readonly signer: string | null;
  /** SHA-256 (hex) of the newest list's payload. */
  readonly digest: string | null;
}

export class RevocationRepository {
  private readonly peerIdentityStmt;
  private readonly peerTagStmt;

  constructor(private readonly db: Db) {
    this.peerIdentityStmt = db.prepare('SELECT 1 FROM peer_revocations WHERE identity = ?').pluck();
    this.peerTagStmt = db.prepare('SELECT identity FROM peer_revoked_wrapdata WHERE tag = ?').pluck();
  }

  /** This store's revoked devices and the peers' revocations it heard, with their wrapdata tags. */
  all(): Array<RevokedDevice & { readonly source: string | null }> {
    const local = this.db.prepare(`SELECT d.identity, d.revoked_at AS revokedAt, w.tag FROM devices d LEFT JOIN (SELECT device_id, tag FROM wrapdata_issued UNION ALL SELECT device_id, tag FROM wrapdata_migrated) w ON w.device_id = d.id WHERE d.status = 'revoked' ORDER BY d.identity`).all() as Array<{ identity: string; revokedAt: string; tag: Buffer | null }>;
    const heard = this.db.prepare(`SELECT p.identity, p.revoked_at AS revokedAt, p.source, t.tag FROM peer_revocations p LEFT JOIN peer_revoked_wrapdata t ON t.identity = p.identity ORDER BY p.identity`).all() as Array<{ identity: string; revokedAt: string; source: string; tag: Buffer | null }>;
    const out = new Map<string, RevokedDevice & { source: string | null }>();
    for (const r of [...local.map((l) => ({ ...l, source: null as string | null })), ...heard]) {
      const entry = out.get(r.identity) ?? { identity: r.identity, revokedAt: r.revokedAt, source: r.source, tags: [] };
      if (r.tag) entry.tags.push(r.tag);
      out.set(r.identity, entry);
    }
    return [...out.values()];
  }

  /** Whether a peer said this identity is revoked. */
  heardRevoked(identity: string): boolean {
    return this.peerIdentityStmt.get(identity) !== undefined;
  }

  /** The identity whose revoked device a peer said this wrapdata (by tag) was issued to. */
  revokedOwnerOf(tag: Buffer): string | undefined {
    return this.peerTagStmt.get(tag) as string | undefined;
  }

  /** Records one peer entry; whether it was new. Call inside a transaction. */
  addHeard(entry: RevokedDevice, source: string, at: string): boolean {
    const added = this.db.prepare('INSERT INTO peer_revocations (identity, revoked_at, source, received_at) VALUES (?, ?, ?, ?) ON CONFLICT(identity) DO NOTHING').run(entry.identity, entry.revokedAt, source, at).changes === 1;
    const tag = this.db.prepare('INSERT INTO peer_revoked_wrapdata (tag, identity) VALUES (?, ?) ON CONFLICT(tag) DO NOTHING');
    for (const t of entry.tags) tag.run(t, entry.identity);
    return added;
  }

  /** Records a source's newest list; binds the source to `signer` when it is not bound yet. Call inside a transaction. */
  notePeerList(source: string, listAt: string, at: string, entries: number, signer: string | null, digest: string): void {
    this.db.prepare(`INSERT INTO peer_lists (source, list_at, received_at, entries, signer, digest) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(source) DO UPDATE SET list_at = excluded.list_at, received_at = excluded.received_at, entries = excluded.entries,
        signer = coalesce(peer_lists.signer, excluded.signer), digest = excluded.digest`).run(source, listAt, at, entries, signer, digest);
  }

  peerList(source: string): PeerListRow | undefined {
    return this.db.prepare('SELECT source, list_at, received_at, entries, signer, digest FROM peer_lists WHERE source = ?').get(source) as PeerListRow | undefined;
  }

  /** The source a signer (by thumbprint) is bound to, if any. */
  sourceOfSigner(signer: string): string | undefined {
    return this.db.prepare('SELECT source FROM peer_lists WHERE signer = ?').pluck().get(signer) as string | undefined;
  }

  peerLists(): PeerListRow[] {
    return this.db.prepare('SELECT source, list_at, received_at, entries, signer, digest FROM peer_lists ORDER BY received_at DESC').all() as PeerListRow[];
  }
}
