// The HTTP door against the real services: routes, limits, statuses, the
// access log, and a graceful drain.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponderServer, MAX_BODY_BYTES } from '../../electron/server/httpResponder.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';
import { deriveVector, hex } from '../support/vectors.js';
import { skipWithReason } from '../support/skips.js';

let t: TestServices;
let server: ResponderServer;
let base = '';
const log: string[] = [];
const v = deriveVector();

beforeAll(async () => {
  t = await openTestServices({ batch: true });
  t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
  server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, accessLog: (l) => log.push(l), requestTimeoutMs: 2000, health: () => ({ store: 'unlocked' }) });
  base = await server.listen();
});
afterAll(async () => {
  await server.close();
  t.cleanup();
});

const post = (body: string, path = '/v1/keyx') => fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
const keyx = (identity: string, keydata: Record<string, string>) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });

describe('the HTTP responder', () => {
  it('binds 127.0.0.1 by default', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('climbs a 10-rung ladder for a device simulated by the requestor', async () => {
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    for (let rung = 1; rung <= 10; rung++) {
      const res = await post(JSON.stringify(device.nextRequest()));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      await device.accept(await res.json());
    }
    t.services.exchanges.flush();
    expect(t.services.devices.get(v.identity)).toMatchObject({ exchangeCount: 10, lastMechanism: 'WRAP' });
  });

  it('reports its state on GET /v1/health', async () => {
    const res = await fetch(`${base}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'listening', store: 'unlocked', address: base });
  });

  it.each([
    ['malformed JSON', '{"identity":', 400, 'MSL_PARSE_ERROR'],
    ['an unknown mechanism', keyx(v.identity, { mechanism: 'NOPE' }), 400, 'UNIDENTIFIED_KEYX_MECHANISM'],
    ['an unknown device', keyx('NOBODY', { mechanism: 'PSK' }), 403, 'ENTITY_NOT_FOUND'],
    ['WRAP without wrapdata', keyx(v.identity, { mechanism: 'WRAP' }), 403, 'KEYX_WRAPPING_KEY_MISSING'],
  ])('answers %s with %i and code %s, as JSON without a stack', async (_name, body, status, code) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe(code);
    expect(text).not.toMatch(/\bat .*\.(js|ts):\d+/);
  });

  it('refuses bodies over 64 KiB with 413', async () => {
    const res = await post('x'.repeat(MAX_BODY_BYTES + 1));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a chunked body that grows past 64 KiB with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/keyx`, { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('y'.repeat(8192));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${base}/v1/other`)).status).toBe(404);
    const get = await fetch(`${base}/v1/keyx`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post('{}', '/v1/health')).status).toBe(405);
  });

  it('times out a request whose body never finishes', async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${base}/v1/keyx`, { method: 'POST', headers: { 'content-length': '100', 'content-type': 'application/json' } }, (res) => resolve(String(res.statusCode)));
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.write('{"identity":');
    });
    expect(outcome === '408' || outcome.startsWith('error')).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('keeps key material out of the access log', () => {
    expect(log.length).toBeGreaterThan(10);
    const joined = log.join('\n');
    for (const k of [v.kpe_hex, v.kph_hex, v.kpw_hex]) {
      expect(joined.toLowerCase()).not.toContain(k);
      expect(joined).not.toContain(hex(k).toString('base64'));
      expect(joined).not.toContain(hex(k).toString('base64url'));
    }
    expect(joined).not.toContain('wrapdata');
    expect(joined).toMatch(/POST \/v1\/keyx 200 [\d.]+ms ok PSK-ESN/);
  });

  it('drains requests in flight on close, then refuses connections', async () => {
    const second = new ResponderServer({ exchanges: t.services.exchanges, port: 0 });
    const url = await second.listen();
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    // Half the body first, so the request is truly in flight when close()
    // starts (a fixed pause raced the connection on a slow run).
    const body = Buffer.from(JSON.stringify(device.nextRequest()));
    const status = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/keyx`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      void (async () => {
        while (second.stats().inFlight === 0) await new Promise((r) => setTimeout(r, 2));
        closing = second.close();
        req.end(body.subarray(10));
      })();
    });
    let closing: Promise<void> | undefined;
    expect(await status).toBe(200);
    await closing;
    expect(second.stats().state).toBe('stopped');
    await expect(fetch(`${url}/v1/health`)).rejects.toThrow();
  });
});

describe('the HTTPS responder', () => {
  it('drops a client that never sends its ClientHello after 10 s, not Node\'s 120 s', async (ctx) => {
    const dir = tempDir('keyladder-tls-hello-');
    const cert = join(dir, 'c.crt'), key = join(dir, 'c.key');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
    if (made.status !== 0) return skipWithReason(ctx, 'openssl is not available to make a test certificate');
    const tls = new ResponderServer({ exchanges: t.services.exchanges, port: 0, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    const url = new URL(await tls.listen());
    try {
      const started = Date.now();
      // A bare TCP connection that says nothing: no handshake ever starts.
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname);
        socket.on('error', () => {});
        socket.on('close', () => resolve());
        setTimeout(() => reject(new Error('still open after 20 s')), 20_000).unref();
      });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(9_000);
      expect(elapsed).toBeLessThan(15_000);
    } finally {
      await tls.close();
    }
  }, 30_000);
});
