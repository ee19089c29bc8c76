// Probe (issue 19, item 10): how many copies of a destroyed bare-MSL Kissuer stay in the memory of
// `keyladder serve`'s workers. Linux only; reads /proc/<worker>/mem, so it needs the right to trace
// the workers (root, or the same user with ptrace allowed; the workers are not dumpable).
//
// `node bench/probes/kissuerMemory.mjs [exchanges] [workers] [--electron-model]` after `npm run build:node`: a store
// with a bare-MSL Kissuer (imported, so this probe knows its bytes) answers `exchanges` PSK + WRAP
// pairs through `serve --workers N`; then another process (the CLI) rotates, retires and destroys
// that generation, as an operator would. Before the destroy (the control: the opened key is there),
// and at 1 s, 2 s and 5 s after the destroy, every worker's
// readable memory is scanned for the key: its 16 raw bytes, its hex (either case), its Base64 and
// Base64url. Each line prints the count per worker. Nothing of the key is printed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { keyForms, scanProcessMemory } from '../../test/support/memoryScan.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keyladder.js');
const args = process.argv.slice(2).filter((a) => a !== '--electron-model');
const exchanges = Number(args[0] ?? 200);
const workers = Number(args[1] ?? 2);
/** `--electron-model`: the workers run under the model of Electron's BoringSSL (the portable key wrap). */
const model = process.argv.includes('--electron-model');
const nodeArgs = model ? ['--import', join(ROOT, 'test', 'support', 'electronCryptoModel.mjs')] : [];
const dir = mkdtempSync(join(tmpdir(), 'keyladder-kissuer-mem-'));
const store = join(dir, 'store');
const env = { PATH: process.env.PATH ?? '', KEYLADDER_PASSPHRASE: 'probe passphrase, not secret', KEYLADDER_ALLOW_WEAK_KDF: '1' };
const cli = (...args) => {
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, '--store', store, ...args], { env, encoding: 'utf8', input: '' });
  if (r.status !== 0) throw new Error(`keyladder ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const kissuer = randomBytes(16);
cli('init', '--kdf-log-n', '10');
const keys = join(dir, 'kissuer.json');
writeFileSync(keys, JSON.stringify({ kissuer: kissuer.toString('hex') }), { mode: 0o600 });
const imported = JSON.parse(cli('issuer', 'import-msl', '--keys', keys, '--grace-days', '0', '--json'));
rmSync(keys);
cli('device', 'add', 'MEM-PROBE-1');

const server = spawn(process.execPath, [...nodeArgs, BIN, '--store', store, 'serve', '--port', '0', '--json', '--workers', String(workers)], { env });
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const line = out.split('\n').find((l) => l.includes('listening'));
    if (line) resolve(JSON.parse(line).listening);
  });
  server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
});
const workerPids = execFileSync('pgrep', ['-P', String(server.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);

const post = async (body) => {
  const res = await fetch(`${url}/v1/keyx`, { method: 'POST', body: JSON.stringify(body), headers: { connection: 'close', 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
};
const request = (mechanism, wrapdata) => ({ identity: 'MEM-PROBE-1', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism, ...(wrapdata ? { wrapdata } : {}) } } });
let answered = 0;
for (let i = 0; i < exchanges; i++) {
  // The PSK answer carries bare-MSL wrapdata in the clear; the WRAP that returns it opens it under Kissuer.
  const psk = await post(request('PSK'));
  const wrap = await post(request('WRAP', psk.body.keyresponsedata?.keydata?.wrapdata ?? psk.body.keydata?.wrapdata));
  if (psk.status === 200) answered++;
  if (wrap.status === 200) answered++;
}

const forms = keyForms(kissuer);

const report = (when) => {
  for (const pid of workerPids) {
    const { counts, total } = scanProcessMemory(pid, forms);
    console.log(`${when}  worker ${pid}: ${total} copies (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
};
console.log(`${answered} exchanges answered by ${workers} worker(s)${model ? ' under the Electron crypto model' : ''}`);
// The control: while the generation is in use, each worker holds it opened (the sealer's memory), so the scan must find it.
report('in use');

// Another process ends the generation: rotate (grace 0 retires it), then destroy.
cli('issuer', 'rotate', '--grace-days', '0');
cli('issuer', 'destroy', String(imported.generation), '--yes');
const destroyedAt = performance.now();
console.log(`generation ${imported.generation} destroyed by another process`);

const waitUntil = (ms) => new Promise((r) => setTimeout(r, Math.max(0, destroyedAt + ms - performance.now())));
for (const at of [1000, 2000, 5000]) {
  await waitUntil(at);
  report(`${at / 1000} s after`);
}
kissuer.fill(0);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dir, { recursive: true, force: true });
