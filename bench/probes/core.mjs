// Probe (issue 14): the protocol core against its cipher floor, the two alone in turns (5 runs of
// 1 s each), without the protocol suite's 27 other figures. `node bench/probes/core.mjs` after
// `npm run build:node`; `node --cpu-prof bench/probes/core.mjs prof` profiles the core for 6 s.
import { setup, responderCase } from '../../dist/bench/core.js';
import { createCipheriv, hash, randomBytes } from 'node:crypto';
const s = setup('keyladder-v1');
const c = responderCase('responder.msl.psk', s, s.pskRequest, 'msl');
const k = randomBytes(16), iv = randomBytes(12), aad = randomBytes(90), jwk = randomBytes(119), binding = randomBytes(50);
const kwIv = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const floor = () => {
  for (let i = 0; i < 3; i++) {
    createCipheriv('id-aes128-wrap', k, kwIv).update(k);
    const gcm = createCipheriv('aes-128-gcm', k, iv); gcm.setAAD(aad); gcm.update(jwk); gcm.final(); gcm.getAuthTag();
  }
  createCipheriv('id-aes128-wrap', k, kwIv).update(k);
  hash('sha256', binding, 'buffer');
};
const time = (f, ms) => { let n = 0; const t0 = performance.now(); while (performance.now() - t0 < ms) { for (let i = 0; i < 100; i++) f(); n += 100; } return n / ((performance.now() - t0) / 1000); };
const mode = process.argv[2] ?? 'both';
if (mode === 'prof') { time(c.run, 6000); process.exit(0); }
time(c.run, 500); time(floor, 500);
const r = [], f = [];
for (let i = 0; i < 5; i++) { r.push(time(c.run, 1000)); f.push(time(floor, 1000)); }
r.sort((a, b) => a - b); f.sort((a, b) => a - b);
console.log(`core ${Math.round(r[2])}/s (${(1e6 / r[2]).toFixed(1)} us), floor ${Math.round(f[2])}/s (${(1e6 / f[2]).toFixed(1)} us), ratio ${(f[2] / r[2]).toFixed(2)}`);
