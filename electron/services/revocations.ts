// Revocation across peers. Responders that share Kissuer answer each other's
// devices on WRAP, so a device revoked on one must be refused by all. A
// revocation list travels like a Kissuer export (a JWE to a passphrase or a
// peer's RSA key, audited both ways) and holds, for each revoked device, its
// identity, when it was revoked, and the tags of the wrapdata last issued to it
// (the wrapdata registry's keyed hashes, never wrapdata): with those, a peer
// refuses that wrapdata under any identity, bare-MSL included.
//
// Importing a list revokes the devices it names that this store holds and
// still answers (audited each, naming the peer), and remembers the others, so
// their WRAP is refused too. A list carries what its store heard from other
// peers as well, so a revocation reaches a whole network through any chain of
// exports.

import { z } from 'zod';
import type { KeyStore } from '../../db/store.js';
import { openBundle, protectionDetails, provenanceDetails, sealBundle, type OpenProtection } from './bundles.js';
import { deliverThenRecord, type Delivery } from './delivery.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import type { StoreSession } from './session.js';
import type { BundleProtection } from './types.js';

export interface RevocationImport {
  /** The store id of the responder that made the list. */
  readonly source: string;
  readonly entries: number;
  /** Devices of this store the list revoked now. */
  readonly revokedHere: readonly string[];
  /** Identities this store does not hold, now refused on WRAP. */
  readonly heard: number;
  /** The keyring kid of the list's signer; null when it was imported unsigned. */
  readonly signer: string | null;
}

export interface PeerList {
  readonly source: string;
  readonly listAt: string;
  readonly receivedAt: string;
  readonly entries: number;
}

const Entry = z.strictObject({
  identity: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/),
  revokedAt: z.iso.datetime(),
  wrapdata: z.array(z.string().regex(/^[0-9a-f]{32}$/)).max(16),
});
const List = z.strictObject({ source: z.string().min(1).max(100), at: z.iso.datetime(), revoked: z.array(Entry).max(10_000_000) });

export class RevocationService {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  /** This store's revocation list (its own revocations and those it heard), as a JWE for peers. */
  async exportList(protection: BundleProtection, delivery?: Delivery): Promise<{ jwe: string; entries: number }> {
    this.session.flushPending();
    const store = this.session.store();
    const at = this.now().toISOString();
    const revoked = store.revocations.all().map((r) => ({ identity: r.identity, revokedAt: r.revokedAt, wrapdata: r.tags.map((t) => t.toString('hex')) }));
    const jwe = await sealBundle('keyladder-revocation-list', { source: store.storeId, at, revoked }, protection, store);
    deliverThenRecord(jwe, delivery, () => store.audit.append({ at, action: 'revocation.export', outcome: 'ok', subject: null, details: { entries: revoked.length, ...protectionDetails(protection) } }));
    return { jwe, entries: revoked.length };
  }

  async importList(jwe: string, protection: OpenProtection): Promise<RevocationImport> {
    const { payload, signer } = await openBundle('keyladder-revocation-list', jwe, protection, this.session.store());
    const checked = List.safeParse(payload);
    if (!checked.success) {
      const where = checked.error.issues[0]?.path.join('.') || 'revoked';
      throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The revocation list is malformed at ${where}; nothing was imported.`);
    }
    const list = checked.data;
    this.session.flushPending();
    const store = this.session.store();
    if (list.source === store.storeId) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is this store\'s own revocation list; import it on a peer.');
    const at = this.now().toISOString();
    return store.transaction(() => applyList(store, list, at, signer));
  }

  /** When each peer's list came last, for the operator. */
  peerLists(): PeerList[] {
    return this.session.store().revocations.peerLists().map((r) => ({ source: r.source, listAt: r.list_at, receivedAt: r.received_at, entries: r.entries }));
  }
}

function applyList(store: KeyStore, list: z.infer<typeof List>, at: string, signer: string | null): RevocationImport {
  const revokedHere: string[] = [];
  let heard = 0;
  for (const entry of list.revoked) {
    const device = store.devices.get(entry.identity);
    const tags = entry.wrapdata.map((hex) => Buffer.from(hex, 'hex'));
    if (device) {
      if (device.status === 'active' && store.devices.revoke(entry.identity, at)) {
        revokedHere.push(entry.identity);
        store.audit.append({ at, action: 'device.revoke', outcome: 'ok', subject: entry.identity, details: { by: 'peer', source: list.source } });
      }
      // Its wrapdata from the peer's side is refused too (this store may never have issued it).
      store.revocations.addHeard({ identity: entry.identity, revokedAt: entry.revokedAt, tags }, list.source, at);
    } else if (store.revocations.addHeard({ identity: entry.identity, revokedAt: entry.revokedAt, tags }, list.source, at)) {
      heard += 1;
    }
  }
  store.revocations.notePeerList(list.source, list.at, at, list.revoked.length);
  store.audit.append({ at, action: 'revocation.import', outcome: 'ok', subject: null, details: { source: list.source, entries: list.revoked.length, revokedHere: revokedHere.length, heard, ...provenanceDetails(signer) } });
  return { source: list.source, entries: list.revoked.length, revokedHere, heard, signer };
}
