// The long fuzz run: `npm run fuzz:long` (1,000,000 cases split evenly over the
// four targets), or `node dist/bench/fuzzLong.js --cases=N --seed=S
// --targets=parser,responder,jwe,response --deep-every=K`.
//
// Same targets and oracle as the sampled tests in test/fuzz (see harness.ts).
// It runs in chunks (a new fast-check seed per chunk, printed), so progress
// shows and any failure names the seed that reproduces it. Exit code 0 only if
// every case passed and nothing crashed or rejected unhandled.

import { buildWorld, formatResult, jweTarget, newOutcomes, parserTarget, responderTarget, responseTarget, runTarget, type FuzzTarget, type RunResult } from '../test/fuzz/harness.js';

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(`unhandled rejection: ${String(reason instanceof Error ? reason.stack : reason)}`));
process.on('uncaughtException', (error) => unhandled.push(`uncaught exception: ${String(error.stack ?? error)}`));

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function count(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
  return n;
}

async function main(args: string[]): Promise<number> {
  const total = count(option(args, 'cases') ?? args.find((a) => /^\d[\d_]*$/.test(a)), 1_000_000, 'cases');
  const seed = count(option(args, 'seed'), Date.now() % 2 ** 31, 'seed');
  const deepEvery = count(option(args, 'deep-every'), 64, 'deep-every');
  const chunk = count(option(args, 'chunk'), 25_000, 'chunk');
  const world = await buildWorld();
  const all: Record<string, FuzzTarget<never>> = {
    parser: parserTarget(world) as FuzzTarget<never>,
    responder: responderTarget(world, { deepEvery }) as FuzzTarget<never>,
    jwe: jweTarget(world) as FuzzTarget<never>,
    response: responseTarget(world) as FuzzTarget<never>,
  };
  const names = (option(args, 'targets') ?? Object.keys(all).join(',')).split(',');
  for (const n of names) if (!(n in all)) throw new Error(`unknown target ${n}; known: ${Object.keys(all).join(', ')}`);
  const per = Math.ceil(total / names.length);
  console.log(`# fuzz:long ${total} cases (${per} per target: ${names.join(', ')}), seed ${seed}, chunks of ${chunk}, responder deep check every ${deepEvery} answers, node ${process.version}`);

  const started = performance.now();
  const results: RunResult[] = [];
  for (const [t, name] of names.entries()) {
    const target = all[name]!;
    const merged = { target: name, cases: 0, seconds: 0, outcomes: newOutcomes() };
    for (let done = 0, c = 0; done < per; c++) {
      const n = Math.min(chunk, per - done);
      const chunkSeed = (seed + t * 1_000_003 + c * 7919) % 2 ** 31;
      let r: RunResult;
      try {
        r = await runTarget(target, n, chunkSeed);
      } catch (error) {
        console.log(`VIOLATION in ${name} (fast-check seed ${chunkSeed}, chunk ${c}):\n${error instanceof Error ? error.message : String(error)}`);
        return 1;
      }
      done += n;
      merged.cases += r.cases;
      merged.seconds += r.seconds;
      merged.outcomes.slowestMs = Math.max(merged.outcomes.slowestMs, r.outcomes.slowestMs);
      for (const [k, v] of r.outcomes.counts) merged.outcomes.counts.set(k, (merged.outcomes.counts.get(k) ?? 0) + v);
      console.log(`# ${name}: ${done}/${per} (${Math.round(merged.cases / merged.seconds)} cases/s)`);
      if (unhandled.length > 0) break;
    }
    results.push(merged);
    if (unhandled.length > 0) break;
  }
  for (const r of results) for (const line of formatResult(r)) console.log(line);
  const cases = results.reduce((s, r) => s + r.cases, 0);
  const seconds = (performance.now() - started) / 1000;
  if (unhandled.length > 0) {
    for (const u of unhandled) console.log(`VIOLATION: ${u}`);
    return 1;
  }
  console.log(`fuzz: ${cases} cases, 0 violations, 0 unhandled rejections, ${seconds.toFixed(1)} s (seed ${seed})`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
