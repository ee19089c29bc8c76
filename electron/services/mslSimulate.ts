// `keyladder msl simulate IDENTITY`: a simulated MSL device (KeyLadder's own
// MSL client, electron/msl/client.ts) with the device's Kpe/Kph from the store,
// against the store's responder in this process or a running one over HTTP
// (issue 20 item 5). Steps: first contact by PSK (handshake of keys, payload
// echoed), a data message under the new master token, renewal by PSK, then N
// renewals by WRAP, a handshake-only message (keys, no payload) and a
// non-replayable message (issue 21: the app's "Simulated MSL device"). Each
// message is also read by the store's inspector, so the report names the keys
// that protected it and the header's fields; names and KCVs only.
//
// Both sides' KCVs, on every key response: the device's are what its ladder
// requestor unwrapped (Kwrap, Kenc, Khmac); the responder's are the session
// keys inside the master token it issued, opened with the store's token keys
// (the inspector's reading of the response). They must agree, in process and
// over HTTP alike; and the echo must come back byte for byte under them.
//
// Renewal happens only once the token's renewal window has opened (MSL's
// rule, kept by the responder). In process the simulation's responder runs
// with a renewal window of 0 s; over HTTP, the serve being tested decides:
// a window of up to 5 s (`keyladder serve --msl-renewal-window 1`) is waited
// for, a longer one is not, and the renewal not granted is reported as such.
//
// In process, like `exchange simulate`, the messages are audited as
// `exchange.test` (details `msl: true`; `msl.test` before issue 21, whose app
// screen runs this too: one action for every operator's test) and do not
// count as the device's exchanges, nor touch its wrapdata lineage. Over HTTP the serve being tested cannot tell a simulation
// from the device: its records are ordinary `msl` ones.

import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { concatBytes, constantTimeEqual } from '../encoding/bytes.js';
import { deviceBinding, groupBinding } from '../../db/sealing.js';
import { MslClient, type AcceptResult, type RequestOptions } from '../msl/client.js';
import type { ErrorData } from '../msl/errorHeader.js';
import { INTERNAL_CODE_BASE, MSL_ERRORS, MslError, ResponseCode } from '../msl/errors.js';
import { kcv } from '../jwe/kcv.js';
import { LadderError } from '../ladder/errors.js';
import { openWrapdata } from '../ladder/wrapdata.js';
import { StoreKeySource } from './storeKeySource.js';
import { checkIdentity, checkInteger } from './keyInput.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import type { MslInspection, MslInspectService, MslSignatureVerdict } from './mslInspect.js';
import type { MslKeyService } from './mslKeys.js';
import type { MslResponderService } from './mslResponder.js';
import type { MslOutcome } from './api.js';
import type { StoreSession } from './session.js';

/** Sends one message and returns the answer's bytes. */
export type MslTransport = (body: Uint8Array) => Promise<Uint8Array>;

/** What a step is, for the app's diagram: the six kinds of message issue 21 lists. */
export type MslStepKind = 'first-contact' | 'data' | 'renewal' | 'handshake' | 'non-replayable';

/**
 * One message of a step as the store's inspector reads it (mslInspect.ts):
 * the keys that protected it named with KCVs or a thumbprint, never a key.
 */
export interface MslSimulatedMessage {
  readonly bytes: number;
  /** Short name of the keys the header is under: Kpe/Kph, Kde/Kdh, the server's RSA key by key id, or the session keys of a token. */
  readonly keys: string;
  /** The inspector's description of that key (KCVs or RFC 7638 thumbprint), or why it could not be found. */
  readonly keyDetail: string;
  /** The KCVs of a symmetric pair (encryption/HMAC) the header is under, when the store holds them. */
  readonly keyKcvs?: string;
  readonly signature: MslSignatureVerdict;
  readonly header?: {
    readonly messageId: number;
    readonly renewable: boolean;
    readonly handshake: boolean;
    readonly nonReplayableId?: number;
    /** Compression algorithms, languages and encoder formats offered, as MSL lists them. */
    readonly capabilities?: string;
    /** The JWE_LADDER key request's mechanism (PSK, MGK, WRAP), if the message asks for keys. */
    readonly keyRequest?: string;
    /** The message carries a key response: a new master token and session keys. */
    readonly keyResponse: boolean;
  };
  /** The keys the payload is under when they are not the header's (a key response's new session keys). */
  readonly payloadKeys?: string;
  /** Payload chunks, as they travel. */
  readonly chunks: number;
}

