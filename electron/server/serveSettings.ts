// `keyladder serve`'s flags, checked once by the supervising process
// (serveCluster.ts) and handed as plain data to each worker (serveWorker.ts).

import { readFileSync } from 'node:fs';
import { CliUsageError } from '../cli/output.js';
import type { JweProfileName } from '../services/types.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './httpResponder.js';

interface ServeFlags {
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
const MAX_WORKERS = 32;

export function parseServeFlags(flags: ServeFlags): ServeSettings {
  // An empty --host= would make Node listen on every interface, and an empty --port= on a random port.
  if (flags.host !== undefined && flags.host.trim() === '') throw new CliUsageError('--host needs an address (127.0.0.1 unless devices reach this machine from elsewhere).');
  const port = flags.port === undefined ? DEFAULT_PORT : /^\d{1,5}$/.test(flags.port) ? Number(flags.port) : NaN;
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
