// The wrapdata registry: which device each recent wrapdata was issued to, and
// from which wrapdata.
//
// Bare-MSL wrapdata names no identity, so on its own a revoked device could
// present its wrapdata under any other identity and keep climbing. The
// registry keeps, per device, the tags (keyed hashes, never the wrapdata) of
// the wrapdata last issued to it, each with its parent (the wrapdata the WRAP
// it answered presented; none for a PSK/MGK answer, a root). So the responder
// refuses wrapdata issued to another identity whatever identity is claimed,
// and bare-MSL wrapdata it does not know at all (it may be a revoked device's,
// issued too long ago to be remembered), unless the operator opened a window
// for devices migrating from MSL's own responder (see mayMigrate).
//
// Clones are forks of a lineage. Nothing on /v1/keyx authenticates the caller,
// so a PSK/MGK answer (anyone may ask for one under any identity; it is useless
// without the device's key) starts a new root and never supersedes anything.
// A wrapdata is superseded only when it was presented and answered, and that
// answer (or another answer to the same wrapdata) was itself presented: two
// holders went on from one wrapdata. One retry stays allowed: a device whose
// answer was lost presents the same wrapdata again.
//
// Writes go with the exchange's audit record, in the recorder's batch (every
// 20 ms at most), so an answer costs no extra transaction. Until its batch is
// written, an issue is known to this process only (PendingRegistry): another
// `serve` worker sees it up to 20 ms later, and until then treats it as
// unregistered. For keyladder-v1 wrapdata that answers as before the registry
// existed; bare-MSL wrapdata is then refused (WRAPDATA_UNREGISTERED), so a
// device back within 20 ms at another worker is sent back to PSK: the price of
// never waiting on a write.

import type { ClonePolicy, RegisteredWrapdata, RegistryUpdate } from '../../db/repositories/wrapdata.js';
import type { KeyStore } from '../../db/store.js';
import { wrappingKeyMissing } from '../ladder/errors.js';
import type { ReturningVerdict } from '../ladder/responder.js';
import type { WrapdataFormat } from '../ladder/wrapdata.js';

const key = (tag: Buffer): string => tag.toString('latin1');

/** Registry updates this process has made and not yet written, with the lookups they change. */
export class PendingRegistry {
  private updates: RegistryUpdate[] = [];
  private readonly owners = new Map<string, number>();
  private readonly issuedTo = new Map<number, Array<{ tag: Buffer; parent: Buffer | null }>>();
  private readonly presented = new Map<string, number>();
  private readonly migrated = new Set<number>();
  private issuedUnder = new Set<number>();

  add(update: RegistryUpdate): void {
    this.updates.push(update);
    this.owners.set(key(update.issued), update.deviceId);
    const row = { tag: update.issued, parent: update.parent ?? null };
    const issued = this.issuedTo.get(update.deviceId);
    if (issued) issued.push(row);
    else this.issuedTo.set(update.deviceId, [row]);
    if (update.presented !== undefined) this.presented.set(key(update.presented), (this.presented.get(key(update.presented)) ?? 0) + 1);
    if (update.migrated !== undefined) {
      this.owners.set(key(update.migrated.tag), update.deviceId);
      this.migrated.add(update.deviceId);
    }
  }

  /** An answer was issued under this Kissuer generation (any answer: test exchanges and unheld identities too). */
  noteIssued(generation: number): void {
    this.issuedUnder.add(generation);
  }

  ownerOf(tag: Buffer): number | undefined {
    return this.owners.get(key(tag));
  }

  hasIssuedUnder(generation: number): boolean {
    return this.issuedUnder.has(generation);
  }

  hasMigrated(deviceId: number): boolean {
    return this.migrated.has(deviceId);
  }

  /** The device's history as the store has it, with this process's unwritten issues and presentations. */
  merge(deviceId: number, stored: readonly RegisteredWrapdata[]): RegisteredWrapdata[] {
    const last = stored.length === 0 ? 0 : stored[stored.length - 1]!.seq;
    const issued = (this.issuedTo.get(deviceId) ?? []).map((w, i) => ({ ...w, seq: last + i + 1, presented: 0 }));
    if (this.presented.size === 0) return [...stored, ...issued];
    return [...stored, ...issued].map((w) => ({ ...w, presented: w.presented + (this.presented.get(key(w.tag)) ?? 0) }));
  }

