// One long-running operation as the screens see it: running or not, how long
// it has run, its progress when main reports any, and its error.

import type { Channel } from '../../../electron/ipc/contract';
import { asApiError, bridge, type ApiError } from '../api/client';

export class Task<A extends unknown[], T> {
  running = $state(false);
  error = $state.raw<ApiError | null>(null);
  result = $state.raw<T | null>(null);
  progress = $state.raw<{ done: number; total: number; phase?: string } | null>(null);
  elapsedMs = $state(0);

  readonly #fn: (...args: A) => Promise<T>;
  readonly #progressChannel: Channel | undefined;

  constructor(fn: (...args: A) => Promise<T>, progressChannel?: Channel) {
    this.#fn = fn;
    this.#progressChannel = progressChannel;
  }

  /** Runs the operation; resolves to its result, or undefined when it failed (see `error`). */
  async run(...args: A): Promise<T | undefined> {
    if (this.running) return undefined;
    this.running = true;
    this.error = null;
    this.progress = null;
    this.elapsedMs = 0;
    const started = performance.now();
    const tick = setInterval(() => (this.elapsedMs = performance.now() - started), 100);
    const unsubscribe =
      this.#progressChannel === undefined
        ? undefined
        : bridge().events.onProgress((p) => {
            if (p.channel === this.#progressChannel) this.progress = p;
          });
    try {
      const value = await this.#fn(...args);
      this.result = value;
      return value;
    } catch (error) {
      this.error = asApiError(error);
      return undefined;
    } finally {
      clearInterval(tick);
      unsubscribe?.();
      this.elapsedMs = performance.now() - started;
      this.running = false;
    }
  }

  reset(): void {
    this.error = null;
    this.result = null;
    this.progress = null;
  }
}