/** An error header instead of an answer: MSL's names for it, and KeyLadder's message. */
export interface MslSimulatedError {
  /** MSL's error name (MslError.java), from the internal code; undefined when the code is not one KeyLadder knows. */
  readonly name?: string;
  readonly internalCode?: number;
  readonly responseCode: number;
  /** MSL's response code name (FAIL, ENTITY_REAUTH, ...): what a client acts on. */
  readonly response: string;
  readonly message?: string;
}

export interface MslTokenIssued {
  readonly serial: number;
  readonly sequence: number;
  readonly renewalWindow: string;
  readonly expiration: string;
  /** The master-token key generation it opened with (the store's). */
  readonly tokenKeyGeneration?: number;
}

export interface MslSimulationStep {
  readonly step: string;
  readonly kind: MslStepKind;
  /** What the device asked for: PSK, MGK, WRAP or none. */
  readonly renewal: 'PSK' | 'MGK' | 'WRAP' | 'none';
  /** A key response came back (new master token and session keys). */
  readonly renewed: boolean;
  readonly masterToken?: { readonly serial: number; readonly sequence: number };
  /** The device's KCVs of the keys the key response gave. */
  readonly device?: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
  /**
   * The responder's side: the session keys inside the token it issued (opened
   * with the store's token keys), and the Kwrap inside the wrapdata it issued
   * (opened with the store's Kissuer, as the next WRAP renewal will be).
   */
  readonly responder?: { readonly kwrap?: string; readonly kenc: string; readonly khmac: string };
  /** Each KCV compared, when both sides are known. */
  readonly match?: { readonly kwrap?: boolean; readonly kenc: boolean; readonly khmac: boolean };
  /** The token the key response issued. */
  readonly issued?: MslTokenIssued;
  /** The device's message and the answer, as the store's inspector reads them. */
  readonly request?: MslSimulatedMessage;
  readonly answer?: MslSimulatedMessage;
  /** The application data sent and what came back (short text; a handshake carries none). */
  readonly payload: { readonly sent: string; readonly received: string };
  readonly echoed: boolean;
  /** An MSL error header instead of an answer: its internal code and message. */
  readonly error?: string;
  readonly mslError?: MslSimulatedError;
  /** Why a check could not be made (the responder's side unknown: its token does not open with this store's keys). */
  readonly note?: string;
  /** Every check of the step held (KCVs equal, echo equal, the renewal asked for granted). */
  readonly ok: boolean;
  readonly micros: number;
}

export interface MslSimulationReport {
  readonly identity: string;
  readonly mechanism: 'PSK' | 'MGK';
  readonly target: string;
  readonly steps: readonly MslSimulationStep[];
  /** How many steps the plan had (the report stops at the first step that failed). */
  readonly planned: number;
  readonly allOk: boolean;
}

export interface MslSimulateOptions {
  readonly mechanism?: 'PSK' | 'MGK';
  /** WRAP renewals after the PSK one (1 to 100, default 2). */
  readonly rungs?: number;
  /** `http://host:port/msl` of a running responder; in process when absent. */
  readonly url?: string;
}

interface PlannedStep {
  readonly step: string;
  readonly kind: MslStepKind;
  readonly request: RequestOptions;
  readonly renewal: MslSimulationStep['renewal'];
}

/** The longest payload text a report shows of what came back. */
const MAX_PAYLOAD_TEXT = 120;

export class MslSimulateService {
  constructor(
    private readonly session: StoreSession,
    private readonly keys: MslKeyService,
    private readonly responder: MslResponderService,
    private readonly inspector: MslInspectService,
    /** The services' clock: a Kissuer generation in grace accepts wrapdata by it, as the responder judges. */
    private readonly now: () => Date = () => new Date(),
  ) {}

