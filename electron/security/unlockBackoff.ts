// Wrong passphrases through the app cost time: after each failed unlock the
// next attempt waits 1 s, then 2 s, 4 s … up to 30 s, so a compromised
// renderer (or anyone at an unlocked desk's window) cannot guess quickly. The
// scrypt cost bounds guessing too, but only to a few attempts a second; this
// makes it a few a minute. A correct passphrase resets the wait. The CLI has
// no such wait: each of its processes pays the full KDF, and the audit log
// records every failure either way.

export const FIRST_WAIT_MS = 1000;
export const MAX_WAIT_MS = 30_000;

export class UnlockBackoff {
  private failures = 0;
  private notBefore = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds left before the next attempt is allowed; 0 when it may go ahead. */
  wait(): number {
    return Math.max(0, this.notBefore - this.now());
  }

  failed(): void {
    this.failures += 1;
    this.notBefore = this.now() + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (this.failures - 1));
  }

  succeeded(): void {
    this.failures = 0;
    this.notBefore = 0;
  }
}
