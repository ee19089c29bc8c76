// Ctrl-C during long work (issue 22, item 6): the work is told, and says what
// the interruption left, instead of dying silently with its progress bar frozen.
// While watching, SIGINT only sets a flag: the work checks it where stopping is
// safe (between batches, before its one write transaction), and a signal that
// arrives during that transaction is seen once it has committed.

import { Cancelled } from './errors.js';

export interface InterruptWatch {
  readonly interrupted: boolean;
  /** Throws Cancelled(message) if Ctrl-C was pressed. */
  check(message: string): void;
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
    stop() {
      process.off('SIGINT', onSignal);
    },
  };
}