  async simulate(identityInput: string, options: MslSimulateOptions = {}): Promise<MslSimulationReport> {
    const identity = checkIdentity(identityInput);
    const mechanism = options.mechanism ?? 'PSK';
    if (mechanism !== 'PSK' && mechanism !== 'MGK') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A simulated MSL device authenticates with PSK or MGK.');
    const rungs = checkInteger(options.rungs ?? 2, 'The number of WRAP renewals', 1, 100);
    const transport = options.url === undefined ? this.inProcess() : httpTransport(checkUrl(options.url));
    const client = await this.client(identity, mechanism);
    const plan: PlannedStep[] = [
      { step: `first contact (${mechanism})`, kind: 'first-contact', request: { renew: mechanism }, renewal: mechanism },
      { step: 'data under the master token', kind: 'data', request: { renew: false }, renewal: 'none' },
      { step: `renewal by ${mechanism}`, kind: 'renewal', request: { renew: mechanism }, renewal: mechanism },
      ...Array.from({ length: rungs }, (_, i): PlannedStep => ({ step: `renewal by WRAP ${i + 1}`, kind: 'renewal', request: { renew: 'WRAP' }, renewal: 'WRAP' })),
      // A handshake asks for keys and carries no payload; the next request continues its message ids.
      { step: 'handshake only', kind: 'handshake', request: { handshake: true, renew: 'WRAP' }, renewal: 'WRAP' },
      { step: 'non-replayable data', kind: 'non-replayable', request: { renew: false, nonReplayable: true }, renewal: 'none' },
    ];
    const steps: MslSimulationStep[] = [];
    try {
      for (const [index, planned] of plan.entries()) {
        const { step, kind, renewal } = planned;
        if (renewal !== 'none') await waitForRenewalWindow(client);
        // Short text, so that the app can show what was sent and what came back; random so an old answer cannot pass for this one.
        const sent = kind === 'handshake' ? '' : `step ${index + 1}, ${step}: ${randomBytes(6).toString('hex')}`;
        const payload = new TextEncoder().encode(sent);
        const started = performance.now();
        let body: Uint8Array;
        try {
          body = client.request({ ...planned.request, ...(kind === 'handshake' ? {} : { payload }) });
        } catch (e) {
          // The client cannot build the request (a WRAP renewal without a Kwrap): the plan cannot go on.
          if (!(e instanceof RangeError || e instanceof MslError)) throw e;
          steps.push({ step, kind, renewal, renewed: false, echoed: false, payload: { sent, received: '' }, error: `the device cannot send it: ${e instanceof MslError ? e.code : e.message}`, ok: false, micros: micros(started) });
          break;
        }
        const answer = await transport(body);
        const us = micros(started);
        // Each message read once by the store's inspector: the report's descriptions, and the token the answer issued.
        const answerInspection = this.inspector.inspect(answer);
        const messages = { request: describeMessage(this.inspector.inspect(body)), answer: describeMessage(answerInspection) };
        let accepted: AcceptResult;
        try {
          accepted = await client.accept(answer);
        } catch (e) {
          if (!(e instanceof MslError)) throw e;
          steps.push({ step, kind, renewal, renewed: false, echoed: false, ...messages, payload: { sent, received: '' }, error: `${e.code}: the device refused the answer`, ok: false, micros: us });
          break;
        }
        const result = this.step(planned, accepted, answerInspection, payload, us, identity, client.wrapdata());
        steps.push({ ...result, ...messages });
        // Each step builds on the last (a WRAP renewal needs the Kwrap of the one before): stop at the first that failed.
        if (!result.ok) break;
      }
    } finally {
      if (options.url === undefined) this.forgetSimulatedTokens(identity, steps);
    }
    return { identity, mechanism, target: options.url ?? 'this store, in process', steps, planned: plan.length, allOk: steps.length === plan.length && steps.every((s) => s.ok) };
  }

