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

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { STORE_ID } from '../../db/keyfile.js';
import type { KeyStore } from '../../db/store.js';
import { visible } from '../shared/visibleText.js';
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
// A source is a store id (db/keyfile.ts STORE_ID): no other character can reach a message or the terminal.
const List = z.strictObject({ source: z.string().regex(STORE_ID), at: z.iso.datetime(), revoked: z.array(Entry).max(10_000_000) });

export class RevocationService {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  /** This store's revocation list (its own revocations and those it heard), as a JWE for peers. */
  async exportList(protection: BundleProtection, delivery?: Delivery): Promise<{ jwe: string; entries: number; source: string }> {
    this.session.flushPending();
    const store = this.session.store();
    const at = this.now().toISOString();
    const revoked = store.revocations.all().map((r) => ({ identity: r.identity, revokedAt: r.revokedAt, wrapdata: r.tags.map((t) => t.toString('hex')) }));
    const jwe = await sealBundle('keyladder-revocation-list', { source: store.storeId, at, revoked }, protection, store);
    deliverThenRecord(jwe, delivery, () => store.audit.append({ at, action: 'revocation.export', outcome: 'ok', subject: null, details: { entries: revoked.length, ...protectionDetails(protection) } }));
    return { jwe, entries: revoked.length, source: store.storeId };
  }

  /**
   * `bindSource`: the operator vouches that this list's signer speaks for its
   * source, a source seen before with no signer bound (a store upgraded from
   * before bindings, or lists that came unsigned). Audited on the import row.
   */
  async importList(jwe: string, protection: OpenProtection, options: { readonly bindSource?: boolean } = {}): Promise<RevocationImport> {
    const { payload, signer, signerThumbprint } = await openBundle('keyladder-revocation-list', jwe, protection, this.session.store());
    const checked = List.safeParse(payload);
    if (options.bindSource === true && signerThumbprint === null) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Only a signed list can bind its source to its signer (--bind-source); this one is not signed. Nothing was imported.');
    if (!checked.success) {
      const where = checked.error.issues[0]?.path.join('.') || 'revoked';
      throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, `The revocation list is malformed at ${where}; nothing was imported.`);
    }
    const list = checked.data;
    this.session.flushPending();
    const store = this.session.store();
    if (list.source === store.storeId) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'That is this store\'s own revocation list; import it on a peer.');
    const now = this.now();
    const at = now.toISOString();
    const digest = createHash('sha256').update(JSON.stringify(payload)).digest('hex');
    return store.transaction(() => {
      const bound = checkListSource(store, list, signerThumbprint, digest, now, options.bindSource === true);
      return applyList(store, list, at, signer, signerThumbprint, digest, bound);
    });
  }

  /** When each peer's list came last, for the operator. */
  peerLists(): PeerList[] {
    return this.session.store().revocations.peerLists().map((r) => ({ source: r.source, listAt: r.list_at, receivedAt: r.received_at, entries: r.entries }));
  }
}

/** How far ahead of this clock a list may be dated: clocks of peers drift a little, not by years. */
export const LIST_CLOCK_SKEW_MS = 5 * 60_000;

const listRefused = (reason: string, message: string): ServiceError => new ServiceError(ServiceErrorCode.REVOCATION_LIST_REFUSED, `${message} Nothing was imported.`, undefined, reason);

/**
 * A list speaks for its `source` only when its signer is the one bound to that
 * source (issue 19, item 12; round 2). A signer is bound to a source when the
 * operator pins it (`recipient add --source`), when migration 007 found one
 * unambiguous signer in the audit log, when the operator vouches on import
 * (`--bind-source`), or, for a source never seen before, by its first signed
 * list. A source already seen with no signer bound accepts no signed list
 * otherwise: whoever signed first would take it (the re-review's upgraded
 * store). A signer speaks for one source, and a source's lists only move
 * forward in time: an older list (a replay) is refused, and one of the same
 * date unless it is the same list; a list dated ahead of this clock beyond a
 * small skew is refused, or it would hold the source's date in the future.
 * Checked inside the import's transaction, before anything is written.
 * Returns how the signer came to be bound by this import, for the audit.
 */
function checkListSource(store: KeyStore, list: z.infer<typeof List>, signer: string | null, digest: string, now: Date, bindSource: boolean): 'first-list' | 'operator' | null {
  const listAt = Date.parse(list.at);
  // list.source matched STORE_ID: it carries no control character; visible() all the same, should that rule ever widen.
  const source = visible(list.source);
  if (listAt > now.getTime() + LIST_CLOCK_SKEW_MS) throw listRefused('FUTURE', `The list is dated ${list.at}, ahead of this KeyLadder's clock (${now.toISOString()}) by more than ${LIST_CLOCK_SKEW_MS / 60_000} minutes.`);
  const seen = store.revocations.peerList(list.source);
  const pinnedForSource = store.keyring.recipientForListSource(list.source);
  const signerRow = signer === null ? undefined : store.keyring.recipientByThumbprint(signer);
  const signerPinnedTo = signerRow?.use === 'sig' ? signerRow.list_source : null;
  if (signer !== null) {
    const bound = signerPinnedTo ?? store.revocations.sourceOfSigner(signer);
    if (bound != null && bound !== list.source) throw listRefused('SOURCE_NOT_SIGNERS', `The list claims source ${source}, but its signer (thumbprint ${signer}) speaks for ${visible(bound)}.`);
  }
  const boundSigner = pinnedForSource?.thumbprint ?? seen?.signer ?? null;
  if (boundSigner !== null && boundSigner !== signer) {
    throw listRefused('SOURCE_NOT_SIGNERS', signer === null
      ? `Lists from ${source} are signed (by thumbprint ${boundSigner}); this one is not.`
      : `Lists from ${source} are signed by the key of thumbprint ${boundSigner}; this one by ${signer}.`);
  }
  let boundNow: 'first-list' | 'operator' | null = null;
  if (signer !== null && boundSigner === null) {
    if (seen !== undefined && !bindSource) {
      throw listRefused('SOURCE_UNBOUND', `Lists from ${source} came before, but no signer is bound to it, so nothing says the key of thumbprint ${signer} speaks for it. ` +
        `If it does (check with that peer's operator), pin it with \`keyladder recipient add FILE --use sig --source ${source}\` or import this list with --bind-source.`);
    }
    boundNow = seen === undefined && !bindSource ? 'first-list' : 'operator';
  }
  if (seen !== undefined) {
    const newest = Date.parse(seen.list_at);
    if (listAt < newest || (listAt === newest && seen.digest !== digest)) {
      throw listRefused('STALE', `The list from ${source} is dated ${list.at}; a list dated ${seen.list_at} came already${listAt === newest ? ', with other entries' : ''}.`);
    }
  }
  return boundNow;
}

function applyList(store: KeyStore, list: z.infer<typeof List>, at: string, signer: string | null, signerThumbprint: string | null, digest: string, bound: 'first-list' | 'operator' | null): RevocationImport {
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
  store.revocations.notePeerList(list.source, list.at, at, list.revoked.length, signerThumbprint, digest);
  store.audit.append({ at, action: 'revocation.import', outcome: 'ok', subject: null, details: { source: list.source, entries: list.revoked.length, revokedHere: revokedHere.length, heard, ...provenanceDetails(signer, signerThumbprint), ...(bound === null ? {} : { sourceBound: bound }) } });
  return { source: list.source, entries: list.revoked.length, revokedHere, heard, signer };
}
