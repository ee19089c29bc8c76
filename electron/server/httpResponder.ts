// The HTTP door: devices under test in a lab run their key exchanges here.
//
//   POST /v1/keyx    the request JSON of `keyladder respond`, answered with its response JSON
//   POST /msl        a whole MSL message (MSL's own client), answered with an MSL message
//   GET  /v1/health  the server's state (liveness: 200 whenever it answers)
//   GET  /v1/ready   200 when exchanges can be answered, 503 with the reason otherwise
//   GET  /metrics    Prometheus metrics, when this door serves them (metrics.ts)
//
// It binds 127.0.0.1 unless told otherwise, limits bodies to 64 KiB (/msl: 1 MiB), times out
// slow requests, answers every error as JSON with a stable code (never a
// stack), drains requests in flight on shutdown, and logs one line per request
// without key material (identity, status and code only).

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomUUID, X509Certificate } from 'node:crypto';
import type { ExchangeApi, MslApi } from '../services/api.js';
import { checkContentType, checkHost, checkOrigin, checkToken, corsHeaders, MIN_TOKEN_LENGTH, preflightHeaders, tokenDigest, type CallerPolicy, type Refusal } from './callerChecks.js';
import { isLingering, lingerAfterAnswer } from './lingeringClose.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimit } from './rateLimit.js';
import type { JweProfileName } from '../services/types.js';
import type { MetricsText, Outcome, ServeMetrics } from './metrics.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8420;
/** How long a TLS client may take over its handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Never below TLS 1.2, whatever Node's default or a --tls-min-v1.0 flag says (issue 23, item 2). */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** The certificate, key and client CA as PEM: what --tls-cert, --tls-key and --tls-client-ca hold. */
export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly clientCa?: string | Buffer;
}

/** The secure context of those files: at start, and again at each reload (SIGHUP). */
export const secureContextOptions = (files: TlsFiles): SecureContextOptions => ({
  cert: files.cert, key: files.key, minVersion: TLS_MIN_VERSION, ...(files.clientCa === undefined ? {} : { ca: files.clientCa }),
});

/**
 * Throws unless the files make a usable context: OpenSSL refuses a key that is not the certificate's,
 * but takes a client CA file that holds no certificate (empty, half-written, a key) without a word,
 * and would then refuse every client certificate. Checked before a reload replaces a working context.
 */
export function checkTlsFiles(files: TlsFiles): void {
  createSecureContext(secureContextOptions(files));
  if (files.clientCa === undefined) return;
  try {
    new X509Certificate(files.clientCa);
  } catch {
    throw new Error('the client CA file holds no certificate');
  }
}
export const MAX_BODY_BYTES = 64 * 1024;
/** The default cap of an MSL message: MSL's client sends a 55 KB payload as about 16 KB of GZIP. */
export const DEFAULT_MSL_MAX_BODY_BYTES = 1024 * 1024;

export interface ResponderServerOptions {
  /** `noteRefusedCall`: where requests refused at this door are counted (per client, in the audit's aggregates). */
  readonly exchanges: Pick<ExchangeApi, 'respond'> & { noteRefusedCall?(client: string, code: string): void };
  /** POST /msl: whole MSL messages (services/mslResponder.ts); without it /msl is 404. */
  readonly msl?: MslApi;
  /** The largest MSL message accepted (413 beyond, read no further); default DEFAULT_MSL_MAX_BODY_BYTES. */
  readonly mslMaxBodyBytes?: number;
  /** Requests per second per client address (429 beyond); `false` turns the limit off (benchmarks). */
  readonly rateLimit?: RateLimit | false;
  readonly host?: string;
  readonly port?: number;
  readonly profile?: JweProfileName;
  /** `clientCa`: require a client certificate issued by it (mutual TLS). */
  readonly tls?: TlsFiles;
  /** Who may call besides loopback names and IP literals (see callerChecks.ts). */
  readonly callers?: { readonly allowHosts?: readonly string[]; readonly allowOrigins?: readonly string[]; readonly token?: string };
  /** A whole request (headers and body) must arrive within this time. */
  readonly requestTimeoutMs?: number;
  /**
   * Answer every refusal that an identity's state or its wrapdata decides
   * (unknown, revoked, group-less; wrapdata refused for any reason) with a
   * decoy: 200 and an answer of the real one's shape, length and work, under
   * random keys (RespondOptions.decoy, ladder/responder.ts). Callers cannot learn which
   * identities exist or are revoked. The audit and the access log keep the
   * true reason; the door's counts count decoys among the exchanges answered.
   */
  readonly uniformRefusals?: boolean;
  /** One line per request; never holds key material. */
  readonly accessLog?: (line: string) => void;
  /** The same, as fields (serve --log-format json); taken instead of accessLog when given. */
  readonly accessEntry?: (entry: AccessEntry) => void;
  /** Extra state for GET /v1/health (store lock state, say). */
  readonly health?: () => Record<string, unknown>;
  /** Counts and times of this door's requests (GET /metrics). */
  readonly metrics?: ServeMetrics;
  /** GET /metrics on this door, behind its caller checks and only with a token; without either, /metrics is 404. */
  readonly metricsText?: () => Promise<MetricsText>;
  /** Why exchanges cannot be answered now besides draining (GET /v1/ready), or undefined when they can. */
  readonly notReady?: () => NotReadyReason | undefined;
}

