// Devices and model groups: provisioning, bulk import, revocation, listing,
// and provisioning bundles for factories.
//
// Bulk import is atomic per file: every row is checked first, and if any row
// is bad nothing is written and the report lists each bad row; otherwise all
// rows are written in one transaction. A crash mid-import leaves the store
// without any of the file's devices, never with part of them.

import { checkReason } from './actor.js';
import { setImmediate as nextTick } from 'node:timers/promises';
import type { DeviceRow, DeviceScope } from '../../db/repositories/devices.js';
import type { GroupRow } from '../../db/repositories/groups.js';
import type { DeviceApi, GroupApi, GroupKeyInput, ImportFormat, ProvisionRequest } from './api.js';
import { isStreamable, protectionDetails, sealBundle, sealBundleStream } from './bundles.js';
import { deliverChunksThenRecord, deliverThenRecord, type Delivery } from './delivery.js';
import { GROUP_NAMES, keysFromInput, sealDeviceKeys, sealTriple, type DeviceKeyInput, type SealedTriple, type TripleInput } from './deviceKeys.js';
import { ServiceError, ServiceErrorCode, describeError } from './errors.js';
import { parseImportFile, reportedIdentity } from './importRows.js';
import { deviceSealerFor, type SealJob } from './sealPool.js';
import { checkGroupName, checkIdentity, checkInteger } from './keyInput.js';
import type { StoreSession } from './session.js';
import { deviceBinding, groupBinding } from './storeKeySource.js';
import type { BundleProtection, DeviceCursorPage, DevicePage, DeviceSelector, DeviceSummary, GroupSummary, ImportReport, ImportRowError, ProgressCallback, SelectionCount } from './types.js';

const CHUNK = 1000;
export const MAX_PAGE = 1000;
/** The most devices one bundle holds. */
export const MAX_EXPORT = 100_000;
/** The most devices one selection (a revoke, a delete, a list of identities) names. */
export const MAX_SELECTION = 1_000_000;
/** How many names a refusal lists (the count says how many there were). */
const NAMED = 10;

const named = (names: readonly string[]): string => `${names.slice(0, NAMED).join(', ')}${names.length > NAMED ? `, and ${names.length - NAMED} more` : ''}`;

export function deviceSummary(row: DeviceRow): DeviceSummary {
  return {
    identity: row.identity,
    group: row.group_name,
    status: row.status,
    origin: row.origin,
    kcv: { kpw: row.kcv_kpw, ...(row.kcv_kpe ? { kpe: row.kcv_kpe } : {}), ...(row.kcv_kph ? { kph: row.kcv_kph } : {}) },
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastExchangeAt: row.last_exchange_at,
    lastMechanism: row.last_mechanism,
    lastGeneration: row.last_generation,
    exchangeCount: row.exchange_count,
    possibleClone: row.clone_suspected_at === null ? null : { since: row.clone_suspected_at, events: row.clone_events },
  };
}

function groupSummary(row: GroupRow): GroupSummary {
  return {
    name: row.name,
    origin: row.origin,
    kcv: { kdw: row.kcv_kdw, ...(row.kcv_kde ? { kde: row.kcv_kde } : {}), ...(row.kcv_kdh ? { kdh: row.kcv_kdh } : {}) },
    createdAt: row.created_at,
    deviceCount: row.device_count,
  };
}

/** Reads {kpe,kph} / {kpw} / nothing (and all three, which must agree). */
function deviceInput(row: { kpe?: unknown; kph?: unknown; kpw?: unknown }): DeviceKeyInput {
  const has = (v: unknown) => v !== undefined && v !== null && v !== '';
  if (has(row.kpe) !== has(row.kph)) throw new ServiceError(ServiceErrorCode.INVALID_KEY, 'Give kpe and kph together (Kpw is derived from them), or kpw alone.');
  if (has(row.kpe)) return { kind: 'pair', enc: row.kpe as string, hmac: row.kph as string, ...(has(row.kpw) ? { check: row.kpw as string } : {}) };
  if (has(row.kpw)) return { kind: 'wrap', wrap: row.kpw as string };
  return { kind: 'generate' };
}

