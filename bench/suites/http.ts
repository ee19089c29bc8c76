// The HTTP responder under load, on loopback: wrk (Debian's package) posts PSK
// requests to POST /v1/keyx of a ResponderServer over the real services and
// store (audit logging on, batched). Reports exchanges/s and p50/p99 latency
// at 1, 16 and 64 connections, then a soak run with the RSS at its start and
// end. The server runs in this process, on one core; wrk takes the other.
//
// Options (after `node dist/bench/run.js http`): --http-secs=N per level
// (default 10), --soak-secs=N (default 300; 0 skips the soak).

import { spawnSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { createServices } from '../../electron/services/index.js';
import { registerSuite, type BenchCase } from '../harness.js';

const option = (name: string, fallback: number): number => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
};

interface WrkResult {
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

const toMs = (text: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
};

/** Runs wrk in a child process, so this process's event loop keeps serving. */
function wrk(url: string, script: string, connections: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', '-s', script, `${url}/v1/keyx`]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '';
      const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '';
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const errors = (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? []).reduce((a, b) => a + Number(b), 0);
      resolve({ rps, p50ms: toMs(p50), p99ms: toMs(p99), non2xx, errors });
    });
  });
}

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);

registerSuite({
  name: 'http',
  description: 'POST /v1/keyx under wrk on loopback, real services and store, audit on (batched)',
  async cases(): Promise<BenchCase[]> {
    if (spawnSync('wrk', ['--version']).error) {
      console.log('# http suite skipped: wrk is not installed (apt-get install wrk)');
      return [];
    }
    process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
    const dir = mkdtempSync(join(tmpdir(), 'keyladder-http-bench-'));
    const services = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: true, backgroundCheckpoints: true });
    try {
      await services.store.create('bench passphrase, not secret');
      const report = await services.devices.import(`identity\n${Array.from({ length: 10_000 }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`).join('\n')}\n`, 'csv');
      if (report.imported !== 10_000) throw new Error('bench import failed');
      const server = new ResponderServer({ exchanges: services.exchanges, port: 0 });
      const url = await server.listen();
      // Each wrk connection asks for a different device, round robin.
      const script = join(dir, 'psk.lua');
      writeFileSync(script, `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = (n + 1) % 10000
  return wrk.format(nil, nil, nil, string.format('{"identity":"LOAD-%06d","keyrequestdata":{"scheme":"JWE_LADDER","keydata":{"mechanism":"PSK"}}}', n))
end
`);
      const secs = option('http-secs', 10);
      await wrk(url, script, 16, 2); // warm-up
      for (const connections of [1, 16, 64]) {
        const r = await wrk(url, script, connections, secs);
        console.log(`http.keyx.psk.c${connections}: ${Math.round(r.rps)} exchanges/s (p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, ${r.non2xx} non-2xx, ${r.errors} socket errors, ${secs} s)`);
      }
      const soak = option('soak-secs', 300);
      if (soak > 0) {
        global.gc?.();
        const rssStart = process.memoryUsage().rss;
        // The RSS every tenth of the run: it should level off (SQLite's page cache, 64 MiB at
        // most, fills as the audit log grows), not keep climbing.
        const samples: number[] = [];
        const sampler = setInterval(() => samples.push(process.memoryUsage().rss), (soak * 1000) / 10);
        const r = await wrk(url, script, 64, soak);
        clearInterval(sampler);
        const rssEnd = process.memoryUsage().rss;
        global.gc?.();
        const rssAfterGc = process.memoryUsage().rss;
        console.log(`http.keyx.psk.soak.c64: ${Math.round(r.rps)} exchanges/s over ${soak} s (p99 ${r.p99ms.toFixed(2)} ms, ${r.non2xx} non-2xx)`);
        console.log(`http.soak.rss: ${mb(rssStart)} MB at start, ${mb(rssEnd)} MB at end (${mb(rssAfterGc)} MB after GC)`);
        console.log(`# http.soak.rss every ${soak / 10} s (MB): ${samples.map(mb).join(' ')}`);
      }
      await server.close();
      services.exchanges.flush();
      const audit = services.audit.verify();
      console.log(`# http: ${audit.entries} audit entries, chain ${audit.ok ? 'verifies' : 'BROKEN'}`);
    } finally {
      services.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return [];
  },
});
