// Audit bytes per answered exchange (issue 19, item 8), under the 'full'
// exchange policy (a row each) and 'summary' (one row per device per hour):
// a flood of answered PSK exchanges over a fleet, through the services as
// `serve` runs them (audit batched), inside one simulated hour, which is then
// closed. The figure is the store's growth (database pages in use, after
// everything is written) over the answered exchanges; the registry and the
// counters are brought to their steady size before the measure starts, so
// what grows is the audit log (and, under summary, its per-hour counts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyStore } from '../../db/store.js';
import { createServices } from '../../electron/services/index.js';
import { registerSuite, type BenchCase } from '../harness.js';

const PASSPHRASE = 'bench passphrase, not secret';
const DEVICES = 100;
const EXCHANGES = 50_000;
const HOUR = 3_600_000;
/** The flood the review measured: answered exchanges a second from one source address, under the default rate limit. */
const FLOOD_PER_SECOND = 1_200;

const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

interface Measured { bytes: number; rows: number; seconds: number }

async function flood(policy: 'full' | 'summary'): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-bench-audit-'));
  let now = new Date('2026-12-07T10:00:00.000Z');
  const services = createServices({ storeDir: dir, kdfLogN: 10, batchExchangeRecords: true, now: () => now });
  try {
    await services.store.create(PASSPHRASE);
    return runFlood();
  } finally {
    services.close();
    rmSync(dir, { recursive: true, force: true });
  }

  function runFlood(): Measured {
    const store = (services.store as unknown as { session: { store(): KeyStore } }).session.store();
    const db = store.unsafeDatabase();
    const ids = Array.from({ length: DEVICES }, (_, i) => `BENCH-AUDIT-${i}`);
    for (const id of ids) services.devices.provision({ identity: id, keys: { kind: 'generate' } });
    services.audit.setExchangePolicy(policy);
    // The registry keeps 3 tags a device: fill it, so that its size no longer changes.
    for (let i = 0; i < 4; i++) for (const id of ids) services.exchanges.respond(psk(id));
    now = new Date(now.getTime() + HOUR);
    services.audit.list({ limit: 1 });
    store.checkpoint();
    const rowsBefore = db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
    const bytesBefore = services.store.sizeBytes();
    const started = process.hrtime.bigint();
    const start = now.getTime();
    for (let i = 0; i < EXCHANGES; i++) {
      // Spread over the hour (the figure is per hour under summary).
      now = new Date(start + Math.floor((i * (HOUR - 1)) / EXCHANGES));
      const outcome = services.exchanges.respond(psk(ids[i % DEVICES]!));
      if (!outcome.ok) throw new Error(`bench exchange refused: ${outcome.json}`);
    }
    // The hour ends; the next write closes it (summary), and everything pending is written.
    now = new Date(start + HOUR);
    services.audit.list({ limit: 1 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    store.checkpoint();
    const rows = (db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number) - rowsBefore;
    if (!services.audit.verify().ok) throw new Error('bench: the audit chain does not verify');
    return { bytes: services.store.sizeBytes() - bytesBefore, rows, seconds };
  }
}

registerSuite({
  name: 'audit',
  description: `audit bytes per answered exchange under the full and summary exchange policies (${EXCHANGES.toLocaleString('en-US')} answered PSK exchanges over ${DEVICES} devices in one hour, audit batched)`,
  async cases(): Promise<BenchCase[]> {
    process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
    for (const policy of ['full', 'summary'] as const) {
      const m = await flood(policy);
      const perExchange = m.bytes / EXCHANGES;
      console.log(`audit.bytes-per-exchange.${policy}: ${perExchange.toFixed(1)} bytes (store growth ${m.bytes.toLocaleString('en-US')} bytes, ${m.rows.toLocaleString('en-US')} audit rows for ${EXCHANGES.toLocaleString('en-US')} answered exchanges; ${(EXCHANGES / m.seconds).toFixed(0)} exchanges/s)`);
      if (policy === 'full') console.log(`# at ${FLOOD_PER_SECOND.toLocaleString('en-US')} answered exchanges/s for a day (the review's flood from one address): ${((perExchange * FLOOD_PER_SECOND * 86_400) / 1e9).toFixed(1)} GB`);
      else console.log(`# summary: ${Math.round(m.bytes / DEVICES)} bytes per device per hour, whatever the rate (${Math.round(EXCHANGES / DEVICES)} exchanges per device-hour here): a day's flood costs ${Math.round(m.bytes / DEVICES)} x 24 bytes per device it names`);
    }
    return [];
  },
});
