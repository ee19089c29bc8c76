// How long the main thread is blocked while a store unlocks, before and after
// the KDF moved to a worker thread, on this machine's Node and under the model
// of Electron's crypto (BoringSSL), where it mattered: Node's scrypt parameter
// check derives the whole key on the calling thread there. Each side runs in
// a child process of its own (bench/unlockProbe.ts), since the model replaces
// node:crypto functions for the whole process.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerSuite, type BenchCase } from '../harness.js';

const PROBE = fileURLToPath(new URL('../unlockProbe.js', import.meta.url));
// dist/bench/suites -> the repository's test/support (the model is plain JS, not compiled).
const MODEL = fileURLToPath(new URL('../../../test/support/electronCryptoModel.mjs', import.meta.url));

interface Probe { logN: number; beforeMs: number; afterMs: number; unlockMs: number }

function probe(model: boolean): Probe {
  const run = spawnSync(process.execPath, [...(model ? ['--import', MODEL] : []), PROBE], { encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`unlock probe failed (${model ? 'model' : 'node'}): ${run.stderr.slice(0, 500)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Probe;
}

registerSuite({
  name: 'unlock',
  description: 'the main thread\'s longest block during a store unlock (scrypt N=2^17), before and after the KDF worker, on Node and under the Electron crypto model',
  cases(): BenchCase[] {
    if (!existsSync(MODEL)) {
      console.log('# unlock suite: the Electron crypto model is not in this checkout; skipped');
      return [];
    }
    for (const [label, model] of [['node', false], ['electron-model', true]] as const) {
      const p = probe(model);
      console.log(`unlock.main-thread-block.${label}.before: ${p.beforeMs.toFixed(1)} ms (the KDF from the calling thread, as unlock ran it before; scrypt N=2^${p.logN}, median of 3)`);
      console.log(`unlock.main-thread-block.${label}.after: ${p.afterMs.toFixed(1)} ms (KeyStore.unlock whole, KDF on a worker thread; the unlock took ${p.unlockMs.toFixed(0)} ms)`);
    }
    return [];
  },
});
