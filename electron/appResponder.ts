// The HTTP responder inside the app: one ResponderServer (electron/server),
// switched on and off by the operator, over the very services instance the IPC
// handlers use. Electron-free, so it is tested under plain Node.
//
// - It binds 127.0.0.1 unless asked otherwise; a host reachable from other
//   machines needs the operator's explicit yes (`allowRemote`).
// - It runs only while the store is unlocked: locking the store (idle, system,
//   the Lock button) stops it, gracefully, and so does quitting the app.
// - TLS is optional: main asks for the certificate and key files with its own
//   dialog and reads them here; the renderer sees their names only.
// - Its access log (one line per request: identity, status, code, never key
//   material) goes to main's log only, never to the renderer: the app's log
//   file (appLog.ts), as fields, the way serve's --log-format json writes it.
// - It answers GET /v1/ready (503 while the store is locked or exchanges are
//   refused for the audit log, as serve's workers do) and GET /metrics behind
//   the bearer token (the same ServeMetrics as serve; 404 without a token, as
//   serve without --metrics-listen). There is no separate metrics address:
//   the app is one process, and a monitoring system scrapes a service, not a
//   desktop app.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { StoreError, StoreErrorCode } from '../db/errors.js';
import type { ResponderStatus } from './ipc/contract.js';
import { AppError } from './ipc/errors.js';
import { listenError } from './server/listenError.js';
import { isLoopbackHost, RESPONDER_DEFAULT_HOST, RESPONDER_DEFAULT_PORT } from './shared/responderHost.js';
import { MIN_TOKEN_LENGTH } from './server/callerChecks.js';
import { ResponderServer, type AccessEntry } from './server/httpResponder.js';
import { servicesReadiness } from './server/readiness.js';
import { ServeMetrics } from './server/metrics.js';
import type { ExchangeObserver } from './services/exchangeObserver.js';
import { MetricsRing, type ResponderMetrics, type TrafficKind } from './responderMetrics.js';
import { MslMessageLog, type MslMessageKind, type MslMessagePage, type MslMessageRow } from './mslMessageLog.js';
import type { MslInspection } from './services/mslInspect.js';
import type { ExchangeApi, KeyLadderServices, MslApi, MslOutcome, StoreApi } from './services/api.js';
import type { JweProfileName } from './services/types.js';
import { count } from './shared/plural.js';
import { diskHealth, type DiskSpace } from './services/diskSpace.js';

export interface ResponderStartRequest {
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly profile?: JweProfileName | undefined;
  readonly tls?: boolean | undefined;
  readonly allowRemote?: boolean | undefined;
  readonly token?: boolean | undefined;
  readonly clientCa?: boolean | undefined;
}

export type StopReason = NonNullable<ResponderStatus['stopped']>['reason'];

export interface AppResponderOptions {
  /** The services' exchanges (flush, when present, writes pending records after a stop). */
  readonly exchanges: Pick<ExchangeApi, 'respond'> & { flush?(): void; noteRefusedCall?(client: string, code: string): void; auditRefusal?(): string | undefined };
  /** POST /msl (services/mslResponder.ts); without it the app's responder answers /v1/keyx only. */
  readonly msl?: MslApi;
  /** With diskSpace (the StoreService has it), /v1/health warns of low disk space as serve's does. */
  readonly store: Pick<StoreApi, 'status'> & { diskSpace?(): DiskSpace | undefined };
  /** Main's log: start and stop lines and the access log. Never sent to the renderer. */
  readonly log?: (line: string) => void;
  /** The access log as fields (the app's log file); taken instead of `log` for requests when given. */
  readonly accessEntry?: (entry: AccessEntry) => void;
  /** The process's own metrics (CPU, memory, event loop) on /metrics too; main's responder has them. */
  readonly processMetrics?: boolean;
  /** A whole request must arrive within this time (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** How long a stop lets requests in flight finish before closing their connections (default 10 s). */
  readonly drainMs?: number;
  readonly now?: () => Date;
  /**
   * Decodes a kept MSL message for a row's detail (services.mslInspect, which
   * shows the payload only when asked and never when it holds key members);
   * without it the detail has the row only.
   */
  readonly inspect?: (bytes: Uint8Array, options: { readonly showPayload?: boolean }) => MslInspection;
}

