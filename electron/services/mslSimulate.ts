// `keyladder msl simulate IDENTITY`: a simulated MSL device (KeyLadder's own
// MSL client, electron/msl/client.ts) with the device's Kpe/Kph from the store,
// against the store's responder in this process or a running one over HTTP
// (issue 20 item 5). Steps: first contact by PSK (handshake of keys, payload
// echoed), a data message under the new master token, renewal by PSK, then N
// renewals by WRAP.
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
// `msl.test` and do not count as the device's exchanges, nor touch its
// wrapdata lineage. Over HTTP the serve being tested cannot tell a simulation
// from the device: its records are ordinary `msl` ones.

import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { concatBytes, constantTimeEqual } from '../encoding/bytes.js';
import { deviceBinding, groupBinding } from '../../db/sealing.js';
import { MslClient, type AcceptResult, type RequestOptions } from '../msl/client.js';
import { MslError } from '../msl/errors.js';
import { checkIdentity, checkInteger } from './keyInput.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import type { MslInspectService } from './mslInspect.js';
import type { MslKeyService } from './mslKeys.js';
import type { MslResponderService } from './mslResponder.js';
import type { StoreSession } from './session.js';

/** Sends one message and returns the answer's bytes. */
export type MslTransport = (body: Uint8Array) => Promise<Uint8Array>;

export interface MslSimulationStep {
  readonly step: string;
  /** What the device asked for: PSK, MGK, WRAP or none. */
  readonly renewal: 'PSK' | 'MGK' | 'WRAP' | 'none';
  /** A key response came back (new master token and session keys). */
  readonly renewed: boolean;
  readonly masterToken?: { readonly serial: number; readonly sequence: number };
  /** The device's KCVs of the keys the key response gave. */
  readonly device?: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
  /** The session keys inside the token the responder issued (opened with the store's token keys). */
  readonly responder?: { readonly kenc: string; readonly khmac: string };
  readonly echoed: boolean;
  /** An MSL error header instead of an answer: its internal code and message. */
  readonly error?: string;
  /** Why a check could not be made (the responder's side unknown: its token does not open with this store's keys). */
  readonly note?: string;
  /** Every check of the step held (KCVs equal, echo equal, the renewal asked for granted). */
  readonly ok: boolean;
  readonly micros: number;
}

export interface MslSimulationReport {
  readonly identity: string;
  readonly target: string;
  readonly steps: readonly MslSimulationStep[];
  readonly allOk: boolean;
}

export interface MslSimulateOptions {
  readonly mechanism?: 'PSK' | 'MGK';
  /** WRAP renewals after the PSK one (1 to 100, default 2). */
  readonly rungs?: number;
  /** `http://host:port/msl` of a running responder; in process when absent. */
  readonly url?: string;
}

export class MslSimulateService {
  constructor(
    private readonly session: StoreSession,
    private readonly keys: MslKeyService,
    private readonly responder: MslResponderService,
    private readonly inspector: MslInspectService,
  ) {}

