// `keyladder serve`'s flags, checked once by the supervising process
// (serveCluster.ts) and handed as plain data to each worker (serveWorker.ts).

import { readFileSync } from 'node:fs';
import type { JweProfileName } from '../services/types.js';
import { MIN_TOKEN_LENGTH } from './callerChecks.js';
import { DEFAULT_RATE_LIMIT, type RateLimit } from './rateLimit.js';
import { checkTlsFiles, DEFAULT_HOST, DEFAULT_MSL_MAX_BODY_BYTES, DEFAULT_PORT, type TlsFiles } from './httpResponder.js';
import { MAX_MSL_TIME_SECONDS } from '../services/mslSettings.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  profile?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-client-ca'?: string;
  'token-file'?: string;
  'allow-host'?: string[];
  'allow-origin'?: string[];
  'uniform-refusals'?: boolean;
  'rate-limit'?: string;
  workers?: string;
  'msl-renewal-window'?: string;
  'msl-expiration'?: string;
  'msl-max-body'?: string;
  'metrics-listen'?: string;
  'log-format'?: string;
}

/** The config file's own (cli/serveConfig.ts), besides the flags' and files' codes. */
export type ServeSettingsCode = 'USAGE_BAD_VALUE' | 'USAGE_MISSING_ARGUMENT' | 'FILE_UNREADABLE' | 'FILE_INVALID' | 'CONFIG_UNKNOWN_KEY' | 'CONFIG_WRONG_TYPE' | 'CONFIG_BAD_VALUE';

/**
 * A flag or file of `serve` the operator got wrong. Its code is one the CLI
 * prints and exits 2 on; the supervisor checks the files before any worker
 * starts, and a worker that still fails passes the code on.
 */
export class ServeSettingsError extends Error {
  override readonly name = 'ServeSettingsError';
  constructor(readonly code: ServeSettingsCode, message: string) {
    super(message);
  }
}

const badValue = (message: string) => new ServeSettingsError('USAGE_BAD_VALUE', message);

/** The checked flags; plain data, so that the cluster's primary can hand them to its workers. */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly profile: JweProfileName;
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string };
  /** A file holding the bearer token every request must carry. */
  readonly tokenFile?: string;
  readonly allowHosts: readonly string[];
  readonly allowOrigins: readonly string[];
  /** One answer for unknown, revoked and group-less identities (see httpResponder.ts). */
  readonly uniformRefusals: boolean;
  /** Requests per second per client address and worker; 0 turns the limit off. */
  readonly rateLimit: number;
  readonly workers: number;
  /** POST /msl: this run's master-token times (override the store's MSL settings) and the body cap. */
  readonly msl: MslServeSettings;
  /**
   * --metrics-listen HOST:PORT: GET /metrics on a listener of its own (the supervisor's, without the
   * token), and not on the exchanges' port. Absent, /metrics is on the exchanges' port behind its checks.
   */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  /** The access log: today's text lines (the default), or JSON lines with a level and a request id. */
  readonly logFormat: 'text' | 'json';
}

export interface MslServeSettings {
  /** Seconds from issue after which a master token is renewed when its device asks. */
  readonly renewalWindowSeconds?: number;
  /** Seconds from issue after which a master token is expired. */
  readonly expirationSeconds?: number;
  readonly maxBodyBytes: number;
}

/** The largest MSL body cap (16 MiB): what one worker may hold per request. */
export const MAX_MSL_BODY_BYTES = 16 * 1024 * 1024;

/** More processes than this only contend for the store's write lock. */
const MAX_WORKERS = 32;

