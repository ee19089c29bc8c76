// The in-app HTTP responder: its IPC channels' validation in main, the idle
// lock left alone by status polls, and appResponder.ts against the real
// services: start, status, exchanges over HTTP, stop, and stop on every lock.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppResponder } from '../../electron/appResponder.js';
import { contract } from '../../electron/ipc/contract.js';
import { createHandlers } from '../../electron/ipc/handlers.js';
import { wrapHandler, type IpcEventLike } from '../../electron/ipc/register.js';
import { isLoopbackHost } from '../../electron/shared/responderHost.js';
import { LadderRequestor, importWrappingKey, type DeviceKey } from '../support/device.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, tempDir, type TestServices } from '../support/services.js';
import { skipWithReason } from '../support/skips.js';
import { parsePrometheus } from '../support/prometheusText.js';

const TRUSTED: IpcEventLike = { senderFrame: { url: 'app://keyladder/index.html', parent: null }, sender: { send: () => {} } };
const isTrustedSender = trustedSender({ origins: ['app://keyladder'] });
const start = contract['responder.start'].request;

describe('responder.start validation in main', () => {
  it.each([
    ['a host name to resolve', { host: 'example.com' }],
    ['an empty host', { host: '' }],
    ['a host with a port', { host: '127.0.0.1:80' }],
    ['a bracketed IPv6 host', { host: '[::1]' }],
    ['a host with spaces', { host: ' 127.0.0.1' }],
    ['an IPv4 address out of range', { host: '256.1.1.1' }],
    ['a long host', { host: 'a'.repeat(100) }],
    ['a port above 65535', { port: 65536 }],
    ['a negative port', { port: -1 }],
    ['a fractional port', { port: 80.5 }],
    ['a port as text', { port: '8420' }],
    ['an unknown profile', { profile: 'constructor' }],
    ['an unknown field', { host: '127.0.0.1', cert: '/etc/passwd' }],
    ['an allowRemote flag: only main’s own dialog says yes', { host: '0.0.0.0', allowRemote: true }],
    ['allowRemote false', { host: '192.168.1.20', allowRemote: false }],
  ])('refuses %s', async (_name, request) => {
    const handler = vi.fn();
    const reply = await wrapHandler('responder.start', handler, { isTrustedSender })(TRUSTED, request);
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(handler).not.toHaveBeenCalled();
  });

  it.each([
    ['nothing (127.0.0.1:8420, msl)', {}],
    ['loopback, any free port', { host: '127.0.0.1', port: 0 }],
    ['localhost', { host: 'localhost', port: 1 }],
    ['IPv6 loopback', { host: '::1', port: 65535, profile: 'rfc7516' }],
    ['another loopback address', { host: '127.0.0.2' }],
    ['all interfaces (main then asks the operator)', { host: '0.0.0.0', port: 8420, tls: true }],
    ['a LAN IPv6 address (main then asks the operator)', { host: 'fe80::1' }],
  ])('accepts %s', (_name, request) => {
    expect(start.safeParse(request).success, JSON.stringify(request)).toBe(true);
  });

  it('names the field that is wrong, and says what to do', () => {
    const host = start.safeParse({ host: 'example.com' });
    expect(host.success).toBe(false);
    expect(host.error?.issues[0]?.path).toEqual(['host']);
    expect(host.error?.issues[0]?.message).toMatch(/IP address.*or localhost/);
    const port = start.safeParse({ port: 70000 });
    expect(port.error?.issues[0]?.message).toMatch(/1 to 65535/);
  });

  it('takes no arguments on status, stop and chooseTls', () => {
    for (const channel of ['responder.status', 'responder.stop', 'responder.chooseTls'] as const) {
      expect(contract[channel].request.safeParse(undefined).success).toBe(true);
      expect(contract[channel].request.safeParse({ host: '0.0.0.0' }).success).toBe(false);
    }
  });

  it('does not count status polls as operator activity (they must not hold off the idle lock)', async () => {
    const onActivity = vi.fn();
    await wrapHandler('responder.status', () => new AppResponder({ exchanges: { respond: vi.fn() }, store: { status: () => ({ path: '', exists: true, unlocked: true }) } }).status(), { isTrustedSender, onActivity })(TRUSTED);
    expect(onActivity).not.toHaveBeenCalled();
    await wrapHandler('responder.stop', () => ({}) as never, { isTrustedSender, onActivity })(TRUSTED);
    expect(onActivity).toHaveBeenCalledWith('responder.stop');
  });
});

