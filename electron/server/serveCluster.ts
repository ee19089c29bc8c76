// `keyladder serve [--workers N]`: N responder processes (1 by default) over
// the one store, under a supervising process.
//
// One Node process answers on one core; a lab machine usually has more.
// Even one worker is supervised: it is replaced if it dies, and it runs with
// the V8 settings below, which a process cannot give itself once started.
// node:cluster forks the workers (serveWorker.ts) and shares the listening
// socket among them: the primary accepts connections and hands each to a
// worker in turn. Every worker opens the store with its own connection, as a
// second app or CLI would. SQLite's WAL lets them read side by side, the
// store's IMMEDIATE transactions make their writes (batched exchange records)
// take turns, and the audit chain's head is read inside each append's
// transaction, so the chain stays one chain.
//
// The primary never opens the store. It reads the passphrase the usual way and
// hands it to each worker over the cluster's private IPC channel (never in the
// environment or on a command line, where other processes could read it); each
// worker unlocks through the ordinary path, so each unlock is audited. The
// primary keeps the passphrase (a JS string, which cannot be zeroed) while it
// runs, to start replacements. The first worker unlocks alone: a wrong
// passphrase is then refused once, not N times. A worker that ends while the
// responder is not stopping is replaced; more than MAX_RESTARTS such ends in a
// minute stop the whole responder with an error.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost } from '../shared/responderHost.js';
import { count } from '../shared/plural.js';
import { authenticatesCallers, readCheckedTlsFiles, readTlsFiles, readToken, ServeSettingsError, type ServeSettings } from './serveSettings.js';
import { checkTlsFiles } from './httpResponder.js';
import { surviveClosedOutput } from './closedPipes.js';
import { diskSpace, watchDiskSpace } from '../services/diskSpace.js';
import { disableCoreDumps, NOT_LINUX } from '../security/coreDumps.js';
import { StoreHold } from '../../db/storeHold.js';
import { clusterScraper } from './metrics.js';
import { listenError } from './listenError.js';
import { listenMetrics, type MetricsListener } from './metricsListener.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./serveWorker.js', import.meta.url));

/** Primary → worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly storeDir: string; readonly passphrase: string; readonly settings: ServeSettings; readonly index: number }
  | { readonly type: 'totals'; readonly totals: ClusterTotals }
  /** Every worker listens (`serve` has printed its address): /v1/ready may say ready. */
  | { readonly type: 'started' }
  /** The whole responder's metrics, for the worker's GET /metrics (or why they could not be gathered). */
  | { readonly type: 'scrape'; readonly id: number; readonly contentType: string; readonly text: string }
  | { readonly type: 'scrape'; readonly id: number; readonly error: string }
  | { readonly type: 'stop' }
  /** SIGHUP: read the TLS files again (the supervisor has checked that they load). */
  | { readonly type: 'reload-tls'; readonly id: number };

/** Worker → primary. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly address: string }
  | { readonly type: 'failed'; readonly error: { readonly code: string; readonly message: string; readonly reason?: string } }
  | { readonly type: 'stats'; readonly exchanges: number; readonly refused: number; readonly inFlight: number }
  | { readonly type: 'stopped'; readonly exchanges: number; readonly refused: number }
  /** The worker found the store's database file replaced under it, and is exiting (serveWorker.ts). */
  | { readonly type: 'store-replaced' }
  /** GET /metrics reached this worker: gather every worker's metrics (only the supervisor can). */
  | { readonly type: 'scrape'; readonly id: number }
  | { readonly type: 'tls-reloaded'; readonly id: number; readonly error?: string };

/**
 * What every worker's GET /v1/health reports for the whole responder: null
 * until the first beat, then up to about 2 s old (workers report each second,
 * and the totals go out each second).
 */
export interface ClusterTotals {
  /** Workers listening now. */
  readonly workers: number;
  readonly exchanges: number;
  readonly refused: number;
  readonly inFlight: number;
}

/** A worker that could not start, or workers that kept dying: the error the CLI prints. */
export class WorkerStartError extends Error {
  constructor(readonly code: string, message: string, readonly reason?: string) {
    super(message);
  }
}

