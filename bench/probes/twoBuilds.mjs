// Probe (issue 22): the batched exchange path (ExchangeService.respond, batchExchangeRecords: true, as
// serve and the app run it) of two builds, in ONE process, in alternating 250 ms slices over a
// 10,000-device store each, so that a shared machine's load falls on both alike. Rates per slice; the
// medians are compared. `swap` sets the "after" store up first: on a loaded machine the order of set-up
// moved the figures by more than the change did (see the report of op/actor).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
process.env.KEYLADDER_ALLOW_WEAK_KDF = '1';
// Usage: node --expose-gc bench/probes/twoBuilds.mjs BEFORE_DIST AFTER_DIST [SLICES] [swap]
//   BEFORE_DIST: dist/ of a build of the commit to compare with (git archive COMMIT | tar -x -C DIR,
//   link node_modules, npx tsc -p tsconfig.build.json there); AFTER_DIST: this checkout's dist/.
const [beforeDist, afterDist] = [process.argv[2], process.argv[3]];
const builds = process.argv[5] === 'swap' ? { after: afterDist, before: beforeDist } : { before: beforeDist, after: afterDist };
const N = 10_000;
const req = (i) => JSON.stringify({ identity: `BENCH-${String(i).padStart(8, '0')}`, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
const fleet = Array.from({ length: N }, (_, i) => req((i * 97) % N));
const one = req(42);
const setups = {};
for (const [name, dist] of Object.entries(builds)) {
  const { createServices } = await import(join(dist, 'electron/services/index.js'));
  const dir = mkdtempSync(join(tmpdir(), `keyladder-ilv-${name}-`));
  const services = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: true, backgroundCheckpoints: true, ...(name === 'after' ? { actor: 'bench@host' } : {}) });
  await services.store.create('correct horse battery staple');
  const rows = ['identity'];
  for (let i = 0; i < N; i++) rows.push(`BENCH-${String(i).padStart(8, '0')}`);
  await services.devices.import(rows.join('\n') + '\n', 'csv', () => {});
  let next = 0;
  setups[name] = {
    services, dir,
    psk: () => { if (!services.exchanges.respond(one, 'msl').ok) throw new Error('refused'); },
    fleet: () => { if (!services.exchanges.respond(fleet[next++ % N], 'msl').ok) throw new Error('refused'); },
  };
}
const slice = (fn, ms) => {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) { for (let k = 0; k < 20; k++) fn(); n += 20; }
  return n / (ms / 1000);
};
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const SLICES = Number(process.argv[4] ?? 16);
for (const kind of ['psk', 'fleet']) {
  for (const b of Object.keys(builds)) slice(setups[b][kind], 300); // warm-up
  const rates = { before: [], after: [] };
  for (let i = 0; i < SLICES; i++) {
    const order = i % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const b of order) rates[b].push(slice(setups[b][kind], 250));
  }
  const mb = median(rates.before), ma = median(rates.after);
  console.log(`services.respond.msl.${kind === 'psk' ? 'psk' : 'psk.fleet'}: before ${Math.round(mb)}/s, after ${Math.round(ma)}/s, after/before ${(ma / mb).toFixed(3)} (medians of ${SLICES} alternating 250 ms slices)`);
}
for (const [name, s] of Object.entries(setups)) {
  s.services.exchanges.flush();
  const v = s.services.audit.verify();
  const actors = name === 'after' ? s.services.audit.list({ action: 'exchange', limit: 5 }).map((e) => e.actor) : [];
  console.log(`${name}: audit verifies ${v.ok} (${v.entries} entries)${name === 'after' ? `, exchange actors ${JSON.stringify([...new Set(actors)])}` : ''}`);
  s.services.close();
  rmSync(s.dir, { recursive: true, force: true });
}
