// `keyladder serve`, the real binary: a device simulated by the requestor
// climbs a 10-rung ladder over HTTP (and over TLS), then SIGTERM drains it.
import { spawn, spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname, userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { ROOT, cliProcess, testEnv } from '../support/cli.js';
import { childNodeArgs } from '../support/runtime.js';
import { tempDir } from '../support/services.js';
import { hashFiles } from '../support/storeFiles.js';
import { servesKilledAfterEach, stopServe as stop, type Served } from '../support/serveProcess.js';
import { deriveVector, hex } from '../support/vectors.js';
import { skipWithReason } from '../support/skips.js';

const v = deriveVector();
const dir = tempDir('keyladder-serve-');
const store = ['--store', join(dir, 'store')];

beforeAll(() => {
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  expect(cliProcess([...store, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const startTracked = servesKilledAfterEach();
const serve = (extra: string[] = [], env: Record<string, string> = {}, at: string[] = store): Promise<Served> => startTracked([...at, 'serve', ...extra], { env });

describe('keyladder serve', () => {
  it('warns, naming the risk, when it listens beyond loopback without client authentication; not with a token', async () => {
    const open = await serve(['--host', '0.0.0.0']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(open.stderr()).toContain('warning: no client authentication (--token-file or --tls-client-ca)');
    expect(open.stderr()).toContain('learn which identities are provisioned and which are revoked');
    await stop(open);
    const tokenFile = join(tempDir('keyladder-serve-token-'), 'token');
    writeFileSync(tokenFile, 'serve-test-bearer-token-0123456789\n');
    const guarded = await serve(['--host', '0.0.0.0', '--token-file', tokenFile]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(guarded.stderr()).toContain('reachable beyond this machine');
    expect(guarded.stderr()).not.toContain('no client authentication');
    const res = await fetch(`${guarded.url.replace('0.0.0.0', '127.0.0.1')}/v1/health`);
    expect(res.status).toBe(401);
    expect(guarded.stderr()).not.toContain('serve-test-bearer-token');
    await stop(guarded);
  });

  it('lets a simulated device climb a 10-rung ladder, and drains on SIGTERM', async () => {
    const s = await serve();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    const mechanisms: string[] = [];
    for (let rung = 0; rung < 10; rung++) {
      const req = device.nextRequest();
      mechanisms.push(req.keyrequestdata.keydata['mechanism']!);
      const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify(req), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    expect(mechanisms).toEqual(['PSK', ...Array(9).fill('WRAP')]);
    expect(await stop(s)).toBe(0);
    expect(s.stderr()).toContain('Stopped after 10 exchanges (0 refused)');
    // The access log is written in batches; the worker writes what is left before it exits.
    expect(s.stderr().split('\n').filter((l) => / POST \/v1\/keyx 200 [\d.]+ms ok /.test(l))).toHaveLength(10);
    const shown = JSON.parse(cliProcess([...store, 'device', 'show', v.identity, '--json']).stdout);
    expect(shown.exchangeCount).toBe(10);
    expect(cliProcess([...store, 'audit', 'verify']).code).toBe(0);
  });

  it('--uniform-refusals: an unknown identity gets a decoy (200, an answer\'s shape), the access log and the audit keep the truth', async () => {
    const s = await serve(['--uniform-refusals']);
    const post = (identity: string) => fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }), headers: { 'content-type': 'application/json' } });
    const [real, decoy] = [await post(v.identity), await post('SERVE-NOBODY')];
    expect([real.status, decoy.status]).toEqual([200, 200]);
    const members = (b: string) => b.replace(/"[A-Za-z0-9+/=]{16,}"/g, '"…"');
    expect(members(await decoy.text())).toBe(members(await real.text()));
    expect(await stop(s)).toBe(0);
    expect(s.stderr().split('\n').filter((l) => / POST \/v1\/keyx 200 [\d.]+ms decoy ENTITY_NOT_FOUND DEVICE_UNKNOWN SERVE-NOBODY$/.test(l))).toHaveLength(1);
    const audit = JSON.parse(cliProcess([...store, 'audit', 'list', '--json']).stdout).items as Array<{ subject: string | null; outcome: string; details: Record<string, unknown> }>;
    expect(audit.find((e) => e.subject === 'SERVE-NOBODY')).toMatchObject({ outcome: 'refused', details: { reason: 'DEVICE_UNKNOWN', decoy: true } });
  });

  it('counts its exchanges in words on the stop line: "1 exchange", not "1 exchanges"', async () => {
    expect(cliProcess([...store, 'device', 'add', 'SERVE-ONE', '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
    const s = await serve();
    const device = new LadderRequestor('SERVE-ONE', await importWrappingKey(hex(v.kpw_hex)));
    const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(await stop(s)).toBe(0);
    expect(s.stderr()).toContain('Stopped after 1 exchange (0 refused).');
  });

  it('warns of low disk space on /v1/health (status degraded) and once in its log, and answers meanwhile', async () => {
    // A threshold above any disk's free space: the store's file system is "low".
    const s = await serve([], { KEYLADDER_LOW_DISK_BYTES: '9000000000000000' });
    const body = await (await fetch(`${s.url}/v1/health`, { headers: { connection: 'close' } })).json() as { status: string; disk: { low: boolean; freeBytes: number; thresholdBytes: number }; warnings: string[] };
    expect(body.status).toBe('degraded');
    expect(body.disk).toMatchObject({ low: true, thresholdBytes: 9e15 });
    expect(body.warnings[0]).toMatch(/^Low disk space on the store's file system/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.stderr().match(/warning: Low disk space/g)).toHaveLength(1);
    const ok = await fetch(`${s.url}/v1/health`, { headers: { connection: 'close' } });
    expect(ok.status).toBe(200);
    expect(await stop(s)).toBe(0);
    // A threshold of 0 (whatever this machine's disk holds): status ok, no warning.
    const roomy = await serve([], { KEYLADDER_LOW_DISK_BYTES: '0' });
    expect(await (await fetch(`${roomy.url}/v1/health`, { headers: { connection: 'close' } })).json()).toMatchObject({ status: 'ok', warnings: [], disk: { low: false } });
    expect(await stop(roomy)).toBe(0);
    expect(roomy.stderr()).not.toContain('Low disk space');
  });

  it('keeps answering when whatever read its stdout and stderr has gone (EPIPE), and still drains on SIGTERM', async () => {
    const s = await serve();
    // The reading ends of both pipes close: every later log line meets EPIPE.
    s.child.stdout.destroy();
    s.child.stderr.destroy();
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    for (let rung = 0; rung < 5; rung++) {
      const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    expect(s.child.exitCode).toBeNull();
    expect(await stop(s)).toBe(0);
  });

  it('serves over TLS from certificate and key files', async (ctx) => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    if (made.status !== 0) skipWithReason(ctx, 'openssl is not installed: no certificate, so TLS cannot be set up here');
    const s = await serve(['--tls-cert', cert, '--tls-key', key]);
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    const body = JSON.stringify(device.nextRequest());
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${s.url}/v1/keyx`, { method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/json' } }, (res) => {
        let data = '';
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      req.end(body);
    });
    await device.accept(JSON.parse(text));
    expect(device.current?.kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
    expect(await stop(s)).toBe(0);
  });

  it('says, with a code, that a port is in use; --json gives the same code on stdout', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = String((holder.address() as { port: number }).port);
    try {
      const text = cliProcess([...store, 'serve', '--port', port]);
      expect(text.code).toBe(1);
      expect(text.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use by another program. Choose another port, or 0 for any free port. [ADDRESS_IN_USE]`);
      expect(text.stderr).not.toContain('EADDRINUSE');
      const machine = cliProcess([...store, 'serve', '--port', port, '--json']);
      expect(machine.code).toBe(1);
      expect(JSON.parse(machine.stdout.trim().split('\n').pop()!).error.code).toBe('ADDRESS_IN_USE');
    } finally {
      holder.close();
    }
  });

  it('refuses a port that is not a number, without starting', () => {
    const r = cliProcess([...store, 'serve', '--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port is 0 to 65535. [USAGE_BAD_VALUE]');
  });

  it('refuses a worker count that is not 1 to 32, and unreadable TLS files, without starting or touching the store', () => {
    const before = hashFiles(join(dir, 'store'));
    for (const n of ['0', '33', 'two', '1.5']) {
      const r = cliProcess([...store, 'serve', '--workers', n]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--workers');
    }
    const tls = cliProcess([...store, 'serve', '--tls-cert', join(dir, 'no-such-cert.pem'), '--tls-key', join(dir, 'no-such-key.pem')]);
    expect(tls.code).toBe(2);
    expect(tls.stderr).toContain('Cannot read the TLS certificate');
    expect(tls.stdout).toBe('');
    // No worker started, so none unlocked: not even an audit row was written.
    expect(hashFiles(join(dir, 'store'))).toEqual(before);
  });
});

/** POST /v1/keyx on a fresh connection each time, so that the cluster hands requests to every worker. */
const post = (url: string, body: unknown): Promise<Response> =>
  fetch(`${url}/v1/keyx`, { method: 'POST', body: JSON.stringify(body), headers: { connection: 'close', 'content-type': 'application/json' } });

const health = async (url: string): Promise<{ worker: number; cluster: { workers: number; exchanges: number; refused: number } | null }> =>
  (await fetch(`${url}/v1/health`, { headers: { connection: 'close' } })).json() as never;

const auditEntries = (): { action: string; at: string; actor: string | null }[] => JSON.parse(cliProcess([...store, 'audit', 'list', '--limit', '1000', '--json']).stdout).items;
const auditActions = (): string[] => auditEntries().map((e) => e.action);

const workerPids = (primary: number): number[] =>
  spawnSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
const hasPgrep = (): boolean => spawnSync('pgrep', ['--version']).error === undefined;

const psk = { identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } };

const exchangeCount = (): number => JSON.parse(cliProcess([...store, 'device', 'show', v.identity, '--json']).stdout).exchangeCount as number;

describe('keyladder serve --workers N', () => {
  it('answers from every worker over one store: the ladder climbs, counts add up, the audit chain stays one chain', async () => {
    const before = exchangeCount();
    const from = new Date().toISOString();
    const s = await serve(['--workers', '2']);
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    for (let rung = 0; rung < 10; rung++) {
      const res = await post(s.url, device.nextRequest());
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    // Side by side: 60 PSK exchanges at once, so both processes append to the audit log together.
    const answers = await Promise.all(Array.from({ length: 60 }, () => post(s.url, psk)));
    expect(answers.map((r) => r.status)).toEqual(Array(60).fill(200));
    const workersSeen = new Set<number>();
    for (let i = 0; i < 10 && workersSeen.size < 2; i++) workersSeen.add((await health(s.url)).worker);
    expect([...workersSeen].sort()).toEqual([1, 2]);
    // Each worker reports its counts once a second; health shows the whole responder's.
    await expect.poll(async () => (await health(s.url)).cluster?.exchanges, { timeout: 5000, interval: 250 }).toBe(70);
    expect(await stop(s)).toBe(0);
    const to = new Date().toISOString();
    expect(s.stderr()).toContain('Stopped after 70 exchanges (0 refused) across 2 workers');
    expect(exchangeCount()).toBe(before + 70);
    const verify = JSON.parse(cliProcess([...store, 'audit', 'verify', '--json']).stdout);
    expect(verify.ok).toBe(true);
    // Each worker unlocked the store for itself, and said so; the supervising process never did.
    const during = auditEntries().filter((e) => e.at >= from && e.at <= to);
    expect(during.filter((e) => e.action === 'store.unlock')).toHaveLength(2);
    expect(during.filter((e) => e.action === 'exchange')).toHaveLength(70);
    // Who acted (issue 22): serve's own rows name it and who started it; the devices' exchanges name nobody.
    const me = `${userInfo().username}@${hostname()}`;
    expect(during.filter((e) => e.action === 'store.unlock').map((e) => e.actor)).toEqual([`serve:${me}`, `serve:${me}`]);
    expect(during.filter((e) => e.action === 'exchange').every((e) => e.actor === null)).toBe(true);
  });

  it('refuses a wrong passphrase once, starts nothing, and exits non-zero', async () => {
    const failedBefore = auditActions().filter((a) => a === 'store.unlock-failed').length;
    const child = spawn(process.execPath, [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...store, 'serve', '--port', '0', '--workers', '3'], { env: { PATH: process.env['PATH'] ?? '', ...testEnv({ KEYLADDER_PASSPHRASE: 'not the passphrase at all' }) } });
    let err = '';
    let out = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => { out += d; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/WRONG_PASSPHRASE/);
    expect(out).toBe('');
    // Only the first worker tried: one failed unlock, entered at the next unlock.
    expect(auditActions().filter((a) => a === 'store.unlock-failed').length - failedBefore).toBe(1);
  });

  it('replaces a worker that dies, and keeps answering', async (ctx) => {
    if (!hasPgrep()) skipWithReason(ctx, 'procps (pgrep) is not installed: the worker processes cannot be found');
    const s = await serve(['--workers', '2']);
    const workers = workerPids(s.child.pid!);
    expect(workers).toHaveLength(2);
    process.kill(workers[0]!, 'SIGKILL');
    await expect.poll(() => s.stderr(), { timeout: 10_000, interval: 100 }).toMatch(/worker \d ended unexpectedly \(SIGKILL\); starting another/);
    // A new process, listening: health counts listening workers only.
    await expect.poll(() => workerPids(s.child.pid!).filter((pid) => !workers.includes(pid)), { timeout: 10_000, interval: 100 }).toHaveLength(1);
    await expect.poll(async () => (await health(s.url)).cluster?.workers, { timeout: 10_000, interval: 250 }).toBe(2);
    for (let i = 0; i < 6; i++) expect((await post(s.url, psk)).status).toBe(200);
    expect(await stop(s)).toBe(0);
    expect(JSON.parse(cliProcess([...store, 'audit', 'verify', '--json']).stdout).ok).toBe(true);
  });

  it('drains every worker when the supervising process is killed outright: a request in flight is answered and recorded', async (ctx) => {
    if (!hasPgrep()) skipWithReason(ctx, 'procps (pgrep) is not installed: the worker processes cannot be found');
    const before = exchangeCount();
    const s = await serve(['--workers', '2']);
    const workers = workerPids(s.child.pid!);
    expect(workers).toHaveLength(2);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // A request whose body is still on its way when the supervisor dies.
    const body = JSON.stringify(psk);
    const { port } = new URL(s.url);
    const socket = connect(Number(port), '127.0.0.1');
    let response = '';
    socket.on('data', (d) => { response += d; });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /v1/keyx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    s.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.end(body.slice(10));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    // Each worker saw its channel close, drained, wrote its records and exited.
    await expect.poll(() => workers.filter(alive), { timeout: 15_000, interval: 200 }).toEqual([]);
    expect(exchangeCount()).toBe(before + 1);
    expect(JSON.parse(cliProcess([...store, 'audit', 'verify', '--json']).stdout).ok).toBe(true);
  });
});

describe('restore while keyladder serve runs (issue 19, item 1)', () => {
  // A store of its own: these tests restore and replace it.
  const own = join(dir, 'store-restore');
  const at = ['--store', own];
  const backup = join(dir, 'store-restore.klbackup');
  beforeAll(() => {
    expect(cliProcess([...at, 'init', '--kdf-log-n', '10']).code).toBe(0);
    expect(cliProcess([...at, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
    expect(cliProcess([...at, 'backup', backup]).code).toBe(0);
  });

  it('restore is refused with STORE_IN_USE and changes nothing; a revocation made next reaches the responder; once serve stops, the restore goes through', async () => {
    const s = await serve(['--workers', '2'], {}, at);
    const key = readFileSync(join(own, 'keyladder.key.json'));
    const refused = cliProcess([...at, 'restore', backup, '--yes']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/STORE_IN_USE/);
    expect(readFileSync(join(own, 'keyladder.key.json')).equals(key)).toBe(true);
    expect(existsSync(join(own, 'restore-pending'))).toBe(false);
    // The responder answers from the one file there is: a revocation made now is refused at once.
    expect((await post(s.url, psk)).status).toBe(200);
    expect(cliProcess([...at, 'device', 'revoke', v.identity]).code).toBe(0);
    expect((await post(s.url, psk)).status).toBe(403);
    expect(await stop(s)).toBe(0);
    expect(cliProcess([...at, 'restore', backup, '--yes']).code).toBe(0);
    const restores = JSON.parse(cliProcess([...at, 'audit', 'list', '--action', 'store.restore', '--json']).stdout).items as unknown[];
    expect(restores).toHaveLength(1);
    expect(JSON.parse(cliProcess([...at, 'audit', 'verify', '--json']).stdout).ok).toBe(true);
  });

  it('a serve whose database file is replaced under it (by other means) stops non-zero, says why, and starts no worker on the new file', async () => {
    const copy = join(dir, 'store-restore-copy');
    expect(cliProcess(['--store', copy, 'restore', backup, '--yes']).code).toBe(0);
    const s = await serve(['--workers', '2'], {}, at);
    expect((await post(s.url, psk)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
    // What KeyLadder's restore did before issue 19, or an operator's copy: -wal and -shm removed, a file renamed in.
    copyFileSync(join(copy, 'keyladder.db'), join(own, 'keyladder.db.new'));
    for (const f of ['keyladder.db-wal', 'keyladder.db-shm']) rmSync(join(own, f), { force: true });
    renameSync(join(own, 'keyladder.db.new'), join(own, 'keyladder.db'));
    const code = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000))]);
    expect(code).not.toBe('running');
    expect(code).not.toBe(0);
    expect(s.stderr()).toMatch(/database file was replaced while it had it open/);
    expect(s.stderr()).not.toMatch(/starting another/);
  });
});

describe('restore in the gap between a worker\'s death and its replacement (issue 19, item 1)', () => {
  const own = join(dir, 'store-gap');
  const at = ['--store', own];
  const backup = join(dir, 'store-gap.klbackup');
  beforeAll(() => {
    expect(cliProcess([...at, 'init', '--kdf-log-n', '10']).code).toBe(0);
    expect(cliProcess([...at, 'backup', backup]).code).toBe(0);
  });

  it('serve --workers 1: with its only worker dead, a restore is still refused with STORE_IN_USE (the supervisor holds the store), and a replacement starts', async (ctx) => {
    if (!hasPgrep()) skipWithReason(ctx, 'procps (pgrep) is not installed: the worker processes cannot be found');
    const s = await serve(['--workers', '1'], {}, at);
    const [worker] = workerPids(s.child.pid!);
    expect(worker).toBeDefined();
    const key = readFileSync(join(own, 'keyladder.key.json'));
    // The supervisor is held still, so no replacement can start: the gap stays open as long as the test needs.
    process.kill(s.child.pid!, 'SIGSTOP');
    try {
      process.kill(worker!, 'SIGKILL');
      // The kernel lets go of a dead process's locks at once; it stays a zombie until the supervisor reaps it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refused = cliProcess([...at, 'restore', backup, '--yes']);
      expect(refused.stderr).toMatch(/STORE_IN_USE/);
      expect(refused.code).not.toBe(0);
      expect(readFileSync(join(own, 'keyladder.key.json')).equals(key)).toBe(true);
      expect(existsSync(join(own, 'restore-pending'))).toBe(false);
    } finally {
      process.kill(s.child.pid!, 'SIGCONT');
    }
    await expect.poll(() => s.stderr(), { timeout: 10_000, interval: 100 }).toMatch(/worker 1 ended unexpectedly \(SIGKILL\); starting another/);
    // A replacement starts (on port 0 the cluster binds a new port once its only worker is gone, so it is found by pid).
    await expect.poll(() => workerPids(s.child.pid!).filter((pid) => pid !== worker), { timeout: 10_000, interval: 100 }).toHaveLength(1);
    expect(await stop(s)).toBe(0);
    // Once serve has stopped (its hold let go), the restore goes through.
    expect(cliProcess([...at, 'restore', backup, '--yes']).code).toBe(0);
  });
});
