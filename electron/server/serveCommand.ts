// `keyladder serve`: the HTTP responder, headless. Runs until SIGINT or
// SIGTERM, then drains requests in flight and writes pending records.

import { readFileSync } from 'node:fs';
import type { CliIo } from '../cli.js';
import { CliUsageError, type Output } from '../cli/output.js';
import type { KeyLadderRuntime } from '../services/index.js';
import type { JweProfileName } from '../services/types.js';
import { DEFAULT_HOST, DEFAULT_PORT, ResponderServer } from './httpResponder.js';

interface ServeFlags {
  host?: string;
  port?: string;
  profile?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

export async function serveCommand(services: KeyLadderRuntime, flags: ServeFlags, io: CliIo, out: Output, stop: Promise<unknown> = untilSignal()): Promise<number> {
  const port = flags.port === undefined ? DEFAULT_PORT : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError('--port is 0 to 65535.');
  if (flags.profile !== undefined && flags.profile !== 'msl' && flags.profile !== 'rfc7516') throw new CliUsageError('--profile is msl or rfc7516.');
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new CliUsageError('TLS needs both --tls-cert and --tls-key.');
  const host = flags.host ?? DEFAULT_HOST;
  const server = new ResponderServer({
    exchanges: services.exchanges,
    host,
    port,
    profile: (flags.profile as JweProfileName | undefined) ?? 'msl',
    ...(flags['tls-cert'] ? { tls: { cert: readFileSync(flags['tls-cert']), key: readFileSync(flags['tls-key']!) } } : {}),
    accessLog: (line) => io.stderr(`${line}\n`),
    health: () => ({ store: services.store.status().unlocked ? 'unlocked' : 'locked' }),
  });
  const address = await server.listen();
  if (host !== DEFAULT_HOST && host !== 'localhost' && host !== '::1') io.stderr(`keyladder: listening on ${host}, reachable beyond this machine, as asked.\n`);
  out.print(`Responding on ${address}/v1/keyx (Ctrl-C to stop)`, { listening: address });
  await stop;
  await server.close();
  services.exchanges.flush();
  const stats = server.stats();
  io.stderr(`keyladder: stopped after ${stats.exchanges} exchanges (${stats.refused} refused).\n`);
  return 0;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}
