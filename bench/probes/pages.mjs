// Probe (issue 14): what a batch of exchange records costs under SQLCipher's page formats.
// `node bench/probes/pages.mjs` (about a minute).
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
function open(dir, { hmac, page }) {
  const db = new Database(join(dir, 'x.db'));
  if (hmac !== 'plain') {
    db.pragma(`cipher = 'sqlcipher'`); db.pragma('legacy = 4');
    if (hmac) db.pragma(`hmac_algorithm = ${hmac}`);
    if (page) db.pragma(`legacy_page_size = ${page}`);
    db.pragma(`key = "x'${randomBytes(32).toString('hex')}'"`);
  } else if (page) db.pragma(`page_size = ${page}`);
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('wal_autocheckpoint = 0'); db.pragma('cache_size = -65536');
  db.exec(`CREATE TABLE w (tag BLOB PRIMARY KEY, device_id INTEGER NOT NULL, seq INTEGER NOT NULL, presented INTEGER NOT NULL DEFAULT 0, issued_at TEXT NOT NULL) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX wd ON w(device_id, seq);
    CREATE TABLE a (seq INTEGER PRIMARY KEY, at TEXT, action TEXT, subject TEXT, details TEXT, mac BLOB);
    CREATE INDEX aa ON a(action, seq);`);
  const ins = db.prepare(`INSERT INTO w (tag, device_id, seq, issued_at) VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM w WHERE device_id = ?), ?) RETURNING seq`).pluck();
  const prune = db.prepare('DELETE FROM w WHERE device_id = ? AND seq = ?');
  const audit = db.prepare('INSERT INTO a (at, action, subject, details, mac) VALUES (?, ?, ?, ?, ?)');
  const at = new Date().toISOString();
  const details = JSON.stringify({ mechanism: 'PSK', profile: 'msl', generation: 1, opened: null, provisioned: true });
  const batch = (n) => db.transaction(() => {
    for (let i = 0; i < 100; i++) {
      const d = Math.floor(Math.random() * 10000);
      const seq = ins.get(randomBytes(16), d, d, at);
      if (seq > 3) prune.run(d, seq - 3);
      audit.run(at, 'exchange', `LOAD-${d}`, details, randomBytes(32));
    }
  })();
  for (let i = 0; i < 400; i++) batch(); // fill: 40,000 issues, about 3 per device
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { db, batch };
}
const formats = [{ name: 'no encryption, 4 KiB', hmac: 'plain', page: null }, { name: 'no encryption, 1 KiB', hmac: 'plain', page: 1024 }, { name: 'sqlcipher4 (HMAC-SHA512, 4 KiB)', hmac: null, page: null }, { name: 'HMAC-SHA256, 4 KiB', hmac: '1', page: null }, { name: 'HMAC-SHA512, 1 KiB', hmac: null, page: 1024 }, { name: 'HMAC-SHA256, 1 KiB', hmac: '1', page: 1024 }];
const dirs = formats.map(() => mkdtempSync(join(tmpdir(), 'keyladder-probe-')));
const stores = formats.map((f, i) => open(dirs[i], f));
const us = formats.map(() => []);
for (let round = 0; round < 5; round++) {
  for (const [i, s] of stores.entries()) {
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < 50; b++) s.batch();
    us[i].push(Number(process.hrtime.bigint() - t0) / 1000 / 5000);
    s.db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
for (const [i, f] of formats.entries()) { const v = us[i].sort((a, b) => a - b); console.log(`${f.name}: ${v[2].toFixed(1)} us of batch write per exchange (median of 5 rounds of 5,000)`); }
stores.forEach((s) => s.db.close()); dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
