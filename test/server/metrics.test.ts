// GET /metrics and GET /v1/ready on the HTTP door, in process, against the
// real services (issue 23, item 1): a scrape after real exchanges, parsed by an
// independent Prometheus text-format parser, counts what happened and carries
// no identity and no key; readiness says 503 with its reason in each state in
// which exchanges cannot be answered.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResponderServer, MAX_BODY_BYTES } from '../../electron/server/httpResponder.js';
import { codeLabel, ServeMetrics } from '../../electron/server/metrics.js';
import { servicesReadiness } from '../../electron/server/readiness.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { fillDisk, freeDisk } from '../support/fullDisk.js';
import { parsePrometheus } from '../support/prometheusText.js';
import { deriveVector, hex } from '../support/vectors.js';

const v = deriveVector();
const keyx = (identity: string, keydata: Record<string, string>) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });

describe('GET /metrics', () => {
  let t: TestServices;
  let server: ResponderServer;
  let base = '';
  const metrics = new ServeMetrics();
  const TOKEN = 'metrics-test-bearer-token-0123456789';
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    t = await openTestServices({ batch: true });
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    t.services.exchanges.flush();
    t.services.exchanges.observe(metrics);
    server = new ResponderServer({
      exchanges: t.services.exchanges, msl: t.services.mslResponder, port: 0, requestTimeoutMs: 2000, rateLimit: false,
      callers: { token: TOKEN }, metrics, metricsText: () => metrics.text(),
    });
    base = await server.listen();
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  const post = (body: string, path = '/v1/keyx') => fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...auth } });

  it('counts real exchanges by door, outcome and code, their latency, lookups and audit writes; shows the process metrics', async () => {
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    for (let rung = 1; rung <= 3; rung++) {
      const res = await post(JSON.stringify(device.nextRequest()));
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    expect((await post(keyx('ESN-NOBODY-0001', { mechanism: 'PSK' }))).status).toBe(403);
    expect((await post('{"identity":')).status).toBe(400);
    expect((await post('x'.repeat(MAX_BODY_BYTES + 1))).status).toBe(413);
    // An MSL message that is not one: an error header, answered with 200.
    expect((await post('not an MSL message', '/msl')).status).toBe(200);
    // Refused at the door (no token): counted, never an exchange.
    expect((await fetch(`${base}/v1/keyx`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    t.services.exchanges.flush();

    const res = await fetch(`${base}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = parsePrometheus(text);
    expect(m.family('keyladder_exchanges_total').type).toBe('COUNTER');
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'ok', code: 'none' })).toBe(3);
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'refused', code: 'ENTITY_NOT_FOUND' })).toBe(1);
    expect(m.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'refused', code: 'MSL_PARSE_ERROR' })).toBe(1);
    expect(m.value('keyladder_exchanges_total', { door: 'msl', outcome: 'refused' })).toBe(1);
    expect(m.family('keyladder_exchange_duration_seconds').type).toBe('HISTOGRAM');
    // parse-prometheus-text-format folds a labelled histogram's series into one (its labels and counts
    // lost): the per-label counts are read off the text's own lines.
    expect(text).toContain('keyladder_exchange_duration_seconds_count{door="keyx",outcome="ok"} 3\n');
    expect(text).toContain('keyladder_exchange_duration_seconds_count{door="keyx",outcome="refused"} 2\n');
    expect(text).toContain('keyladder_exchange_duration_seconds_bucket{le="+Inf",door="msl",outcome="refused"} 1\n');
    expect(m.value('keyladder_requests_in_flight')).toBe(0);
    expect(m.value('keyladder_door_refusals_total', { code: 'PAYLOAD_TOO_LARGE' })).toBe(1);
    expect(m.value('keyladder_door_refusals_total', { code: 'UNAUTHORIZED' })).toBe(1);
    expect(m.value('keyladder_door_refusals_total')).toBe(2);
    // Three rungs found their device, the unknown one did not.
    expect(m.value('keyladder_store_lookups_total', { result: 'found' })).toBe(3);
    expect(m.value('keyladder_store_lookups_total', { result: 'not_found' })).toBe(1);
    expect(m.value('keyladder_store_lookup_duration_seconds')).toBe(4);
    expect(m.value('keyladder_audit_batch_writes_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(m.value('keyladder_audit_records_written_total')).toBeGreaterThanOrEqual(5);
    expect(m.value('keyladder_audit_batch_writes_total', { outcome: 'failed' })).toBe(0);
    expect(m.value('keyladder_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.value('keyladder_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // No identity, no address, no key material anywhere in the scrape.
    for (const secret of [v.identity, 'ESN-NOBODY-0001', '127.0.0.1', v.kpe_hex, v.kph_hex, v.kpw_hex, TOKEN]) expect(text).not.toContain(secret);
    const labelValues = m.families.flatMap((f) => f.metrics.flatMap((s) => Object.values(s.labels ?? {})));
    for (const value of labelValues) expect(value).toMatch(/^[A-Za-z0-9_.+-]*$/);
  });

  it('sits behind the bearer token like every route of the door', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('keyladder_exchanges_total');
  });

  it('is 404 on a door without a token, never served to whoever reaches the port', async () => {
    const open = new ResponderServer({ exchanges: t.services.exchanges, port: 0, rateLimit: false, metrics, metricsText: () => metrics.text() });
    const at = await open.listen();
    try {
      const res = await fetch(`${at}/metrics`);
      expect(res.status).toBe(404);
      const body = await res.text();
      expect(body).toContain('NOT_FOUND');
      expect(body).toContain('--token-file');
      expect(body).not.toContain('keyladder_exchanges_total');
    } finally {
      await open.close();
    }
  });

  it('is 404 on a door that does not serve it (serve --metrics-listen moves it elsewhere)', async () => {
    const other = new ResponderServer({ exchanges: t.services.exchanges, port: 0 });
    const at = await other.listen();
    try {
      expect((await fetch(`${at}/metrics`)).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('labels only stable codes: anything else is OTHER', () => {
    expect(codeLabel('ENTITY_NOT_FOUND')).toBe('ENTITY_NOT_FOUND');
    for (const odd of ['ESN-1234', 'entity_not_found', 'A'.repeat(65), 'WITH SPACE', '', undefined]) expect(codeLabel(odd)).toBe('OTHER');
  });
});

describe('the audit log in the metrics and in GET /v1/ready', () => {
  let t: TestServices | undefined;
  afterEach(() => {
    vi.useRealTimers();
    try {
      if (t) freeDisk(t.services);
    } catch {
      // locked already
    }
    t?.cleanup();
    t = undefined;
  });

  it('counts a failed batch write, and readiness says AUDIT_UNAVAILABLE until a write succeeds', async () => {
    t = await openTestServices({ batch: true });
    const s = t.services;
    for (let i = 0; i < 20; i++) s.devices.provision({ identity: `ESN-FULL-${i}`, keys: { kind: 'generate' } });
    s.exchanges.flush();
    const metrics = new ServeMetrics({ defaultMetrics: false });
    s.exchanges.observe(metrics);
    const notReady = servicesReadiness(s, () => true);
    expect(notReady()).toBeUndefined();
    fillDisk(s);
    vi.useFakeTimers();
    let n = 0;
    while (s.exchanges.pendingRecords().audit === 0 && n < 5000) {
      s.exchanges.respond(JSON.stringify({ identity: `ESN-FULL-${n % 20}`, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
      n += 1;
      await vi.advanceTimersByTimeAsync(25);
    }
    expect(notReady()).toBe('AUDIT_UNAVAILABLE');
    const failing = parsePrometheus((await metrics.text()).text);
    expect(failing.value('keyladder_audit_batch_writes_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    freeDisk(s);
    await vi.advanceTimersByTimeAsync(1100);
    expect(notReady()).toBeUndefined();
    const recovered = parsePrometheus((await metrics.text()).text);
    expect(recovered.value('keyladder_audit_batch_writes_total', { outcome: 'ok' })).toBeGreaterThan(failing.value('keyladder_audit_batch_writes_total', { outcome: 'ok' }));
  });
});

describe('GET /v1/ready', () => {
  let t: TestServices;
  let started = false;
  let server: ResponderServer;
  let base = '';

  beforeAll(async () => {
    t = await openTestServices({ batch: true });
    server = new ResponderServer({ exchanges: t.services.exchanges, port: 0, requestTimeoutMs: 2000, notReady: servicesReadiness(t.services, () => started) });
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  const ready = async () => {
    const res = await fetch(`${base}/v1/ready`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; reason?: string }, retry: res.headers.get('retry-after') };
  };

  it('is 503 STARTING before it listens, and until the responder says it has started', async () => {
    expect(server.readiness()).toEqual({ ready: false, reason: 'STARTING' });
    base = await server.listen();
    expect(await ready()).toEqual({ status: 503, body: { ready: false, reason: 'STARTING' }, retry: '1' });
    // Liveness is not readiness: /v1/health answers 200 meanwhile.
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
    started = true;
    expect(await ready()).toEqual({ status: 200, body: { ready: true }, retry: null });
  });

  it('is 503 STORE_LOCKED while the store is locked, and 200 again once unlocked', async () => {
    t.services.store.lock();
    expect(await ready()).toMatchObject({ status: 503, body: { ready: false, reason: 'STORE_LOCKED' } });
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
    await t.services.store.unlock(PASSPHRASE);
    expect((await ready()).status).toBe(200);
  });

  it('refuses other methods with 405', async () => {
    expect((await fetch(`${base}/v1/ready`, { method: 'POST', body: '' })).status).toBe(405);
  });

  it('is 503 DRAINING once the door is closing', async () => {
    const closing = server.close();
    expect(server.readiness()).toEqual({ ready: false, reason: 'DRAINING' });
    await closing;
  });
});
