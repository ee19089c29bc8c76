// `keyladder serve --workers 2`, the real binary: GET /metrics gathers every
// worker's metrics (prom-client's AggregatorRegistry over node:cluster), is
// scraped while exchanges run and parsed by a Prometheus text-format parser,
// sits behind the bearer token by default, and moves to an address of its own
// with --metrics-listen. GET /v1/ready says ready once every worker listens.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { cliProcess } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { servesKilledAfterEach, stopServe as stop, type Served } from '../support/serveProcess.js';
import { parsePrometheus } from '../support/prometheusText.js';
import { deriveVector, hex } from '../support/vectors.js';

const v = deriveVector();
const dir = tempDir('keyladder-serve-metrics-');
const store = ['--store', join(dir, 'store')];
const TOKEN = 'serve-metrics-bearer-token-0123456789';
const tokenFile = join(dir, 'token');

beforeAll(() => {
  writeFileSync(tokenFile, `${TOKEN}\n`);
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  expect(cliProcess([...store, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const startTracked = servesKilledAfterEach();

const serve = (extra: string[]): Promise<Served> => startTracked([...store, 'serve', ...extra]);
const auth = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

/** GET /v1/ready until it answers 200 (the workers learn that the responder has started just after it says it listens). */
async function untilReady(url: string, headers: Record<string, string> = {}): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${url}/v1/ready`, { headers });
    seen.push(res.status);
    if (res.status === 200) return seen;
    expect(((await res.json()) as { reason: string }).reason).toBe('STARTING');
    await sleep(50);
  }
  return seen;
}

describe('keyladder serve: GET /metrics and GET /v1/ready', () => {
  it('gathers both workers\' metrics, scraped under load, behind the bearer token', async () => {
    const s = await serve(['--workers', '2', '--token-file', tokenFile]);
    expect((await untilReady(s.url, auth)).at(-1)).toBe(200);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);

    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    for (let rung = 1; rung <= 4; rung++) {
      const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json', ...auth } });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    // Load: 300 refused exchanges (unknown devices) on many connections, scraped meanwhile.
    const LOAD = 300;
    const load = Promise.all(Array.from({ length: LOAD }, (_, i) =>
      fetch(`${s.url}/v1/keyx`, { method: 'POST', body: psk(`ESN-UNKNOWN-${i}`), headers: { 'content-type': 'application/json', ...auth } }).then((r) => r.status)));
    const during: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${s.url}/metrics`, { headers: auth });
      expect(res.status).toBe(200);
      const m = parsePrometheus(await res.text());
      during.push(m.value('keyladder_exchanges_total'));
      expect(m.value('keyladder_requests_in_flight')).toBeGreaterThanOrEqual(0);
    }
    expect((await load).every((status) => status === 403)).toBe(true);
    // Counts only grow between scrapes.
    for (let i = 1; i < during.length; i++) expect(during[i]!).toBeGreaterThanOrEqual(during[i - 1]!);
    await sleep(300); // the audit's batches are written within 20 ms; the last scrape sees them

    const text = await (await fetch(`${s.url}/metrics`, { headers: auth })).text();
    const m = parsePrometheus(text);
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'ok' })).toBe(4);
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'refused', code: 'ENTITY_NOT_FOUND' })).toBe(LOAD);
    expect(m.value('keyladder_store_lookups_total', { result: 'not_found' })).toBe(LOAD);
    expect(m.value('keyladder_store_lookups_total', { result: 'found' })).toBe(4);
    expect(m.value('keyladder_store_lookup_duration_seconds')).toBe(LOAD + 4);
    expect(m.value('keyladder_requests_in_flight')).toBe(0);
    expect(m.value('keyladder_door_refusals_total', { code: 'UNAUTHORIZED' })).toBe(1);
    expect(m.value('keyladder_audit_batch_writes_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(m.value('keyladder_audit_batch_writes_total', { outcome: 'failed' })).toBe(0);
    expect(m.value('keyladder_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // The process's own metrics stay one series per worker (a worker label), not summed: two
    // workers' open-file limits are each the limit, and not twice it.
    const maxFds = m.family('keyladder_process_max_fds').metrics;
    expect(maxFds.map((x) => x.labels?.['worker']).sort()).toEqual(['1', '2']);
    expect(new Set(maxFds.map((x) => x.value)).size).toBe(1);
    expect(m.family('keyladder_exchanges_total').metrics.every((x) => x.labels?.['worker'] === undefined)).toBe(true);
    expect(text).not.toContain(v.identity);
    expect(text).not.toContain('ESN-UNKNOWN');
    expect(text).not.toContain(TOKEN);
    expect(await stop(s)).toBe(0);
  });

  it('--log-format json: the workers\' access log as JSON lines, each with the x-request-id its caller got', async () => {
    const s = await serve(['--workers', '2', '--log-format', 'json']);
    await untilReady(s.url);
    const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: psk('ESN-UNKNOWN-JSON'), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(403);
    const id = res.headers.get('x-request-id');
    expect(await stop(s)).toBe(0);
    const entries = s.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.find((e) => e['reqId'] === id)).toMatchObject({ level: 'info', method: 'POST', url: '/v1/keyx', status: 403, detail: 'ENTITY_NOT_FOUND ESN-UNKNOWN-JSON', msg: 'request' });
    // Every request is a JSON line: no text access line is left.
    expect(s.stderr()).not.toMatch(/ POST \/v1\/keyx 403 /);
  });

  it('--metrics-listen: /metrics on its own address without the token, and not on the exchanges\' port', async () => {
    const s = await serve(['--workers', '2', '--token-file', tokenFile, '--metrics-listen', '127.0.0.1:0']);
    expect((await untilReady(s.url, auth)).at(-1)).toBe(200);
    const at = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(s.stderr())?.[1];
    expect(at).toBeDefined();
    expect((await fetch(`${s.url}/metrics`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: psk('ESN-UNKNOWN-X'), headers: { 'content-type': 'application/json', ...auth } })).status).toBe(403);
    const res = await fetch(`${at}/metrics`);
    expect(res.status).toBe(200);
    const m = parsePrometheus(await res.text());
    expect(m.value('keyladder_exchanges_total', { code: 'ENTITY_NOT_FOUND' })).toBe(1);
    expect((await fetch(`${at}/v1/health`)).status).toBe(404);
    expect(await stop(s)).toBe(0);
    // The listener is gone with the responder.
    await expect(fetch(`${at}/metrics`)).rejects.toThrow();
  });
});
