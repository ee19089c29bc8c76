// Ctrl-C during long work (issue 22, item 6): the work is told, and says what
// the interruption left, instead of dying silently with its progress bar frozen.
// While watching, SIGINT only sets a flag: the work checks it where stopping is
// safe (between batches, before its one write transaction), and a signal that
// arrives during that transaction is seen once it has committed: the work then
// awaits `settle()` before stopping the watch. A signal is delivered by the
// event loop, never in the middle of synchronous code, and the work's promise
// resolves (microtasks) before the loop turns, so without that turn the watch
// was gone when the signal was handled: the import said "Imported N devices."
// and the process died of SIGINT.

import { Cancelled } from './errors.js';

export interface InterruptWatch {
  readonly interrupted: boolean;
  /** Throws Cancelled(message) if Ctrl-C was pressed. */
  check(message: string): void;
  /** Turns of the event loop enough for a SIGINT that came during synchronous work to be seen. */
  settle(): Promise<void>;
  stop(): void;
}

export function watchInterrupt(): InterruptWatch {
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.on('SIGINT', onSignal);
  return {
    get interrupted() { return interrupted; },
    check(message) {
      if (interrupted) throw new Cancelled(message);
    },
    async settle() {
      // A pending signal is handled in the loop's poll phase. The work may have ended inside a poll
      // phase's callback (a seal worker's message), whose poll already ran: the first immediate ends
      // that turn, and the second comes after the next turn's poll, where the signal is handled.
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    },
    stop() {
      process.off('SIGINT', onSignal);
    },
  };
}
