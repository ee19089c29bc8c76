// The key work of a bulk import (generate or read the keys, derive Kpw, seal
// three keys, take three KCVs: about nine cipher calls per device) spread over
// worker threads: on the 2-core development machine 100,000 devices took
// 12.6 s on one thread and take about 8 s so. The database work stays on the
// calling thread, in one transaction.
//
// The workers get a copy of the store's sealing key (they are threads of this
// process, so the key never leaves it) and zero it when they stop. Key input
// goes to them as the hex text it came in; sealed keys and KCVs come back,
// never a raw key.
//
// The workers run the built sealWorker.js next to this module. Where it is
// not there (the TypeScript sources run directly, as under vitest), the
// import seals on the calling thread instead: same results, one core.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RecordSealer } from '../../db/sealing.js';
import { describeError } from './errors.js';
import { sealDeviceKeys, type DeviceKeyInput, type SealedTriple } from './deviceKeys.js';

export interface SealJob {
  readonly identity: string;
  readonly input: DeviceKeyInput;
}

export type SealOutcome =
  | { readonly ok: true; readonly sealed: SealedTriple }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** What a worker answers for a batch (Buffers arrive as Uint8Arrays). */
export interface SealBatchReply {
  readonly id: number;
  readonly outcomes: SealOutcome[];
}

const WORKER_SCRIPT = fileURLToPath(new URL('./sealWorker.js', import.meta.url));

/** Imports smaller than this seal on the calling thread: starting workers costs more than it saves. */
export const MIN_ROWS_FOR_WORKERS = 4000;

export function sealOne(sealer: RecordSealer, job: SealJob): SealOutcome {
  try {
    return { ok: true, sealed: sealDeviceKeys(sealer, job.identity, job.input) };
  } catch (error) {
    const { code, message } = describeError(error);
    return { ok: false, code, message };
  }
}

/** The outcome with its three sealed byte fields passed through `bytes`. */
function mapSealed(outcome: SealOutcome, bytes: (b: Uint8Array) => Buffer): SealOutcome {
  if (!outcome.ok) return outcome;
  const s = outcome.sealed;
  return { ok: true, sealed: { ...s, wrap: bytes(s.wrap), enc: s.enc && bytes(s.enc), hmac: s.hmac && bytes(s.hmac) } };
}

/**
 * Sealed bytes in their own memory, for posting back to the importing thread:
 * a Buffer is often a slice of Node's shared pool, and posting it would copy
 * the whole pool (whatever else it holds) along with it.
 */
export const portable = (outcome: SealOutcome): SealOutcome => mapSealed(outcome, (b) => Buffer.from(new Uint8Array(b).buffer));

/** A worker's outcome back as Buffers (they arrive as Uint8Arrays). */
const revive = (outcome: SealOutcome): SealOutcome => mapSealed(outcome, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Seals batches of devices: on worker threads when it can, else on the calling thread. */
export interface DeviceSealer {
  seal(jobs: SealJob[]): Promise<SealOutcome[]>;
  close(): Promise<void>;
}

class InThreadSealer implements DeviceSealer {
  constructor(private readonly sealer: RecordSealer) {}

  seal(jobs: SealJob[]): Promise<SealOutcome[]> {
    return Promise.resolve(jobs.map((job) => sealOne(this.sealer, job)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Seals on worker threads. Should a worker fail (it cannot start where the
 * runtime will not load it, say), the pool seals what it was given, and all
 * that follows, on the calling thread instead: an import never fails for it.
 */
class WorkerPool implements DeviceSealer {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { jobs: SealJob[]; resolve: (o: SealOutcome[]) => void }>();
  private nextId = 0;
  private failed = false;
  private readonly inThread: InThreadSealer;

  constructor(sealer: RecordSealer, size: number, script: string) {
    this.inThread = new InThreadSealer(sealer);
    for (let i = 0; i < size; i++) {
      const key = sealer.sealingKeyForWorkers();
      // The key is copied into the worker's own memory; this thread's copy is zeroed at once.
      const worker = new Worker(script, { workerData: { key } });
      key.fill(0);
      worker.on('message', (reply: SealBatchReply) => {
        const waiter = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        waiter?.resolve(reply.outcomes.map(revive));
      });
      worker.on('error', () => this.fallBack());
      worker.on('exit', (code) => {
        if (code !== 0) this.fallBack();
      });
      this.workers.push(worker);
    }
  }

  seal(jobs: SealJob[]): Promise<SealOutcome[]> {
    if (this.failed) return this.inThread.seal(jobs);
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length]!;
    return new Promise((resolve) => {
      this.waiting.set(id, { jobs, resolve });
      worker.postMessage({ id, jobs });
    });
  }

  private fallBack(): void {
    if (this.failed) return;
    this.failed = true;
    for (const w of this.workers) void w.terminate();
    for (const { jobs, resolve } of this.waiting.values()) void this.inThread.seal(jobs).then(resolve);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    if (this.failed) return;
    // A clean stop lets each worker zero its key (see sealWorker.ts); terminate is the fallback.
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.postMessage({ stop: true });
      setTimeout(() => void w.terminate(), 2000).unref();
    })));
  }
}

/**
 * A sealer for an import of `rows` devices: worker threads (one per core,
 * at most 4) for large imports when the built worker exists, else this thread.
 */
export function deviceSealerFor(sealer: RecordSealer, rows: number, script: string = WORKER_SCRIPT): DeviceSealer {
  const threads = Math.min(4, availableParallelism());
  if (rows < MIN_ROWS_FOR_WORKERS || threads < 2 || !existsSync(script)) return new InThreadSealer(sealer);
  return new WorkerPool(sealer, threads, script);
}
