// The wrapdata registry: which device each recent wrapdata was issued to.
//
// Bare-MSL wrapdata names no identity, so on its own a revoked device could
// present its wrapdata under any other identity and keep climbing. The
// registry keeps, per device, the tags (keyed hashes, never the wrapdata) of
// the last wrapdata issued to it, and so the responder can refuse wrapdata
// issued to another identity whatever identity is claimed, and notice
// wrapdata older than the latest: a replay, or a cloned device.
//
// Writes go with the exchange's audit record, in the recorder's batch (every
// 20 ms at most), so an answer costs no extra transaction. Until its batch is
// written, an issue is known to this process only (PendingRegistry): another
// `serve` worker sees it up to 20 ms later, and until then treats it as
// unregistered. For keyladder-v1 wrapdata that answers as before the registry
// existed; bare-MSL wrapdata of a device with registered wrapdata then counts
// as superseded, so a device back within 20 ms at another worker is flagged
// (or, under `refuse`, sent back to PSK): the price of never waiting on a write.

import { REGISTRY_DEPTH, type ClonePolicy, type RegisteredWrapdata, type RegistryUpdate } from '../../db/repositories/wrapdata.js';
import type { KeyStore } from '../../db/store.js';
import { wrappingKeyMissing } from '../ladder/errors.js';
import type { ReturningVerdict } from '../ladder/responder.js';
import type { WrapdataFormat } from '../ladder/wrapdata.js';

const key = (tag: Buffer): string => tag.toString('latin1');

/** Registry updates this process has made and not yet written, with the lookups they change. */
export class PendingRegistry {
  private updates: RegistryUpdate[] = [];
  private readonly owners = new Map<string, number>();
  private readonly issuedTo = new Map<number, Buffer[]>();
  private readonly presented = new Map<string, number>();

  add(update: RegistryUpdate): void {
    this.updates.push(update);
    this.owners.set(key(update.issued), update.deviceId);
    const issued = this.issuedTo.get(update.deviceId);
    if (issued) issued.push(update.issued);
    else this.issuedTo.set(update.deviceId, [update.issued]);
    if (update.presented !== undefined) this.presented.set(key(update.presented), (this.presented.get(key(update.presented)) ?? 0) + 1);
  }

  ownerOf(tag: Buffer): number | undefined {
    return this.owners.get(key(tag));
  }

  /** The device's history as the store has it, with this process's unwritten issues and presentations. */
  merge(deviceId: number, stored: readonly RegisteredWrapdata[]): RegisteredWrapdata[] {
    const last = stored.length === 0 ? 0 : stored[stored.length - 1]!.seq;
    const issued = (this.issuedTo.get(deviceId) ?? []).map((tag, i) => ({ tag, seq: last + i + 1, presented: 0 }));
    return [...stored, ...issued].slice(-REGISTRY_DEPTH).map((w) => ({ ...w, presented: w.presented + (this.presented.get(key(w.tag)) ?? 0) }));
  }

  /** What the next batch writes. */
  taken(): readonly RegistryUpdate[] {
    return this.updates;
  }

  /** The batch holding them was written. */
  written(): void {
    this.updates = [];
    this.owners.clear();
    this.issuedTo.clear();
    this.presented.clear();
  }

  get size(): number {
    return this.updates.length;
  }
}

/**
 * The verdict on a device's own wrapdata, from its history (oldest first).
 * The latest is the normal climb. The one before it may come back once more,
 * if the latest never came back: the device lost our answer and retries.
 * Anything else it once held is superseded.
 */
export function verdictOn(history: readonly RegisteredWrapdata[], tag: Buffer): Exclude<ReturningVerdict, 'unregistered'> {
  const at = history.findIndex((w) => w.tag.equals(tag));
  const latest = history[history.length - 1];
  if (at === history.length - 1) return 'latest';
  if (at === history.length - 2 && history[at]!.presented === 1 && latest!.presented === 0) return 'retry';
  return 'superseded';
}

export class WrapdataRegistry {
  constructor(private readonly pending: PendingRegistry) {}

  /**
   * Judges wrapdata that came back under `identity` (its device id, or
   * undefined when the identity is not provisioned here). Throws a LadderError
   * to refuse: wrapdata issued to another device is refused whatever identity
   * is claimed, and superseded wrapdata under the `refuse` policy.
   */
  judge(store: KeyStore, deviceId: number | undefined, tag: Buffer, format: WrapdataFormat = 'keyladder-v1'): ReturningVerdict {
    const owner = this.pending.ownerOf(tag) ?? store.wrapdata.ownerOf(tag);
    if (owner === undefined) {
      // A peer's revocation list names it as a revoked device's wrapdata: refused under any identity.
      if (store.revocations.revokedOwnerOf(tag) !== undefined) throw wrappingKeyMissing('WRAPDATA_IDENTITY_MISMATCH', 'The wrapdata was issued to another identity.');
      // keyladder-v1 wrapdata is bound to its identity, so wrapdata this store never registered
      // (a peer's, or from before the registry) can only be the claimed identity's own.
      if (format !== 'msl') return 'unregistered';
      // Bare-MSL wrapdata could be anyone's, a revoked device's older wrapdata included. It is
      // answered only for identities held here, and for one that has registered wrapdata, it is
      // wrapdata this store did not issue it: superseded (flagged, or refused by policy).
      if (deviceId === undefined) throw wrappingKeyMissing('WRAPDATA_IDENTITY_UNKNOWN', 'Bare-MSL wrapdata names no identity, so this responder answers it only for identities it holds. Use PSK or MGK.');
      if (this.pending.merge(deviceId, store.wrapdata.historyOf(deviceId)).length === 0) return 'unregistered';
      if (clonePolicy(store) === 'refuse') throw superseded();
      return 'superseded';
    }
    if (owner !== deviceId) throw wrappingKeyMissing('WRAPDATA_IDENTITY_MISMATCH', 'The wrapdata was issued to another identity.');
    const verdict = verdictOn(this.pending.merge(owner, store.wrapdata.historyOf(owner)), tag);
    if (verdict === 'superseded' && clonePolicy(store) === 'refuse') throw superseded();
    return verdict;
  }
}

export const clonePolicy = (store: KeyStore): ClonePolicy => store.wrapdata.clonePolicy();

const superseded = () => wrappingKeyMissing('WRAPDATA_SUPERSEDED', 'The wrapdata is older than the latest issued to this device (or was never issued to it here): a replay, or a cloned device. Use PSK or MGK.');