/** More unexpected ends than this within RESTART_WINDOW_MS, and the responder gives up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;
/** A replacement starts after this pause, so that a cause that passes (a long lock) can pass. */
const RESTART_DELAY_MS = 1_000;
/**
 * A worker that stopped cleanly on its own was signalled. Ctrl-C signals the
 * whole process group, this process included, so wait this long for our own
 * signal before calling the stop unexpected.
 */
const SELF_STOP_GRACE_MS = 500;
/** A worker drains for up to 10 s (ResponderServer.close); past this it is killed. */
const STOP_GRACE_MS = 20_000;
/**
 * Each exchange leaves about ten native crypto objects (node:crypto's cipher
 * and HMAC handles) whose memory is freed by weak callbacks during the next
 * young-generation GC. With V8's default 16 MiB semi-space, that GC comes every
 * ~230 ms and frees thousands at once: a 7–11 ms pause, most of an idle
 * responder's p99. A 4 MiB semi-space spreads the same work over shorter,
 * more frequent pauses (measured in-process: p99 at 1 connection 9.37 →
 * 4.36 ms, throughput up 11–27%; docs/benchmarks.md).
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=4'];
/** Passphrases the CLI reads from the environment: a worker's copy of the environment must not carry them. */
const SECRET_ENV = ['KEYLADDER_PASSPHRASE', 'KEYLADDER_NEW_PASSPHRASE', 'KEYLADDER_BUNDLE_PASSPHRASE'];

interface Tracked {
  readonly worker: Worker;
  readonly index: number;
  listening: boolean;
  stopped: boolean;
  stats: { exchanges: number; refused: number; inFlight: number };
}

/** What the supervisor tells its caller (the CLI prints it): notices, and the address once listening. */
export interface ClusterReport {
  /** A line for the operator (stderr): a worker replaced, a warning, the final counts. */
  readonly notice: (text: string) => void;
  readonly listening: (address: string, workers: number) => void;
}

export interface ClusterParams {
  readonly storeDir: string;
  readonly passphrase: string;
  readonly settings: ServeSettings;
  readonly report: ClusterReport;
  readonly stop?: Promise<unknown>;
}

