// Answering devices: the protocol core's responder with keys from the store,
// plus the operator's test tools (simulate a device, check a response).
// Those tools play the device here, in main, so they unwrap with
// nodeKeyUnwrapper: Web Crypto's AES-KW does not exist in Electron's main
// process.

import { performance } from 'node:perf_hooks';
import { LadderError, MslErrorCode } from '../ladder/errors.js';
import { parseExchangeRequestJson, parseIdentity, parseJson, keyResponseEnvelopeJson, type ExchangeRequest, type KeyRequestData } from '../ladder/messages.js';
import type { KeyObject } from 'node:crypto';
import { LadderRequestor, acceptKeyResponse } from '../ladder/requestor.js';
import { nodeKeyUnwrapper } from '../jwe/nodeKeyUnwrap.js';
import { LadderResponder, type ResponderResult } from '../ladder/responder.js';
import { openWrapdata } from '../ladder/wrapdata.js';
import type { RandomSource } from '../jwe/random.js';
import type { ExchangeApi, ExchangeOutcome, ResponseCheck } from './api.js';
import { describeError, ServiceError, ServiceErrorCode } from './errors.js';
import { ExchangeRecorder } from './exchangeRecorder.js';
import type { ExchangeObserver } from './exchangeObserver.js';
import type { AuditRecord } from '../../db/repositories/audit.js';
import { checkIdentity, checkInteger } from './keyInput.js';
import type { StoreSession } from './session.js';
import { StoreKeySource } from './storeKeySource.js';
import { WrapdataRegistry } from './wrapdataRegistry.js';
import { RefusalAggregator } from './refusalAggregator.js';
import { CLONE_POLICIES, type ClonePolicy, type RegistryUpdate } from '../../db/repositories/wrapdata.js';
import type { JweProfileName, Mechanism, RungReport, SimulationReport } from './types.js';

const PROFILES: readonly JweProfileName[] = ['msl', 'rfc7516'];
/** The migration window from MSL's own responder is at most this long: expired, it is off. */
export const MAX_MIGRATION_DAYS = 90;
const DAY_MS = 86_400_000;

export interface MslMigrationWindow {
  /** The end of the window (ISO 8601), or null when none was set. */
  readonly until: string | null;
  readonly open: boolean;
  /** The generations unknown bare-MSL wrapdata would be answered under. */
  readonly generations: number[];
}

export class ExchangeService implements ExchangeApi {
  private readonly recorder: ExchangeRecorder;
  private readonly registry: WrapdataRegistry;
  private readonly refusals: RefusalAggregator;
  private observer: ExchangeObserver | undefined;

  constructor(
    private readonly session: StoreSession,
    private readonly now: () => Date,
    batchRecords: boolean,
    private readonly random?: RandomSource,
  ) {
    this.recorder = new ExchangeRecorder(() => session.store(), batchRecords, undefined, () => this.now());
    this.registry = new WrapdataRegistry(this.recorder.registry);
    this.refusals = new RefusalAggregator((audit) => this.recordRefusal(audit), () => this.now());
    // The minute's aggregates go into the recorder's buffer first, then everything is written.
    session.onFlush(() => {
      this.refusals.flush();
      this.recorder.flush();
    });
  }

  /** Tells `observer` of every audit write and device lookup from now on (serve's metrics). */
  observe(observer: ExchangeObserver): void {
    this.observer = observer;
    this.recorder.observer = observer;
  }

  /** Why exchanges are refused for the audit now (a write failed, or the buffer is full), or undefined. */
  auditRefusal(): string | undefined {
    return this.recorder.unavailable();
  }

  /** Exchange records not yet written (for health reports and tests). */
  pendingRecords(): { audit: number; devices: number } {
    return this.recorder.pending();
  }

  /** Writes buffered exchange records now (tests, shutdown). */
  flush(): void {
    this.session.flushPending();
  }