export function deviceKeyInput(input: ProvisionRequest['keys']): TripleInput {
  switch (input?.kind) {
    case 'generate': return { kind: 'generate' };
    case 'kpe-kph': return { kind: 'pair', enc: input.kpe, hmac: input.kph };
    case 'kpw': return { kind: 'wrap', wrap: input.kpw };
    default: throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Keys are "generate", "kpe-kph" or "kpw".');
  }
}

export class DeviceService implements DeviceApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  private sealDevice(identity: string, input: DeviceKeyInput): SealedTriple {
    return sealDeviceKeys(this.session.store().sealer, identity, input);
  }

  private groupId(name: unknown): number | null {
    if (name === undefined || name === null || name === '') return null;
    const id = this.session.store().groups.idOf(checkGroupName(name));
    if (id === undefined) throw new ServiceError(ServiceErrorCode.GROUP_NOT_FOUND, `No model group "${String(name)}": add the model group first.`);
    return id;
  }

  provision(request: ProvisionRequest): DeviceSummary {
    const store = this.session.store();
    const identity = checkIdentity(request?.identity);
    const groupId = this.groupId(request.group);
    if (store.devices.exists(identity)) throw new ServiceError(ServiceErrorCode.DEVICE_EXISTS, `Device "${identity}" is already provisioned.`);
    const reused = this.checkNotDeleted(identity, request.reuseIdentity === true);
    const sealed = this.sealDevice(identity, deviceKeyInput(request.keys));
    const at = this.now().toISOString();
    store.transaction(() => {
      store.devices.insert({ identity, groupId, origin: sealed.origin, kpw: sealed.wrap, kpe: sealed.enc, kph: sealed.hmac, kcvKpw: sealed.kcvWrap, kcvKpe: sealed.kcvEnc, kcvKph: sealed.kcvHmac, createdAt: at });
      store.audit.append({ at, action: 'device.provision', outcome: 'ok', subject: identity, details: { origin: sealed.origin, group: request.group ?? null, kcvKpw: sealed.kcvWrap, ...(reused ? { reusedIdentity: true } : {}) } });
    });
    return this.get(identity);
  }

  /**
   * A deleted device's identity is provisioned again only when the operator
   * says so (`reuse`): a device maker's mistaken batch is deleted, not
   * re-imported by the next mistake. Whether it is a reuse.
   */
  private checkNotDeleted(identity: string, reuse: boolean): boolean {
    const tombstone = this.session.store().tombstones.get(identity);
    if (tombstone === undefined) return false;
    if (!reuse) throw new ServiceError(ServiceErrorCode.DEVICE_DELETED, `Device "${identity}" was deleted on ${tombstone.deleted_at}: provision the identity again only on purpose (--reuse-identity). Its old wrapdata stays refused.`);
    return true;
  }

  clearPossibleClone(identityInput: string): DeviceSummary {
    const identity = checkIdentity(identityInput);
    const store = this.session.store();
    const current = this.get(identity);
    if (current.possibleClone === null) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Device "${identity}" carries no "possible clone" mark.`);
    const at = this.now().toISOString();
    store.transaction(() => {
      const id = store.devices.keys(identity)!.id;
      store.wrapdata.clearClone(id);
      store.audit.append({ at, action: 'device.clone-cleared', outcome: 'ok', subject: identity, details: { since: current.possibleClone!.since, events: current.possibleClone!.events } });
    });
    return this.get(identity);
  }

  async import(text: string, format: ImportFormat, onProgress?: ProgressCallback, options: { readonly reuseIdentity?: boolean } = {}): Promise<ImportReport> {
    if (typeof text !== 'string') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The import needs the file contents as text.');
    if (format !== 'csv' && format !== 'json') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The import format is "csv" or "json".');
    const rows = parseImportFile(text, format);
    const store = this.session.store();
    const total = rows.length;
    const failed: ImportRowError[] = [];
    // Rows that passed the checks here, in file order; their keys are sealed in batches
    // (on worker threads for large files) while the checks go on.
    const ready: Array<{ row: number; identity: string; groupId: number | null; sealed?: SealedTriple }> = [];
    const seen = new Set<string>();
    const groups = new Map<string, number | null>();
    let reused = 0;
    const sealing = deviceSealerFor(store.sealer, total);
    const inFlight: Array<Promise<void>> = [];
    let jobs: SealJob[] = [];
    let slots: number[] = [];
    const sendBatch = (): void => {
      const [batch, at] = [jobs, slots];
      [jobs, slots] = [[], []];
      const done = sealing.seal(batch).then((outcomes) => outcomes.forEach((outcome, k) => {
        const entry = ready[at[k]!]!;
        if (outcome.ok) entry.sealed = outcome.sealed;
        else failed.push({ row: entry.row, identity: entry.identity, code: outcome.code, message: outcome.message });
      }));
      // Awaited below; until then a failed batch must not count as an unhandled rejection.
      done.catch(() => undefined);
      inFlight.push(done);
    };
    try {
      for (let i = 0; i < total; i++) {
        const { row, number } = rows[i]!;
        const identity = reportedIdentity(row.identity);
        try {
          const id = checkIdentity(row.identity);
          if (seen.has(id)) throw new ServiceError(ServiceErrorCode.DEVICE_EXISTS, `"${id}" appears more than once in the file.`);
          seen.add(id);
          if (store.devices.exists(id)) throw new ServiceError(ServiceErrorCode.DEVICE_EXISTS, `Device "${id}" is already provisioned.`);
          if (this.checkNotDeleted(id, options.reuseIdentity === true)) reused++;
          const groupKey = typeof row.group === 'string' ? row.group : '';
          if (!groups.has(groupKey)) groups.set(groupKey, this.groupId(row.group));
          jobs.push({ identity: id, input: deviceInput(row) });
          slots.push(ready.length);
          ready.push({ row: number, identity: id, groupId: groups.get(groupKey) ?? null });
        } catch (error) {
          const { code, message } = describeError(error);
          failed.push({ row: number, identity, code, message });
        }
        if ((i + 1) % CHUNK === 0) {
          sendBatch();
          // A few batches in flight keep every worker busy without holding the whole file's results.
          if (inFlight.length >= 4) await inFlight.shift();
          onProgress?.({ done: i + 1, total, phase: 'checking' });
          await nextTick();
          this.session.store();
        }
      }
      sendBatch();
      await Promise.all(inFlight);
    } finally {
      await sealing.close();
    }
    failed.sort((x, y) => x.row - y.row);
    onProgress?.({ done: total, total, phase: 'checking' });
    if (failed.length > 0) {
      store.audit.append({ at: this.now().toISOString(), action: 'device.import', outcome: 'refused', subject: null, details: { format, rows: total, badRows: failed.length } });
      return { total, imported: 0, failed };
    }
    const at = this.now().toISOString();
    try {
      store.transaction(() => {
        ready.forEach((d, i) => {
          const sealed = d.sealed!;
          store.devices.insert({ identity: d.identity, groupId: d.groupId, origin: sealed.origin, kpw: sealed.wrap, kpe: sealed.enc, kph: sealed.hmac, kcvKpw: sealed.kcvWrap, kcvKpe: sealed.kcvEnc, kcvKph: sealed.kcvHmac, createdAt: at });
          if ((i + 1) % (CHUNK * 10) === 0) onProgress?.({ done: i + 1, total, phase: 'writing' });
        });
        store.audit.append({ at, action: 'device.import', outcome: 'ok', subject: null, details: { format, rows: total, imported: ready.length, first: ready[0]?.identity ?? null, last: ready[ready.length - 1]?.identity ?? null, ...(reused > 0 ? { reusedIdentities: reused } : {}) } });
      });
    } catch (e) {
      if ((e as { code?: unknown } | null)?.code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
      // Another import or add (another process, the same file run twice at once) committed some of
      // these identities after the checks above and before this write: the whole import is refused
      // (rolled back), with the report the checks would have given, not SQLite's raw constraint error.
      const taken: ImportRowError[] = ready.filter((d) => store.devices.exists(d.identity)).map((d) => ({ row: d.row, identity: d.identity, code: ServiceErrorCode.DEVICE_EXISTS, message: `Device "${d.identity}" is already provisioned.` }));
      if (taken.length === 0) throw e;
      store.audit.append({ at: this.now().toISOString(), action: 'device.import', outcome: 'refused', subject: null, details: { format, rows: total, badRows: taken.length } });
      return { total, imported: 0, failed: taken };
    }
    onProgress?.({ done: total, total, phase: 'writing' });
    return { total, imported: ready.length, failed: [] };
  }

  list(query: { prefix?: string; offset?: number; limit?: number } = {}): DevicePage {
    const prefix = query.prefix ?? '';
    if (typeof prefix !== 'string' || prefix.length > 256) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The search prefix is at most 256 characters.');
    const offset = checkInteger(query.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = checkInteger(query.limit ?? 100, 'limit', 1, MAX_PAGE);
    this.session.flushPending();
    const { total, rows } = this.session.store().devices.list(prefix, offset, limit);
    return { total, offset, items: rows.map(deviceSummary) };
  }

  /**
   * A page by cursor: up to `limit` devices of the selection (every device, a
   * prefix or a group) after identity `after`, and the cursor of the next page
   * (null after the last). Paging this way to the end reads every device once,
   * whatever is added or deleted meanwhile, each page costing the same.
   */
  pageAfter(query: { readonly selector?: DeviceSelector; readonly after?: string | null; readonly limit?: number } = {}): DeviceCursorPage {
    const selector = query.selector ?? { kind: 'all' };
    if (selector.kind === 'identities') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A page is of every device, a prefix or a model group.');
    const scope = this.scopeOf(selector);
    const after = query.after === undefined || query.after === null ? null : checkIdentity(query.after);
    const limit = checkInteger(query.limit ?? 100, 'limit', 1, MAX_PAGE);
    this.session.flushPending();
    const rows = this.session.store().devices.pageAfter(scope, after, limit);
    return { items: rows.map(deviceSummary), next: rows.length === limit ? rows[rows.length - 1]!.identity : null };
  }

  get(identityInput: string): DeviceSummary {
    const identity = checkIdentity(identityInput);
    this.session.flushPending();
    const store = this.session.store();
    const row = store.devices.get(identity);
    if (!row) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device "${identity}" is provisioned.`);
    // Two indexed lookups (migration 009's msl_tokens_identity, audit_subject).
    const msl = { lastToken: store.mslTokens.latestFor(identity) ?? null, lastMessage: store.audit.lastMslMessage(identity) ?? null };
    return { ...deviceSummary(row), msl };
  }

  revoke(identityInput: string, reasonInput?: string): DeviceSummary {
    // The reason first: a bad one changes nothing.
    const reason = checkReason(reasonInput);
    const identity = checkIdentity(identityInput);
    const store = this.session.store();
    const current = this.get(identity);
    if (current.status === 'revoked') throw new ServiceError(ServiceErrorCode.DEVICE_ALREADY_REVOKED, `Device "${identity}" was already revoked on ${current.revokedAt}.`);
    const at = this.now().toISOString();
    store.transaction(() => {
      store.devices.revoke(identity, at);
      store.audit.append({ at, action: 'device.revoke', outcome: 'ok', subject: identity, details: {}, reason });
    });
    return this.get(identity);
  }

  revokeSelected(selector: DeviceSelector, reasonInput?: string): { readonly revoked: number; readonly alreadyRevoked: number } {
    // The reason first: a bad one changes nothing.
    const reason = checkReason(reasonInput);
    const identities = this.select(selector, MAX_SELECTION);
    const store = this.session.store();
    const at = this.now().toISOString();
    let revoked = 0;
    // One transaction: a crash revokes all of them or none. One audit row per device, as one revoke writes.
    store.transaction(() => {
      for (const identity of identities) {
        if (!store.devices.revoke(identity, at)) continue;
        revoked++;
        store.audit.append({ at, action: 'device.revoke', outcome: 'ok', subject: identity, details: { batch: identities.length }, reason });
      }
    });
    return { revoked, alreadyRevoked: identities.length - revoked };
  }

  deleteSelected(selector: DeviceSelector, reasonInput?: string): { readonly deleted: number; readonly wrapdataRefused: number } {
    const reason = checkReason(reasonInput);
    const identities = this.select(selector, MAX_SELECTION);
    const store = this.session.store();
    // This process's registry writes not yet in the store name devices by id: written first, while they still exist.
    this.session.flushPending();
    const at = this.now().toISOString();
    let wrapdataRefused = 0;
    // One transaction: every device of the selection is gone with its tombstone and audit record, or none is.
    store.transaction(() => {
      for (const identity of identities) {
        const gone = store.tombstones.bury(identity, at);
        if (gone === undefined) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device "${identity}" is provisioned (deleted meanwhile?). Nothing was deleted.`);
        wrapdataRefused += gone.wrapdataRefused;
        store.audit.append({ at, action: 'device.delete', outcome: 'ok', subject: identity, details: {
          status: gone.status, group: gone.group, kcvKpw: gone.kcvKpw, kcvKpe: gone.kcvKpe, kcvKph: gone.kcvKph, wrapdataRefused: gone.wrapdataRefused, batch: identities.length,
        }, reason });
      }
    });
    return { deleted: identities.length, wrapdataRefused };
  }

  /**
   * A passphrase or RSA bundle into a delivery that writes pieces (a file) is
   * written as it is made, one device after another (sealBundleStream): a
   * million devices never in memory at once, and '' is returned. Any other
   * bundle is made whole, at most MAX_EXPORT devices, and returned.
   */
  async exportBundle(identities: readonly string[], protection: BundleProtection, delivery?: Delivery): Promise<string> {
    const streamed = isStreamable(protection) && delivery?.writeChunks !== undefined;
    const max = streamed ? MAX_SELECTION : MAX_EXPORT;
    if (!Array.isArray(identities) || identities.length === 0 || identities.length > max) {
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Export 1 to ${max.toLocaleString('en')} devices at a time${streamed ? '' : ' (up to 1,000,000 to a passphrase or an RSA key, into a file)'}.`);
    }
    const store = this.session.store();
    const checked = identities.map((input) => checkIdentity(input));
    const deviceOf = (identity: string) => {
      const sealed = store.devices.sealedKeys(identity);
      if (!sealed) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device "${identity}" is provisioned.`);
      const open = (field: 'kpw' | 'kpe' | 'kph', blob: Buffer | null) => {
        if (!blob) return undefined;
        const key = store.sealer.unseal(deviceBinding(identity, field), blob);
        const hex = key.toString('hex');
        key.fill(0);
        return hex;
      };
      const summary = this.get(identity);
      return { identity, group: summary.group, status: summary.status, kpw: open('kpw', sealed.kpw), kpe: open('kpe', sealed.kpe), kph: open('kph', sealed.kph), kcv: summary.kcv };
    };
    const record = () => store.audit.append({ at: this.now().toISOString(), action: 'device.export', outcome: 'ok', subject: identities.length === 1 ? identities[0]! : null, details: { count: identities.length, ...protectionDetails(protection) } });
    if (streamed) {
      // Every device is there before a file is begun; the export is one synchronous run, so none goes meanwhile in this process.
      this.refuseMissing(checked);
      const produce = await sealBundleStream('keyladder-provisioning-bundle', protection, (push) => {
        push('{"devices":[');
        checked.forEach((identity, i) => push(`${i === 0 ? '' : ','}${JSON.stringify(deviceOf(identity))}`));
        push(']}');
      });
      deliverChunksThenRecord(produce, delivery as Delivery & { writeChunks: NonNullable<Delivery['writeChunks']> }, record);
      return '';
    }
    const devices = checked.map(deviceOf);
    const jwe = await sealBundle('keyladder-provisioning-bundle', { devices }, protection, store);
    deliverThenRecord(jwe, delivery, record);
    return jwe;
  }

  countSelection(selector: DeviceSelector): SelectionCount {
    const store = this.session.store();
    if (selector?.kind === 'identities') {
      const identities = this.checkedIdentities(selector.identities);
      const found = store.devices.countIdentities(identities);
      return { ...found, missing: identities.length - found.total };
    }
    return { ...store.devices.countScope(this.scopeOf(selector)), missing: 0 };
  }

  select(selector: DeviceSelector, max: number = MAX_EXPORT): string[] {
    if (selector?.kind === 'identities') {
      const identities = this.checkedIdentities(selector.identities, max);
      this.refuseMissing(identities);
      return identities;
    }
    const identities = this.session.store().devices.identitiesOf(this.scopeOf(selector), max + 1);
    if (identities.length === 0) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No provisioned device matches the selection (${describeSelector(selector)}).`);
    if (identities.length > max) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The selection holds more than ${max.toLocaleString('en')} devices: take it in parts (by prefix or group).`);
    return identities;
  }

  /** A list naming an identity that is not provisioned is refused whole, naming them (and those deleted, with when). */
  private refuseMissing(identities: readonly string[]): void {
    const store = this.session.store();
    const provisioned = store.devices.provisioned(identities);
    const missing = identities.filter((i) => !provisioned.has(i));
    if (missing.length === 0) return;
    const described = missing.map((i) => {
      const tombstone = store.tombstones.get(i);
      return { deleted: tombstone !== undefined, text: tombstone ? `${i} (deleted on ${tombstone.deleted_at})` : i };
    });
    const allDeleted = described.every((d) => d.deleted);
    throw new ServiceError(allDeleted ? ServiceErrorCode.DEVICE_DELETED : ServiceErrorCode.DEVICE_NOT_FOUND,
      `Nothing was done: ${missing.length === 1 ? `${identities.length === 1 ? 'the' : '1'} device named is` : `${missing.length} of the devices named are`} not provisioned${allDeleted ? ' (deleted already)' : ''}: ${named(described.map((d) => d.text))}.`,
      { missing: missing.length });
  }

  /** A selector's rule in the repository's terms; a group that does not exist is GROUP_NOT_FOUND. */
  private scopeOf(selector: DeviceSelector): DeviceScope {
    switch (selector?.kind) {
      case 'all':
        return { kind: 'all' };
      case 'prefix': {
        if (typeof selector.prefix !== 'string' || selector.prefix === '' || selector.prefix.length > 256) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The prefix is 1 to 256 characters.');
        return { kind: 'prefix', prefix: selector.prefix };
      }
      case 'group': {
        const name = checkGroupName(selector.group);
        const groupId = this.session.store().groups.idOf(name);
        if (groupId === undefined) throw new ServiceError(ServiceErrorCode.GROUP_NOT_FOUND, `There is no model group "${name}".`);
        return { kind: 'group', groupId };
      }
      default:
        throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A selection is all, prefix, group or identities.');
    }
  }

  private checkedIdentities(identities: readonly string[], max = MAX_EXPORT): string[] {
    if (!Array.isArray(identities) || identities.length === 0 || identities.length > max) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Select 1 to ${max.toLocaleString('en')} devices.`);
    return [...new Set(identities.map((i) => checkIdentity(i)))];
  }
}