export function parseServeFlags(flags: ServeFlags): ServeSettings {
  // An empty --host= would make Node listen on every interface, and an empty --port= on a random port.
  if (flags.host !== undefined && flags.host.trim() === '') throw badValue('--host needs an address (127.0.0.1 unless devices reach this machine from elsewhere).');
  const port = flags.port === undefined ? DEFAULT_PORT : /^\d{1,5}$/.test(flags.port) ? Number(flags.port) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badValue('--port is 0 to 65535.');
  if (flags.profile !== undefined && flags.profile !== 'msl' && flags.profile !== 'rfc7516') throw badValue('--profile is msl or rfc7516.');
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new ServeSettingsError('USAGE_MISSING_ARGUMENT', 'TLS needs both --tls-cert and --tls-key.');
  if (flags['tls-client-ca'] !== undefined && flags['tls-cert'] === undefined) throw new ServeSettingsError('USAGE_MISSING_ARGUMENT', '--tls-client-ca (mutual TLS) needs TLS: --tls-cert and --tls-key.');
  const allowHosts = (flags['allow-host'] ?? []).map((h) => h.trim().toLowerCase());
  for (const h of allowHosts) if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h)) throw badValue(`--allow-host takes a host name (such as keyladder.lab.example): "${h.slice(0, 60)}" is none.`);
  const allowOrigins = (flags['allow-origin'] ?? []).map((o) => o.trim().toLowerCase());
  for (const o of allowOrigins) if (!isOrigin(o)) throw badValue(`--allow-origin takes an origin, scheme://host[:port] with no path (such as http://localhost:5173): "${o.slice(0, 60)}" is none.`);
  const rateLimit = flags['rate-limit'] === undefined ? DEFAULT_RATE_LIMIT.perSecond : /^\d{1,7}$/.test(flags['rate-limit']) ? Number(flags['rate-limit']) : NaN;
  if (!Number.isInteger(rateLimit)) throw badValue('--rate-limit is a whole number of requests per second per client (0 turns the limit off).');
  const workers = flags.workers === undefined ? 1 : Number(flags.workers);
  if (!/^\d+$/.test(flags.workers ?? '1') || workers < 1 || workers > MAX_WORKERS) throw badValue(`--workers is 1 to ${MAX_WORKERS} (one per core is the most that helps).`);
  const msl = parseMslFlags(flags);
  const metricsListen = flags['metrics-listen'] === undefined ? undefined : parseHostPort(flags['metrics-listen']);
  if (flags['log-format'] !== undefined && flags['log-format'] !== 'text' && flags['log-format'] !== 'json') throw badValue('--log-format is text or json.');
  return {
    host: flags.host ?? DEFAULT_HOST,
    port,
    profile: (flags.profile as JweProfileName | undefined) ?? 'msl',
    ...(flags['tls-cert'] !== undefined
      ? { tls: { certFile: flags['tls-cert'], keyFile: flags['tls-key']!, ...(flags['tls-client-ca'] === undefined ? {} : { clientCaFile: flags['tls-client-ca'] }) } }
      : {}),
    ...(flags['token-file'] === undefined ? {} : { tokenFile: flags['token-file'] }),
    allowHosts,
    allowOrigins,
    uniformRefusals: flags['uniform-refusals'] === true,
    rateLimit,
    workers,
    msl,
    ...(metricsListen === undefined ? {} : { metricsListen }),
    logFormat: flags['log-format'] === 'json' ? 'json' : 'text',
  };
}

/** HOST:PORT, [IPv6]:PORT; an empty host or port is refused (it would listen on every interface, or a random port). */
function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw badValue(`--metrics-listen takes HOST:PORT (such as 127.0.0.1:9420): "${text.slice(0, 60)}" is none.`);
  return { host: match[1] ?? match[2]!, port };
}

/** A whole number of seconds (or bytes) within bounds, or undefined when the flag is absent. */
function wholeNumber(value: string | undefined, min: number, max: number, message: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badValue(message);
  return n;
}

