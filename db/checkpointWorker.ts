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

const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  // {busy, log, checkpointed}: PASSIVE copies what no reader still needs, and never waits.
  checkpoint.get();
}, intervalMs);

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  port.close();
});
