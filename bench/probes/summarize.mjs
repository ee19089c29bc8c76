// Summarises a V8 .cpuprofile: self and inclusive time per function, as shares of the busy time.
// `node bench/probes/summarize.mjs FILE.cpuprofile [SELF_ROWS] [INCLUSIVE_ROWS]`.
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
const dt = p.timeDeltas; let total = 0;
for (let i = 0; i < p.samples.length; i++) { const d = dt[i] ?? 0; self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + d); total += d; }
const key = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const selfBy = new Map(); const incl = new Map();
for (const [id, t] of self) {
  const n = byId.get(id); selfBy.set(key(n), (selfBy.get(key(n)) ?? 0) + t);
  const seen = new Set(); let cur = id;
  while (cur !== undefined) { const k = key(byId.get(cur)); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + t); } cur = parent.get(cur); }
}
const idle = [...selfBy].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, t]) => a + t, 0);
console.log(`total ${(total/1e6).toFixed(2)} s, idle ${(idle/1e6).toFixed(2)} s, busy ${((total-idle)/1e6).toFixed(2)} s`);
const pct = (t) => ((100 * t) / (total - idle)).toFixed(1).padStart(5) + '%';
console.log('--- self (share of busy)');
for (const [k, t] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25))) console.log(pct(t), k);
console.log('--- inclusive');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] ?? 40))) console.log(pct(t), k);