export async function serveCluster(params: ClusterParams): Promise<number> {
  surviveClosedOutput();
  const { storeDir, passphrase, settings, report } = params;
  const stop = params.stop ?? untilSignal();
  // A TLS file that cannot be read, or files that do not load together, are the operator's mistake:
  // say so before any worker unlocks (a client CA without a certificate was taken here, and refused
  // only at a SIGHUP reload).
  readCheckedTlsFiles(settings);
  readToken(settings);
  // Before any worker exists: each inherits this process's core size limit of 0.
  const cores = disableCoreDumps();
  if (!cores.disabled && cores.why !== NOT_LINUX) report.notice(`keyladder: warning: core dumps are not turned off (${cores.why}); a crash could write the passphrase and keys to disk. Run with \`ulimit -c 0\` or LimitCORE=0.\n`);
  cluster.setupPrimary({
    exec: WORKER_SCRIPT,
    args: [],
    // Structured clones: the passphrase is not re-encoded as JSON on its way.
    serialization: 'advanced',
    // A debugger flag on this process must not open a debugger into every worker.
    execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect') && !a.startsWith('--debug')), ...WORKER_V8_FLAGS],
  });
  const env = Object.fromEntries(SECRET_ENV.map((name) => [name, undefined]));

  // Every worker's metrics, gathered at each scrape (prom-client's AggregatorRegistry over the cluster's IPC).
  const scrape = clusterScraper();
  let everyWorkerUp = false;
  const tracked = new Set<Tracked>();
  // Counts of workers that have ended, so that a replaced worker's exchanges still count.
  const retired = { exchanges: 0, refused: 0 };
  let stopping = false;
  let storeReplaced = false;
  let restarts: number[] = [];
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let giveUp: (e: WorkerStartError) => void = () => {};
  const gaveUp = new Promise<WorkerStartError>((resolve) => { giveUp = resolve; });

  const reloads = tlsReloads(settings, report);
  // SIGHUP: new TLS files for new connections, in every listening worker (one that starts later reads
  // them at its start); open connections keep theirs. Without a handler, SIGHUP would end serve.
  const onHangup = () => reloads.start([...tracked].filter((t) => t.listening && t.worker.isConnected()));
  process.on('SIGHUP', onHangup);

  const totals = (): ClusterTotals => {
    let exchanges = retired.exchanges, refused = retired.refused, inFlight = 0, workers = 0;
    for (const t of tracked) {
      exchanges += t.stats.exchanges;
      refused += t.stats.refused;
      inFlight += t.stats.inFlight;
      if (t.listening) workers += 1;
    }
    return { workers, exchanges, refused, inFlight };
  };
  // Workers report once a second; the totals go back to them once a second, on a timer of the supervisor's.
  const beat = setInterval(() => {
    const message: ToWorker = { type: 'totals', totals: totals() };
    for (const t of tracked) if (t.worker.isConnected()) t.worker.send(message);
  }, 1_000);
  beat.unref();

  /** Starts a replacement for worker `index`, or gives up when workers keep ending. */
  const replace = (index: number, why: string): void => {
    if (storeReplaced) return; // the responder is stopping: see 'store-replaced'
    const now = Date.now();
    restarts = [...restarts.filter((at) => now - at < RESTART_WINDOW_MS), now];
    if (restarts.length > MAX_RESTARTS) {
      report.notice(`keyladder: worker ${index} ${why}.\n`);
      giveUp(new WorkerStartError('WORKER_FAILED', `Responder workers ended ${restarts.length} times within a minute (the last: ${why}); the responder stopped.`));
      return;
    }
    report.notice(`keyladder: worker ${index} ${why}; starting another.\n`);
    // Not unref'd: with --workers 1 it is all that keeps the supervisor alive until the replacement
    // exists (unref'd, the supervisor exited with its only worker). stopAll clears it.
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      if (stopping) return;
      fork(index).catch((e: WorkerStartError) => replace(index, `could not start again: ${e.message}`));
    }, RESTART_DELAY_MS);
    pendingRestarts.add(timer);
  };

  /** Forks worker `index` and resolves with its address once it listens. */
  const fork = (index: number): Promise<string> => new Promise((resolve, reject) => {
    const worker = cluster.fork(env);
    const t: Tracked = { worker, index, listening: false, stopped: false, stats: { exchanges: 0, refused: 0, inFlight: 0 } };
    tracked.add(t);
    let failed: WorkerStartError | undefined;
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready': {
          // Not at 'online': that comes before an ES module worker has its message listener.
          const start: ToWorker = stopping ? { type: 'stop' } : { type: 'start', storeDir, passphrase, settings, index };
          worker.send(start);
          break;
        }
        case 'listening':
          t.listening = true;
          // A replacement joins a responder already started: it is ready once it listens.
          if (everyWorkerUp) worker.send({ type: 'started' } satisfies ToWorker);
          resolve(m.address);
          break;
        case 'scrape':
          scrape().then(
            (metrics) => { if (worker.isConnected()) worker.send({ type: 'scrape', id: m.id, ...metrics } satisfies ToWorker); },
            (e: Error) => { if (worker.isConnected()) worker.send({ type: 'scrape', id: m.id, error: e.message } satisfies ToWorker); },
          );
          break;
        case 'tls-reloaded':
          reloads.answered(m.id, index, m.error);
          break;
        case 'failed':
          failed = new WorkerStartError(m.error.code, m.error.message, m.error.reason);
          break;
        case 'stats':
          t.stats = { exchanges: m.exchanges, refused: m.refused, inFlight: m.inFlight };
          break;
        case 'stopped':
          t.stats = { exchanges: m.exchanges, refused: m.refused, inFlight: 0 };
          t.stopped = true;
          break;
        case 'store-replaced':
          // A new worker would open the file now in place, which nobody chose to serve (and a
          // restore under a running responder is refused: this is another process's doing). The
          // supervisor stops the whole responder, non-zero, and says why.
          storeReplaced = true;
          giveUp(new WorkerStartError('STORE_REPLACED', `The store's database file was replaced while worker ${index} had it open (a restore or a copy by another process); the responder stopped rather than go on answering from the old file. Start it again to serve the file now in place.`));
          break;
      }
    });
    // A worker's last messages may still be queued when 'exit' fires: settle once the channel is closed too.
    let exit: { code: number | null; signal: string | null } | undefined;
    let disconnected = false;
    const ended = () => {
      if (exit === undefined || !disconnected || !tracked.has(t)) return;
      tracked.delete(t);
      retired.exchanges += t.stats.exchanges;
      retired.refused += t.stats.refused;
      const how = exit.signal ?? `exit code ${exit.code}`;
      if (!t.listening) {
        reject(failed ?? new WorkerStartError('WORKER_FAILED', `Responder worker ${index} ended before it listened (${how}).`));
        return;
      }
      if (stopping) return;
      if (!t.stopped) return replace(index, `ended unexpectedly (${how})`);
      // It drained on a signal of its own: ours may be on its way (Ctrl-C reaches the whole group).
      setTimeout(() => { if (!stopping) replace(index, 'was stopped by a signal sent to it alone'); }, SELF_STOP_GRACE_MS).unref();
    };
    // A message sent to a worker that has just died (the totals beat) fails with EPIPE, emitted here:
    // unhandled, it would end the supervisor and every other worker. The death itself is 'exit'.
    worker.on('error', () => {});
    worker.on('exit', (code, signal) => { exit = { code, signal }; ended(); });
    worker.on('disconnect', () => { disconnected = true; ended(); });
  });

  const stopAll = async (): Promise<void> => {
    stopping = true;
    clearInterval(beat);
    for (const timer of pendingRestarts) clearTimeout(timer);
    pendingRestarts.clear();
    await Promise.all([...tracked].map((t) => new Promise<void>((resolve) => {
      if (t.worker.isDead()) return resolve();
      const kill = setTimeout(() => t.worker.process.kill('SIGKILL'), STOP_GRACE_MS);
      t.worker.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (t.worker.isConnected()) t.worker.send({ type: 'stop' } satisfies ToWorker);
    })));
  };

  // The first worker alone proves the passphrase; the rest start side by side. A stop
  // signal during start-up ends it cleanly.
  // The supervisor holds the store too (shared, like each worker) for its whole life: with one
  // worker, a restore landing between that worker's death and its replacement would otherwise find
  // nobody holding the store and succeed, and the replacement would unlock the restored file with
  // the passphrase kept here (issue 19, item 1). Taken once the first worker has unlocked (an
  // unlock finishes a journaled swap first, which needs the store alone); let go once every
  // worker has ended. Shared holds do not block one another, so workers still unlock.
  let hold: StoreHold | undefined;
  let metricsListener: MetricsListener | undefined;
  const started = (async () => {
    const address = await fork(1);
    if (!stopping) hold = StoreHold.shared(storeDir);
    await Promise.all(Array.from({ length: settings.workers - 1 }, (_, i) => fork(i + 2)));
    return address;
  })();
  try {
    let address: string | undefined;
    try {
      address = await Promise.race([started, stop.then(() => undefined)]);
    } catch (e) {
      await stopAll();
      throw e;
    }
    if (address === undefined) {
      started.catch(() => {}); // the workers it was waiting for are being stopped
      await stopAll();
      report.notice('Stopped while starting.\n');
      return 0;
    }
    warnIfReachable(settings, report);
    if (settings.metricsListen !== undefined) {
      try {
        metricsListener = await listenMetrics(settings.metricsListen, scrape);
      } catch (e) {
        await stopAll();
        throw listenError(e, settings.metricsListen.host, settings.metricsListen.port);
      }
      report.notice(`keyladder: metrics on ${metricsListener.address}/metrics (no token: keep that address to the monitoring system).\n`);
    }
    everyWorkerUp = true;
    for (const t of tracked) if (t.listening && t.worker.isConnected()) t.worker.send({ type: 'started' } satisfies ToWorker);
    report.listening(address, settings.workers);
    // Low disk space is said once when crossed (and once when it is over), long before the audit log fails closed.
    const disk = watchDiskSpace(() => diskSpace(storeDir), (line) => report.notice(`keyladder: ${line}\n`));
    const outcome = await Promise.race([stop.then(() => undefined), gaveUp]);
    disk.stop();
    // The metrics listener outlives the drain: Prometheus sees the requests still in flight until
    // the workers have answered them (test/server/serveDrain.test.ts), and only then loses it.
    await stopAll();
    await metricsListener?.close();
    const sum = totals();
    // A normal stop is news, not an error: no "keyladder:" prefix, which errors and warnings carry (issue 22, item 8).
    report.notice(`Stopped after ${count(sum.exchanges, 'exchange')} (${sum.refused.toLocaleString('en-US')} refused)${settings.workers > 1 ? ` across ${settings.workers} workers` : ''}.\n`);
    if (outcome instanceof WorkerStartError) throw outcome;
    return 0;
  } finally {
    process.off('SIGHUP', onHangup);
    void metricsListener?.close();
    hold?.release();
  }
}