  /**
   * `caller.client`: the caller's network address (the HTTP door), for the per-client aggregation of refusals.
   * `caller.uniform` (serve --uniform-refusals): a refusal that an identity's state or its wrapdata
   * decides is audited as usual, and answered with a decoy (RespondOptions.decoy): `ok: false`, `decoy: true`.
   */
  respond(requestJson: string, profile: JweProfileName = 'msl', caller?: { readonly client: string; readonly uniform?: boolean }): ExchangeOutcome {
    let request: ExchangeRequest | undefined;
    try {
      request = parseExchangeRequestJson(requestJson);
      const result = this.answer(request, checkProfile(profile), { kcv: false, test: false, decoy: caller?.uniform === true, ...(caller ? { client: caller.client } : {}) });
      if (result.refused !== undefined) {
        const { code, reason } = result.refused;
        return { ok: false, decoy: true, json: keyResponseEnvelopeJson(result.keydata), code, reason, identity: request.identity };
      }
      return { ok: true, json: keyResponseEnvelopeJson(result.keydata), identity: request.identity };
    } catch (error) {
      const described = describeError(error);
      // answer() records its own refusals; a request that did not parse is recorded here.
      if (request === undefined) this.recordUnparsed(requestJson, profile, described, caller?.client);
      const identity = request?.identity;
      return {
        ok: false, json: JSON.stringify({ error: described }), code: described.code,
        ...(described.reason === undefined ? {} : { reason: described.reason }), ...(identity === undefined ? {} : { identity }),
      };
    }
  }

  /**
   * Malformed requests are refused exchanges too, so they are audited: the
   * identity only if the request names a valid one, and the error code, never
   * the request's bytes. They are batched like every exchange record.
   */
  private recordUnparsed(requestJson: string, profile: string, error: { code: string; reason?: string }, client?: string): void {
    if (!this.session.unlocked) return;
    let subject: string | null = null;
    try {
      subject = parseIdentity((JSON.parse(requestJson) as { identity?: unknown } | null)?.identity);
    } catch {
      subject = null;
    }
    const at = this.now().toISOString();
    this.recordRefusal({ at, action: 'exchange', outcome: 'refused', subject, details: { mechanism: null, profile: PROFILES.includes(profile as JweProfileName) ? profile : null, code: error.code, reason: error.reason ?? null } }, client);
  }

  /**
   * One exchange: look the device up once (the responder's lookups reuse the
   * row; it refuses revoked devices for every mechanism, WRAP included), answer,
   * and record the answer or the refusal. `test`: the operator's simulated
   * device, not the real one. Its exchanges are audited as `exchange.test`,
   * and left out of everything that describes the real device: the wrapdata
   * registry, the device's exchange count and last exchange, and the issuing
   * generation's count. Otherwise a test would look like the device climbing,
   * and its wrapdata (which the real device never holds) would supersede the
   * real device's.
   */
  private answer(request: ExchangeRequest, profile: JweProfileName, options: AnswerOptions): ResponderResult {
    const store = this.session.store();
    const at = this.now().toISOString();
    const { identity, keyRequest } = request;
    // Every operator's test is `exchange.test`, MSL messages too (issue 21); their details say `msl: true`.
    const action = options.test ? 'exchange.test' : options.msl ? 'msl' : 'exchange';
    const details = { mechanism: keyRequest.mechanism, profile, ...options.msl?.details };
    // A device's exchange has no actor (the device is the subject); a test exchange is the operator's.
    const actor = options.test ? store.audit.actor : null;
    // Fail closed: no answer while its audit record could not be written.
    const unavailable = this.recorder.unavailable();
    if (unavailable !== undefined) {
      this.recorder.countRefusal(ServiceErrorCode.AUDIT_UNAVAILABLE, at);
      throw new ServiceError(ServiceErrorCode.AUDIT_UNAVAILABLE, unavailable);
    }
    // What the MSL responder's `issue` step adds to the record (the new token's serial and sequence).
    const issued: Record<string, AuditDetail> = {};
    let newSerial: MslIssued['newSerial'];
    const source = new StoreKeySource(store, () => at, options.test ? undefined : this.registry);
    let device: ReturnType<StoreKeySource['prepare']>;
    let result: ResponderResult;
    try {
      device = this.lookUp(source, identity);
      result = new LadderResponder(source, this.random).respond(identity, keyRequest, { profile, kcv: options.kcv, decoy: options.decoy === true, sessionKeys: options.msl !== undefined });
      if (options.msl?.issue) {
        const answered = result;
        try {
          const step = options.msl.issue(answered);
          Object.assign(issued, step.details);
          newSerial = step.newSerial;
        } catch (error) {
          zeroSessionKeys(answered);
          throw error;
        }
      }
    } catch (error) {
      const { code, reason } = describeError(error);
      this.recordRefusal({ at, action, outcome: 'refused', subject: identity, details: { ...details, code, reason: reason ?? null }, actor }, options.client);
      throw error;
    }
    if (result.refused !== undefined) {
      // A decoy is the operator's record of a refusal, never the device's exchange: nothing else is touched.
      const { code, reason } = result.refused;
      this.recordRefusal({ at, action, outcome: 'refused', subject: identity, details: { ...details, code, reason, decoy: true }, actor }, options.client);
      return result;
    }
    const returning = result.registry?.returning;
    const clone = returning?.verdict === 'superseded';
    const real = !options.test;
    try {
      this.recorder.record({
        audit: {
          at, action, outcome: 'ok', subject: identity, actor,
          details: {
            ...details, ...issued, generation: result.issuedGeneration, opened: result.openedGeneration ?? null, provisioned: device !== undefined,
            ...(returning ? { wrapdata: returning.verdict } : {}), ...(clone ? { possibleClone: true } : {}),
          },
        },
        ...(real ? { generation: result.issuedGeneration } : {}),
        ...(real && device ? { device: { id: device.id, at, mechanism: keyRequest.mechanism } } : {}),
        issuedUnder: result.issuedGeneration,
        ...(device && result.registry ? { registry: registryUpdate(device.id, at, result, clone) } : {}),
        ...(newSerial ? { mslSerial: { serial: newSerial.serial, identity, at, expiresAt: newSerial.expiresAt } } : {}),
      });
    } catch (error) {
      // Unbatched (a one-shot command): the record could not be written, so the answer is not given.
      zeroSessionKeys(result);
      this.recorder.countRefusal(ServiceErrorCode.AUDIT_UNAVAILABLE, at);
      throw new ServiceError(ServiceErrorCode.AUDIT_UNAVAILABLE, `The audit log cannot be written (${describeError(error).code}); the exchange was not answered.`);
    }
    return result;
  }

