// `npm run bench -- export-rss`: the peak RSS of `device export` to a
// passphrase (issue 22: a 1,000,000-device bundle must not need the whole
// bundle in memory twice). A store of --devices=N devices (default 1,000,000)
// is made once; each export then runs in a child process of its own
// (bench/probes/exportRss.ts), so that its peak RSS is its own:
//   - whole@100k: the bundle made whole in memory, then written (the way every
//     export went before, and still the way for keyring recipients, whose
//     bundle is signed; 100,000 devices is its limit): the baseline;
//   - streamed@100k: the same devices, written as made;
//   - streamed@N: every device of the store, written as made;
//   - whole-rsa / streamed-rsa: the same three to an RSA recipient key.
// Each line gives the child's peak RSS, its RSS before the export began
// (store open, identities selected, every device read once so that the page
// cache is full already), and the bundle's size.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../../electron/services/index.js';
import { registerSuite, type BenchCase } from '../harness.js';

const PASSPHRASE = 'bench passphrase, not secret';
const PROBE = fileURLToPath(new URL('../probes/exportRss.js', import.meta.url));

function devicesOption(): number {
  const arg = process.argv.find((a) => a.startsWith('--devices='));
  const n = arg === undefined ? 1_000_000 : Number(arg.slice('--devices='.length));
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error('--devices takes 1 to 1000000');
  return n;
}

interface ProbeResult { readonly mode: string; readonly devices: number; readonly rssBeforeMb: number; readonly peakRssMb: number; readonly bundleMb: number; readonly seconds: number }

type Mode = 'whole' | 'streamed' | 'whole-rsa' | 'streamed-rsa';

function probe(dir: string, mode: Mode, devices: number): ProbeResult | string {
  const child = spawnSync(process.execPath, [PROBE, dir, mode, String(devices)], { encoding: 'utf8', env: { ...process.env, KEYLADDER_ALLOW_WEAK_KDF: '1' }, maxBuffer: 1 << 20 });
  if (child.status !== 0) return `failed (${child.signal ?? `exit ${child.status}`}): ${(child.stderr || '').trim().split('\n').slice(-2).join(' ')}`;
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ProbeResult;
}

registerSuite({
  name: 'export-rss',
  description: 'peak RSS of a passphrase or RSA device export: made whole (baseline) vs written as made, at 100,000 and at --devices=N (default 1,000,000) devices',
  async cases(): Promise<BenchCase[]> {
    process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
    const n = devicesOption();
    const dir = mkdtempSync(join(tmpdir(), 'keyladder-bench-export-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const services = createServices({ storeDir: dir, kdfLogN: 10 });
    await services.store.create(PASSPHRASE);
    const started = Date.now();
    for (let from = 0; from < n; from += 100_000) {
      const lines = ['identity'];
      for (let i = from; i < Math.min(n, from + 100_000); i++) lines.push(`RSS-${String(i).padStart(8, '0')}`);
      await services.devices.import(`${lines.join('\n')}\n`, 'csv');
    }
    services.close();
    console.log(`# export-rss: ${n.toLocaleString('en')} devices imported in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const small = Math.min(n, 100_000);
    const runs: Array<[Mode, number]> = [
      ['whole', small], ['streamed', small], ...(n > small ? [['streamed', n] as [Mode, number]] : []),
      // To an RSA recipient key: streamed the same way since issue 22's second pass.
      ['whole-rsa', small], ['streamed-rsa', small], ...(n > small ? [['streamed-rsa', n] as [Mode, number]] : []),
    ];
    for (const [mode, devices] of runs) {
      const r = probe(dir, mode, devices);
      const name = `export.rss.${mode}.${devices >= 1_000_000 ? `${devices / 1_000_000}m` : `${devices / 1000}k`}`;
      console.log(typeof r === 'string' ? `${name}: ${r}` : `${name}: peak ${r.peakRssMb} MB RSS (${r.rssBeforeMb} MB before the export; bundle ${r.bundleMb} MB; ${r.seconds.toFixed(1)} s)`);
    }
    return [];
  },
});