  /** What the next batch writes. */
  taken(): readonly RegistryUpdate[] {
    return this.updates;
  }

  /** The generations the next batch records as having issued here. */
  generationsIssued(): ReadonlySet<number> {
    return this.issuedUnder;
  }

  /** The batch holding them was written. */
  written(): void {
    this.updates = [];
    this.owners.clear();
    this.issuedTo.clear();
    this.presented.clear();
    this.migrated.clear();
    this.issuedUnder = new Set();
  }

  get size(): number {
    return this.updates.length + this.issuedUnder.size;
  }
}

/**
 * The verdict on a device's own wrapdata, from its history (oldest first).
 * Wrapdata never presented is the normal climb ('latest'), unless another
 * answer to the same parent was presented: the lineage forked, and whichever
 * branch comes second is superseded. Wrapdata presented once may come back
 * once more if its answer was never presented (the device lost our answer:
 * 'retry'). Anything else is superseded: presented twice already, or its
 * answer climbed on (or is older than the registry remembers).
 * `tag` must be registered to the device: in its history, or the wrapdata it
 * migrated with (used once then, when its answer is in the history).
 */
export function verdictOn(history: readonly RegisteredWrapdata[], tag: Buffer): Exclude<ReturningVerdict, 'unregistered' | 'migrated'> {
  const node = history.find((w) => w.tag.equals(tag));
  const answers = history.filter((w) => w.parent !== null && w.parent.equals(tag));
  const uses = node ? node.presented : Math.max(1, answers.length);
  // A root anyone could have asked for, replayed before any answer to it climbed on: the four
  // requests a stranger needs (PSK, then its root three times). Not a clone mark; a real clone
  // is caught one step on, when two answers to it are presented (the fork check below).
  if (uses >= 2 && node !== undefined && node.parent === null && answers.every((a) => a.presented === 0)) return 'root-replayed';
  if (uses >= 2) return 'superseded';
  if (uses === 1) return answers.length > 0 && answers.every((a) => a.presented === 0) ? 'retry' : 'superseded';
  const parent = node!.parent;
  if (parent !== null && history.some((w) => w !== node && w.parent !== null && w.parent.equals(parent) && w.presented > 0)) return 'superseded';
  return 'latest';
}

export class WrapdataRegistry {
  constructor(private readonly pending: PendingRegistry) {}

  /**
   * Judges wrapdata that came back under `identity` (its device id, or
   * undefined when the identity is not provisioned here), opened under
   * `generation`, at `now` (ISO 8601). Throws a LadderError to refuse:
   * wrapdata issued to another device is refused whatever identity is
   * claimed, unknown bare-MSL wrapdata unless it migrates, and superseded
   * wrapdata under the `refuse` policy.
   */
  judge(store: KeyStore, deviceId: number | undefined, tag: Buffer, format: WrapdataFormat, generation: number, now: string): ReturningVerdict {
    const owner = this.pending.ownerOf(tag) ?? store.wrapdata.ownerOf(tag);
    if (owner === undefined) {
      // A peer's revocation list names it as a revoked device's wrapdata: refused under any identity.
      if (store.revocations.revokedOwnerOf(tag) !== undefined) throw wrappingKeyMissing('WRAPDATA_IDENTITY_MISMATCH', 'The wrapdata was issued to another identity.');
      // A deleted device's (its tombstone keeps the tags): refused under any identity, its own reused included.
      if (store.tombstones.deletedOwnerOf(tag) !== undefined) throw deletedDevices();
      // keyladder-v1 wrapdata is bound to its identity, so wrapdata this store never registered
      // (a peer's, or older than the registry remembers) can only be the claimed identity's own,
      // unless the identity was a deleted device's: then it may be that device's, older than its tombstone's tags.
      if (format !== 'msl') {
        if (deviceId !== undefined && store.tombstones.isReusedIdentity(deviceId)) throw deletedDevices();
        return 'unregistered';
      }
      // Bare-MSL wrapdata could be anyone's, a revoked device's older wrapdata included.
      if (deviceId === undefined) throw wrappingKeyMissing('WRAPDATA_IDENTITY_UNKNOWN', 'Bare-MSL wrapdata names no identity, so this responder answers it only for identities it holds. Use PSK or MGK.');
      if (this.mayMigrate(store, deviceId, generation, now)) return 'migrated';
      throw wrappingKeyMissing('WRAPDATA_UNREGISTERED', 'This responder does not know this bare-MSL wrapdata (not issued here, or too long ago), and bare-MSL wrapdata names no identity, so it could be a revoked device\'s. Use PSK or MGK.');
    }
    if (owner !== deviceId) throw wrappingKeyMissing('WRAPDATA_IDENTITY_MISMATCH', 'The wrapdata was issued to another identity.');
    const verdict = verdictOn(this.pending.merge(owner, store.wrapdata.historyOf(owner)), tag);
    // Read whatever the verdict, so that a device's own wrapdata costs the same statements every
    // time, and rehearse() (a decoy's) can run exactly these.
    const policy = clonePolicy(store);
    if ((verdict === 'superseded' || verdict === 'root-replayed') && policy === 'refuse') throw superseded();
    return verdict;
  }

