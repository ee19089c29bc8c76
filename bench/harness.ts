// The bench harness: suites register cases, the runner measures them.
//
// One case measures one operation, single-threaded: a warm-up first, then
// `runs` timed runs of about `runMs` each; the figure printed is the median
// run. Output is one line per figure, `name: value unit`, e.g.
//
//     responder.msl.psk: 31234 exchanges/s (32.0 us/exchange)
//
// Lines starting with `#` are context (Node version, settings, and a warning
// when other processes were busy during a figure), not figures.

import { readFileSync } from 'node:fs';

export interface BenchCase {
  /** Dotted name, e.g. `responder.msl.psk`; printed as is. */
  readonly name: string;
  /** The singular noun of one operation, e.g. `exchange`. */
  readonly op: string;
  /** Runs one operation. Async cases are awaited one at a time (no overlap). */
  readonly run: (() => void) | (() => Promise<void>);
  readonly async?: boolean;
}

export interface BenchSuite {
  readonly name: string;
  readonly description: string;
  /**
   * Take the runs of all its cases in turns (run 1 of every case, then run 2…)
   * instead of case after case, so a burst of load from elsewhere spreads over
   * the figures instead of spoiling one. For suites of short, independent cases.
   */
  readonly interleave?: boolean;
  /** Builds the cases (keys, requests, responses) once, outside the timing. */
  cases(): BenchCase[] | Promise<BenchCase[]>;
  /** Lines derived from the suite's figures, printed after them (ratios within one run). */
  summarize?(figures: readonly Figure[]): string[];
}

export interface RatioSpec {
  readonly name: string;
  /** Figure names; the ratio is numerator's ops/s over denominator's. */
  readonly numerator: string;
  readonly denominator: string;
  readonly target: { readonly atLeast: number } | { readonly atMost: number };
  readonly describe: string;
}

/** `ratio.x: 0.71 (…; target at least 0.6: met)`, or a note when a side is missing. */
export function formatRatio(spec: RatioSpec, figures: readonly Figure[]): string {
  const num = figures.find((f) => f.name === spec.numerator);
  const den = figures.find((f) => f.name === spec.denominator);
  if (num === undefined || den === undefined) return `# ${spec.name}: not measured (${num === undefined ? spec.numerator : spec.denominator} is missing)`;
  const ratio = num.opsPerSecond / den.opsPerSecond;
  const [sense, bound] = 'atLeast' in spec.target ? ['at least', spec.target.atLeast] as const : ['at most', spec.target.atMost] as const;
  const met = 'atLeast' in spec.target ? ratio >= spec.target.atLeast : ratio <= spec.target.atMost;
  return `${spec.name}: ${ratio.toFixed(2)} (${spec.describe}: ${Math.round(num.opsPerSecond)} over ${Math.round(den.opsPerSecond)} ${plural(num.op)}/s; target ${sense} ${bound}: ${met ? 'met' : 'NOT met'})`;
}

const registry = new Map<string, BenchSuite>();

/** Called once by each suite module; run.ts imports the module for its effect. */
export function registerSuite(suite: BenchSuite): void {
  if (registry.has(suite.name)) throw new Error(`bench suite "${suite.name}" is registered twice`);
  registry.set(suite.name, suite);
}

export const registeredSuites = (): BenchSuite[] => [...registry.values()];

export interface MeasureOptions {
  readonly runs: number;
  readonly runMs: number;
  readonly warmupMs: number;
}

export interface Figure {
  readonly name: string;
  readonly op: string;
  readonly opsPerSecond: number;
  readonly microsPerOp: number;
  /** Every run's ops/s, for the record. */
  readonly runs: readonly number[];
  /**
   * How busy the rest of the machine was during the timed runs, as a share of
   * all cores (Linux only; undefined elsewhere). On a 2-core machine other
   * processes slow a single-threaded figure a lot, so the runner reports it.
   */
  readonly othersBusy?: number;
}

const now = (): bigint => process.hrtime.bigint();

