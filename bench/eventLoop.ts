// How long the event loop goes without a turn: what a user feels as a frozen
// window. Shared by the unlock bench (bench/unlockProbe.ts) and the KDF test.

/** The longest gap between turns while `work` runs, in ms (a 1 ms timer's lateness), and the whole time. */
export async function longestBlock(work: () => Promise<unknown>): Promise<{ blockMs: number; totalMs: number }> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  try {
    await work();
    longest = Math.max(longest, performance.now() - last);
  } finally {
    clearInterval(timer);
  }
  return { blockMs: longest, totalMs: performance.now() - started };
}
