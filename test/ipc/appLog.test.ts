// The app's log file (electron/appLog.ts): JSON lines in <userData>/logs/keyladder.log,
// rotated by size into a bounded number of files, owner-only, kept across a reopen; and a
// real flow through the services, the IPC wrapper and the responder main wires up (create the
// store, provision devices, a test exchange, exchanges over HTTP, a refusal, a wrong
// passphrase) leaves no key material and no passphrase in any of its files.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_FIELDS, allowListed, LOG_FILE, LOG_FOLDER, openAppLog, REDACT_PATHS } from '../../electron/appLog.js';
import { AppResponder } from '../../electron/appResponder.js';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { wrapAll, type IpcEventLike } from '../../electron/ipc/register.js';
import { loggedStore } from '../../electron/loggedStore.js';
import { createServices } from '../../electron/services/index.js';
import { importWrappingKey, LadderRequestor } from '../support/device.js';
import { TEST_KDF_LOG_N, tempDir } from '../support/services.js';
import { skipsHere } from '../support/skips.js';

const logFiles = (userData: string): string[] => readdirSync(path.join(userData, LOG_FOLDER)).sort();
const readLines = (file: string): Record<string, unknown>[] => readFileSync(file, 'utf8').trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
/** Every line of every file, oldest file first (keyladder.log.N … .1, then the live one). */
const allLines = (userData: string): Record<string, unknown>[] => {
  const dir = path.join(userData, LOG_FOLDER);
  const rotated = logFiles(userData).filter((f) => f !== LOG_FILE).sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
  return [...rotated, LOG_FILE].flatMap((f) => readLines(path.join(dir, f)));
};

