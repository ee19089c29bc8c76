// `npm run bench` runs every suite; `node dist/bench/run.js protocol` runs one
// (several names may be given). With more than one suite, each runs in a
// process of its own, so that one suite's heap (the store suite's million
// devices) does not weigh on the next one's figures (the HTTP soak's RSS).
// Options: --runs=N (default 3), --ms=N per run (default 1000), --warmup=N ms
// (default 500), --only=a,b (figures whose name contains a or b), --list.
//
// Adding a suite is one line: import its module below (it registers itself).

import './suites/protocol.js';
import './suites/store.js';
import './suites/http.js';
import './suites/unlock.js';
import './suites/audit.js';
import './suites/msl.js';
import './suites/mslWire.js';
import './suites/mslStore.js';
import './suites/exportRss.js';

import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatFigure, formatInterference, measure, measureInterleaved, registeredSuites, type Figure, type MeasureOptions } from './harness.js';

function option(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

async function main(args: string[]): Promise<number> {
  const suites = registeredSuites();
  if (args.includes('--list')) {
    for (const s of suites) console.log(`${s.name}: ${s.description}`);
    return 0;
  }
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const selected = suites.filter((s) => names.length === 0 || names.includes(s.name));
  if (selected.length > 1) {
    const flags = args.filter((a) => a.startsWith('--'));
    for (const suite of selected) {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), suite.name, ...flags], { stdio: 'inherit' });
      if (child.status !== 0) return child.status ?? 1;
    }
    return 0;
  }
  const onlyArg = args.find((a) => a.startsWith('--only='));
  const only = onlyArg === undefined ? undefined : onlyArg.slice('--only='.length).split(',');
  const options: MeasureOptions = { runs: option(args, 'runs', 3), runMs: option(args, 'ms', 1000), warmupMs: option(args, 'warmup', 500) };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# node ${process.version}, ${cpu}, single-threaded; median of ${options.runs} runs of ${options.runMs} ms after ${options.warmupMs} ms warm-up`);
  for (const suite of suites) {
    if (names.length > 0 && !names.includes(suite.name)) continue;
    console.log(`# suite ${suite.name}: ${suite.description}`);
    const cases = (await suite.cases()).filter((c) => only === undefined || only.some((o) => c.name.includes(o)));
    const print = (figure: Figure) => {
      console.log(formatFigure(figure));
      const note = formatInterference(figure);
      if (note !== undefined) console.log(note);
    };
    const figures: Figure[] = [];
    const record = (figure: Figure) => {
      figures.push(figure);
      print(figure);
    };
    if (suite.interleave) {
      console.log(`# (runs taken in turns across the suite's ${cases.length} figures)`);
      (await measureInterleaved(cases, options)).forEach(record);
    } else {
      for (const c of cases) record(await measure(c, options));
    }
    for (const line of suite.summarize?.(figures) ?? []) console.log(line);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => { console.error(error); process.exitCode = 1; },
);
