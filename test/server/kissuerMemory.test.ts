// Issue 19, item 10: a bare-MSL Kissuer destroyed by another process leaves no copy in the memory
// of a `keyladder serve` worker that used it, two seconds on (README: "zeroed and forgotten in
// this one within a second"). The worker's whole memory is scanned (/proc/<pid>/mem: the JS heap,
// ArrayBuffers, native and malloc memory) for the key's bytes and its hex and Base64 forms.
// Before the fixes, an idle worker kept it for as long as no garbage collection came: in the
// key schedules of node:crypto cipher contexts never ended with final(), and in the copy a
// young-generation GC had left behind of the sealer's remembered key (a typed array inside V8's heap).
import { spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cliProcess } from '../support/cli.js';
import { keyForms, scanProcessMemory } from '../support/memoryScan.mjs';
import { startServe } from '../support/serveProcess.js';
import { tempDir } from '../support/services.js';
import { runsHere } from '../support/skips.js';

const dir = tempDir('keyladder-kissuer-memory-');
const store = ['--store', join(dir, 'store')];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/** Linux with pgrep, and the right to read a child's memory (root, or Yama's default for a parent). */
const canScan = process.platform === 'linux' && existsSync('/proc/self/mem') && spawnSync('pgrep', ['--version']).error === undefined;

async function serveOneWorker(): Promise<{ url: string; worker: number }> {
  const { child, url } = await startServe([...store, 'serve'], { started: (c) => running.add(c) });
  const workers = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
  expect(workers).toHaveLength(1);
  return { url, worker: workers[0]! };
}

const post = async (url: string, mechanism: 'PSK' | 'WRAP', wrapdata?: string): Promise<{ status: number; wrapdata?: string }> => {
  const body = { identity: 'MEM-1', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism, ...(wrapdata === undefined ? {} : { wrapdata }) } } };
  const res = await fetch(`${url}/v1/keyx`, { method: 'POST', body: JSON.stringify(body), headers: { connection: 'close', 'content-type': 'application/json' } });
  const json = (await res.json()) as { keyresponsedata?: { keydata?: { wrapdata?: string } } };
  const issued = json.keyresponsedata?.keydata?.wrapdata;
  return { status: res.status, ...(issued === undefined ? {} : { wrapdata: issued }) };
};

describe.runIf(runsHere(canScan, "needs Linux's /proc/PID/mem and pgrep (procps): a worker's memory cannot be scanned"))('a destroyed Kissuer in a serve worker\'s memory', () => {
  it('is found while in use (the control), and in no form anywhere in the worker two seconds after another process destroyed it', async () => {
    const kissuer = randomBytes(16);
    expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
    const keys = join(dir, 'kissuer.json');
    writeFileSync(keys, JSON.stringify({ kissuer: kissuer.toString('hex') }), { mode: 0o600 });
    const imported = cliProcess([...store, 'issuer', 'import-msl', '--keys', keys, '--grace-days', '0', '--json']);
    expect(imported.code).toBe(0);
    const generation = JSON.parse(imported.stdout).generation as number;
    expect(cliProcess([...store, 'device', 'add', 'MEM-1']).code).toBe(0);

    const s = await serveOneWorker();
    // PSK answers carry bare-MSL wrapdata; each WRAP brings it back, to be opened under Kissuer.
    for (let i = 0; i < 30; i++) {
      const psk = await post(s.url, 'PSK');
      expect(psk.status).toBe(200);
      expect((await post(s.url, 'WRAP', psk.wrapdata)).status).toBe(200);
    }
    const forms = keyForms(kissuer);
    const inUse = scanProcessMemory(s.worker, forms);
    // The sealer keeps the generation in use opened: the scan must find it, as raw bytes only (never text).
    expect(inUse.counts['raw']).toBeGreaterThanOrEqual(1);
    expect(inUse.total).toBe(inUse.counts['raw']);

    expect(cliProcess([...store, 'issuer', 'rotate', '--grace-days', '0']).code).toBe(0);
    expect(cliProcess([...store, 'issuer', 'destroy', String(generation), '--yes']).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(scanProcessMemory(s.worker, forms)).toEqual({ counts: { raw: 0, hex: 0, HEX: 0, base64: 0, base64url: 0 }, total: 0 });
    kissuer.fill(0);
  }, 60_000);
});
