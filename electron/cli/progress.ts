// A progress bar for long work, on a TTY only (stderr, so --json stdout stays clean).

import cliProgress from 'cli-progress';
import type { CliIo } from './io.js';

export interface ProgressBar {
  update(done: number, total: number, phase?: string): void;
  stop(): void;
}

export function progressBar(io: CliIo, label: string): ProgressBar {
  if (!io.isTty) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({ format: `${label} {phase} [{bar}] {percentage}% {value}/{total}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total, phase = '') {
      if (!started) {
        bar.start(total, done, { phase });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { phase });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
