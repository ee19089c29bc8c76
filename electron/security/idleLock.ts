// Locks the store after a configurable time without activity. Main resets it
// on every trusted IPC call; when it fires, main locks the store and tells the
// renderer. Pure and clock-injectable, so it is tested under plain Node.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class IdleLock {
  #handle: unknown = undefined;
  #minutes: number;

  constructor(
    minutes: number,
    private readonly onIdle: () => void,
    private readonly timers: Timers = realTimers,
  ) {
    this.#minutes = IdleLock.check(minutes);
  }

  static check(minutes: number): number {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) throw new RangeError('The idle lock time must be 1 to 1440 whole minutes.');
    return minutes;
  }

  get minutes(): number {
    return this.#minutes;
  }

  /** Activity: start the countdown again. */
  touch(): void {
    this.stop();
    this.#handle = this.timers.setTimeout(() => {
      this.#handle = undefined;
      this.onIdle();
    }, this.#minutes * 60_000);
  }

  setMinutes(minutes: number): void {
    this.#minutes = IdleLock.check(minutes);
    if (this.#handle !== undefined) this.touch();
  }

  stop(): void {
    if (this.#handle !== undefined) this.timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
