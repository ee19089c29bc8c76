// Scans another process's memory for a key (issue 19, item 10): every readable mapping of
// /proc/<pid>/mem (the JS heap, ArrayBuffer backing stores, native and malloc memory alike), for the
// key's raw bytes and the text forms a key takes in JS (hex in either case, Base64, Base64url).
// Linux only; the caller needs the right to trace `pid` (root, or a parent under Yama's default).
// Plain JS, shared by the test (test/server/kissuerMemory.test.ts) and the probe
// (bench/probes/kissuerMemory.mjs).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** The forms of `key` to look for, each by name. */
export function keyForms(key) {
  const b = Buffer.from(key);
  return [
    ['raw', b],
    ['hex', Buffer.from(b.toString('hex'), 'latin1')],
    ['HEX', Buffer.from(b.toString('hex').toUpperCase(), 'latin1')],
    ['base64', Buffer.from(b.toString('base64').replace(/=+$/, ''), 'latin1')],
    ['base64url', Buffer.from(b.toString('base64url'), 'latin1')],
  ];
}

const CHUNK = 1 << 22;
const OVERLAP = 64;

/** Occurrences of each form in the readable mappings of `pid`, and their total. */
export function scanProcessMemory(pid, forms) {
  const counts = Object.fromEntries(forms.map(([name]) => [name, 0]));
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const buf = Buffer.alloc(CHUNK + OVERLAP);
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) r\S* \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (!m || m[3] === '[vvar]' || m[3] === '[vsyscall]') continue;
      const start = BigInt(`0x${m[1]}`), end = BigInt(`0x${m[2]}`);
      for (let at = start; at < end; at += BigInt(CHUNK)) {
        const left = end - at;
        const length = left < BigInt(CHUNK + OVERLAP) ? Number(left) : CHUNK + OVERLAP;
        let n;
        try {
          n = readSync(fd, buf, 0, length, at);
        } catch {
          break; // a mapping the kernel will not read (a guard page, a device): nothing of ours there
        }
        const view = buf.subarray(0, n);
        for (const [name, needle] of forms) {
          // Only matches that start inside this chunk count; the overlap catches those that straddle two.
          for (let i = view.indexOf(needle); i !== -1 && i < CHUNK; i = view.indexOf(needle, i + 1)) counts[name]++;
        }
      }
    }
  } finally {
    closeSync(fd);
    buf.fill(0);
  }
  return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}