/** One request of the access log: the text line's fields, and the request's id (its x-request-id header). */
export interface AccessEntry {
  readonly time: string;
  readonly requestId: string;
  readonly addr: string;
  readonly method: string;
  /** The first 100 characters of the request's target. */
  readonly url: string;
  readonly status: number;
  readonly ms: number;
  /** The outcome: ok, decoy, a code, and for an exchange its identity (as in the text line). */
  readonly detail: string;
}

/** Why GET /v1/ready answers 503: still starting, draining, the store locked, or exchanges refused for the audit log. */
export type NotReadyReason = 'STARTING' | 'DRAINING' | 'STORE_LOCKED' | 'AUDIT_UNAVAILABLE';

export interface ServerStats {
  readonly state: 'stopped' | 'listening' | 'draining';
  readonly address: string | null;
  readonly startedAt: string | null;
  readonly exchanges: number;
  readonly refused: number;
  readonly inFlight: number;
}

/** HTTP statuses for refusals of POST /v1/keyx (any other code: 500). The body always carries the precise code; docs/openapi.json lists them (test/server/openapi.test.ts). */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  MSL_PARSE_ERROR: 400,
  UNIDENTIFIED_KEYX_MECHANISM: 400,
  UNSUPPORTED_KEYX_MECHANISM: 400,
  INVALID_ARGUMENT: 400,
  ENTITY_NOT_FOUND: 403,
  ENTITY_REVOKED: 403,
  KEYX_WRAPPING_KEY_MISSING: 403,
  STORE_LOCKED: 503,
  STORE_REPLACED: 503,
  AUDIT_UNAVAILABLE: 503,
  KEYX_RESPONDER_UNAVAILABLE: 503,
};

const clientOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

export class ResponderServer {
  private server: Server | undefined;
  private state: ServerStats['state'] = 'stopped';
  private startedAt: string | null = null;
  private exchanges = 0;
  private refused = 0;
  private inFlight = 0;
  private readonly profile: JweProfileName;
  private readonly callers: CallerPolicy;
  private readonly limiter: RateLimiter | undefined;
  /** Each request's id, sent back as x-request-id and written in its access log entry. */
  private readonly requestIds = new WeakMap<IncomingMessage, string>();
  /**
   * The newest request read on each connection. While draining, only its answer closes the
   * connection: node:http sends nothing after an answer that says `Connection: close`, so closing
   * on an earlier one would drop, unanswered, the requests pipelined behind it (a readiness probe
   * behind an exchange in flight would never learn DRAINING).
   */
  private readonly newestOnSocket = new WeakMap<Socket, IncomingMessage>();

  constructor(private readonly options: ResponderServerOptions) {
    this.profile = options.profile ?? 'msl';
    this.limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
    const token = options.callers?.token;
    if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new RangeError(`A bearer token has at least ${MIN_TOKEN_LENGTH} characters.`);
    this.callers = {
      boundHost: options.host ?? DEFAULT_HOST,
      allowHosts: (options.callers?.allowHosts ?? []).map((h) => h.toLowerCase()),
      allowOrigins: (options.callers?.allowOrigins ?? []).map((o) => o.toLowerCase()),
      ...(token === undefined ? {} : { tokenDigest: tokenDigest(token) }),
    };
  }

  stats(): ServerStats {
    return { state: this.state, address: this.address(), startedAt: this.startedAt, exchanges: this.exchanges, refused: this.refused, inFlight: this.inFlight };
  }

  /** What GET /v1/ready answers: ready, or the reason it is not. */
  readiness(): { readonly ready: true } | { readonly ready: false; readonly reason: NotReadyReason } {
    if (this.state === 'draining') return { ready: false, reason: 'DRAINING' };
    if (this.state !== 'listening') return { ready: false, reason: 'STARTING' };
    const reason = this.options.notReady?.();
    return reason === undefined ? { ready: true } : { ready: false, reason };
  }

