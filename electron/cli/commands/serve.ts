// `keyladder serve`: the HTTP responder, in supervised worker processes.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { readPassphrase, storePassphrase } from '../passphrase.js';

/** `Listening on URL pid N`: one line, kept stable for scripts (the README's step 5 reads the URL from it with sed). */
export const listeningLine = (address: string, pid: number): string => `Listening on ${address} pid ${pid}`;

/**
 * Under systemd, the unit's `LoadCredential=passphrase:/etc/keyladder/passphrase` puts the passphrase in
 * $CREDENTIALS_DIRECTORY/passphrase, readable by the service alone and never in its environment
 * (packaging/systemd/keyladder.service). Taken when --passphrase-file is absent and the credential is there.
 */
export const SERVE_CREDENTIAL = 'passphrase';
function credentialFile(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dir = env['CREDENTIALS_DIRECTORY'];
  if (dir === undefined || dir === '') return undefined;
  const file = join(dir, SERVE_CREDENTIAL);
  return existsSync(file) ? file : undefined;
}

export const serveCommands: readonly Command[] = [
  {
    name: 'serve', section: 'Exchanges', arity: [0, 0],
    options: ['config', 'host', 'port', 'profile', 'tls-cert', 'tls-key', 'tls-client-ca', 'token-file', 'allow-host', 'allow-origin', 'uniform-refusals', 'rate-limit', 'workers', 'msl-renewal-window', 'msl-expiration', 'msl-max-body', 'metrics-listen', 'log-format'],
    summary: 'the HTTP responder: POST /v1/keyx, POST /msl, GET /v1/health (127.0.0.1:8420 by default; --port 0: a free port)',
    details: 'N worker processes (--workers, one per core helps most) share the port and the store. Host names other than\n' +
      'IP literals and loopback names get 421 unless --allow-host lists them; browser origins get 403 unless\n' +
      '--allow-origin lists them. Beyond loopback, use --token-file or --tls-client-ca. When every worker answers it prints\n' +
      '"Listening on URL pid N" (the port bound, with --port 0 a free one). It never prompts in the background (`&`): give\n' +
      'the store passphrase by --passphrase-file F (an owner-only file) or KEYLADDER_PASSPHRASE; under systemd, the\n' +
      'credential "passphrase" ($CREDENTIALS_DIRECTORY/passphrase: LoadCredential=). --config FILE (.json or .toml) holds\n' +
      'any of the options below, its keys their names (port = 8420, allow-host = ["lab.example"]); flags override it.\n' +
      'SIGHUP reloads the TLS certificate, key and client CA for new connections (open ones keep theirs).',
    async run(ctx) {
      const { parseServeFlags } = await import('../../server/serveSettings.js');
      const { serveCluster } = await import('../../server/serveCluster.js');
      const { readServeConfig, withConfig } = await import('../serveConfig.js');
      // The config file and every flag are checked before the passphrase is read or the store opened.
      const flags = ctx.values.config === undefined ? ctx.values : withConfig(readServeConfig(ctx.values.config), ctx.values);
      const settings = parseServeFlags(flags);
      // This process only reads the passphrase and supervises; the workers unlock the store.
      const passphrase = await readPassphrase(storePassphrase(ctx.values['passphrase-file'] ?? credentialFile(ctx.io.env)), ctx.io);
      return serveCluster({
        storeDir: ctx.storeDir, passphrase, settings,
        report: {
          notice: ctx.io.stderr,
          // The first line is for scripts to wait on (README, step 5): printed once every worker answers,
          // with the address actually bound (--port 0 takes a free one) and the pid to stop.
          listening: (address, workers) => ctx.out.print(`${listeningLine(address, process.pid)}\nResponding on ${address}/v1/keyx and ${address}/msl with ${workers === 1 ? '1 worker process' : `${workers} worker processes`} (Ctrl-C to stop)`, { listening: address, pid: process.pid, workers }),
        },
      });
    },
  },
];
