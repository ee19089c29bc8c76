// A bulk import's sealing thread (see sealPool.ts): seals batches of devices
// with the store's sealing key, and zeroes the key when told to stop.

import { parentPort, workerData } from 'node:worker_threads';
import { RecordSealer } from '../../db/sealing.js';
import { portable, sealOne, type SealBatchReply, type SealJob } from './sealPool.js';

const port = parentPort;
if (port === null) throw new Error('sealWorker.js runs as a worker thread only.');

const given = (workerData as { key: Uint8Array }).key;
const sealer = new RecordSealer(Buffer.from(given));
given.fill(0);

port.on('message', (message: { id: number; jobs: SealJob[] } | { stop: true }) => {
  if ('stop' in message) {
    sealer.destroy();
    port.close();
    return;
  }
  const reply: SealBatchReply = { id: message.id, outcomes: message.jobs.map((job) => portable(sealOne(sealer, job))) };
  port.postMessage(reply);
});