  address(): string | null {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) return null;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  async listen(): Promise<string> {
    if (this.server) throw new Error('The responder is already listening.');
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const requestTimeout = this.options.requestTimeoutMs ?? 10_000;
    // Node checks these timeouts on an interval (30 s by default): check each second.
    const limits = { requestTimeout, headersTimeout: Math.min(requestTimeout, 5_000), connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 };
    // A TLS client that never finishes its handshake (never sends a ClientHello, say) is dropped
    // after 10 s, not Node's default 120 s: held sockets are how a slow client starves a responder.
    const given = this.options.tls;
    const tls = given
      ? {
          ...secureContextOptions(given), handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          ...(given.clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: true }),
        }
      : undefined;
    const server = tls ? createHttpsServer({ ...limits, ...tls }, handler) : createHttpServer(limits, handler);
    server.maxHeadersCount = 50;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? DEFAULT_PORT, this.options.host ?? DEFAULT_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.state = 'listening';
    this.startedAt = new Date().toISOString();
    return this.address()!;
  }

  /**
   * New TLS files (SIGHUP): new handshakes get the new certificate, key and client CA; connections
   * already open keep the context they were made with, so none is dropped. Throws, leaving the old
   * context in place, when the files do not load together. Mutual TLS cannot be turned on or off here:
   * that is a restart.
   */
  reloadTls(files: TlsFiles): void {
    const given = this.options.tls;
    if (!given || !this.server) throw new Error('This responder does not serve TLS.');
    if ((files.clientCa === undefined) !== (given.clientCa === undefined)) throw new Error('A reload cannot turn mutual TLS on or off: restart serve for that.');
    checkTlsFiles(files);
    (this.server as unknown as TlsServer).setSecureContext(secureContextOptions(files));
  }

  /** Stops accepting, lets requests in flight finish, then closes every connection. */
  async close(graceMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.state = 'draining';
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
    this.server = undefined;
    this.state = 'stopped';
  }

  private send(res: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string> = {}): void {
    if (this.state === 'draining' && this.newestOnSocket.get(res.req.socket) === res.req) res.setHeader('connection', 'close');
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
    res.end(body);
  }

  private log(req: IncomingMessage, status: number, started: number, detail: string): void {
    const time = new Date().toISOString();
    const ms = performance.now() - started;
    if (this.options.accessEntry) {
      this.options.accessEntry({
        time, requestId: this.requestIds.get(req) ?? '-', addr: req.socket.remoteAddress ?? '-', method: req.method ?? '-',
        url: req.url?.slice(0, 100) ?? '', status, ms: Math.round(ms * 100) / 100, detail: detail.trim(),
      });
      return;
    }
    this.options.accessLog?.(`${time} ${req.socket.remoteAddress ?? '-'} ${req.method} ${req.url?.slice(0, 100)} ${status} ${ms.toFixed(2)}ms ${detail}`);
  }

  /** The caller checks, in order; a refusal is answered here and ends the request. */
  private refuseCaller(req: IncomingMessage, res: ServerResponse, started: number, path: string | undefined): boolean {
    const origin = req.headers.origin;
    const wait = this.limiter?.take(clientOf(req)) ?? 0;
    let refusal: Refusal | undefined = wait > 0
      ? { status: 429, code: 'RATE_LIMITED', message: 'Too many requests from this address; slow down.', headers: { 'retry-after': String(wait) } }
      : undefined;
    refusal ??= checkHost(req.headers.host, this.callers) ?? checkOrigin(origin, this.callers);
    if (refusal === undefined && req.method === 'OPTIONS' && origin !== undefined) {
      this.send(res, 204, '', preflightHeaders(origin, this.callers));
      this.log(req, 204, started, 'preflight');
      return true;
    }
    refusal ??= checkToken(req.headers.authorization, this.callers);
    if (refusal === undefined && path === '/v1/keyx' && req.method === 'POST') refusal = checkContentType(req.headers['content-type']);
    if (refusal === undefined) return false;
    this.refused += 1;
    this.options.exchanges.noteRefusedCall?.(clientOf(req), refusal.code);
    this.options.metrics?.doorRefusal(refusal.code);
    this.send(res, refusal.status, errorBody(refusal.code, refusal.message), { ...refusal.headers, ...corsHeaders(refusal.code === 'ORIGIN_NOT_ALLOWED' ? undefined : origin) });
    req.resume();
    this.log(req, refusal.status, started, refusal.code);
    return true;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // A request pipelined behind a refused body: no work, no answer; the socket closes within its linger.
    if (isLingering(req.socket)) return void req.resume();
    this.newestOnSocket.set(req.socket, req);
    const started = performance.now();
    // Ours, never the caller's: a caller's id would be written into the operator's log as it came.
    const requestId = randomUUID();
    this.requestIds.set(req, requestId);
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    if (this.refuseCaller(req, res, started, path)) return;
    // An allowed browser origin may read the answer.
    for (const [name, value] of Object.entries(corsHeaders(req.headers.origin))) res.setHeader(name, value);
    if (path === '/v1/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        this.send(res, 405, errorBody('METHOD_NOT_ALLOWED', 'Use GET on /v1/health.'), { allow: 'GET, HEAD' });
        return this.log(req, 405, started, 'METHOD_NOT_ALLOWED');
      }
      this.send(res, 200, JSON.stringify({ ...this.stats(), ...(this.options.health?.() ?? {}) }));
      return this.log(req, 200, started, 'health');
    }
    if (path === '/v1/ready') return this.handleReady(req, res, started);
    if (path === '/metrics' && this.options.metricsText !== undefined) {
      // Only behind the token: without one, anyone who reaches the exchanges' port would read the
      // responder's traffic; --metrics-listen is the way to serve it without a token.
      if (this.callers.tokenDigest === undefined) {
        this.send(res, 404, errorBody('NOT_FOUND', 'GET /metrics is served on this port only behind --token-file; or give it an address of its own with --metrics-listen HOST:PORT.'));
        return this.log(req, 404, started, 'NOT_FOUND');
      }
      return this.handleMetrics(req, res, started, this.options.metricsText);
    }
    if (path === '/msl' && this.options.msl !== undefined) return this.handleMsl(req, res, started, this.options.msl);
    if (path !== '/v1/keyx') {
      this.send(res, 404, errorBody('NOT_FOUND', `The responder answers POST /v1/keyx${this.options.msl ? ', POST /msl' : ''} and GET /v1/health.`));
      return this.log(req, 404, started, 'NOT_FOUND');
    }
    if (req.method !== 'POST') {
      this.send(res, 405, errorBody('METHOD_NOT_ALLOWED', 'Use POST on /v1/keyx.'), { allow: 'POST' });
      return this.log(req, 405, started, 'METHOD_NOT_ALLOWED');
    }
    const measure = (result: Outcome, code?: string) => this.options.metrics?.exchange('keyx', result, code, (performance.now() - started) / 1000);
    this.readBody(req, res, started, MAX_BODY_BYTES, (body, finish) => {
      let outcome;
      try {
        const caller = this.options.uniformRefusals ? { client: clientOf(req), uniform: true } : { client: clientOf(req) };
        outcome = this.options.exchanges.respond(body.toString('utf8'), this.profile, caller);
      } catch {
        this.refused += 1;
        measure('error', 'INTERNAL_ERROR');
        return finish(500, errorBody('INTERNAL_ERROR', 'The responder hit an unexpected error.'), 'INTERNAL_ERROR');
      }
      if (outcome.ok) {
        measure('ok');
        this.exchanges += 1;
        return finish(200, outcome.json, `ok ${outcome.identity ?? ''}`);
      }
      const code = outcome.code ?? 'INTERNAL_ERROR';
      // A decoy is counted as the caller saw it (GET /v1/health must not tell either);
      // the access log keeps the true code: it is the operator's.
      if (outcome.decoy === true) {
        this.exchanges += 1;
        measure('decoy', code);
        return finish(200, outcome.json, `decoy ${code} ${outcome.reason ?? ''} ${outcome.identity ?? ''}`);
      }
      this.refused += 1;
      measure('refused', code);
      finish(STATUS_BY_CODE[code] ?? 500, outcome.json, `${code} ${outcome.identity ?? ''}`, code === 'AUDIT_UNAVAILABLE' ? { 'retry-after': '1' } : undefined);
    });
  }

  /** GET /v1/ready: a readiness probe (a load balancer's, a supervisor's); /v1/health stays the liveness check. */
  private handleReady(req: IncomingMessage, res: ServerResponse, started: number): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.send(res, 405, errorBody('METHOD_NOT_ALLOWED', 'Use GET on /v1/ready.'), { allow: 'GET, HEAD' });
      return this.log(req, 405, started, 'METHOD_NOT_ALLOWED');
    }
    const readiness = this.readiness();
    const status = readiness.ready ? 200 : 503;
    this.send(res, status, JSON.stringify(readiness), readiness.ready ? {} : { 'retry-after': '1' });
    this.log(req, status, started, readiness.ready ? 'ready' : `not ready ${readiness.reason}`);
  }

  /** GET /metrics on this door (behind the same caller checks as the exchanges). */
  private handleMetrics(req: IncomingMessage, res: ServerResponse, started: number, metricsText: () => Promise<MetricsText>): void {
    if (req.method !== 'GET') {
      this.send(res, 405, errorBody('METHOD_NOT_ALLOWED', 'Use GET on /metrics.'), { allow: 'GET' });
      return this.log(req, 405, started, 'METHOD_NOT_ALLOWED');
    }
    metricsText().then(
      (m) => {
        this.send(res, 200, m.text, { 'content-type': m.contentType });
        this.log(req, 200, started, 'metrics');
      },
      () => {
        this.send(res, 503, errorBody('METRICS_UNAVAILABLE', 'The metrics could not be gathered from every worker; try again.'), { 'retry-after': '1' });
        this.log(req, 503, started, 'METRICS_UNAVAILABLE');
      },
    );
  }

  /**
   * POST /msl. Any content type: MSL's Java client sends
   * application/x-www-form-urlencoded, and the body is the message's bytes,
   * never form-decoded. Every MSL-level refusal is an error header with 200
   * (MSL's client handles no other status); only the door's own refusals
   * (size, rate, token, Host) and an unavailable store are HTTP errors.
   */
  private handleMsl(req: IncomingMessage, res: ServerResponse, started: number, msl: MslApi): void {
    if (req.method !== 'POST') {
      this.send(res, 405, errorBody('METHOD_NOT_ALLOWED', 'Use POST on /msl.'), { allow: 'POST' });
      return this.log(req, 405, started, 'METHOD_NOT_ALLOWED');
    }
    const measure = (result: Outcome, code?: string) => this.options.metrics?.exchange('msl', result, code, (performance.now() - started) / 1000);
    this.readBody(req, res, started, this.options.mslMaxBodyBytes ?? DEFAULT_MSL_MAX_BODY_BYTES, (body, finish) => {
      let outcome;
      try {
        outcome = msl.answer(body, { client: clientOf(req) });
      } catch {
        this.refused += 1;
        measure('error', 'INTERNAL_ERROR');
        return finish(500, errorBody('INTERNAL_ERROR', 'The responder hit an unexpected error.'), 'INTERNAL_ERROR');
      }
      const who = outcome.identity ?? '';
      if (outcome.kind === 'answered') {
        this.exchanges += 1;
        measure('ok');
        return finish(200, outcome.body, `msl ok ${who}`);
      }
      this.refused += 1;
      measure('refused', outcome.code ?? (outcome.kind === 'error-header' ? 'ERROR' : 'UNAVAILABLE'));
      if (outcome.kind === 'error-header') return finish(200, outcome.body, `msl ${outcome.code ?? 'ERROR'} ${who}`);
      finish(503, outcome.body, `msl ${outcome.code ?? 'UNAVAILABLE'} ${who}`, { 'retry-after': '1' });
    });
  }

  /**
   * Reads a request body of at most `cap` bytes: a larger declared length is
   * refused before any byte is read, and a body that grows past the cap is
   * refused as soon as it does (the rest is drained, never kept).
   */
  private readBody(
    req: IncomingMessage, res: ServerResponse, started: number, cap: number,
    onBody: (body: Buffer, finish: (status: number, body: string | Uint8Array, detail: string, headers?: Record<string, string>) => void) => void,
  ): void {
    const tooLarge = errorBody('PAYLOAD_TOO_LARGE', `Requests are at most ${cap} bytes.`);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > cap) {
      // The client may still be sending the body it announced: let it read the 413 (lingeringClose.ts).
      lingerAfterAnswer(req.socket);
      this.options.metrics?.doorRefusal('PAYLOAD_TOO_LARGE');
      this.send(res, 413, tooLarge, { connection: 'close' });
      req.resume();
      return this.log(req, 413, started, 'PAYLOAD_TOO_LARGE');
    }
    this.inFlight += 1;
    this.options.metrics?.requestStarted();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (status: number, body: string | Uint8Array, detail: string, headers?: Record<string, string>) => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      this.options.metrics?.requestEnded();
      this.send(res, status, body, headers);
      this.log(req, status, started, detail);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        chunks.length = 0;
        lingerAfterAnswer(req.socket);
        this.options.metrics?.doorRefusal('PAYLOAD_TOO_LARGE');
        finish(413, tooLarge, 'PAYLOAD_TOO_LARGE', { connection: 'close' });
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        this.inFlight -= 1;
        this.options.metrics?.requestEnded();
      }
    });
    req.on('end', () => {
      if (done) return;
      onBody(Buffer.concat(chunks, size), finish);
    });
  }
}