  /**
   * The key exchange inside an MSL message (the MSL responder's): the same
   * answer() as /v1/keyx (wrapdata registry, clone policy, revocation, device
   * and generation bookkeeping, fail-closed audit), audited as one `msl`
   * record with the message's own details (token serial, message id, ...).
   * The result carries `sessionKeys`, copies of Kenc and Khmac that the caller
   * puts in the master token and must zero (zeroSessionKeys). Refusals throw,
   * as respond()'s do, and are audited here: never a decoy.
   */
  answerMslKeyRequest(identity: string, keyRequest: KeyRequestData, message: MslAuditContext, issue?: (result: ResponderResult) => MslIssued): ResponderResult {
    const request: ExchangeRequest = { identity: parseIdentity(identity), keyRequest };
    return this.answer(request, 'msl', { kcv: false, test: message.test === true, msl: { details: message.details, ...(issue ? { issue } : {}) }, ...(message.client === undefined ? {} : { client: message.client }) });
  }

  /** source.prepare(identity), timed and counted for the observer. */
  private lookUp(source: StoreKeySource, identity: string): ReturnType<StoreKeySource['prepare']> {
    const observer = this.observer?.storeLookup === undefined ? undefined : this.observer;
    if (observer === undefined) return source.prepare(identity);
    const started = performance.now();
    try {
      const device = source.prepare(identity);
      observer.storeLookup!(device === undefined ? 'not_found' : 'found', (performance.now() - started) / 1000);
      return device;
    } catch (error) {
      observer.storeLookup!('error', (performance.now() - started) / 1000);
      throw error;
    }
  }

  /** Throws AUDIT_UNAVAILABLE (and counts the refusal) while exchange records cannot be written: no answer then. */
  ensureAuditable(): void {
    const unavailable = this.recorder.unavailable();
    if (unavailable === undefined) return;
    this.recorder.countRefusal(ServiceErrorCode.AUDIT_UNAVAILABLE, this.now().toISOString());
    throw new ServiceError(ServiceErrorCode.AUDIT_UNAVAILABLE, unavailable);
  }