  /**
   * A decoy's stand-in for judge() (serve --uniform-refusals): the statements
   * judging a device's own registered wrapdata runs (its owner by tag, the
   * device's history, the clone policy), for `tag` (the decoy's, registered
   * nowhere) and the claimed identity's device (none for an unknown one). The
   * verdict is thrown away. Without it a WRAP answer cost three registry reads
   * more than its decoy, about 10 us with SQLite 3.53: enough to tell an active
   * identity from unknown and revoked ones.
   */
  rehearse(store: KeyStore, deviceId: number | undefined, tag: Buffer): void {
    if (this.pending.ownerOf(tag) === undefined) store.wrapdata.issuedOwnerOf(tag);
    const id = deviceId ?? NO_DEVICE;
    verdictOn(this.pending.merge(id, store.wrapdata.historyOf(id)), tag);
    clonePolicy(store);
  }

  /**
   * The migration from MSL's own responder: unknown bare-MSL wrapdata is
   * answered only while the operator's migration window is open, only if it
   * opened under an imported-msl generation under which this KeyLadder never
   * issued (so it was issued by the old responder, not here to
   * a device since revoked), and only for a held identity (revoked ones never
   * get here) that never climbed here, once. Its tag is then remembered as the
   * device's, so it is refused under any other identity, and under every one
   * once the device is revoked.
   */
  private mayMigrate(store: KeyStore, deviceId: number, generation: number, now: string): boolean {
    const until = store.wrapdata.migrationUntil();
    if (until === undefined || !(now < until)) return false;
    if (this.pending.hasIssuedUnder(generation) || !store.wrapdata.openToMigration(generation)) return false;
    if (this.pending.hasMigrated(deviceId) || store.wrapdata.migratedOf(deviceId) !== undefined) return false;
    // Climbed before lineages were recorded: its rows are all roots, but it is no newcomer.
    if (store.wrapdata.climbedBeforeLineages(deviceId)) return false;
    return !this.pending.merge(deviceId, store.wrapdata.historyOf(deviceId)).some((w) => w.parent !== null);
  }
}

/** No device has this id (SQLite's rowids start at 1): an unknown identity's history is empty. */
const NO_DEVICE = 0;

export const clonePolicy = (store: KeyStore): ClonePolicy => store.wrapdata.clonePolicy();

const deletedDevices = () => wrappingKeyMissing('WRAPDATA_DEVICE_DELETED', 'The wrapdata was issued to a deleted device (or, under an identity provisioned again, may have been). Use PSK or MGK.');

const superseded = () => wrappingKeyMissing('WRAPDATA_SUPERSEDED', 'The wrapdata was already presented and its answer climbed on (or was presented twice already): a replay, or a cloned device. Use PSK or MGK.');
