// One responder process of `keyladder serve --workers N` (see serveCluster.ts):
// it unlocks the store with the passphrase the primary sends, answers on the
// socket the cluster shares, reports its counts to the primary each second,
// and drains when told to stop, when signalled, or when the primary is gone.

import cluster from 'node:cluster';
import { createServices, describeError, type KeyLadderRuntime } from '../services/index.js';
import { ResponderServer } from './httpResponder.js';
import type { ClusterTotals, FromWorker, ToWorker } from './serveCluster.js';
import { listenError } from './listenError.js';
import { rateLimitOf, readTlsFiles, readToken, type ServeSettings } from './serveSettings.js';
import { surviveClosedOutput } from './closedPipes.js';
import { batchedAccessLog } from './accessLog.js';
import { jsonAccessLog } from './jsonAccessLog.js';
import { diskHealth } from '../services/diskSpace.js';
import { serveActor } from '../services/actor.js';
import { servicesReadiness } from './readiness.js';
import { answerClusterScrapes, ServeMetrics, type MetricsText } from './metrics.js';

if (!cluster.isWorker) throw new Error('serveWorker.js runs as a worker of `keyladder serve --workers N` only.');
surviveClosedOutput();

/** One line per request, without key material, on the supervisor's stderr (shared by all workers), in batches. */
const accessLog = batchedAccessLog(2);

/** This worker's metrics; the supervisor gathers every worker's into one scrape (metrics.ts). */
const metrics = new ServeMetrics({ worker: cluster.worker?.id ?? 0 });
answerClusterScrapes(metrics.registry);

/** Scrapes asked of the supervisor, by their number, waiting for its answer. */
const scrapes = new Map<number, { resolve: (m: MetricsText) => void; reject: (e: Error) => void }>();
let scrapeCount = 0;
/** The supervisor gives up on a worker's registry after 5 s (prom-client): wait a little longer. */
const SCRAPE_TIMEOUT_MS = 6_000;

/** GET /metrics on the exchanges' port: the whole responder's metrics, which only the supervisor can gather. */
function scrapeCluster(): Promise<MetricsText> {
  return new Promise((resolve, reject) => {
    const id = ++scrapeCount;
    const timer = setTimeout(() => {
      scrapes.delete(id);
      reject(new Error('The supervisor did not answer the scrape.'));
    }, SCRAPE_TIMEOUT_MS);
    scrapes.set(id, {
      resolve: (m) => { clearTimeout(timer); scrapes.delete(id); resolve(m); },
      reject: (e) => { clearTimeout(timer); scrapes.delete(id); reject(e); },
    });
    void send({ type: 'scrape', id });
  });
}

/** Resolves once the message is handed to the channel, so that a process exiting next does not lose it. */
const send = (message: FromWorker): Promise<void> => new Promise((resolve) => {
  if (!process.connected) return resolve();
  process.send!(message, undefined, {}, () => resolve());
});

/** The responder over `services`; its health adds this worker's number and the whole responder's totals. */
function responderFor(services: KeyLadderRuntime, settings: ServeSettings, index: number): ResponderServer {
  const tls = readTlsFiles(settings);
  const token = readToken(settings);
  return new ResponderServer({
    exchanges: services.exchanges,
    // This run's master-token times override the store's (serve --msl-renewal-window, --msl-expiration).
    msl: services.mslResponder.withOverrides(settings.msl, { maxMessageBytes: settings.msl.maxBodyBytes }),
    mslMaxBodyBytes: settings.msl.maxBodyBytes,
    host: settings.host,
    port: settings.port,
    profile: settings.profile,
    ...(tls ? { tls } : {}),
    uniformRefusals: settings.uniformRefusals,
    rateLimit: rateLimitOf(settings),
    callers: { allowHosts: settings.allowHosts, allowOrigins: settings.allowOrigins, ...(token === undefined ? {} : { token }) },
    ...(settings.logFormat === 'json' ? { accessEntry: jsonAccessLog(accessLog, index) } : { accessLog: (line: string) => accessLog.write(line) }),
    metrics,
    // --metrics-listen moves /metrics to the supervisor's own listener: then it is not on this port.
    ...(settings.metricsListen === undefined ? { metricsText: scrapeCluster } : {}),
    notReady: servicesReadiness(services, () => started),
    // The disk: status "degraded" and a warning while free space is low (services/diskSpace.ts).
    health: () => ({ store: services.store.status().unlocked ? 'unlocked' : 'locked', worker: index, cluster: totals ?? null, ...diskHealth(services.store.diskSpace()) }),
  });
}

/** How many times a stopping worker tries to write its last records, a second apart. */
const CLOSE_ATTEMPTS = 5;

