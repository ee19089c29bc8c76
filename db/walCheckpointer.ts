// WAL checkpoints off the responder's thread.
//
// SQLite checkpoints in whichever connection commits the write that fills the
// WAL past 1,000 pages: it copies the pages into the database file and
// fsyncs it, which on a small VM stalls that thread for 20 to 70 ms. Under a
// lab's load that commit is an exchange batch, and every request waiting
// behind it pays. A long-running door (the HTTP responder, the app) therefore
// hands checkpoints to a worker thread with a connection of its own, which
// runs a PASSIVE checkpoint (it never blocks readers or writers) whenever the
// WAL has grown; the main connection then checkpoints only when it locks.
//
// The worker gets a copy of the store key, since it must open the database
// like any connection; it is a thread of this process, and zeroes the key when
// it stops. Where the built worker is not there (the TypeScript sources run
// directly, as under vitest), or the worker fails, SQLite's own automatic
// checkpoints stay (or are turned back) on: slower, never unsafe.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Db } from './connection.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./checkpointWorker.js', import.meta.url));

/** SQLite's default, restored when the worker cannot do the job. */
const AUTOCHECKPOINT_PAGES = 1000;

/** What the worker is told at start. */
export interface CheckpointWorkerData {
  readonly path: string;
  readonly key: Uint8Array;
  /** How often it looks at the WAL. */
  readonly intervalMs: number;
  /** Set to 1 by the worker once its connection is closed (see stop()). */
  readonly closed: Int32Array;
}

/** How long stop() waits for the worker's connection to close. */
const STOP_WAIT_MS = 5000;

export class WalCheckpointer {
  private stopped = false;
  private exited = false;
  /** Settles once the thread has exited: its connection is closed by then (better-sqlite3 closes its databases at a thread's teardown). */
  private readonly exit: Promise<void>;

  private constructor(private readonly worker: Worker, private readonly closed: Int32Array, private readonly stopWaitMs: number) {
    this.exit = new Promise((resolve) => worker.once('exit', () => {
      this.exited = true;
      resolve();
    }));
  }

  /**
   * Starts a checkpointing thread for `db` (at `path`, under `storeKey`) and
   * turns the connection's automatic checkpoints off; undefined when the
   * worker script is not there.
   */
  static start(db: Db, path: string, storeKey: Uint8Array, intervalMs = 250, script: string = WORKER_SCRIPT, stopWaitMs = STOP_WAIT_MS): WalCheckpointer | undefined {
    if (!existsSync(script)) return undefined;
    // Its own memory, not a slice of Node's shared pool (posting a slice would copy the pool).
    const key = new Uint8Array(storeKey.length);
    key.set(storeKey);
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const data: CheckpointWorkerData = { path, key, intervalMs, closed };
    const worker = new Worker(script, { workerData: data });
    key.fill(0);
    const checkpointer = new WalCheckpointer(worker, closed, stopWaitMs);
    const fallBack = () => {
      if (checkpointer.stopped || !db.open) return;
      checkpointer.stopped = true;
      db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
    // It must not keep a CLI process alive on its own.
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    return checkpointer;
  }

  /**
   * Tells the worker to close its connection and zero its key, and waits (up
   * to 5 s) until it has: after a lock nothing may still hold the database
   * open (a restore replaces its files next). The caller then checkpoints
   * itself. Returns undefined once the thread's connection is closed, or a
   * promise that settles when it is: a thread that did not confirm in time is
   * terminated, and termination is asynchronous, so whoever holds the store
   * for it (its StoreHold) must keep holding until then, or a restore could
   * swap the files under a connection still open (issue 19, item 1).
   */
  stop(): Promise<void> | undefined {
    if (this.stopped) return this.exited || Atomics.load(this.closed, 0) === 1 ? undefined : this.exit;
    this.stopped = true;
    this.worker.postMessage('stop');
    // The worker runs on its own thread, so blocking this one briefly is safe.
    if (Atomics.wait(this.closed, 0, 0, this.stopWaitMs) !== 'timed-out') return undefined;
    void this.worker.terminate();
    return this.exit;
  }
}