/** A selector in words, for a refusal: which rule matched nothing. */
function describeSelector(selector: DeviceSelector): string {
  switch (selector.kind) {
    case 'all': return 'every device: the store holds none';
    case 'prefix': return `identities starting with "${selector.prefix}"`;
    case 'group': return `model group "${selector.group}" has no device`;
    default: return 'the identities named';
  }
}

/** A group's origin in its own keys' names, for its bundle (the store shares the devices' names). */
const GROUP_ORIGIN = { generated: 'generated', 'imported-kpe-kph': 'imported-kde-kdh', 'imported-kpw': 'imported-kdw' } as const;

export class GroupService implements GroupApi {
  constructor(private readonly session: StoreSession, private readonly now: () => Date) {}

  add(nameInput: string, keys: GroupKeyInput): GroupSummary {
    const name = checkGroupName(nameInput);
    const store = this.session.store();
    if (store.groups.idOf(name) !== undefined) throw new ServiceError(ServiceErrorCode.GROUP_EXISTS, `Model group "${name}" already exists.`);
    const input: TripleInput = keys?.kind === 'kde-kdh' ? { kind: 'pair', enc: keys.kde, hmac: keys.kdh } : keys?.kind === 'kdw' ? { kind: 'wrap', wrap: keys.kdw } : keys?.kind === 'generate' ? { kind: 'generate' } : invalidGroupKeys();
    const sealed = sealTriple(keysFromInput(input, GROUP_NAMES), store.sealer, (f) => groupBinding(name, GROUP_NAMES[f]));
    const at = this.now().toISOString();
    store.transaction(() => {
      store.groups.insert({ name, origin: sealed.origin, kdw: sealed.wrap, kde: sealed.enc, kdh: sealed.hmac, kcvKdw: sealed.kcvWrap, kcvKde: sealed.kcvEnc, kcvKdh: sealed.kcvHmac, createdAt: at });
      store.audit.append({ at, action: 'group.add', outcome: 'ok', subject: name, details: { origin: sealed.origin, kcvKdw: sealed.kcvWrap } });
    });
    return groupSummary(store.groups.get(name)!);
  }