let services: KeyLadderRuntime | undefined;
let server: ResponderServer | undefined;
let totals: ClusterTotals | undefined;
let stopping: Promise<void> | undefined;
let statsTimer: NodeJS.Timeout | undefined;
/** Whether the supervisor has every worker listening (it says so once `serve` prints its address): until then /v1/ready says STARTING. */
let started = false;
/** The settings this worker started with: SIGHUP reads their TLS files again. */
let settingsInUse: ServeSettings | undefined;

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { storeDir, settings, index } = message;
  try {
    services = createServices({ storeDir, batchExchangeRecords: true, backgroundCheckpoints: true, actor: serveActor(), onStoreReplaced: () => void storeReplaced(index) });
    services.exchanges.observe(metrics);
    await services.store.unlock(message.passphrase);
    const runtime = services;
    server = responderFor(runtime, settings, index);
    settingsInUse = settings;
    const address = await server.listen().catch((e: unknown) => {
      throw listenError(e, settings.host, settings.port);
    });
    const live = server;
    statsTimer = setInterval(() => {
      const s = live.stats();
      void send({ type: 'stats', exchanges: s.exchanges, refused: s.refused, inFlight: s.inFlight });
    }, 1000);
    statsTimer.unref();
    await send({ type: 'listening', address });
  } catch (e) {
    const error = describeError(e);
    await send({ type: 'failed', error });
    services?.close();
    process.exit(1);
  }
}

/**
 * The store's database file was replaced under this worker (a restore or a copy by another
 * process; db/store.ts): the store has locked itself, so nothing more is answered from the old
 * file. The worker says why, tells the primary (which stops the whole responder rather than start
 * workers on a file nobody chose to serve), and exits non-zero. Its buffered exchange records
 * belonged to the old file and cannot go into the new one; the line says how many.
 */
async function storeReplaced(index: number): Promise<void> {
  const pending = services?.exchanges.pendingRecords().audit ?? 0;
  process.stderr.write(`keyladder: worker ${index} stopped: the store's database file was replaced while it had it open (a restore or a copy by another process); it no longer answers from the old file${pending > 0 ? ` (${pending} audit records of exchanges answered from it are not written)` : ''}. Start keyladder serve again to serve the file now in place.\n`);
  await send({ type: 'store-replaced' });
  await stop(1);
}

function stop(exitCode = 0): Promise<void> {
  stopping ??= (async () => {
    clearInterval(statsTimer);
    if (server) await server.close();
    const s = server?.stats();
    await send({ type: 'stopped', exchanges: s?.exchanges ?? 0, refused: s?.refused ?? 0 });
    // Writes the buffered exchange records, then locks the store. On a full disk the write fails:
    // it is tried for a few seconds (space may return), and then the worker says what it could not
    // write, in one line, instead of dying on an uncaught error. The access log's last lines go
    // after the records: a stalled reader of stderr must not hold the worker past its grace
    // period (the primary then kills it) with the audit records still in memory.
    for (let attempt = 1; ; attempt++) {
      try {
        services?.close();
        // Waits for a write already in flight (bounded): flushSync alone let process.exit cut it off.
        await accessLog.flush();
        process.exit(exitCode);
      } catch (e) {
        const pending = services?.exchanges.pendingRecords();
        // A replaced store will not become writable again: no point waiting.
        if (attempt >= CLOSE_ATTEMPTS || exitCode !== 0) {
          await accessLog.flush();
          process.stderr.write(`keyladder: worker ${process.pid} stopped without writing ${pending?.audit ?? 0} audit records (${describeError(e).code}): the store could not be written.\n`);
          process.exit(1);
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  return stopping;
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      void start(message);
      break;
    case 'totals':
      totals = message.totals;
      break;
    case 'started':
      started = true;
      break;
    case 'scrape':
      if ('text' in message) scrapes.get(message.id)?.resolve({ contentType: message.contentType, text: message.text });
      else scrapes.get(message.id)?.reject(new Error(message.error));
      break;
    case 'stop':
      void stop();
      break;
    case 'reload-tls':
      void send({ type: 'tls-reloaded', id: message.id, ...reloadTls() });
      break;
  }
});

/** The TLS files read again, for new connections (SIGHUP to the supervisor); an error leaves the old ones. */
function reloadTls(): { error?: string } {
  try {
    if (!server || !settingsInUse) return { error: 'not listening yet' };
    server.reloadTls(readTlsFiles(settingsInUse)!);
    return {};
  } catch (e) {
    return { error: e instanceof Error ? e.message.slice(0, 200) : 'unknown error' };
  }
}
// A terminal's hangup reaches the whole process group: the supervisor decides what it means (a reload).
process.on('SIGHUP', () => {});
// Ctrl-C reaches every process of the terminal's group; the primary's own stop follows and is absorbed.
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// A primary that died cannot stop us: drain and go. node:cluster's own listener would
// exit at once instead, cutting requests in flight and dropping the buffered records.
process.removeAllListeners('disconnect');
process.on('disconnect', () => void stop());
void send({ type: 'ready' });