describe('isLoopbackHost (the renderer’s warning and main’s confirmation)', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '127.0.0.256', 'localhost.evil', ''])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('the responder handlers', () => {
  const responder = () => ({
    status: vi.fn(() => 'status' as never),
    start: vi.fn(async () => 'started' as never),
    stop: vi.fn(async () => 'stopped' as never),
    chooseTls: vi.fn(() => 'chosen' as never),
    chooseTokenFile: vi.fn(() => 'token chosen' as never),
    chooseClientCa: vi.fn(() => 'ca chosen' as never),
    metrics: vi.fn(() => 'metrics' as never),
    mslMessages: vi.fn((after?: number) => ({ after }) as never),
    mslMessage: vi.fn((id: number, o?: { showPayload?: boolean }) => ({ id, ...o }) as never),
  });
  const deps = (r: ReturnType<typeof responder>, open: Array<string | null>, yes = false) => ({
    version: 'x',
    settings: { get: () => ({ idleLockMinutes: 10 }), setIdleLockMinutes: (m: number) => ({ idleLockMinutes: m }) },
    openFile: vi.fn(async (_options: { title: string }) => open.shift() ?? null),
    saveFile: vi.fn(async () => null),
    confirm: vi.fn(async (_options: { title: string; message: string; detail: string; yes: string }) => yes),
    responder: r,
  });
  const ctx = { progress: vi.fn() };

  it('pass the request to the responder, and stop as the operator', async () => {
    const r = responder();
    const h = createHandlers({} as never, deps(r, []));
    expect(await h['responder.start']({ host: '127.0.0.1', port: 0 }, ctx)).toBe('started');
    expect(r.start).toHaveBeenCalledWith({ host: '127.0.0.1', port: 0 });
    expect(await h['responder.stop'](undefined, ctx)).toBe('stopped');
    expect(r.stop).toHaveBeenCalledWith('operator');
    expect(h['responder.status'](undefined, ctx)).toBe('status');
  });

  it('ask the operator in main’s own dialog before listening beyond loopback, and start nothing without a yes', async () => {
    const r = responder();
    const no = deps(r, [], false);
    await expect(createHandlers({} as never, no)['responder.start']({ host: '0.0.0.0', port: 0 }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(no.confirm.mock.calls[0]![0].message).toBe('Make the responder reachable from other machines on 0.0.0.0?');
    expect(r.start).not.toHaveBeenCalled();
    const yes = deps(r, [], true);
    expect(await createHandlers({} as never, yes)['responder.start']({ host: '192.168.1.20', port: 0 }, ctx)).toBe('started');
    expect(r.start).toHaveBeenCalledWith({ host: '192.168.1.20', port: 0, allowRemote: true });
    // Loopback needs no question.
    const loop = deps(r, [], false);
    await createHandlers({} as never, loop)['responder.start']({ host: '::1' }, ctx);
    expect(loop.confirm).not.toHaveBeenCalled();
  });

  it('choose the TLS files through main’s dialogs (certificate, then key), and do nothing when canceled', async () => {
    const r = responder();
    expect(await createHandlers({} as never, deps(r, [null]))['responder.chooseTls'](undefined, ctx)).toEqual({ canceled: true });
    expect(await createHandlers({} as never, deps(r, ['/x/cert.pem', null]))['responder.chooseTls'](undefined, ctx)).toEqual({ canceled: true });
    expect(r.chooseTls).not.toHaveBeenCalled();
    const d = deps(r, ['/x/cert.pem', '/x/key.pem']);
    expect(await createHandlers({} as never, d)['responder.chooseTls'](undefined, ctx)).toEqual({ canceled: false, file: '/x/cert.pem', status: 'chosen' });
    expect(r.chooseTls).toHaveBeenCalledWith('/x/cert.pem', '/x/key.pem');
    expect(d.openFile.mock.calls.map(([o]) => o.title)).toEqual(['Choose the TLS certificate (PEM)', 'Choose the certificate’s private key (PEM)']);
  });
});

describe('appResponder over the real services', () => {
  let t: TestServices;
  let kpw: DeviceKey;
  const log: string[] = [];
  const KPW = '00112233445566778899aabbccddeeff';
  let responder: AppResponder;

  beforeAll(async () => {
    t = await openTestServices({ batch: true });
    t.services.devices.provision({ identity: 'ESN-APP-0001', keys: { kind: 'kpw', kpw: KPW } });
    kpw = await importWrappingKey(Buffer.from(KPW, 'hex'));
  });
  afterEach(async () => {
    await responder?.stop('quit', 500);
    if (!t.services.store.status().unlocked) await t.services.store.unlock(PASSPHRASE);
  });
  afterAll(() => t.cleanup());

  const make = () => (responder = new AppResponder({ exchanges: t.services.exchanges, store: t.services.store, log: (l) => log.push(l), drainMs: 1_000, requestTimeoutMs: 2_000 }));
  const climb = async (address: string, rungs: number) => {
    const device = new LadderRequestor('ESN-APP-0001', kpw);
    for (let i = 0; i < rungs; i++) {
      const res = await fetch(`${address}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
  };

  it('in the app too, requires a bearer token from a file main read (the renderer sees its name only)', async () => {
    // A log of its own: the access-log test below counts the shared one.
    const r = (responder = new AppResponder({ exchanges: t.services.exchanges, store: t.services.store, drainMs: 1_000 }));
    const dir = tempDir('keyladder-app-token-');
    const short = path.join(dir, 'short');
    writeFileSync(short, 'too-short\n');
    expect(() => r.chooseTokenFile(short)).toThrow(expect.objectContaining({ code: 'TOKEN_FILE_INVALID' }));
    await expect(r.start({ port: 0, token: true })).rejects.toMatchObject({ code: 'TOKEN_NOT_CHOSEN' });
    const file = path.join(dir, 'token');
    writeFileSync(file, 'app-bearer-token-0123456789abcdef\n');
    expect(r.chooseTokenFile(file)).toMatchObject({ tokenFile: file });
    const status = await r.start({ port: 0, token: true });
    expect(status).toMatchObject({ token: true, clientCa: false });
    expect(JSON.stringify(status)).not.toContain('app-bearer-token');
    const post = (headers: Record<string, string>) => fetch(`${status.address}/v1/keyx`, { method: 'POST', body: JSON.stringify(new LadderRequestor('ESN-APP-0001', kpw).nextRequest()), headers: { 'content-type': 'application/json', ...headers } });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer app-bearer-token-0123456789abcdef' })).status).toBe(200);
    await r.stop('operator', 500);
    await expect(r.start({ port: 0, clientCa: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('answers GET /metrics as serve does: behind the token (404 without one), serve\'s counters, store lookups included', async () => {
    const dir = tempDir('keyladder-app-metrics-');
    const file = path.join(dir, 'token');
    writeFileSync(file, 'app-metrics-token-0123456789abcdef\n');
    // Wired as main wires it: over the runtime, so the exchange service reports its store lookups.
    const r = (responder = AppResponder.over(t.services, { drainMs: 1_000 }));
    const open = await r.start({ port: 0 });
    expect((await fetch(`${open.address}/metrics`)).status).toBe(404);
    await r.stop('operator', 500);
    r.chooseTokenFile(file);
    const { address } = await r.start({ port: 0, token: true });
    const auth = { authorization: 'Bearer app-metrics-token-0123456789abcdef' };
    expect((await fetch(`${address}/metrics`)).status).toBe(401);
    const device = new LadderRequestor('ESN-APP-0001', kpw);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${address}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json', ...auth } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    const scrape = await fetch(`${address}/metrics`, { headers: auth });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    const m = parsePrometheus(text);
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'ok' })).toBe(2);
    expect(m.value('keyladder_store_lookups_total', { result: 'found' })).toBeGreaterThanOrEqual(2);
    expect(m.value('keyladder_requests_in_flight')).toBe(0);
    // No identity, no token on it.
    expect(text).not.toContain('ESN-APP-0001');
    expect(text).not.toContain('app-metrics-token');
  });

  it('answers GET /v1/ready as serve does: 200 when it can answer; 503 with the reason when the store is locked or the audit refuses', async () => {
    const r = (responder = make());
    const { address } = await r.start({ port: 0 });
    expect(await (await fetch(`${address}/v1/ready`)).json()).toEqual({ ready: true });
    // The readiness of a responder whose services say no (a lock it has not yet seen, the audit log failing closed).
    let unlocked = true;
    let audit: string | undefined = 'the store could not be written';
    const stub = (responder = new AppResponder({
      exchanges: { respond: () => ({ ok: false, code: 'AUDIT_UNAVAILABLE', json: '{}' }) as never, auditRefusal: () => audit },
      store: { status: () => ({ unlocked }) as never },
      drainMs: 500,
    }));
    const other = await stub.start({ port: 0 });
    const ready = async () => {
      const res = await fetch(`${other.address}/v1/ready`);
      return [res.status, await res.json()];
    };
    expect(await ready()).toEqual([503, { ready: false, reason: 'AUDIT_UNAVAILABLE' }]);
    audit = undefined;
    expect(await ready()).toEqual([200, { ready: true }]);
    unlocked = false;
    expect(await ready()).toEqual([503, { ready: false, reason: 'STORE_LOCKED' }]);
    unlocked = true;
    await stub.stop('operator', 500);
    await r.stop('operator', 500);
  });

  it('warns of low disk space on /v1/health, as serve does', async () => {
    const r = make();
    const { address } = await r.start({ port: 0 });
    const health = async () => (await fetch(`${address}/v1/health`)).json() as Promise<{ status: string; warnings: string[]; disk: { low: boolean } }>;
    try {
      // A threshold of 0, then one above any disk's free space (whatever this machine's disk holds).
      process.env['KEYLADDER_LOW_DISK_BYTES'] = '0';
      expect(await health()).toMatchObject({ status: 'ok', disk: { low: false }, warnings: [] });
      process.env['KEYLADDER_LOW_DISK_BYTES'] = '9000000000000000';
      expect(await health()).toMatchObject({ status: 'degraded', disk: { low: true }, warnings: [expect.stringMatching(/^Low disk space/)] });
    } finally {
      delete process.env['KEYLADDER_LOW_DISK_BYTES'];
    }
  });

  it('is stopped until started, binds 127.0.0.1 by default, and counts exchanges', async () => {
    const r = make();
    expect(r.status()).toMatchObject({ state: 'stopped', address: null, exchanges: 0, stopped: null, remote: false, tls: false });
    const status = await r.start({ port: 0 });
    expect(status).toMatchObject({ state: 'listening', host: '127.0.0.1', profile: 'msl', remote: false, tls: false, exchanges: 0, refused: 0, inFlight: 0 });
    expect(status.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(status.port).toBe(Number(new URL(status.address!).port));
    expect(status.startedAt).not.toBeNull();
    await climb(status.address!, 3);
    const refused = await fetch(`${status.address}/v1/keyx`, { method: 'POST', body: '{"identity":', headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(400);
    expect(r.status()).toMatchObject({ exchanges: 3, refused: 1, inFlight: 0 });
    // Health says so too, with the store's state.
    expect(await (await fetch(`${status.address}/v1/health`)).json()).toMatchObject({ state: 'listening', exchanges: 3, store: 'unlocked' });
    await expect(r.start({ port: 0 })).rejects.toMatchObject({ code: 'RESPONDER_RUNNING' });
    const stopped = await r.stop();
    expect(stopped).toMatchObject({ state: 'stopped', address: null, exchanges: 3, refused: 1, stopped: { reason: 'operator' } });
    await expect(fetch(`${status.address}/v1/health`)).rejects.toThrow();
    // Exchange records were written at the stop.
    expect(t.services.exchanges.pendingRecords()).toEqual({ audit: 0, devices: 0 });
    // Stopping again changes nothing.
    expect(await r.stop()).toEqual(stopped);
  });

  it('logs each request to main’s log without key material', () => {
    expect(log.some((l) => /^\[responder\] listening on http:\/\/127\.0\.0\.1:\d+\/v1\/keyx/.test(l))).toBe(true);
    expect(log.filter((l) => / POST \/v1\/keyx 200 .* ok ESN-APP-0001$/.test(l))).toHaveLength(3);
    expect(log.some((l) => / 400 .*MSL_PARSE_ERROR/.test(l))).toBe(true);
    const all = log.join('\n').toLowerCase();
    expect(all).not.toContain(KPW);
    expect(all).not.toContain(Buffer.from(KPW, 'hex').toString('base64').toLowerCase());
  });

  it('serves the rfc7516 profile when asked, on a new port each start', async () => {
    const r = make();
    const status = await r.start({ port: 0, profile: 'rfc7516' });
    const device = new LadderRequestor('ESN-APP-0001', kpw, 'PSK', 'rfc7516');
    const res = await fetch(`${status.address}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
    await device.accept(await res.json());
    expect(r.status()).toMatchObject({ profile: 'rfc7516', exchanges: 1 });
  });

  it('stops when the store locks through the services it guards (Lock button, idle lock), and says why', async () => {
    const r = make();
    const guarded = r.lockAware(t.services);
    const { address } = await r.start({ port: 0 });
    await climb(address!, 1);
    guarded.store.lock();
    expect(t.services.store.status().unlocked).toBe(false);
    // The listener closes at once; the drain finishes in the background.
    expect(r.status().state).not.toBe('listening');
    await vi.waitFor(() => expect(r.status().state).toBe('stopped'));
    expect(r.status()).toMatchObject({ stopped: { reason: 'store-locked' }, exchanges: 1 });
    await expect(fetch(`${address}/v1/health`)).rejects.toThrow();
    expect(log.some((l) => l.includes('stopped (store-locked) after 1 exchange, 0 refused'))).toBe(true);
  });

  it('a restore through the services it guards stops it first; another program holding the store gets it refused (STORE_IN_USE) and the app stays unlocked; then it goes through', async () => {
    const r = make();
    const guarded = r.lockAware(t.services);
    const backup = path.join(tempDir('keyladder-app-restore-'), 'b.klbackup');
    await t.services.store.backup(backup);
    const { address } = await r.start({ port: 0 });
    await climb(address!, 1);
    // Another program (a CLI, a serve) has the store open.
    const { createServices } = await import('../../electron/services/index.js');
    const other = createServices({ storeDir: t.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    await other.store.unlock(PASSPHRASE);
    try {
      await expect(guarded.store.restore(backup, PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE' });
      // The responder was stopped first, whatever the outcome: nothing answers from a store about to change.
      await vi.waitFor(() => expect(r.status()).toMatchObject({ state: 'stopped', stopped: { reason: 'store-locked' } }));
      // The refused restore changed nothing, the app's own store included: it is still unlocked.
      expect(t.services.store.status().unlocked).toBe(true);
      expect(other.audit.list({ action: 'store.restore', limit: 5 })).toHaveLength(0);
    } finally {
      other.close();
    }
    await guarded.store.restore(backup, PASSPHRASE);
    await t.services.store.unlock(PASSPHRASE);
    expect(t.services.audit.list({ action: 'store.restore', limit: 5 })).toHaveLength(1);
  });

  it('refuses to start while the store is locked', async () => {
    const r = make();
    t.services.store.lock();
    await expect(r.start({ port: 0 })).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    expect(r.status().state).toBe('stopped');
  });

  it('stops on its own when an exchange finds the store locked behind its back', async () => {
    const r = make();
    const { address } = await r.start({ port: 0 });
    t.services.store.lock(); // not through lockAware: the exchange itself notices
    const res = await fetch(`${address}/v1/keyx`, { method: 'POST', body: JSON.stringify(new LadderRequestor('ESN-APP-0001', kpw).nextRequest()), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('STORE_LOCKED');
    await vi.waitFor(() => expect(r.status()).toMatchObject({ state: 'stopped', stopped: { reason: 'store-locked' } }));
  });

  it('drains a request in flight before it stops', async () => {
    const r = make();
    const { address } = await r.start({ port: 0 });
    const url = new URL(`${address}/v1/keyx`);
    const body = JSON.stringify(new LadderRequestor('ESN-APP-0001', kpw).nextRequest());
    const { request } = await import('node:http');
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-length': String(body.length), 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 300);
    });
    await vi.waitFor(() => expect(r.status().inFlight).toBe(1));
    const stopping = r.stop();
    expect(r.status().state).toBe('draining');
    expect(await answered).toBe(200);
    expect(await stopping).toMatchObject({ state: 'stopped', exchanges: 1, inFlight: 0 });
  });

  it('needs the operator’s yes for a host reachable from other machines, and names a port in use', async () => {
    const r = make();
    await expect(r.start({ host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.start({ host: 'example.com', port: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.start({ port: 70_000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(r.start({ port })).rejects.toMatchObject({ code: 'ADDRESS_IN_USE', message: expect.stringContaining(String(port)) });
      expect(r.status().state).toBe('stopped');
    } finally {
      blocker.close();
    }
    await expect(r.start({ host: '192.0.2.1', port: 0, allowRemote: true })).rejects.toMatchObject({ code: 'ADDRESS_NOT_AVAILABLE' });
    const remote = await r.start({ host: '0.0.0.0', port: 0, allowRemote: true });
    expect(remote).toMatchObject({ state: 'listening', host: '0.0.0.0', remote: true });
    expect(log.some((l) => l.includes('0.0.0.0 is reachable beyond this machine'))).toBe(true);
  });

  it('serves HTTPS from a certificate and key chosen in main, and refuses a mismatched pair', async (ctx) => {
    const dir = tempDir('keyladder-tls-');
    const make509 = (name: string) => {
      const cert = path.join(dir, `${name}.crt`);
      const key = path.join(dir, `${name}.key`);
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      return made.status === 0 ? { cert, key } : null;
    };
    const a = make509('a');
    const b = make509('b');
    if (!a || !b) return skipWithReason(ctx, 'openssl is not available to make a test certificate');
    const r = make();
    await expect(r.start({ port: 0, tls: true })).rejects.toMatchObject({ code: 'TLS_NOT_CHOSEN' });
    expect(() => r.chooseTls(a.cert, b.key)).toThrow(expect.objectContaining({ code: 'TLS_FILES_INVALID' }));
    expect(() => r.chooseTls(a.cert, path.join(dir, 'missing.key'))).toThrow(expect.objectContaining({ code: 'TLS_FILES_UNREADABLE' }));
    expect(r.status().tlsFiles).toBeNull();
    expect(r.chooseTls(a.cert, a.key).tlsFiles).toEqual({ cert: a.cert, key: a.key });
    const status = await r.start({ port: 0, tls: true });
    expect(status).toMatchObject({ tls: true });
    expect(status.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await new Promise<string>((resolve, reject) => {
      httpsRequest(`${status.address}/v1/health`, { ca: readFileSync(a.cert) }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject).end();
    });
    expect(JSON.parse(health)).toMatchObject({ state: 'listening', store: 'unlocked' });
    // The status names the files, and never holds their contents.
    expect(JSON.stringify(r.status())).not.toContain('PRIVATE KEY');
  });
});