/** Busy and total CPU time of the whole machine, in clock ticks (Linux /proc/stat), or undefined. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
  } catch {
    return undefined;
  }
}

/** Times one run: calls `run` in batches until `ms` have passed; returns ops/s. */
async function timedRun(c: BenchCase, ms: number): Promise<number> {
  const budget = BigInt(Math.round(ms * 1e6));
  let batch = 16;
  let ops = 0;
  const start = now();
  let elapsed = 0n;
  while (elapsed < budget) {
    if (c.async) {
      const run = c.run as () => Promise<void>;
      for (let i = 0; i < batch; i++) await run();
    } else {
      const run = c.run as () => void;
      for (let i = 0; i < batch; i++) run();
    }
    ops += batch;
    elapsed = now() - start;
    // Grow batches so the clock is read rarely, but stay well inside the budget.
    if (elapsed * 8n < budget && batch < 65536) batch *= 2;
  }
  return ops / (Number(elapsed) / 1e9);
}

/** Times the cases' runs in turns, after a warm-up of each; one figure per case, in order. */
export async function measureInterleaved(cases: readonly BenchCase[], options: MeasureOptions): Promise<Figure[]> {
  for (const c of cases) await timedRun(c, options.warmupMs);
  const runs = cases.map(() => [] as number[]);
  const others = cases.map(() => ({ busy: 0, total: 0, known: true }));
  for (let r = 0; r < options.runs; r++) {
    for (const [i, c] of cases.entries()) {
      const before = machineTicks();
      const ownBefore = process.cpuUsage();
      runs[i]!.push(await timedRun(c, options.runMs));
      const after = machineTicks();
      const own = process.cpuUsage(ownBefore);
      if (before === undefined || after === undefined) others[i]!.known = false;
      else {
        others[i]!.busy += after.busy - before.busy - ((own.user + own.system) / 1e6) * 100;
        others[i]!.total += after.total - before.total;
      }
    }
  }
  return cases.map((c, i) => {
    const sorted = [...runs[i]!].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const figure: Figure = { name: c.name, op: c.op, opsPerSecond: median, microsPerOp: 1e6 / median, runs: runs[i]! };
    const o = others[i]!;
    return o.known && o.total > 0 ? { ...figure, othersBusy: Math.max(0, o.busy / o.total) } : figure;
  });
}

export async function measure(c: BenchCase, options: MeasureOptions): Promise<Figure> {
  await timedRun(c, options.warmupMs);
  const runs: number[] = [];
  const ticksBefore = machineTicks();
  const ownBefore = process.cpuUsage();
  for (let i = 0; i < options.runs; i++) runs.push(await timedRun(c, options.runMs));
  const ticksAfter = machineTicks();
  const own = process.cpuUsage(ownBefore);
  const sorted = [...runs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const figure: Figure = { name: c.name, op: c.op, opsPerSecond: median, microsPerOp: 1e6 / median, runs };
  if (ticksBefore === undefined || ticksAfter === undefined) return figure;
  const ticksPerSecond = 100; // USER_HZ on Linux
  const total = ticksAfter.total - ticksBefore.total;
  const others = ticksAfter.busy - ticksBefore.busy - ((own.user + own.system) / 1e6) * ticksPerSecond;
  return total > 0 ? { ...figure, othersBusy: Math.max(0, others / total) } : figure;
}

const plural = (noun: string): string => (/(s|sh|ch|x)$/.test(noun) ? `${noun}es` : `${noun}s`);

export function formatFigure(f: Figure): string {
  return `${f.name}: ${Math.round(f.opsPerSecond)} ${plural(f.op)}/s (${f.microsPerOp.toFixed(1)} us/${f.op})`;
}

/** A context line when other processes were busy enough to distort a figure, else undefined. */
export function formatInterference(f: Figure, threshold = 0.05): string | undefined {
  if (f.othersBusy === undefined || f.othersBusy < threshold) return undefined;
  return `#   (other processes used ${Math.round(f.othersBusy * 100)}% of the machine during ${f.name}: this figure is pessimistic)`;
}