function parseMslFlags(flags: ServeFlags): MslServeSettings {
  const renewal = wholeNumber(flags['msl-renewal-window'], 1, MAX_MSL_TIME_SECONDS, `--msl-renewal-window is a whole number of seconds, 1 to ${MAX_MSL_TIME_SECONDS}.`);
  const expiration = wholeNumber(flags['msl-expiration'], 1, MAX_MSL_TIME_SECONDS, `--msl-expiration is a whole number of seconds, 1 to ${MAX_MSL_TIME_SECONDS}.`);
  // MSL's master token refuses a renewal window after its expiration (MasterToken's constructor).
  if (renewal !== undefined && expiration !== undefined && renewal > expiration) throw badValue('--msl-renewal-window must not be longer than --msl-expiration: a token would expire before it could be renewed.');
  const maxBodyBytes = wholeNumber(flags['msl-max-body'], 1024, MAX_MSL_BODY_BYTES, `--msl-max-body is a number of bytes, 1024 to ${MAX_MSL_BODY_BYTES}.`) ?? DEFAULT_MSL_MAX_BODY_BYTES;
  return { ...(renewal === undefined ? {} : { renewalWindowSeconds: renewal }), ...(expiration === undefined ? {} : { expirationSeconds: expiration }), maxBodyBytes };
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}

/** The bearer token of --token-file: its first line, at least MIN_TOKEN_LENGTH printable characters. */
export function readToken(settings: ServeSettings): string | undefined {
  if (settings.tokenFile === undefined) return undefined;
  const text = readServeFile(settings.tokenFile, 'token').toString('utf8');
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ServeSettingsError('FILE_INVALID', `The token in ${settings.tokenFile} must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces (for example: openssl rand -base64 32).`);
  }
  return token;
}

/** Whether callers must prove who they are (a bearer token, or a client certificate). */
export const authenticatesCallers = (settings: ServeSettings): boolean => settings.tokenFile !== undefined || settings.tls?.clientCaFile !== undefined;

function readServeFile(path: string, role: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new ServeSettingsError('FILE_UNREADABLE', `Cannot read the ${role} file '${path}'.`);
  }
}

/** The certificate and key files of --tls-cert and --tls-key, if given. */
export function readTlsFiles(settings: ServeSettings): { cert: Buffer; key: Buffer; clientCa?: Buffer } | undefined {
  if (!settings.tls) return undefined;
  const files = { cert: readServeFile(settings.tls.certFile, 'TLS certificate'), key: readServeFile(settings.tls.keyFile, 'TLS key') };
  if (settings.tls.clientCaFile === undefined) return files;
  return { ...files, clientCa: readServeFile(settings.tls.clientCaFile, 'client CA certificate') };
}

/**
 * The TLS files, read and checked at start as SIGHUP's reload checks them (checkTlsFiles): a client
 * CA file that holds no certificate (OpenSSL takes it, and would then refuse every client), or a key
 * that is not the certificate's, is FILE_INVALID before any worker unlocks.
 */
export function readCheckedTlsFiles(settings: ServeSettings): TlsFiles | undefined {
  const files = readTlsFiles(settings);
  if (files === undefined || settings.tls === undefined) return files;
  try {
    checkTlsFiles(files);
  } catch (e) {
    // OpenSSL's reason names no key material ("key values mismatch", "no start line"); ours names the files.
    const reason = e instanceof Error ? e.message.slice(0, 120) : 'unknown error';
    const { certFile, keyFile, clientCaFile } = settings.tls;
    throw new ServeSettingsError('FILE_INVALID', `The TLS files do not load together: ${reason} (--tls-cert '${certFile}', --tls-key '${keyFile}'${clientCaFile === undefined ? '' : `, --tls-client-ca '${clientCaFile}'`}). The key must be the certificate's, unencrypted; the client CA file must hold a PEM certificate.`);
  }
  return files;
}

/** The limiter's settings for --rate-limit N: N a second, bursts of 2N; or off. */
export const rateLimitOf = (settings: ServeSettings): RateLimit | false =>
  settings.rateLimit === 0 ? false : { perSecond: settings.rateLimit, burst: settings.rateLimit * 2 };
