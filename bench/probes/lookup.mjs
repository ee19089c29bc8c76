// Probe (issue 14): why lookups grew with the fleet. Two stores (10,000 and 1,000,000 devices), the
// responder's lookup on a raw connection to each, in turns, with a 64 MiB and a 512 MiB page cache.
// `node bench/probes/lookup.mjs` after `npm run build:node` (about 3 minutes, 600 MB of disk).
import { createServices } from '../../dist/electron/services/index.js';
import { readKeyFile, unwrapStoreKey } from '../../dist/db/keyfile.js';
import Database from 'better-sqlite3-multiple-ciphers';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
process.env.KEYLADDER_ALLOW_WEAK_KDF = '1';
const P = 'bench passphrase, not secret';
const SQL = 'SELECT d.id, d.status, d.kpw, g.name AS group_name, g.kdw FROM devices d LEFT JOIN model_groups g ON g.id = d.group_id WHERE d.identity = ?';
async function store(n) {
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-probe-'));
  const s = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: true });
  await s.store.create(P);
  for (let from = 0; from < n; from += 150_000) {
    const count = Math.min(150_000, n - from);
    await s.devices.import(`identity\n${Array.from({ length: count }, (_, i) => `BENCH-${String(from + i).padStart(8, '0')}`).join('\n')}\n`, 'csv');
  }
  s.close();
  return dir;
}
async function raw(dir, cacheMiB) {
  const key = await unwrapStoreKey(readKeyFile(join(dir, 'keyladder.key.json')), P);
  const db = new Database(join(dir, 'keyladder.db'), { readonly: true });
  db.pragma(`cipher = 'sqlcipher'`); db.pragma('legacy = 4'); db.pragma(`key = "x'${key.toString('hex')}'"`); key.fill(0);
  db.pragma(`cache_size = -${cacheMiB * 1024}`);
  return db;
}
function p50(db, n, samples = 60000) {
  const stmt = db.prepare(SQL);
  // Warm the cache as a long-running responder's would be.
  for (let i = 0; i < samples; i++) stmt.get(`BENCH-${String(Math.floor(Math.random() * n)).padStart(8, '0')}`);
  const t = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const id = `BENCH-${String(Math.floor(Math.random() * n)).padStart(8, '0')}`;
    const t0 = process.hrtime.bigint(); stmt.get(id); t[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  t.sort(); return { p50: t[samples >> 1], p99: t[Math.floor(samples * 0.99)] };
}
const small = await store(10_000), big = await store(1_000_000);
for (const mib of [64, 512]) {
  const a = await raw(small, mib), b = await raw(big, mib);
  // In turns, twice.
  const r = [p50(a, 10_000), p50(b, 1_000_000), p50(a, 10_000), p50(b, 1_000_000)];
  console.log(`cache ${mib} MiB: devices.keys p50 at 10k ${r[0].p50.toFixed(1)}/${r[2].p50.toFixed(1)} us, at 1M ${r[1].p50.toFixed(1)}/${r[3].p50.toFixed(1)} us (p99 ${r[1].p99.toFixed(1)}); ratio ${(r[3].p50 / r[2].p50).toFixed(2)}`);
  a.close(); b.close();
}
rmSync(small, { recursive: true, force: true }); rmSync(big, { recursive: true, force: true });