  /**
   * One MSL message answered or refused without a key exchange, audited as
   * `msl` through the same recorder (batched, refusals aggregated per client).
   * An answer is recorded fail closed: this throws AUDIT_UNAVAILABLE when the
   * record cannot be written, and the caller must then not answer.
   */
  recordMslMessage(outcome: 'ok' | 'refused', subject: string | null, message: MslAuditContext): void {
    const at = this.now().toISOString();
    // A simulated device's message (exchange.test) is the operator's; a real device's has no actor.
    const actor = message.test && this.session.unlocked ? this.session.store().audit.actor : null;
    const audit: AuditRecord = { at, action: message.test ? 'exchange.test' : 'msl', outcome, subject, details: message.details, actor };
    if (outcome === 'refused') {
      if (this.session.unlocked) this.recordRefusal(audit, message.client);
      return;
    }
    const unavailable = this.recorder.unavailable();
    if (unavailable !== undefined) {
      this.recorder.countRefusal(ServiceErrorCode.AUDIT_UNAVAILABLE, at);
      throw new ServiceError(ServiceErrorCode.AUDIT_UNAVAILABLE, unavailable);
    }
    try {
      this.recorder.record({ audit });
    } catch (error) {
      this.recorder.countRefusal(ServiceErrorCode.AUDIT_UNAVAILABLE, at);
      throw new ServiceError(ServiceErrorCode.AUDIT_UNAVAILABLE, `The audit log cannot be written (${describeError(error).code}); the message was not answered.`);
    }
  }

  /**
   * A request the HTTP door refused before it became an exchange (rate limit,
   * Host, Origin, content type, token): counted in its client's aggregate.
   */
  noteRefusedCall(client: string, code: string): void {
    if (this.session.unlocked) this.refusals.admit(client, code, false);
  }

  /**
   * A refusal's record. With `client` (the HTTP door), past the client's
   * threshold it is counted in its per-minute aggregate instead; if the log
   * cannot take it, it is counted in the recorder's aggregate (the refusal stands).
   */
  private recordRefusal(audit: AuditRecord, client?: string): void {
    if (client !== undefined && !this.refusals.admit(client, String(audit.details['code']))) return;
    if (this.recorder.unavailable() !== undefined) return this.recorder.countRefusal(String(audit.details['code']), audit.at);
    try {
      this.recorder.record({ audit });
    } catch {
      this.recorder.countRefusal(String(audit.details['code']), audit.at);
    }
  }

  async simulate(identityInput: string, options: { mechanism?: 'PSK' | 'MGK'; rungs?: number; profile?: JweProfileName; wrapdata?: string } = {}): Promise<SimulationReport> {
    const identity = checkIdentity(identityInput);
    const mechanism = options.mechanism ?? 'PSK';
    if (mechanism !== 'PSK' && mechanism !== 'MGK') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A simulated device starts with PSK or MGK.');
    const rungs = checkInteger(options.rungs ?? 3, 'The number of rungs', 1, 100);
    const profile = checkProfile(options.profile ?? 'msl');
    const longTerm = await this.deviceKey(identity, mechanism);
    const device = new LadderRequestor(identity, longTerm, mechanism, profile, nodeKeyUnwrapper);
    if (options.wrapdata !== undefined) await this.resumeFrom(device, options.wrapdata);
    const reports: RungReport[] = [];
    for (let rung = 1; rung <= rungs; rung++) {
      const request = device.nextRequest();
      const started = performance.now();
      const result = this.answer(parseExchangeRequestJson(JSON.stringify(request)), profile, { kcv: true, test: true });
      const keys = await device.accept(parseJson(keyResponseEnvelopeJson(result.keydata)));
      const micros = Math.round((performance.now() - started) * 1000);
      const responder = result.kcv!;
      reports.push({
        rung,
        mechanism: request.keyrequestdata.keydata['mechanism'] as Mechanism,
        profile,
        issuedGeneration: result.issuedGeneration,
        openedGeneration: result.openedGeneration ?? null,
        responder,
        device: keys.kcv,
        match: responder.kwrap === keys.kcv.kwrap && responder.kenc === keys.kcv.kenc && responder.khmac === keys.kcv.khmac,
        micros,
      });
    }
    this.recorder.flush();
    return { identity, rungs: reports, allMatch: reports.every((r) => r.match) };
  }

