// The responder's keys, from the store. Sealed keys are opened at the moment
// of use and handed to the responder, which zeroes them.
//
// Kissuer keys are opened through the sealer's small memory of opened keys
// (`unsealRemembered`): every exchange needs the active one. The memory is
// wiped when the store locks; a generation retired or destroyed here is
// forgotten at once, and one destroyed by another process (the CLI while the
// app is open) as soon as this one finds its key gone.
//
// A Kissuer generation in grace accepts returning wrapdata until its grace
// date even before the grace is turned into "retired" in the database, so an
// exchange never needs a write to decide.

import type { KeyStore } from '../../db/store.js';
import type { DeviceKeyRow } from '../../db/repositories/devices.js';
import type { IssuerKeyRow } from '../../db/repositories/issuers.js';
import type { IdentityStatus, LadderKeySource, ReturningVerdict, WrappingKeyLookup } from '../ladder/responder.js';
import type { WrapdataRegistry } from './wrapdataRegistry.js';
import type { IssuerKey, WrapdataFormat } from '../ladder/wrapdata.js';

import { randomBytes } from 'node:crypto';
import { deviceBinding, groupBinding, issuerBinding } from '../../db/sealing.js';

/** A random key sealed under each store's key, opened by every decoy (see decoyKey). */
const DECOY_BINDING = 'decoy/kpw';
const decoySealed = new WeakMap<KeyStore, Buffer>();

export { deviceBinding, groupBinding, issuerBinding };

export function accepts(row: Pick<IssuerKeyRow, 'status' | 'grace_until'>, now: string): boolean {
  return row.status === 'active' || (row.status === 'grace' && row.grace_until !== null && row.grace_until > now);
}

export class StoreKeySource implements LadderKeySource {
  /** The device row of the request being answered, looked up once by the exchange service. */
  private device: { identity: string; row: DeviceKeyRow | undefined } | undefined;

  /**
   * `registry`: judge returning wrapdata against the wrapdata registry (the
   * responder's doors); left out by the operator's test tools, whose
   * simulated devices must not count as the real ones.
   */
  constructor(private readonly store: KeyStore, private readonly now: () => string, registry?: WrapdataRegistry) {
    if (registry) {
      this.judgeReturningWrapdata = (identity, tag, format, generation) => registry.judge(store, this.row(identity)?.id, tag, format, generation, this.now());
      this.rehearseJudgement = (identity, tag) => registry.rehearse(store, this.row(identity)?.id, tag);
    }
  }

  readonly judgeReturningWrapdata?: (identity: string, tag: Buffer, format: WrapdataFormat, generation: number) => ReturningVerdict;
  readonly rehearseJudgement?: (identity: string, tag: Buffer) => void;

  /** Looks the device up once per exchange; the responder's lookups reuse it. */
  prepare(identity: string): DeviceKeyRow | undefined {
    const row = this.store.devices.keys(identity);
    this.device = { identity, row };
    return row;
  }

  private row(identity: string): DeviceKeyRow | undefined {
    return this.device?.identity === identity ? this.device.row : this.store.devices.keys(identity);
  }

  /** For WRAP: whether the identity is revoked, without unsealing its key. */
  identityStatus(identity: string): IdentityStatus {
    // An identity this store does not hold may have been revoked by a peer (electron/services/revocations.ts).
    return this.row(identity)?.status ?? (this.store.revocations.heardRevoked(identity) ? 'revoked' : 'unknown');
  }

  wrappingKey(identity: string, mechanism: 'PSK' | 'MGK'): WrappingKeyLookup {
    const row = this.row(identity);
    if (!row) return { status: 'unknown' };
    if (row.status === 'revoked') return { status: 'revoked' };
    if (mechanism === 'PSK') return { status: 'active', key: this.store.sealer.unseal(deviceBinding(identity, 'kpw'), row.kpw) };
    if (row.group_name === null || row.kdw === null) return { status: 'no-group' };
    return { status: 'active', key: this.store.sealer.unseal(groupBinding(row.group_name, 'kdw'), row.kdw) };
  }

  /**
   * A decoy's previous key (serve --uniform-refusals): a real answer opens the
   * device's or group's sealed key, so a decoy opens a sealed key of the same
   * size too (made once per store); the responder overwrites it with random bytes.
   */
  decoyKey(): Buffer {
    let sealed = decoySealed.get(this.store);
    if (sealed === undefined) {
      const plain = randomBytes(16);
      sealed = this.store.sealer.seal(DECOY_BINDING, plain);
      plain.fill(0);
      decoySealed.set(this.store, sealed);
    }
    return this.store.sealer.unseal(DECOY_BINDING, sealed);
  }

  private issuerKey(row: IssuerKeyRow): IssuerKey {
    if (row.key === null) throw new Error('destroyed generations are never handed out');
    return { generation: row.generation, format: row.format, key: this.store.sealer.unsealRemembered(issuerBinding(row.generation), row.key) };
  }

  activeIssuer(): IssuerKey | undefined {
    const row = this.store.issuers.active();
    return row && this.issuerKey(row);
  }

  issuer(generation: number): (IssuerKey & { accepts: boolean }) | undefined {
    const row = this.store.issuers.keyOf(generation);
    if (!row) return undefined;
    // A destroyed generation's key is gone: to the device it is as unknown as any other.
    // (If another process destroyed it, this one forgets its opened copy now.)
    if (row.key === null) {
      this.store.sealer.forget(issuerBinding(generation));
      return undefined;
    }
    return { ...this.issuerKey(row), accepts: accepts(row, this.now()) };
  }

  mslIssuers(): Array<IssuerKey & { accepts: boolean }> {
    const now = this.now();
    return this.store.issuers.mslKeys().map((row) => ({ ...this.issuerKey(row), accepts: accepts(row, now) }));
  }
}