  list(): GroupSummary[] {
    return this.session.store().groups.list().map(groupSummary);
  }

  /**
   * The payload of a keyladder-group-bundle (version 1, as device bundles):
   * {groups: [{name, origin, kdw, kde?, kdh?, kcv}]}, keys in hex. A factory
   * puts a group's keys into each device of the model, for MGK.
   */
  async exportBundle(names: readonly string[], protection: BundleProtection, delivery?: Delivery): Promise<string> {
    if (!Array.isArray(names) || names.length === 0 || names.length > 1000) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Export 1 to 1,000 model groups at a time.');
    const store = this.session.store();
    const groups = names.map((input) => {
      const name = checkGroupName(input);
      const sealed = store.groups.sealedKeys(name);
      const summary = store.groups.get(name);
      if (!sealed || !summary) throw new ServiceError(ServiceErrorCode.GROUP_NOT_FOUND, `No model group "${name}".`);
      const open = (field: 'kdw' | 'kde' | 'kdh', blob: Buffer | null) => {
        if (!blob) return {};
        const key = store.sealer.unseal(groupBinding(name, field), blob);
        const hex = key.toString('hex');
        key.fill(0);
        return { [field]: hex };
      };
      const { kcv, origin } = groupSummary(summary);
      return { name, origin: GROUP_ORIGIN[origin], ...open('kdw', sealed.kdw), ...open('kde', sealed.kde), ...open('kdh', sealed.kdh), kcv };
    });
    const jwe = await sealBundle('keyladder-group-bundle', { groups }, protection, store);
    deliverThenRecord(jwe, delivery, () => store.audit.append({ at: this.now().toISOString(), action: 'group.export', outcome: 'ok', subject: names.length === 1 ? groups[0]!.name : null, details: { count: names.length, ...protectionDetails(protection) } }));
    return jwe;
  }
}

function invalidGroupKeys(): never {
  throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Group keys are "generate", "kde-kdh" or "kdw".');
}
