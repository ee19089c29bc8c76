// `keyladder serve --workers N`: N responder processes over the one store.
//
// One Node process answers on one core; a lab with many devices has more.
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
// first worker unlocks alone: a wrong passphrase is then refused once, not N
// times. A worker that dies unexpectedly is replaced, unless workers keep
// dying, in which case the whole responder stops with an error.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../cli.js';
import type { Output } from '../cli/output.js';
import { untilSignal, warnIfReachable, type ServeSettings } from './serveCommand.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./serveWorker.js', import.meta.url));

/** Primary → worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly storeDir: string; readonly passphrase: string; readonly settings: ServeSettings; readonly index: number }
  | { readonly type: 'totals'; readonly totals: ClusterTotals }
  | { readonly type: 'stop' };

/** Worker → primary. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly address: string }
  | { readonly type: 'failed'; readonly error: { readonly code: string; readonly message: string; readonly reason?: string } }
  | { readonly type: 'stats'; readonly exchanges: number; readonly refused: number; readonly inFlight: number }
  | { readonly type: 'stopped'; readonly exchanges: number; readonly refused: number };

/** What every worker's GET /v1/health reports for the whole responder (at most a second old). */
export interface ClusterTotals {
  readonly workers: number;
  readonly exchanges: number;
  readonly refused: number;
  readonly inFlight: number;
}

/** A worker that could not start: its error, as the CLI prints errors. */
export class WorkerStartError extends Error {
  constructor(readonly code: string, message: string, readonly reason?: string) {
    super(message);
  }
}

/** More unexpected exits than this within RESTART_WINDOW_MS, and the responder gives up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;
/** A worker drains for up to 10 s (ResponderServer.close); past this it is killed. */
const STOP_GRACE_MS = 20_000;

interface Tracked {
  readonly index: number;
  stats: { exchanges: number; refused: number; inFlight: number };
  stopped: boolean;
}

export interface ClusterParams {
  readonly storeDir: string;
  readonly passphrase: string;
  readonly settings: ServeSettings;
  readonly io: CliIo;
  readonly out: Output;
  readonly stop?: Promise<unknown>;
}

export async function serveCluster(params: ClusterParams): Promise<number> {
  const { storeDir, passphrase, settings, io, out } = params;
  const stop = params.stop ?? untilSignal();
  // 'advanced': structured clones, so the passphrase is not re-encoded as JSON on its way.
  cluster.setupPrimary({ exec: WORKER_SCRIPT, args: [], serialization: 'advanced' });
  const tracked = new Map<Worker, Tracked>();
  // Totals of workers that have exited, so that a replaced worker's exchanges still count.
  const retired = { exchanges: 0, refused: 0 };
  let stopping = false;
  let failure: WorkerStartError | undefined;
  let restarts: number[] = [];
  let giveUp: (e: WorkerStartError) => void = () => {};
  const gaveUp = new Promise<WorkerStartError>((resolve) => { giveUp = resolve; });

  const totals = (): ClusterTotals => {
    let exchanges = retired.exchanges, refused = retired.refused, inFlight = 0;
    for (const t of tracked.values()) {
      exchanges += t.stats.exchanges;
      refused += t.stats.refused;
      inFlight += t.stats.inFlight;
    }
    return { workers: tracked.size, exchanges, refused, inFlight };
  };

  const broadcast = () => {
    const message: ToWorker = { type: 'totals', totals: totals() };
    for (const w of tracked.keys()) if (w.isConnected()) w.send(message);
  };

  /** Forks worker `index` and resolves with its address once it listens. */
  const fork = (index: number): Promise<string> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    const t: Tracked = { index, stats: { exchanges: 0, refused: 0, inFlight: 0 }, stopped: false };
    tracked.set(worker, t);
    let listening = false;
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready': {
          // Not at 'online': that comes before an ES module worker has its message listener.
          const start: ToWorker = { type: 'start', storeDir, passphrase, settings, index };
          worker.send(start);
          break;
        }
        case 'listening':
          listening = true;
          resolve(m.address);
          break;
        case 'failed':
          reject(new WorkerStartError(m.error.code, m.error.message, m.error.reason));
          break;
        case 'stats':
          t.stats = { exchanges: m.exchanges, refused: m.refused, inFlight: m.inFlight };
          broadcast();
          break;
        case 'stopped':
          t.stats = { exchanges: m.exchanges, refused: m.refused, inFlight: 0 };
          t.stopped = true;
          break;
      }
    });
    worker.on('exit', (code, signal) => {
      tracked.delete(worker);
      retired.exchanges += t.stats.exchanges;
      retired.refused += t.stats.refused;
      if (!listening) return reject(new WorkerStartError('WORKER_FAILED', `Responder worker ${index} exited before it listened (${signal ?? `exit code ${code}`}).`));
      if (stopping || t.stopped) return;
      io.stderr(`keyladder: worker ${index} exited unexpectedly (${signal ?? `exit code ${code}`}); starting another.\n`);
      const now = Date.now();
      restarts = [...restarts.filter((at) => now - at < RESTART_WINDOW_MS), now];
      if (restarts.length > MAX_RESTARTS) {
        giveUp(new WorkerStartError('WORKER_FAILED', `Responder workers exited ${restarts.length} times within a minute; the responder stopped. See the messages above.`));
        return;
      }
      fork(index).catch((e: WorkerStartError) => giveUp(e));
    });
  });

  const stopAll = async () => {
    stopping = true;
    const exits = [...tracked.keys()].map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      if (w.isConnected()) w.send({ type: 'stop' } satisfies ToWorker);
      const kill = setTimeout(() => w.process.kill('SIGKILL'), STOP_GRACE_MS);
      kill.unref();
      w.once('exit', () => clearTimeout(kill));
    }));
    await Promise.all(exits);
  };

  let address: string;
  try {
    // The first worker alone proves the passphrase; the rest start side by side.
    address = await fork(1);
    await Promise.all(Array.from({ length: settings.workers - 1 }, (_, i) => fork(i + 2)));
  } catch (e) {
    await stopAll();
    throw e;
  }
  warnIfReachable(settings.host, io);
  out.print(`Responding on ${address}/v1/keyx with ${settings.workers} worker processes (Ctrl-C to stop)`, { listening: address, workers: settings.workers });
  const outcome = await Promise.race([stop.then(() => undefined), gaveUp]);
  if (outcome instanceof WorkerStartError) failure = outcome;
  await stopAll();
  const sum = totals();
  io.stderr(`keyladder: stopped after ${sum.exchanges} exchanges (${sum.refused} refused) across ${settings.workers} workers.\n`);
  if (failure) throw failure;
  return 0;
}
