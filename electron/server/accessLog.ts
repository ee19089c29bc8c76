// The access log of a `keyladder serve` worker: one line per request, written
// in batches. A synchronous write per request (process.stderr to a file or a
// pipe is synchronous on Linux) costs a system call per exchange, and a slow
// reader (a terminal being scrolled) would stall the responder's event loop.
// sonic-boom (pino's writer) gathers lines and writes them at 4 KiB or every
// 200 ms; the worker flushes what is left before it exits (flush(): it waits
// for a write already in flight, which flushSync alone does not).
//
// The access log is the operator's tail of the traffic, not the record: the
// audit log is. So when the reader cannot keep up and 1 MiB waits, further
// lines are dropped, and counted in a line of their own once writes resume,
// instead of growing the worker's memory without bound.

// sonic-boom is CommonJS, whose named exports Node's ESM loader cannot see: take it off the default export.
import sonicBoom, { type SonicBoomOpts } from 'sonic-boom';

const { SonicBoom } = sonicBoom;

export interface AccessLog {
  write(line: string): void;
  /**
   * Writes everything gathered, now. It does not wait for a write already in flight (sonic-boom
   * hands that one to libuv's thread pool): a process that exits right after may lose it. Use
   * flush() before exiting.
   */
  flushSync(): void;
  /**
   * Before the process exits: waits for a write in flight and everything queued to land (up to
   * `waitMs`, so that a stalled reader cannot hold the process), then writes what is left.
   */
  flush(waitMs?: number): Promise<void>;
}

/** How long flush() waits for the log's reader before it writes what it can and lets the process go. */
export const FLUSH_WAIT_MS = 2_000;

const DROP_NOTE = 'keyladder:';

export function batchedAccessLog(fd: number, options: { minLength?: number; periodMs?: number; maxLength?: number } = {}): AccessLog {
  // maxWriteRetries: a reader that keeps answering EAGAIN costs a stopping worker 2 s at most, not forever.
  // (sonic-boom takes maxWriteRetries; its type definitions do not list it yet.)
  const settings: SonicBoomOpts & { maxWriteRetries: number } = {
    fd, minLength: options.minLength ?? 4096, periodicFlush: options.periodMs ?? 200, maxLength: options.maxLength ?? 1 << 20, maxWriteRetries: 20, sync: false,
  };
  const out = new SonicBoom(settings);
  let dropped = 0;
  let noteRefused = false;
  // sonic-boom tells of a line it drops synchronously, in write().
  out.on('drop', (data: unknown) => {
    if (String(data).startsWith(DROP_NOTE)) noteRefused = true;
    else dropped += 1;
  });
  // A closed stderr (the supervisor gone) must not end the worker: the exchanges and their audit go on.
  out.on('error', () => {});
  const flushSync = (): void => {
    try {
      out.flushSync();
      // The last word on lines lost, so that it is not lost with the process.
      if (dropped > 0) {
        out.write(dropNote());
        dropped = 0;
        out.flushSync();
      }
    } catch {
      // Nowhere left to write: the lines are lost, the audit log holds the exchanges.
    }
  };
  const dropNote = () => `${DROP_NOTE} ${dropped} access log line${dropped === 1 ? ' was' : 's were'} dropped (the log's reader was too slow)\n`;
  return {
    write(line) {
      if (dropped > 0) {
        noteRefused = false;
        out.write(dropNote());
        if (!noteRefused) dropped = 0;
      }
      out.write(`${line}\n`);
    },
    flushSync,
    async flush(waitMs = FLUSH_WAIT_MS) {
      // sonic-boom's flush(cb) calls back once the write in flight and every queued line are
      // written (or with an error: the reader gone, EAGAIN past maxWriteRetries).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        try {
          out.flush(() => {
            clearTimeout(timer);
            resolve();
          });
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
      // The drop note, and on a timeout what is queued behind the stalled write.
      flushSync();
    },
  };
}