/** The services the app's responder answers with (createServices' runtime). */
export interface ResponderRuntime {
  readonly exchanges: AppResponderOptions['exchanges'] & { observe?(observer: ExchangeObserver): void };
  readonly mslResponder: MslApi;
  readonly mslInspect: { inspect(bytes: Uint8Array, options: { readonly showPayload?: boolean }): MslInspection };
  readonly store: AppResponderOptions['store'];
}

/** One row of the live list and, when its bytes were kept, its decoded header (mslInspect). */
export interface MslMessageDetail {
  readonly row: MslMessageRow;
  readonly inspection: MslInspection | null;
}

const TRAFFIC_KIND: Record<MslMessageKind, TrafficKind> = {
  'key-exchange': 'mslKeyExchange',
  data: 'mslData',
  handshake: 'mslHandshake',
  refused: 'mslRefused',
  unavailable: 'mslRefused',
};

interface Run {
  readonly host: string;
  port: number;
  readonly profile: JweProfileName;
  readonly tls: boolean;
  readonly token: boolean;
  readonly clientCa: boolean;
}

const PORT_RANGE = 'The port is 1 to 65535 (or 0 for any free port).';

export class AppResponder {
  #server: ResponderServer | undefined;
  #run: Run | undefined;
  #starting = false;
  #stopping: Promise<void> | undefined;
  #stopped: ResponderStatus['stopped'] = null;
  #tlsFiles: { cert: string; key: string } | null = null;
  #tokenFile: string | null = null;
  #clientCaFile: string | null = null;
  readonly #log: (line: string) => void;
  readonly #now: () => Date;
  /** Exchanges per second and their latency over the last minutes, across runs. */
  readonly #metrics: MetricsRing;
  /** The last MSL messages (bounded, in memory only; cleared when the store locks). */
  readonly #mslMessages: MslMessageLog;
  /** GET /metrics: serve's counters and histograms, kept across runs (like a serve process's, from its start). */
  readonly #serveMetrics: ServeMetrics;

