// Probe (issue 19, item 2): what the wrapdata registry costs per device, on the real schema.
// `node bench/probes/registry.mjs [DEVICES] [before|typical|worst ...]` (default 1,000,000 and all three;
// one to seven minutes a layout per million, by the machine's load;
// build dist/ first: npx tsc -p tsconfig.build.json, or any vitest run).
// Each layout fills a fresh store (no encryption: SQLCipher keeps the page size and adds a per-page
// reserve, so sizes are within a few percent) and reports the registry's tables and indexes by
// SQLite's dbstat, in bytes per device:
//   before:  schema 4 (issue 11's registry): the last 3 issues per device;
//   typical: schema 5, a device that climbs: 3 WRAP answers (each with its parent) and 1 PSK root;
//   worst:   schema 5, full: 3 WRAP answers, 3 roots (strangers' PSK answers count here) and the
//            wrapdata it migrated with from MSL's responder; plus one first-issue row per generation.
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MIGRATIONS, migrate } from '../../dist/db/migrations/index.js';

const DEVICES = Number(process.argv[2] ?? 1_000_000);
const REGISTRY = ['wrapdata_issued', 'wrapdata_issued_device', 'wrapdata_migrated', 'sqlite_autoindex_wrapdata_migrated_1', 'issuer_first_issue'];

function fill(layout) {
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-registry-probe-'));
  const db = new Database(join(dir, 'x.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  migrate(db, layout.schema === 4 ? MIGRATIONS.slice(0, 4) : MIGRATIONS);
  // Only the registry is measured: the devices it references are not written.
  db.pragma('foreign_keys = OFF');
  const at = new Date().toISOString();
  db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, activated_at) VALUES (1, 'active', 'msl', 'generated', ?, 'AAAAAA', ?, ?)`).run(randomBytes(45), at, at);
  const issue = layout.schema === 4
    ? db.prepare('INSERT INTO wrapdata_issued (tag, device_id, seq, presented, issued_at) VALUES (?, ?, ?, ?, ?)')
    : db.prepare('INSERT INTO wrapdata_issued (tag, device_id, seq, presented, issued_at, parent) VALUES (?, ?, ?, ?, ?, ?)');
  const migrated = layout.migrated ? db.prepare('INSERT INTO wrapdata_migrated (tag, device_id, generation, migrated_at) VALUES (?, ?, 1, ?)') : undefined;
  const tags = randomBytes(16 * 8 * 10_000);
  const chunk = 10_000;
  const started = process.hrtime.bigint();
  for (let first = 1; first <= DEVICES; first += chunk) {
    randomBytes(tags.length).copy(tags);
    db.transaction(() => {
      for (let d = first; d < Math.min(first + chunk, DEVICES + 1); d++) {
        const base = ((d - first) * 8) * 16;
        const tag = (i) => tags.subarray(base + i * 16, base + i * 16 + 16);
        let seq = 0;
        if (layout.schema === 4) {
          for (let i = 0; i < 3; i++) issue.run(tag(i), d, ++seq, i < 2 ? 1 : 0, at);
          continue;
        }
        for (let i = 0; i < layout.roots; i++) issue.run(tag(i), d, ++seq, i === 0 ? 1 : 0, at, null);
        // The lineage: each WRAP answer's parent is the wrapdata presented (the one before it).
        for (let i = 0; i < 3; i++) issue.run(tag(3 + i), d, ++seq, i < 2 ? 1 : 0, at, i === 0 ? tag(0) : tag(2 + i));
        migrated?.run(tag(7), d, at);
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stat = db.prepare(`SELECT name, sum(pgsize) AS bytes, sum(payload) AS payload FROM dbstat GROUP BY name`).all();
  const registry = stat.filter((s) => REGISTRY.includes(s.name));
  const bytes = registry.reduce((n, s) => n + s.bytes, 0);
  const file = statSync(join(dir, 'x.db')).size;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { layout: layout.name, devices: DEVICES, bytesPerDevice: +(bytes / DEVICES).toFixed(1), registryMiB: +(bytes / 2 ** 20).toFixed(1), fileMiB: +(file / 2 ** 20).toFixed(1), seconds: +seconds.toFixed(1), byTable: Object.fromEntries(registry.map((s) => [s.name, +(s.bytes / DEVICES).toFixed(1)])) };
}

for (const layout of [
  { name: 'before (schema 4: 3 issues)', schema: 4 },
  { name: 'typical (3 WRAP answers + 1 root)', schema: 5, roots: 1, migrated: false },
  { name: 'worst (3 WRAP answers + 3 roots + migrated)', schema: 5, roots: 3, migrated: true },
].filter((l) => process.argv.length <= 3 || process.argv.slice(3).some((name) => l.name.startsWith(name)))) console.log(JSON.stringify(fill(layout)));
