// How long the RSA recipient check (electron/jwe/rsaKeyCheck.ts) takes on the
// worst case it passes: a modulus with no small factor, not a perfect power,
// not prime, not split by Fermat, at 2048, 4096, 8192 and 16384 bits.
// Run after a build (npx tsc -p tsconfig.build.json): node bench/rsaKeyCheck.mjs
import { generatePrimeSync } from 'node:crypto';
import { rhoFactor, RHO_STEPS, rsaPublicKeyProblem } from '../dist/electron/jwe/rsaKeyCheck.js';

const b64 = (n) => { const h = n.toString(16); return Buffer.from(h.length % 2 ? `0${h}` : h, 'hex').toString('base64url'); };
for (const bits of [2048, 4096, 8192, 16384]) {
  // Two unrelated primes of a quarter and three quarters of the size: a composite like a real
  // modulus for every check, and far quicker to make than two halves at 16,384 bits.
  const n = generatePrimeSync(bits / 4, { bigint: true }) * generatePrimeSync((3 * bits) / 4, { bigint: true });
  const jwk = { kty: 'RSA', e: 'AQAB', n: b64(n) };
  rsaPublicKeyProblem(jwk);
  const runs = bits > 8192 ? 3 : 10;
  const t0 = performance.now();
  let problem;
  for (let i = 0; i < runs; i++) problem = rsaPublicKeyProblem(jwk);
  const perCheck = (performance.now() - t0) / runs;
  // Pollard's rho's share (RHO_STEPS steps, all of them on a sound modulus), in CPU time: the figure a loaded machine distorts least.
  const c0 = process.cpuUsage();
  rhoFactor(n);
  const rho = process.cpuUsage(c0);
  console.log(`${n.toString(2).length} bits: ${perCheck.toFixed(1)} ms per check (${problem ?? 'accepted'}); rho ${RHO_STEPS} steps ${((rho.user + rho.system) / 1000).toFixed(1)} ms CPU`);
}
