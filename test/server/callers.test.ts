// Who may call the HTTP responder (issue 11, item 8): Host names that DNS
// rebinding could use are refused (421), browser requests are refused unless
// their Origin is allowed (403), the body must be declared JSON (415), and
// with a bearer token or mutual TLS only callers that prove who they are get
// through (401, or no TLS session at all). Refused callers reach no service.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostName } from '../../electron/server/callerChecks.js';
import { ResponderServer, type ResponderServerOptions } from '../../electron/server/httpResponder.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';
import { skipWithReason } from '../support/skips.js';

let t: TestServices;
const log: string[] = [];
const servers: ResponderServer[] = [];
const TOKEN = 'kl-test-token-0123456789abcdef';
const PSK = JSON.stringify({ identity: 'ESN-CALLER', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
const JSON_TYPE = { 'content-type': 'application/json' };

beforeAll(async () => {
  t = await openTestServices();
  t.services.devices.provision({ identity: 'ESN-CALLER', keys: { kind: 'generate' } });
});
afterAll(async () => {
  for (const s of servers) await s.close();
  t.cleanup();
});

async function start(options: Partial<ResponderServerOptions> = {}): Promise<URL> {
  const server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, accessLog: (l) => log.push(l), ...options });
  servers.push(server);
  return new URL(await server.listen());
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A raw request, so that Host, Origin and every other header are exactly what the test says. */
function call(url: URL, options: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: string; tls?: Record<string, unknown> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = make(
      { host: url.hostname, port: url.port, method: options.method ?? 'POST', path: options.path ?? '/v1/keyx', setHost: false, headers: { host: url.host, ...options.headers }, ...options.tls },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const code = (a: Answer): string => (JSON.parse(a.body) as { error: { code: string } }).error.code;
/** Exchange rows, but for the per-client aggregates that door refusals are counted in. */
const exchanges = (): number => t.services.audit.list({ action: 'exchange', limit: 1000 }).filter((e) => e.details['code'] !== 'AGGREGATE').length;

describe('Host', () => {
  it('refuses names a rebinding page would use, on /v1/keyx and /v1/health alike: 421 HOST_NOT_ALLOWED, and no service is reached', async () => {
    const url = await start();
    const before = exchanges();
    for (const host of ['attacker.example', `attacker.example:${url.port}`, 'localhost.attacker.example', '127.0.0.1.nip.io', '']) {
      for (const [method, path] of [['POST', '/v1/keyx'], ['GET', '/v1/health']] as const) {
        const a = await call(url, { method, path, headers: { host, ...JSON_TYPE }, body: method === 'POST' ? PSK : undefined });
        expect(a.status, `${method} ${path} Host: ${host}`).toBe(421);
        expect(code(a)).toBe('HOST_NOT_ALLOWED');
        expect(a.body).not.toContain('exchanges');
      }
    }
    expect(exchanges()).toBe(before);
  });

  it('answers IP literals, loopback names, the bound name and names --allow-host lists', async () => {
    const url = await start({ callers: { allowHosts: ['KeyLadder.Lab.Example'] } });
    for (const host of [url.host, `127.0.0.1`, `[::1]:${url.port}`, `localhost:${url.port}`, 'LOCALHOST', 'device.localhost', `10.1.2.3:${url.port}`, 'keyladder.lab.example', 'keyladder.lab.example.']) {
      const a = await call(url, { headers: { host, ...JSON_TYPE }, body: PSK });
      expect(a.status, `Host: ${host} ${a.body}`).toBe(200);
    }
  });

  it.each([
    ['localhost:8420', 'localhost'],
    ['[::1]:8420', '::1'],
    ['[::1]', '::1'],
    ['Example.COM.', 'example.com'],
    ['10.0.0.1', '10.0.0.1'],
    ['a:b', undefined],
    ['[::1]x', undefined],
    [':8420', undefined],
  ])('hostName(%j) is %j', (header, name) => expect(hostName(header)).toBe(name));
});

describe('Origin', () => {
  it('refuses any request a web page sends, Origin "null" included: 403 ORIGIN_NOT_ALLOWED, before the exchange', async () => {
    const url = await start();
    const before = exchanges();
    for (const origin of ['https://attacker.example', 'null', `http://127.0.0.1:${url.port}`]) {
      // text/plain is what a page can send without a preflight.
      for (const type of ['text/plain', 'application/json']) {
        const a = await call(url, { headers: { origin, 'content-type': type }, body: PSK });
        expect(a.status).toBe(403);
        expect(code(a)).toBe('ORIGIN_NOT_ALLOWED');
        expect(a.headers['access-control-allow-origin']).toBeUndefined();
      }
      const health = await call(url, { method: 'GET', path: '/v1/health', headers: { origin } });
      expect(health.status).toBe(403);
      const preflight = await call(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.status).toBe(403);
    }
    expect(exchanges()).toBe(before);
  });

  it('answers an origin --allow-origin lists, with CORS headers and its preflight', async () => {
    const url = await start({ callers: { allowOrigins: ['http://localhost:5173'] } });
    const preflight = await call(url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': 'http://localhost:5173', 'access-control-allow-methods': 'POST, GET', 'access-control-allow-headers': 'content-type' });
    const a = await call(url, { headers: { origin: 'http://localhost:5173', ...JSON_TYPE }, body: PSK });
    expect(a.status).toBe(200);
    expect(a.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect((await call(url, { headers: { origin: 'http://localhost:5174', ...JSON_TYPE }, body: PSK })).status).toBe(403);
  });
});

describe('Content-Type', () => {
  it('POST /v1/keyx takes application/json only: 415 UNSUPPORTED_MEDIA_TYPE otherwise, and nothing is answered', async () => {
    const url = await start();
    const before = exchanges();
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json; charset=latin1', undefined]) {
      const a = await call(url, { headers: type === undefined ? {} : { 'content-type': type }, body: PSK });
      expect(a.status, String(type)).toBe(415);
      expect(code(a)).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(exchanges()).toBe(before);
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/json;charset="UTF-8"']) {
      expect((await call(url, { headers: { 'content-type': type }, body: PSK })).status, type).toBe(200);
    }
  });
});

describe('a bearer token (--token-file)', () => {
  it('every request needs it: 401 with WWW-Authenticate otherwise; it never reaches the access log', async () => {
    const url = await start({ callers: { token: TOKEN } });
    const before = exchanges();
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const a = await call(url, { headers: { ...JSON_TYPE, ...(authorization === undefined ? {} : { authorization }) }, body: PSK });
      expect(a.status, String(authorization)).toBe(401);
      expect(code(a)).toBe('UNAUTHORIZED');
      expect(a.headers['www-authenticate']).toBe('Bearer realm="keyladder"');
    }
    expect((await call(url, { method: 'GET', path: '/v1/health' })).status).toBe(401);
    expect(exchanges()).toBe(before);
    expect((await call(url, { headers: { ...JSON_TYPE, authorization: `Bearer ${TOKEN}` }, body: PSK })).status).toBe(200);
    expect((await call(url, { method: 'GET', path: '/v1/health', headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect(log.join('\n')).not.toContain(TOKEN.slice(8));
  });

  it('refuses a token too short to resist guessing', () => {
    expect(() => new ResponderServer({ exchanges: t.services.exchanges, callers: { token: 'short-token' } })).toThrow(RangeError);
  });
});

describe('mutual TLS (--tls-client-ca)', () => {
  it('completes a TLS session only for a client certificate the CA issued', async (ctx) => {
    const dir = tempDir('keyladder-mtls-');
    const f = (n: string) => join(dir, n);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    const steps = [
      ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=KeyLadder test CA'],
      ['req', '-x509', ...ec, '-keyout', f('server.key'), '-out', f('server.crt'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ['req', ...ec, '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=lab-device'],
      ['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.crt'), '-days', '1'],
      ['req', '-x509', ...ec, '-keyout', f('other.key'), '-out', f('other.crt'), '-days', '1', '-subj', '/CN=not-from-the-ca'],
    ];
    for (const args of steps) if (spawnSync('openssl', args).status !== 0) return skipWithReason(ctx, 'openssl is not available to make test certificates');
    const url = await start({ tls: { cert: readFileSync(f('server.crt')), key: readFileSync(f('server.key')), clientCa: readFileSync(f('ca.crt')) } });
    const trust = { ca: readFileSync(f('server.crt')) };
    await expect(call(url, { headers: JSON_TYPE, body: PSK, tls: trust })).rejects.toThrow();
    await expect(call(url, { headers: JSON_TYPE, body: PSK, tls: { ...trust, cert: readFileSync(f('other.crt')), key: readFileSync(f('other.key')) } })).rejects.toThrow();
    const a = await call(url, { headers: JSON_TYPE, body: PSK, tls: { ...trust, cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) } });
    expect(a.status).toBe(200);
  });
});
