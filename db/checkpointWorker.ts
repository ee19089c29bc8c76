// The checkpointing thread of walCheckpointer.ts: its own connection to the
// store, a PASSIVE checkpoint whenever the WAL has frames not yet copied.

import { parentPort, workerData } from 'node:worker_threads';
import { openForCheckpoints } from './connection.js';
import type { CheckpointWorkerData } from './walCheckpointer.js';

const port = parentPort;
if (port === null) throw new Error('checkpointWorker.js runs as a worker thread only.');

const { path, key, intervalMs, closed } = workerData as CheckpointWorkerData;
const db = openForCheckpoints(path, key);
key.fill(0);

/**
 * Past this many frames in the WAL (about 40 MB), the WAL is emptied. SQLite
 * starts the WAL over only when a writer finds every frame copied and no
 * reader on them; with more than one writing process (`serve --workers N`),
 * one has always written since, and the WAL grew by some 20 MB a second under
 * load (2.9 GB in 150 s at 64 connections), and every process's map of it with it.
 */
const RESTART_FRAMES = 10_000;
// How long TRUNCATE waits for readers to leave the WAL; it holds writers back meanwhile.
const TRUNCATE_WAIT_MS = 250;

const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
db.pragma(`busy_timeout = ${TRUNCATE_WAIT_MS}`);
const timer = setInterval(() => {
  try {
    // {busy, log, checkpointed}: PASSIVE copies what no reader still needs, and never waits.
    const done = passive.get() as { busy: number; log: number; checkpointed: number };
    // TRUNCATE waits (up to TRUNCATE_WAIT_MS) for the readers, copies what is left and empties the
    // WAL. Batch writes meanwhile fail at once and are tried again within 20 ms (exchangeRecorder);
    // lookups go on. If it cannot get its turn, it is busy and the next look tries again.
    if (done.log > RESTART_FRAMES) truncate.get();
  } catch {
    // Busy or closing: the next look tries again.
  }
}, intervalMs);

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  port.close();
});
