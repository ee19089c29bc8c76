// The access log as JSON lines (serve --log-format json, issue 23 item 1):
// pino objects with a level, the request's id (the same as its x-request-id
// response header) and the text line's fields; the text line stays as it was.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { batchedAccessLog } from '../../electron/server/accessLog.js';
import { jsonAccessLog } from '../../electron/server/jsonAccessLog.js';
import { openTestServices, PASSPHRASE, tempDir, type TestServices } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

const v = deriveVector();
const dir = tempDir('keyladder-jsonlog-');
const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
let t: TestServices;
beforeAll(async () => {
  t = await openTestServices({ batch: true });
  t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
});
afterAll(() => {
  t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve --log-format json', () => {
  it('writes one JSON object per request: level, request id (= x-request-id), the text line\'s fields, no key', async () => {
    const path = join(dir, 'access.jsonl');
    const fd = openSync(path, 'w');
    const out = batchedAccessLog(fd, { minLength: 0, periodMs: 60_000 });
    const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, accessEntry: jsonAccessLog(out, 3) });
    const base = await server.listen();
    const post = (body: string) => fetch(`${base}/v1/keyx`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const answered = await post(psk(v.identity));
    const refused = await post(psk('ESN-NOBODY-JSON'));
    t.services.store.lock();
    const locked = await post(psk(v.identity));
    await t.services.store.unlock(PASSPHRASE);
    const health = await fetch(`${base}/v1/health`);
    await server.close();
    // minLength 0: each line is its own asynchronous write. flushSync writes what is queued but does not
    // wait for a write already in flight, which closeSync would then cut off: wait for the four to land.
    for (let i = 0; i < 100 && readFileSync(path, 'utf8').split('\n').length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    out.flushSync();
    closeSync(fd);
    expect([answered.status, refused.status, locked.status, health.status]).toEqual([200, 403, 503, 200]);
    const ids = [answered, refused, locked, health].map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(4);

    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({
      level: 'info', pid: process.pid, worker: 3, msg: 'request', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), reqId: ids[0],
      addr: '127.0.0.1', method: 'POST', url: '/v1/keyx', status: 200, ms: expect.any(Number), detail: `ok ${v.identity}`,
    });
    expect(lines[1]).toMatchObject({ level: 'info', reqId: ids[1], status: 403, detail: 'ENTITY_NOT_FOUND ESN-NOBODY-JSON' });
    expect(lines[2]).toMatchObject({ level: 'warn', reqId: ids[2], status: 503, detail: expect.stringMatching(/^STORE_LOCKED/) });
    expect(lines[3]).toMatchObject({ level: 'info', reqId: ids[3], method: 'GET', url: '/v1/health', status: 200, detail: 'health' });
    for (const secret of [v.kpe_hex, v.kph_hex, v.kpw_hex, PASSPHRASE]) expect(text).not.toContain(secret);
  });

  it('leaves the text line as it was, and still sends x-request-id', async () => {
    const log: string[] = [];
    const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, accessLog: (l) => log.push(l) });
    const base = await server.listen();
    const res = await fetch(`${base}/v1/health`);
    await server.close();
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z 127\.0\.0\.1 GET \/v1\/health 200 [\d.]+ms health$/);
  });
});