  async checkResponse(requestJson: string, responseJson: string, profile: JweProfileName = 'msl'): Promise<ResponseCheck> {
    try {
      const request = parseExchangeRequestJson(requestJson);
      const response = parseJson(responseJson);
      let kprev: KeyObject;
      if (request.keyRequest.mechanism === 'WRAP') {
        const store = this.session.store();
        const at = this.now().toISOString();
        const opened = openWrapdata(new StoreKeySource(store, () => at), request.identity, request.keyRequest.wrapdata!);
        kprev = await nodeKeyUnwrapper.importWrappingKey(new Uint8Array(opened.kwrap));
        opened.kwrap.fill(0);
      } else {
        kprev = await this.deviceKey(request.identity, request.keyRequest.mechanism);
      }
      const keys = await acceptKeyResponse(response, kprev, checkProfile(profile), nodeKeyUnwrapper);
      return { ok: true, kcv: keys.kcv };
    } catch (error) {
      if (error instanceof ServiceError && error.code === ServiceErrorCode.INVALID_ARGUMENT) throw error;
      return { ok: false, error: describeError(error) };
    }
  }

  clonePolicy(): ClonePolicy {
    return this.session.store().wrapdata.clonePolicy();
  }

  setClonePolicy(policyInput: ClonePolicy): ClonePolicy {
    if (!CLONE_POLICIES.includes(policyInput)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The clone policy is "flag" or "refuse".');
    const store = this.session.store();
    const previous = store.wrapdata.clonePolicy();
    store.transaction(() => {
      store.wrapdata.setClonePolicy(policyInput);
      store.audit.append({ at: this.now().toISOString(), action: 'policy.clone', outcome: 'ok', subject: null, details: { policy: policyInput, previous } });
    });
    return policyInput;
  }

  /**
   * The migration window from MSL's own responder: until when unknown bare-MSL
   * wrapdata may be answered (see WrapdataRegistry.mayMigrate), whether it is
   * open now, and the Kissuer generations it would be answered under
   * (imported-msl, not retired, never issued under here).
   */
  mslMigration(): MslMigrationWindow {
    const store = this.session.store();
    this.session.flushPending();
    const until = store.wrapdata.migrationUntil() ?? null;
    return { until, open: until !== null && this.now().toISOString() < until, generations: store.wrapdata.generationsOpenToMigration() };
  }

  /**
   * Opens the migration window until `untilInput` (an ISO 8601 date, in the
   * future and at most MAX_MIGRATION_DAYS away), or closes it (null). Audited;
   * each exchange it answers is audited too (`wrapdata: migrated`).
   */
  setMslMigration(untilInput: string | null): MslMigrationWindow {
    const now = this.now();
    let until: string | null = null;
    if (untilInput !== null) {
      const parsed = typeof untilInput === 'string' && /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(untilInput) ? new Date(untilInput) : undefined;
      // A day that does not exist (2027-02-30) is refused, not rolled over into the next month.
      if (parsed === undefined || Number.isNaN(parsed.getTime()) || (untilInput.length === 10 && parsed.toISOString().slice(0, 10) !== untilInput)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The end of the migration window is a date: YYYY-MM-DD, or an ISO 8601 time.');
      if (parsed.getTime() <= now.getTime()) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The end of the migration window is in the past: nothing was changed.');
      if (parsed.getTime() > now.getTime() + MAX_MIGRATION_DAYS * DAY_MS) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The migration window is at most ${MAX_MIGRATION_DAYS} days: nothing was changed.`);
      until = parsed.toISOString();
    }
    const store = this.session.store();
    store.transaction(() => {
      const previous = store.wrapdata.migrationUntil() ?? null;
      store.wrapdata.setMigrationUntil(until ?? undefined);
      store.audit.append({ at: now.toISOString(), action: 'policy.migration', outcome: 'ok', subject: null, details: { until, previous, generations: store.wrapdata.generationsOpenToMigration().join(',') } });
    });
    return this.mslMigration();
  }

  /**
   * Starts a simulated device from wrapdata (base64) a device holds, with the
   * Kwrap inside it, so that its first rung is a WRAP: how a store's grace and
   * retirement look to a returning device. Wrapdata this store cannot open
   * (retired generation, another identity) is refused here with the responder's own code.
   */
  private async resumeFrom(device: LadderRequestor<KeyObject>, wrapdataBase64: string): Promise<void> {
    if (typeof wrapdataBase64 !== 'string') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The wrapdata is base64 text.');
    const request = parseExchangeRequestJson(JSON.stringify({ identity: device.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: wrapdataBase64 } } }));
    const wrapdata = request.keyRequest.wrapdata!;
    const at = this.now().toISOString();
    const opened = openWrapdata(new StoreKeySource(this.session.store(), () => at), device.identity, wrapdata);
    device.resume(wrapdata, await nodeKeyUnwrapper.importWrappingKey(new Uint8Array(opened.kwrap)));
    opened.kwrap.fill(0);
  }

  /** The device's long-term key, held as the simulated device holds it (a KeyObject, never a JS buffer kept). */
  private async deviceKey(identity: string, mechanism: 'PSK' | 'MGK'): Promise<KeyObject> {
    const store = this.session.store();
    const source = new StoreKeySource(store, () => this.now().toISOString());
    const found = source.wrappingKey(identity, mechanism);
    switch (found.status) {
      case 'active': {
        const copy = new Uint8Array(found.key);
        found.key.fill(0);
        return nodeKeyUnwrapper.importWrappingKey(copy);
      }
      case 'unknown':
        throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device "${identity}" is provisioned.`);
      case 'revoked':
        throw new LadderError(MslErrorCode.ENTITY_REVOKED, 'DEVICE_REVOKED', `Device "${identity}" is revoked.`);
      case 'no-group':
        throw new LadderError(MslErrorCode.UNSUPPORTED_KEYX_MECHANISM, 'NO_MODEL_GROUP', `Device "${identity}" belongs to no model group, so MGK cannot be used.`);
    }
  }
}

interface AnswerOptions {
  readonly kcv: boolean;
  readonly test: boolean;
  readonly decoy?: boolean;
  readonly client?: string;
  /**
   * An MSL message's exchange: audited as `msl` with these details added; the
   * result has sessionKeys. `issue` runs once the ladder answered and before
   * the record is written (the new master token's bookkeeping): what it
   * returns joins the record, and if it throws the exchange is refused.
   */
  readonly msl?: { readonly details: Readonly<Record<string, AuditDetail>>; readonly issue?: (result: ResponderResult) => MslIssued };
}

/**
 * What the MSL responder's issue step adds to the exchange's record: audit
 * details, and a first contact's new serial number, whose bookkeeping row is
 * written with the record's batch instead of a transaction of its own (one
 * fsynced write per first contact capped a store at about 260 a second).
 */
export interface MslIssued {
  readonly details: Record<string, AuditDetail>;
  readonly newSerial?: { readonly serial: number; readonly expiresAt: string };
}

/** What the audit learns of one MSL message: never its payload, its keys or its tokens' bytes. */
export interface MslAuditContext {
  readonly details: Readonly<Record<string, AuditDetail>>;
  /** The caller's network address (the HTTP door), for the per-client aggregation of refusals. */
  readonly client?: string;
  /** The operator's simulated device (msl simulate in process, the app's simulated MSL device): audited as exchange.test with `msl: true`, not the device's exchange. */
  readonly test?: boolean;
}

export type AuditDetail = string | number | boolean | null;

/** Zeroes the session keys of an answer, if it carries any. */
export function zeroSessionKeys(result: ResponderResult): void {
  result.sessionKeys?.kenc.fill(0);
  result.sessionKeys?.khmac.fill(0);
}

/** What the wrapdata registry learns from an answer to a provisioned device. */
function registryUpdate(deviceId: number, at: string, result: ResponderResult, clone: boolean): RegistryUpdate {
  const returning = result.registry!.returning;
  return {
    deviceId, at, generation: result.issuedGeneration, issued: result.registry!.issued,
    // WRAP: the new wrapdata's parent is what came back (a PSK/MGK answer is a root).
    ...(returning ? { parent: returning.tag } : {}),
    ...(returning && returning.verdict !== 'unregistered' && returning.verdict !== 'migrated' ? { presented: returning.tag } : {}),
    ...(returning?.verdict === 'migrated' ? { migrated: { tag: returning.tag, generation: result.openedGeneration! } } : {}),
    ...(clone ? { clone } : {}),
  };
}

function checkProfile(profile: unknown): JweProfileName {
  if (!PROFILES.includes(profile as JweProfileName)) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The JWE profile is "msl" or "rfc7516".');
  return profile as JweProfileName;
}