describe('the app log file', () => {
  it('rotates at its size and keeps the live file and N rotated ones, the newest lines last', async () => {
    const userData = tempDir('keyladder-applog-rotate-');
    const log = openAppLog(userData, { maxBytes: 2_000, rotatedFiles: 3 });
    for (let i = 0; i < 200; i++) log.info('responder', { line: `line ${i} ${'x'.repeat(60)}` });
    await log.close();
    // 200 lines of ~150 bytes: about 15 files' worth; 1 live + 3 rotated are kept.
    expect(logFiles(userData)).toEqual([LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`, `${LOG_FILE}.3`]);
    const dir = path.join(userData, LOG_FOLDER);
    // A file is rotated once it reaches the size: it may pass it by the one line that did.
    for (const f of logFiles(userData)) expect(statSync(path.join(dir, f)).size).toBeLessThan(2_000 + 200);
    // The kept lines are the last ones, in order, with none missing between the files.
    const numbers = allLines(userData).map((l) => Number(String(l['line']).split(' ')[1]));
    expect(numbers.at(-1)).toBe(199);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => 200 - numbers.length + i));
    expect(numbers.length).toBeLessThan(200);
  });

  it.skipIf(skipsHere(process.platform === 'win32', 'Windows: file modes (0600, 0700) are POSIX; the log folder is in the user profile, whose ACL keeps it the user\'s'))(
    'is owner-only: the folder 0700, every file 0600, looser ones left by before tightened at open',
    async () => {
      const userData = tempDir('keyladder-applog-modes-');
      const dir = path.join(userData, LOG_FOLDER);
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      writeFileSync(path.join(dir, LOG_FILE), '');
      chmodSync(path.join(dir, LOG_FILE), 0o666);
      writeFileSync(path.join(dir, `${LOG_FILE}.1`), '');
      chmodSync(path.join(dir, `${LOG_FILE}.1`), 0o644);
      const log = openAppLog(userData, { maxBytes: 1_000, rotatedFiles: 2 });
      for (let i = 0; i < 40; i++) log.info('responder', { line: `line ${i} ${'y'.repeat(60)}` });
      await log.close();
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(logFiles(userData)).toEqual([LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`]);
      for (const f of logFiles(userData)) expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
      // A fresh folder is made owner-only too.
      const fresh = tempDir('keyladder-applog-fresh-');
      const again = openAppLog(fresh);
      again.info('app.start');
      await again.close();
      expect(statSync(path.join(fresh, LOG_FOLDER)).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(fresh, LOG_FOLDER, LOG_FILE)).mode & 0o777).toBe(0o600);
    },
  );

  it('drops lines past its bound while the disk catches up, and says how many', async () => {
    const userData = tempDir('keyladder-applog-bound-');
    const log = openAppLog(userData, { maxPendingBytes: 10_000 });
    // Written in one go, with no turn of the event loop: nothing reaches the disk meanwhile.
    for (let i = 0; i < 1_000; i++) log.info('responder', { line: `line ${i} ${'z'.repeat(80)}` });
    log.info('app.quit');
    await log.close();
    const lines = readLines(path.join(userData, LOG_FOLDER, LOG_FILE));
    const kept = lines.filter((l) => l['msg'] === 'responder').length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(1_000);
    // The note goes last (at close here), and with it every line is accounted for.
    expect(lines.at(-1)).toMatchObject({ msg: 'log.dropped', level: 'warn', dropped: 1_000 + 1 - kept });
  });

  it('survives a reopen: the next run appends to the same file', async () => {
    const userData = tempDir('keyladder-applog-reopen-');
    const first = openAppLog(userData);
    first.info('app.start', { version: '1.0.0' });
    first.info('app.quit');
    await first.close();
    const second = openAppLog(userData);
    second.info('app.start', { version: '1.0.1' });
    await second.close();
    const lines = readLines(path.join(userData, LOG_FOLDER, LOG_FILE));
    expect(lines.map((l) => [l['msg'], l['version']])).toEqual([['app.start', '1.0.0'], ['app.quit', undefined], ['app.start', '1.0.1']]);
    expect(lines[0]).toMatchObject({ level: 'info', pid: process.pid, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('writes only allow-listed fields, as strings, numbers and booleans; key-like names are redacted', async () => {
    expect(allowListed({ code: 'X', passphrase: 'p', kpw: 'k', nested: { key: 'k' }, status: 200, ok: true, key: Buffer.from('k') })).toEqual({ code: 'X', status: 200 });
    expect(allowListed({ message: `bad key 00112233445566778899aabbccddeeff here` })).toEqual({ message: 'bad key [hex] here' });
    // No key-like name is on the list, and each is a redact path.
    for (const name of ['passphrase', 'key', 'token', 'kpw', 'kpe', 'kph', 'privateJwk']) {
      expect(ALLOWED_FIELDS.has(name)).toBe(false);
      expect(REDACT_PATHS).toContain(name);
      expect(REDACT_PATHS).toContain(`*.${name}`);
    }
  });

  it('after a real flow (create, provision, test exchange, HTTP exchanges, refusals, a wrong passphrase) holds the events and no key material', async () => {
    const userData = tempDir('keyladder-applog-flow-');
    const log = openAppLog(userData, { maxBytes: 4_000, rotatedFiles: 20 });
    // Wired as main wires it (electron/main.ts).
    const runtime = createServices({ storeDir: userData, kdfLogN: TEST_KDF_LOG_N, backgroundCheckpoints: false });
    const responder = AppResponder.over(runtime, { log: (line) => log.info('responder', { line }), accessEntry: (entry) => log.request(entry), drainMs: 1_000 });
    const guarded = responder.lockAware(runtime);
    const store = loggedStore(guarded.store, log);
    const services = { ...guarded, store };
    const deps: AppDeps = {
      version: '0.0.0-test',
      settings: { get: () => ({ idleLockMinutes: 10 }), setIdleLockMinutes: (m) => ({ idleLockMinutes: m }) },
      openFile: async () => null,
      saveFile: async () => null,
      confirm: async () => false,
      responder,
    };
    const ipc = wrapAll(createHandlers(services, deps), {
      isTrustedSender: () => true,
      log: (channel, what, detail) => (what === 'untrusted-sender' ? log.warn('ipc.untrusted-sender', { channel }) : log.failure('ipc.error', detail, { channel })),
      onRefused: (channel, code) => log.info('ipc.refused', { channel, code }),
    });
    const TRUSTED: IpcEventLike = { senderFrame: { url: 'app://keyladder/index.html', parent: null }, sender: { send: () => {} } };
    const call = async (channel: string, request: unknown = {}) => ipc.get(channel as never)!(TRUSTED, request) as Promise<{ ok: boolean; value?: unknown; error?: { code: string } }>;

    const passphrase = 'applog flow passphrase 4c9f orbit lantern';
    const kpe = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const kph = 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f';
    const kpw = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    expect(await call('store.create', { passphrase, operator: 'Ada' })).toMatchObject({ ok: true });
    expect(await call('devices.provision', { identity: 'ESN-LOG-PSK', keys: { kind: 'kpe-kph', kpe, kph } })).toMatchObject({ ok: true });
    expect(await call('devices.provision', { identity: 'ESN-LOG-KPW', keys: { kind: 'kpw', kpw } })).toMatchObject({ ok: true });
    // The app's Test exchange.
    expect(await call('exchanges.simulate', { identity: 'ESN-LOG-PSK', rungs: 3 })).toMatchObject({ ok: true });
    // The responder, and a device climbing over HTTP; then an unknown device.
    const started = await call('responder.start', { port: 0 });
    expect(started).toMatchObject({ ok: true });
    const address = (started.value as { address: string }).address;
    const device = new LadderRequestor('ESN-LOG-KPW', await importWrappingKey(Buffer.from(kpw, 'hex')));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${address}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    const stranger = new LadderRequestor('ESN-LOG-NOBODY', await importWrappingKey(Buffer.from(kpw, 'hex')));
    expect((await fetch(`${address}/v1/keyx`, { method: 'POST', body: JSON.stringify(stranger.nextRequest()), headers: { 'content-type': 'application/json' } })).status).toBe(403);
    expect((await fetch(`${address}/v1/ready`)).status).toBe(200);
    // A refusal at the IPC door, a lock (which stops the responder), a wrong passphrase.
    expect(await call('devices.provision', { identity: 'ESN-LOG-KPW', keys: { kind: 'kpw', kpw } })).toMatchObject({ ok: false });
    expect(await call('store.lock')).toMatchObject({ ok: true });
    expect(await call('store.unlock', { passphrase: `${passphrase} wrong`, operator: 'Ada' })).toMatchObject({ ok: false, error: { code: 'WRONG_PASSPHRASE' } });
    await responder.stop('quit', 500);
    runtime.close();
    await log.close();

    const lines = allLines(userData);
    // Every line: pino's own fields and allow-listed ones, nothing else.
    for (const line of lines) for (const name of Object.keys(line)) expect(['level', 'time', 'pid', 'msg', ...ALLOWED_FIELDS], name).toContain(name);
    const events = lines.map((l) => [l['msg'], l['outcome'] ?? l['code'] ?? l['status'] ?? l['reason'] ?? null]);
    expect(events).toContainEqual(['store.create', 'ok']);
    expect(events).toContainEqual(['store.lock', 'operator']);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'store.unlock', outcome: 'refused', code: 'WRONG_PASSPHRASE', level: 'warn' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'ipc.refused', channel: 'devices.provision' }));
    expect(lines.filter((l) => l['msg'] === 'request' && l['status'] === 200 && String(l['detail']).includes('ESN-LOG-KPW'))).toHaveLength(3);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', status: 403, detail: expect.stringContaining('ENTITY_NOT_FOUND'), reqId: expect.any(String) }));
    expect(lines.some((l) => l['msg'] === 'responder' && String(l['line']).includes('listening on'))).toBe(true);
    expect(lines.some((l) => l['msg'] === 'responder' && String(l['line']).includes('stopped'))).toBe(true);

    // No key material, no passphrase, in any file, in any spelling.
    const text = logFiles(userData).map((f) => readFileSync(path.join(userData, LOG_FOLDER, f), 'utf8')).join('\n');
    expect(text.length).toBeGreaterThan(1_000);
    for (const hex of [kpe, kph, kpw]) {
      const bytes = Buffer.from(hex, 'hex');
      for (const spelling of [hex, hex.toUpperCase(), bytes.toString('base64'), bytes.toString('base64url')]) expect(text).not.toContain(spelling);
      // And no 8-byte stretch of the key either (a key cut in two).
      expect(text).not.toContain(hex.slice(0, 16));
    }
    expect(text).not.toContain(passphrase);
    expect(text).not.toContain('orbit lantern');
    expect(existsSync(path.join(userData, LOG_FOLDER, LOG_FILE))).toBe(true);
  });
});