/**
 * SIGHUP's reload of --tls-cert, --tls-key and --tls-client-ca (a renewed certificate, say). The
 * supervisor reads the files and checks that they load together first: files caught half-written,
 * or a key that is not the certificate's, are refused here and every worker keeps the old ones.
 * Then each listening worker reloads, and one line says the outcome once all have answered.
 */
function tlsReloads(settings: ServeSettings, report: ClusterReport) {
  let count = 0;
  let pending: { id: number; waiting: Set<number>; failed: string[] } | undefined;
  const done = () => {
    if (!pending || pending.waiting.size > 0) return;
    const { failed } = pending;
    pending = undefined;
    report.notice(failed.length === 0
      ? 'keyladder: TLS reloaded: new connections get the new certificate, key and client CA; open ones keep theirs.\n'
      : `keyladder: TLS reload failed in ${failed.join('; ')}.\n`);
  };
  return {
    start(workers: ReadonlyArray<{ readonly worker: { send(m: ToWorker): unknown }; readonly index: number }>): void {
      if (!settings.tls) {
        report.notice('keyladder: SIGHUP: no TLS to reload (serve runs without --tls-cert); nothing changed.\n');
        return;
      }
      try {
        checkTlsFiles(readTlsFiles(settings)!);
      } catch (e) {
        // OpenSSL's reason names no key material ("key values mismatch", "no start line"); ours names the file.
        const why = e instanceof ServeSettingsError ? e.message : `the certificate, key and client CA do not load together (${e instanceof Error ? e.message.slice(0, 120) : 'unknown error'})`;
        report.notice(`keyladder: SIGHUP: TLS not reloaded: ${why}. Still serving the certificate loaded before.\n`);
        return;
      }
      pending = { id: ++count, waiting: new Set(workers.map((w) => w.index)), failed: [] };
      for (const w of workers) w.worker.send({ type: 'reload-tls', id: pending.id } satisfies ToWorker);
      done();
    },
    answered(id: number, index: number, error: string | undefined): void {
      if (!pending || pending.id !== id) return;
      pending.waiting.delete(index);
      if (error !== undefined) pending.failed.push(`worker ${index}: ${error}`);
      done();
    },
  };
}

function warnIfReachable(settings: ServeSettings, report: ClusterReport): void {
  if (isLoopbackHost(settings.host)) return;
  report.notice(`keyladder: listening on ${settings.host}, reachable beyond this machine, as asked.\n`);
  if (!authenticatesCallers(settings)) {
    report.notice(
      'keyladder: warning: no client authentication (--token-file or --tls-client-ca). Anyone who reaches this port can run ' +
        'key exchanges and learn which identities are provisioned and which are revoked (see --uniform-refusals).\n',
    );
  }
}

/** Resolves at the first SIGINT or SIGTERM. Later ones are absorbed, so a drain is never cut short by a second signal. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
  });
}
