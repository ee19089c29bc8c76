// `keyladder serve`'s flags, checked, and the responder a worker runs from
// them. serveCluster.ts supervises the worker processes; serveWorker.ts is one.

import { readFileSync } from 'node:fs';
import type { CliIo } from '../cli.js';
import { CliUsageError } from '../cli/output.js';
import type { KeyLadderRuntime } from '../services/index.js';
import type { JweProfileName } from '../services/types.js';
import { DEFAULT_HOST, DEFAULT_PORT, ResponderServer } from './httpResponder.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  profile?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  workers?: string;
}

/** The checked flags; plain data, so that the cluster's primary can hand them to its workers. */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly profile: JweProfileName;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly workers: number;
}

/** More processes than this only contend for the store's write lock. */
export const MAX_WORKERS = 32;

export function parseServeFlags(flags: ServeFlags): ServeSettings {
  const port = flags.port === undefined ? DEFAULT_PORT : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError('--port is 0 to 65535.');
  if (flags.profile !== undefined && flags.profile !== 'msl' && flags.profile !== 'rfc7516') throw new CliUsageError('--profile is msl or rfc7516.');
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new CliUsageError('TLS needs both --tls-cert and --tls-key.');
  const workers = flags.workers === undefined ? 1 : Number(flags.workers);
  if (!/^\d+$/.test(flags.workers ?? '1') || workers < 1 || workers > MAX_WORKERS) throw new CliUsageError(`--workers is 1 to ${MAX_WORKERS} (one per core is the most that helps).`);
  return {
    host: flags.host ?? DEFAULT_HOST,
    port,
    profile: (flags.profile as JweProfileName | undefined) ?? 'msl',
    ...(flags['tls-cert'] !== undefined ? { tls: { certFile: flags['tls-cert'], keyFile: flags['tls-key']! } } : {}),
    workers,
  };
}

/** The certificate and key files of --tls-cert and --tls-key, if given. */
export function readTlsFiles(settings: ServeSettings): { cert: Buffer; key: Buffer } | undefined {
  if (!settings.tls) return undefined;
  try {
    return { cert: readFileSync(settings.tls.certFile), key: readFileSync(settings.tls.keyFile) };
  } catch {
    throw new CliUsageError(`Cannot read the TLS certificate ${settings.tls.certFile} or its key ${settings.tls.keyFile}.`);
  }
}

/** The responder over `services`, as `serve` runs it (in this process or in a cluster worker). */
export function responderFor(services: KeyLadderRuntime, settings: ServeSettings, io: Pick<CliIo, 'stderr'>, health: () => Record<string, unknown> = () => ({})): ResponderServer {
  const tls = readTlsFiles(settings);
  return new ResponderServer({
    exchanges: services.exchanges,
    host: settings.host,
    port: settings.port,
    profile: settings.profile,
    ...(tls ? { tls } : {}),
    accessLog: (line) => io.stderr(`${line}\n`),
    health: () => ({ store: services.store.status().unlocked ? 'unlocked' : 'locked', ...health() }),
  });
}

export function warnIfReachable(host: string, io: Pick<CliIo, 'stderr'>): void {
  if (host !== DEFAULT_HOST && host !== 'localhost' && host !== '::1') io.stderr(`keyladder: listening on ${host}, reachable beyond this machine, as asked.\n`);
}

/** Resolves at the first SIGINT or SIGTERM. Later ones are absorbed, so a drain is never cut short by a second signal. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
  });
}
