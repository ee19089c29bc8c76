// Probe (issue 14): the services' exchanges over a fresh 10,000-device store for 8 s, in slices of
// 64 with the event loop turning between them (so the batched audit writes run, as in a server).
// `node [--cpu-prof] bench/probes/svc.mjs rr|one` after `npm run build:node`: round robin over the
// fleet, or one identity.
import { createServices } from '../../dist/electron/services/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
process.env.KEYLADDER_ALLOW_WEAK_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'keyladder-probe-'));
const s = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: true, backgroundCheckpoints: true });
await s.store.create('bench passphrase, not secret');
await s.devices.import(`identity\n${Array.from({ length: 10000 }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`).join('\n')}\n`, 'csv');
const rr = process.argv[2] === 'rr';
const req = (i) => JSON.stringify({ identity: `LOAD-${String(rr ? i % 10000 : 42).padStart(6, '0')}`, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
const reqs = Array.from({ length: 10000 }, (_, i) => req(i));
let n = 0; const t0 = performance.now();
// In slices, letting timers (batched writes) run between them as a server's event loop would.
while (performance.now() - t0 < 8000) {
  for (let i = 0; i < 64; i++) if (!s.exchanges.respond(reqs[n++ % 10000]).ok) throw new Error('refused');
  await new Promise((r) => setImmediate(r));
}
const secs = (performance.now() - t0) / 1000;
console.log(`${rr ? 'round-robin 10k' : 'one identity'}: ${Math.round(n / secs)} exchanges/s`);
s.close(); rmSync(dir, { recursive: true, force: true });