  private step(planned: PlannedStep, accepted: AcceptResult, answer: MslInspection, payload: Uint8Array, us: number, identity: string, wrapdata: Uint8Array | undefined): MslSimulationStep {
    const { step, kind, renewal } = planned;
    const sent = new TextDecoder().decode(payload);
    if (accepted.error !== undefined) {
      const e = accepted.error;
      return {
        step, kind, renewal, renewed: false, echoed: false, payload: { sent, received: '' },
        error: `${e.internalCode ?? e.errorCode}${e.errorMsg === undefined ? '' : ` ${e.errorMsg}`}`,
        mslError: errorOf(e),
        ok: false, micros: us,
      };
    }
    const received = shortText(accepted.payload);
    const echoed = accepted.payload.length === payload.length && constantTimeEqual(accepted.payload, payload);
    accepted.payload.fill(0);
    let responder: MslSimulationStep['responder'];
    let issued: MslTokenIssued | undefined;
    let kwrapNote: string | undefined;
    if (accepted.renewed) {
      const token = answer.header?.keyResponse?.masterToken;
      const opened = token?.opened;
      if (token !== undefined) issued = { serial: token.serialNumber, sequence: token.sequenceNumber, renewalWindow: token.renewalWindow, expiration: token.expiration, ...(opened ? { tokenKeyGeneration: opened.tokenKeyGeneration } : {}) };
      const kwrap = wrapdata === undefined ? undefined : this.responderKwrap(identity, wrapdata);
      if (kwrap !== undefined && 'note' in kwrap) kwrapNote = kwrap.note;
      if (opened !== undefined) responder = { ...(kwrap !== undefined && 'kcv' in kwrap ? { kwrap: kwrap.kcv } : {}), kenc: opened.sessionKcvs.encryption, khmac: opened.sessionKcvs.hmac };
    }
    const device = accepted.kcvs;
    const match = device !== undefined && responder !== undefined
      ? { ...(responder.kwrap === undefined ? {} : { kwrap: responder.kwrap === device.kwrap }), kenc: responder.kenc === device.kenc, khmac: responder.khmac === device.khmac }
      : undefined;
    const note = accepted.renewed && responder === undefined
      ? "the new master token does not open with this store's token keys: is the responder at --url on this store?"
      : !accepted.renewed && renewal !== 'none' ? "renewal not granted: the token's renewal window had not opened (serve --msl-renewal-window)" : kwrapNote;
    const kcvsMatch = !accepted.renewed || (match !== undefined && match.kenc && match.khmac && match.kwrap !== false);
    return {
      step,
      kind,
      renewal,
      renewed: accepted.renewed,
      ...(accepted.masterToken === undefined ? {} : { masterToken: accepted.masterToken }),
      ...(device === undefined ? {} : { device: { kwrap: device.kwrap, kenc: device.kenc, khmac: device.khmac } }),
      ...(responder === undefined ? {} : { responder }),
      ...(match === undefined ? {} : { match }),
      ...(issued === undefined ? {} : { issued }),
      payload: { sent, received },
      echoed,
      ...(note === undefined ? {} : { note }),
      ok: echoed && kcvsMatch && accepted.renewed === (renewal !== 'none'),
      micros: us,
    };
  }

  /** The Kwrap the responder will find in the wrapdata it issued, opened with the store's Kissuer generations: its KCV only. */
  private responderKwrap(identity: string, wrapdata: Uint8Array): { kcv: string } | { note: string } {
    const store = this.session.store();
    try {
      const opened = openWrapdata(new StoreKeySource(store, () => this.now().toISOString()), identity, wrapdata);
      try {
        return { kcv: kcv(opened.kwrap, 'aes') };
      } finally {
        opened.kwrap.fill(0);
        opened.binding?.fill(0);
      }
    } catch (e) {
      if (!(e instanceof LadderError)) throw e;
      return { note: `the wrapdata does not open with this store's Kissuer (${e.reason}): is the responder at --url on this store?` };
    }
  }

  /** The store's responder, renewal window 0 s so that every renewal the device asks for is due. */
  /**
   * In process, the simulated device's master tokens were this store's to track while it ran (a
   * renewal checks the serial's newest sequence). They must not outlive it: the device's detail
   * shows its last master token, and the operator's test is not the device's. The first contact's
   * serial is written with the batched exchange records, so those are flushed first.
   */
  private forgetSimulatedTokens(identity: string, steps: readonly MslSimulationStep[]): void {
    const serials = [...new Set(steps.flatMap((s) => (s.issued === undefined ? [] : [s.issued.serial])))];
    if (serials.length === 0) return;
    this.session.flushPending();
    const store = this.session.store();
    store.transaction(() => store.mslTokens.forget(serials, identity));
  }