  /**
   * The responder over a runtime's services, wired one way for main and for the e2e harness (which
   * must answer as main does): /v1/keyx, POST /msl, and a row of the live MSL list opened with the
   * same decoding `keyladder msl inspect` gives.
   */
  static over(runtime: ResponderRuntime, options: Omit<AppResponderOptions, 'exchanges' | 'msl' | 'inspect' | 'store'> = {}): AppResponder {
    const responder = new AppResponder({
      ...options,
      exchanges: runtime.exchanges,
      msl: runtime.mslResponder,
      inspect: (bytes, inspectOptions) => runtime.mslInspect.inspect(bytes, inspectOptions),
      store: runtime.store,
    });
    // Audit batch writes and store lookups, on /metrics as serve counts them.
    runtime.exchanges.observe?.(responder.#serveMetrics);
    return responder;
  }

  constructor(private readonly options: AppResponderOptions) {
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? (() => new Date());
    this.#metrics = new MetricsRing(() => this.#now().getTime());
    this.#mslMessages = new MslMessageLog(() => this.#now());
    this.#serveMetrics = new ServeMetrics({ defaultMetrics: options.processMetrics === true });
  }

  /** The MSL messages newer than `after` (a previous page's cursor), newest first. No keys, no payload bytes. */
  mslMessages(after?: number): MslMessagePage {
    return this.#mslMessages.page(after);
  }

  /** One listed message and its decoded header, when its bytes were kept (AppError MSL_MESSAGE_NOT_FOUND once it has left the list). */
  mslMessage(id: number, options: { readonly showPayload?: boolean } = {}): MslMessageDetail {
    const held = this.#mslMessages.get(id);
    if (held === undefined) throw new AppError('MSL_MESSAGE_NOT_FOUND', `Message ${id} is no longer in the list (it keeps the last ${this.#mslMessages.page(Number.MAX_SAFE_INTEGER).capacity} messages, and none once the store locks). The audit log has every message.`);
    if (held.bytes === undefined || this.options.inspect === undefined) return { row: held.row, inspection: null };
    try {
      return { row: held.row, inspection: this.options.inspect(held.bytes, { showPayload: options.showPayload === true }) };
    } finally {
      held.bytes.fill(0);
    }
  }

  /** The last minutes' exchanges per second and latency histogram (no identities, no keys). */
  metrics(): ResponderMetrics {
    return this.#metrics.snapshot();
  }

  status(): ResponderStatus {
    const stats = this.#server?.stats();
    const run = this.#run;
    const state = stats?.state ?? 'stopped';
    return {
      state,
      address: stats?.address ?? null,
      host: run?.host ?? null,
      port: run?.port ?? null,
      profile: run?.profile ?? null,
      remote: run !== undefined && !isLoopbackHost(run.host),
      tls: run?.tls ?? false,
      tlsFiles: this.#tlsFiles,
      tokenFile: this.#tokenFile,
      clientCaFile: this.#clientCaFile,
      token: run?.token ?? false,
      clientCa: run?.clientCa ?? false,
      startedAt: stats?.startedAt ?? null,
      exchanges: stats?.exchanges ?? 0,
      refused: stats?.refused ?? 0,
      inFlight: stats?.inFlight ?? 0,
      stopped: state === 'stopped' ? this.#stopped : null,
    };
  }

  async start(request: ResponderStartRequest = {}): Promise<ResponderStatus> {
    const current = this.status().state;
    if (this.#starting || current === 'listening') {
      throw new AppError('RESPONDER_RUNNING', `The responder is already running${this.status().address ? ` at ${this.status().address}` : ''}. Stop it first to change its address.`);
    }
    if (current === 'draining') throw new AppError('RESPONDER_DRAINING', 'The responder is still finishing its last requests. Try again in a few seconds.');
    const host = request.host ?? RESPONDER_DEFAULT_HOST;
    const port = request.port ?? RESPONDER_DEFAULT_PORT;
    const profile = request.profile ?? 'msl';
    // The IPC schema checks all this already; the app checks again, whoever calls.
    if (host !== 'localhost' && isIP(host) === 0) throw new AppError('INVALID_ARGUMENT', 'The host must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::1) or localhost.');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppError('INVALID_ARGUMENT', PORT_RANGE);
    if (profile !== 'msl' && profile !== 'rfc7516') throw new AppError('INVALID_ARGUMENT', 'The profile is msl or rfc7516.');
    const remote = !isLoopbackHost(host);
    if (remote && request.allowRemote !== true) {
      throw new AppError('INVALID_ARGUMENT', `Listening on ${host} makes the responder reachable from other machines: confirm that this is what you want.`);
    }
    if (!this.options.store.status().unlocked) throw new StoreError(StoreErrorCode.STORE_LOCKED, 'The store is locked: unlock it before switching the responder on.');
    if (request.clientCa === true && request.tls !== true) throw new AppError('INVALID_ARGUMENT', 'Client certificates (mutual TLS) need TLS: switch TLS on.');
    const tls = request.tls === true ? { ...this.#readTls(), ...(request.clientCa === true ? { clientCa: this.#readClientCa() } : {}) } : undefined;
    const token = request.token === true ? this.#readToken() : undefined;

    const server = new ResponderServer({
      exchanges: {
        respond: (json, p, caller) => this.#respond(json, p, caller),
        noteRefusedCall: (client, code) => this.options.exchanges.noteRefusedCall?.(client, code),
      },
      ...(this.options.msl ? { msl: { answer: (body, caller) => this.#answerMsl(body, caller) } } : {}),
      host,
      port,
      profile,
      ...(tls ? { tls } : {}),
      ...(token === undefined ? {} : { callers: { token } }),
      ...(this.options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.options.requestTimeoutMs }),
      ...(this.options.accessEntry ? { accessEntry: this.options.accessEntry } : { accessLog: (line: string) => this.#log(`[responder] ${line}`) }),
      metrics: this.#serveMetrics,
      // Behind the token only (httpResponder.ts): without one, /metrics is 404, as on serve's port.
      metricsText: () => this.#serveMetrics.text(),
      notReady: servicesReadiness(this.options, () => true),
      health: () => ({ store: this.options.store.status().unlocked ? 'unlocked' : 'locked', ...(this.options.store.diskSpace ? diskHealth(this.options.store.diskSpace()) : {}) }),
    });
    this.#starting = true;
    let address: string;
    try {
      address = await server.listen();
    } catch (error) {
      throw listenError(error, host, port);
    } finally {
      this.#starting = false;
      // OpenSSL holds its own copy of the key now.
      tls?.key.fill(0);
    }
    this.#server = server;
    this.#run = { host, port: Number(new URL(address).port), profile, tls: tls !== undefined, token: token !== undefined, clientCa: tls?.clientCa !== undefined };
    this.#stopped = null;
    this.#log(`[responder] listening on ${address}/v1/keyx${this.options.msl ? ` and ${address}/msl` : ''} (profile ${profile}${tls ? ', TLS' : ''})`);
    if (remote) this.#log(`[responder] ${host} is reachable beyond this machine, as the operator asked.`);
    // The store may have locked while the socket was opening.
    if (!this.options.store.status().unlocked) {
      await this.stop('store-locked');
      throw new StoreError(StoreErrorCode.STORE_LOCKED, 'The store locked while the responder was starting; it was stopped again.');
    }
    return this.status();
  }

  /**
   * Stops accepting, lets requests in flight finish (up to `drainMs`), writes
   * pending exchange records, and resolves with the final status. Stopping a
   * stopped responder does nothing.
   */
  async stop(reason: StopReason = 'operator', drainMs = this.options.drainMs ?? 10_000): Promise<ResponderStatus> {
    const server = this.#server;
    if (this.#stopping) await this.#stopping;
    else if (server !== undefined && server.stats().state === 'listening') {
      const counts = () => `${count(server.stats().exchanges, 'exchange')}, ${server.stats().refused.toLocaleString('en-US')} refused`;
      this.#log(`[responder] stopping (${reason}); draining ${count(server.stats().inFlight, 'request')} in flight`);
      this.#stopping = server
        .close(drainMs)
        .then(() => {
          try {
            if (this.options.store.status().unlocked) this.options.exchanges.flush?.();
          } catch (error) {
            this.#log(`[responder] writing pending exchange records failed: ${error instanceof Error ? error.message : String(error)}`);
          }
          this.#stopped = { reason, at: this.#now().toISOString() };
          this.#log(`[responder] stopped (${reason}) after ${counts()}`);
        })
        .finally(() => {
          this.#stopping = undefined;
        });
      await this.#stopping;
    }
    return this.status();
  }

  /** The store locked (or is about to): stop now. The stop starts at once; its drain finishes in the background. */
  storeLocked(): void {
    // Identities and messages are not shown while the store is locked: the list starts again at the next unlock.
    this.#mslMessages.clear();
    if (this.status().state !== 'listening') return;
    this.stop('store-locked').catch((error: unknown) => this.#log(`[responder] stop failed: ${error instanceof Error ? error.stack : String(error)}`));
  }

  /**
   * Takes the certificate and private key files main's dialog chose, checks
   * that they are PEM and make a pair, and keeps their names for the next
   * start with `tls: true`. The files are read again at that start.
   */
  chooseTls(certFile: string, keyFile: string): ResponderStatus {
    const { cert, key } = readPair(certFile, keyFile);
    try {
      createSecureContext({ cert, key });
    } catch {
      throw new AppError('TLS_FILES_INVALID', 'The certificate and key do not make a pair, or are not PEM files (the key must not be protected by a passphrase). Nothing was changed.');
    } finally {
      key.fill(0);
    }
    this.#tlsFiles = { cert: certFile, key: keyFile };
    return this.status();
  }

  /** Takes the bearer token file main's dialog chose, checks the token (never kept or shown), and keeps its name. */
  chooseTokenFile(file: string): ResponderStatus {
    readTokenFile(file);
    this.#tokenFile = file;
    return this.status();
  }

  /** Takes the client CA certificate main's dialog chose, checks that it is a PEM certificate, and keeps its name. */
  chooseClientCa(file: string): ResponderStatus {
    readCaFile(file);
    this.#clientCaFile = file;
    return this.status();
  }

  #readToken(): string {
    if (this.#tokenFile === null) throw new AppError('TOKEN_NOT_CHOSEN', 'Choose the bearer token file first, or switch the token off.');
    return readTokenFile(this.#tokenFile);
  }

  #readClientCa(): Buffer {
    if (this.#clientCaFile === null) throw new AppError('CLIENT_CA_NOT_CHOSEN', 'Choose the CA certificate of the client certificates first, or switch mutual TLS off.');
    return readCaFile(this.#clientCaFile);
  }

  /**
   * The services, with a store whose lock() first stops the responder (and
   * whose restore() does too). Main hands these to the IPC handlers and locks
   * through them, so every way the app locks the store stops the server.
   */
  lockAware(services: KeyLadderServices): KeyLadderServices {
    const store = services.store;
    const guarded: StoreApi = {
      status: () => store.status(),
      create: (passphrase, join, operator) => store.create(passphrase, join, operator),
      unlock: (passphrase, operator) => store.unlock(passphrase, operator),
      lock: () => {
        this.storeLocked();
        store.lock();
      },
      changePassphrase: (current, next) => store.changePassphrase(current, next),
      rekey: (passphrase, next, reason) => {
        // The store closes and opens again under its new key: the responder stops first.
        this.storeLocked();
        return store.rekey(passphrase, next, reason);
      },
      backup: (file, onProgress, force) => store.backup(file, onProgress, force),
      restore: (file, passphrase, options) => {
        this.storeLocked();
        return store.restore(file, passphrase, options);
      },
      // Reads the backup only: the responder goes on answering.
      previewRestore: (file, passphrase, options) => store.previewRestore(file, passphrase, options),
      verify: (checkpoint) => store.verify(checkpoint),
    };
    return { ...services, store: guarded };
  }

  /** Every exchange goes to the services; one that finds the store locked (a lock this class did not see) stops the server. */
  #respond(json: string, profile?: JweProfileName, caller?: { readonly client: string }) {
    // Latency here is the services' time to answer a whole request: what the store and the crypto cost.
    const started = performance.now();
    const outcome = this.options.exchanges.respond(json, profile, caller);
    this.#metrics.record(outcome.ok, performance.now() - started);
    if (!outcome.ok && (outcome.code === StoreErrorCode.STORE_LOCKED || outcome.code === StoreErrorCode.STORE_REPLACED)) setImmediate(() => this.storeLocked());
    return outcome;
  }

  /** Every MSL message goes to the services; one that finds the store locked stops the server, as #respond does. */
  #answerMsl(body: Uint8Array, caller?: { readonly client: string }): MslOutcome {
    const started = performance.now();
    const outcome = this.options.msl!.answer(body, caller);
    const latency = performance.now() - started;
    const row = this.#mslMessages.add(body, outcome, latency);
    this.#metrics.record(outcome.kind === 'answered', latency, TRAFFIC_KIND[row.kind]);
    if (outcome.kind === 'unavailable' && (outcome.code === StoreErrorCode.STORE_LOCKED || outcome.code === StoreErrorCode.STORE_REPLACED)) setImmediate(() => this.storeLocked());
    return outcome;
  }

  #readTls(): { cert: Buffer; key: Buffer } {
    if (this.#tlsFiles === null) throw new AppError('TLS_NOT_CHOSEN', 'Choose the certificate and key files for TLS first.');
    return readPair(this.#tlsFiles.cert, this.#tlsFiles.key);
  }
}

function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new AppError('TOKEN_FILE_INVALID', 'The token file cannot be read.');
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new AppError('TOKEN_FILE_INVALID', `The token (the file's first line) must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces.`);
  }
  return token;
}

function readCaFile(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch {
    throw new AppError('TLS_FILES_UNREADABLE', 'The CA certificate file cannot be read.');
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new AppError('TLS_FILES_INVALID', 'The CA file is not a PEM certificate.');
  }
  return pem;
}

function readPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch {
    throw new AppError('TLS_FILES_UNREADABLE', 'The certificate or key file could not be read. Check that both files exist and that you may read them.');
  }
}