  async simulate(identityInput: string, options: MslSimulateOptions = {}): Promise<MslSimulationReport> {
    const identity = checkIdentity(identityInput);
    const mechanism = options.mechanism ?? 'PSK';
    if (mechanism !== 'PSK' && mechanism !== 'MGK') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'A simulated MSL device authenticates with PSK or MGK.');
    const rungs = checkInteger(options.rungs ?? 2, 'The number of WRAP renewals', 1, 100);
    const transport = options.url === undefined ? this.inProcess() : httpTransport(checkUrl(options.url));
    const client = await this.client(identity, mechanism);
    const plan: { step: string; request: RequestOptions; renewal: MslSimulationStep['renewal'] }[] = [
      { step: `first contact (${mechanism})`, request: { renew: mechanism }, renewal: mechanism },
      { step: 'data under the master token', request: { renew: false }, renewal: 'none' },
      { step: `renewal by ${mechanism}`, request: { renew: mechanism }, renewal: mechanism },
      ...Array.from({ length: rungs }, (_, i) => ({ step: `renewal by WRAP ${i + 1}`, request: { renew: 'WRAP' as const }, renewal: 'WRAP' as const })),
    ];
    const steps: MslSimulationStep[] = [];
    for (const { step, request, renewal } of plan) {
      if (renewal !== 'none') await waitForRenewalWindow(client);
      const payload = randomBytes(48);
      const started = performance.now();
      let body: Uint8Array;
      try {
        body = client.request({ ...request, payload });
      } catch (e) {
        // The client cannot build the request (a WRAP renewal without a Kwrap): the plan cannot go on.
        if (!(e instanceof RangeError || e instanceof MslError)) throw e;
        steps.push({ step, renewal, renewed: false, echoed: false, error: `the device cannot send it: ${e instanceof MslError ? e.code : e.message}`, ok: false, micros: micros(started) });
        break;
      }
      const answer = await transport(body);
      let accepted: AcceptResult;
      try {
        accepted = await client.accept(answer);
      } catch (e) {
        if (!(e instanceof MslError)) throw e;
        steps.push({ step, renewal, renewed: false, echoed: false, error: `${e.code}: the device refused the answer`, ok: false, micros: micros(started) });
        break;
      }
      const result = this.step(step, renewal, accepted, answer, payload, micros(started));
      steps.push(result);
      // Each step builds on the last (a WRAP renewal needs the Kwrap of the one before): stop at the first that failed.
      if (!result.ok) break;
    }
    return { identity, target: options.url ?? 'this store, in process', steps, allOk: steps.length === plan.length && steps.every((s) => s.ok) };
  }

  private step(step: string, renewal: MslSimulationStep['renewal'], accepted: AcceptResult, answer: Uint8Array, payload: Uint8Array, us: number): MslSimulationStep {
    if (accepted.error !== undefined) {
      const e = accepted.error;
      return { step, renewal, renewed: false, echoed: false, error: `${e.internalCode ?? e.errorCode}${e.errorMsg === undefined ? '' : ` ${e.errorMsg}`}`, ok: false, micros: us };
    }
    const echoed = accepted.payload.length === payload.length && constantTimeEqual(accepted.payload, payload);
    accepted.payload.fill(0);
    let responder: MslSimulationStep['responder'];
    if (accepted.renewed) {
      const opened = this.inspector.inspect(answer).header?.keyResponse?.masterToken.opened;
      if (opened !== undefined) responder = { kenc: opened.sessionKcvs.encryption, khmac: opened.sessionKcvs.hmac };
    }
    const device = accepted.kcvs;
    const note = accepted.renewed && responder === undefined ? "the new master token does not open with this store's token keys: is the responder at --url on this store?" : undefined;
    const notGranted = !accepted.renewed && renewal !== 'none' ? "renewal not granted: the token's renewal window had not opened (serve --msl-renewal-window)" : undefined;
    const kcvsMatch = !accepted.renewed || (responder !== undefined && device !== undefined && responder.kenc === device.kenc && responder.khmac === device.khmac);
    return {
      step,
      renewal,
      renewed: accepted.renewed,
      ...(accepted.masterToken === undefined ? {} : { masterToken: accepted.masterToken }),
      ...(device === undefined ? {} : { device: { kwrap: device.kwrap, kenc: device.kenc, khmac: device.khmac } }),
      ...(responder === undefined ? {} : { responder }),
      echoed,
      ...(note ?? notGranted ? { note: (note ?? notGranted)! } : {}),
      ok: echoed && kcvsMatch && accepted.renewed === (renewal !== 'none'),
      micros: us,
    };
  }

  /** The store's responder, renewal window 0 s so that every renewal the device asks for is due. */
  private inProcess(): MslTransport {
    const responder = this.responder.withOverrides({ renewalWindowSeconds: 0 });
    return async (body) => responder.answer(body, { client: 'msl simulate', test: true }).body;
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