  private inProcess(): MslTransport {
    const responder = this.responder.withOverrides({ renewalWindowSeconds: 0 });
    return async (body) => {
      const outcome = responder.answer(body, { client: 'msl simulate', test: true });
      if (outcome.kind === 'unavailable') throw this.unavailable(outcome);
      return outcome.body;
    };
  }

  /**
   * No MSL answer at all (the store locked, its audit log unwritable, no MSL server keys): the
   * cause with its own code, not an answer the device would refuse as malformed.
   */
  private unavailable(outcome: MslOutcome): Error {
    // Locked or replaced since: the store's own error.
    this.session.store();
    let message = 'The responder could not answer.';
    try {
      const parsed = JSON.parse(new TextDecoder().decode(outcome.body)) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    } catch {
      // The body is ours (mslResponder's unavailable()); keep the plain message if it is not.
    }
    return new ServiceError(outcome.code === ServiceErrorCode.AUDIT_UNAVAILABLE ? ServiceErrorCode.AUDIT_UNAVAILABLE : ServiceErrorCode.MSL_NOT_FOUND, message);
  }

  /** The simulated device: the store's keys for it, and the server keys it trusts (every MSL identity not destroyed). */
  private async client(identity: string, mechanism: 'PSK' | 'MGK'): Promise<MslClient> {
    const store = this.session.store();
    const trusted = new Map<string, KeyObject>();
    for (const i of this.keys.identities()) if (i.status !== 'destroyed') trusted.set(i.keyId, createPublicKey({ key: Buffer.from(i.spki, 'base64'), format: 'der', type: 'spki' }));
    const device = store.devices.keys(identity);
    if (device === undefined) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device ${identity} in this store.`);
    let enc: Buffer | undefined;
    let hmac: Buffer | undefined;
    try {
      if (mechanism === 'PSK') {
        const sealed = store.devices.sealedKeys(identity);
        if (sealed?.kpe == null || sealed.kph == null) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Device ${identity} has no Kpe/Kph (provisioned from Kpw alone): it cannot authenticate to MSL by PSK.`);
        enc = store.sealer.unseal(deviceBinding(identity, 'kpe'), sealed.kpe);
        hmac = store.sealer.unseal(deviceBinding(identity, 'kph'), sealed.kph);
      } else {
        const group = device.group_name === null ? undefined : store.groups.sealedKeys(device.group_name);
        if (group?.kde == null || group.kdh == null) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `Device ${identity} has no model group with Kde/Kdh: it cannot authenticate to MSL by MGK.`);
        enc = store.sealer.unseal(groupBinding(group.name, 'kde'), group.kde);
        hmac = store.sealer.unseal(groupBinding(group.name, 'kdh'), group.kdh);
      }
      return await MslClient.create({ identity, longTerm: { mechanism, encryptionKey: enc, hmacKey: hmac }, trustedServerKeys: trusted });
    } finally {
      enc?.fill(0);
      hmac?.fill(0);
    }
  }
}

/** The longest this waits for a token's renewal window to open (serve --msl-renewal-window 1 to 5). */
const MAX_RENEWAL_WAIT_SECONDS = 5;

/**
 * Before a renewal: if the token's renewal window opens within a few seconds
 * (by the server's clock), wait for it, so a responder started with a short
 * window grants the renewal; a longer window is not waited for, and the step
 * reports that the renewal was not granted.
 */
async function waitForRenewalWindow(client: MslClient): Promise<void> {
  const token = client.masterToken;
  const serverNow = client.serverNow();
  if (token === undefined || serverNow === undefined) return;
  const wait = token.renewalWindow - serverNow;
  if (wait > 0 && wait <= MAX_RENEWAL_WAIT_SECONDS) await new Promise((resolve) => setTimeout(resolve, (wait + 1) * 1000));
}

