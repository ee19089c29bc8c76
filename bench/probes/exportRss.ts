// One device export in a process of its own, for the export-rss bench suite
// (bench/suites/exportRss.ts): `node exportRss.js STORE_DIR whole|streamed|whole-rsa|streamed-rsa N`.
// Prints one JSON line: RSS before the export (after a pass that reads every
// device, filling the page cache), the process's peak RSS, the bundle's size.

import { generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../electron/services/index.js';
import { fileDelivery } from '../../electron/services/delivery.js';

const [dir, mode, count] = process.argv.slice(2) as [string, 'whole' | 'streamed' | 'whole-rsa' | 'streamed-rsa', string];
const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

async function main(): Promise<void> {
  const services = createServices({ storeDir: dir, kdfLogN: 10 });
  await services.store.unlock('bench passphrase, not secret');
  const identities = services.devices.select({ kind: 'prefix', prefix: 'RSS-' }, 1_000_000).slice(0, Number(count));
  const out = join(dir, `bundle-${mode}-${count}.jwe`);
  // The RSA modes: to a recipient's public key (RSA-OAEP-256), made here (its private half is not needed).
  const protection = mode.endsWith('-rsa')
    ? { kind: 'rsa' as const, publicJwk: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown> }
    : { kind: 'passphrase' as const, passphrase: 'bench bundle passphrase' };
  // The store's page cache grows with the fleet (up to what cacheKibFor allows): read every device
  // once first, so that the figure before the export has it, and the peak over it is the export's own.
  for (let after: string | null = null, i = 0; i === 0 || after !== null; i++) after = services.devices.pageAfter({ selector: { kind: 'prefix', prefix: 'RSS-' }, after, limit: 1000 }).next;
  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  if (mode.startsWith('whole')) writeFileSync(out, await services.devices.exportBundle(identities, protection));
  else await services.devices.exportBundle(identities, protection, fileDelivery(out, true, '\n'));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = process.resourceUsage().maxRSS * 1024;
  services.close();
  console.log(JSON.stringify({ mode, devices: identities.length, rssBeforeMb: mb(rssBefore), peakRssMb: mb(peak), bundleMb: mb(statSync(out).size), seconds }));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