/** One message as the store's inspector read it: names and KCVs, never a key or the payload. */
function describeMessage(i: MslInspection): MslSimulatedMessage {
  const sender = i.sender;
  const keys =
    sender === undefined ? 'unknown'
    : sender.kind === 'master-token' ? tokenKeys(sender.token.serialNumber, sender.token.sequenceNumber)
    : sender.scheme === 'PSK' ? 'Kpe/Kph'
    : sender.scheme === 'MGK' ? 'Kde/Kdh'
    : sender.scheme === 'RSA' ? `server RSA key ${sender.pubkeyid ?? '?'}`
    : sender.scheme;
  // The pair's KCVs: the token's session keys as opened, or Kpe/Kph (Kde/Kdh) as the store records them.
  const sessionKcvs = sender?.kind === 'master-token' ? sender.token.opened?.sessionKcvs : undefined;
  const keyKcvs = sessionKcvs !== undefined ? `${sessionKcvs.encryption}/${sessionKcvs.hmac}` : sender?.kind === 'entity' && sender.scheme !== 'RSA' ? /\(KCVs ([0-9A-F]{6}\/[0-9A-F]{6})\)/.exec(i.key ?? '')?.[1] : undefined;
  const h = i.header;
  const request = h?.keyRequests.find((k) => k.scheme === 'JWE_LADDER');
  const issued = h?.keyResponse?.masterToken;
  return {
    bytes: i.bytes,
    keys,
    keyDetail: i.key ?? i.problem ?? (i.unreadable ? i.unreadable.code : 'not checked'),
    ...(keyKcvs === undefined ? {} : { keyKcvs }),
    signature: i.signature,
    ...(h === undefined ? {} : {
      header: {
        messageId: h.messageId,
        renewable: h.renewable,
        handshake: h.handshake,
        ...(h.nonReplayableId === undefined ? {} : { nonReplayableId: h.nonReplayableId }),
        ...(h.capabilities === undefined ? {} : { capabilities: [...h.capabilities.compression, ...h.capabilities.languages, ...h.capabilities.encoderFormats].join(', ') }),
        ...(request?.mechanism === undefined ? {} : { keyRequest: request.mechanism }),
        keyResponse: h.keyResponse !== undefined,
      },
    }),
    // A key response's payload is under the new token's keys; a handshake's answer carries none.
    ...(issued === undefined || i.payload.chunks === 0 ? {} : { payloadKeys: tokenKeys(issued.serialNumber, issued.sequenceNumber) }),
    chunks: i.payload.chunks,
  };
}

/** The name of a master token's session keys: the token by serial and sequence number. */
const tokenKeys = (serial: number, sequence: number): string => `session keys of token ${serial} (sequence ${sequence})`;

/** What came back, as short text for the report: UTF-8, cut at MAX_PAYLOAD_TEXT characters. */
function shortText(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text.length > MAX_PAYLOAD_TEXT ? `${text.slice(0, MAX_PAYLOAD_TEXT)}…` : text;
}

/** An error header's codes, with MSL's names for them (the internal code is 100000 + the error's number). */
function errorOf(e: ErrorData): MslSimulatedError {
  const number = e.internalCode === undefined ? undefined : e.internalCode - INTERNAL_CODE_BASE;
  const name = number === undefined ? undefined : Object.entries(MSL_ERRORS).find(([, spec]) => spec.number === number)?.[0];
  const response = Object.entries(ResponseCode).find(([, code]) => code === e.errorCode)?.[0] ?? `response code ${e.errorCode}`;
  return {
    ...(name === undefined ? {} : { name }),
    ...(e.internalCode === undefined ? {} : { internalCode: e.internalCode }),
    responseCode: e.errorCode,
    response,
    ...(e.errorMsg === undefined ? {} : { message: e.errorMsg.slice(0, 200) }),
  };
}

const micros = (started: number): number => Math.round((performance.now() - started) * 1000);

function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The URL must be http(s)://HOST:PORT/msl.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The URL must be http(s)://HOST:PORT/msl.');
  return url;
}

/** POST as MSL's Java client does (form content type, the raw message as body); any status but 200 is a broken transport to it. */
function httpTransport(url: URL): MslTransport {
  return async (body) => {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(30_000) });
    } catch {
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `No answer from ${url.origin}: is keyladder serve running there?`);
    }
    if (response.status !== 200) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `${url.origin} answered HTTP ${response.status}, not an MSL message.`);
    return readCapped(response, url);
  };
}

/** The most a simulated device reads of one answer (our echo of 48 bytes is a few KB): a peer cannot make it buffer more. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

async function readCapped(response: Response, url: URL): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `${url.origin} answered more than ${MAX_ANSWER_BYTES} bytes: not an answer to this device's message.`);
    }
    parts.push(value);
  }
  return concatBytes(...parts);
}
