// `keyladder serve --workers 2`, the real binary, stopped with SIGTERM under load while requests
// are in flight: what an operator's probe and Prometheus see during the drain (issue 23, "Done
// means": /metrics and /v1/ready behave under load and while draining). Requests whose bodies are
// still arriving hold the drain open; meanwhile new connections to the exchanges' port are refused,
// a /v1/ready pipelined behind an in-flight request on its busy connection answers 503 DRAINING,
// and the --metrics-listen address still answers with those requests in flight. Then every one
// of them is answered and serve exits 0.
//
// No tight timings: each step polls with limits of seconds. The only clock that matters is the
// responder's own: a worker closes the connections still open 10 s after the stop
// (ResponderServer.close), and a request must arrive whole within 10 s; the held requests start
// just before the SIGTERM and are finished as soon as the drain has been observed.
import { connect, type Socket } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { cliProcess } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { servesKilledAfterEach } from '../support/serveProcess.js';
import { parsePrometheus } from '../support/prometheusText.js';
import { deriveVector, hex } from '../support/vectors.js';

const v = deriveVector();
const dir = tempDir('keyladder-serve-drain-');
const store = ['--store', join(dir, 'store')];
const TOKEN = 'serve-drain-bearer-token-0123456789abc';
const tokenFile = join(dir, 'token');

beforeAll(() => {
  writeFileSync(tokenFile, `${TOKEN}\n`);
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  expect(cliProcess([...store, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const serve = servesKilledAfterEach();

const auth = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

/** Polls `probe` until it returns a value, for at most `limitMs` (generous: the machine is shared). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 8_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The HTTP/1.1 responses in `data`, in order: bodies chunked, of a content-length, or up to the close. */
function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    at = end + 4;
    let body: Buffer;
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = data.indexOf('\r\n', at);
        const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
        parts.push(data.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
        if (size === 0 || Number.isNaN(size)) break;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      body = data.subarray(at, at + Number(headers['content-length']));
      at += body.length;
    } else {
      body = data.subarray(at);
      at = data.length;
    }
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') });
  }
}

/**
 * A POST /v1/keyx on a connection of its own whose body is sent in two parts: the first at once,
 * the rest when the test says. `answers` resolves with every response read before the server
 * closed the connection.
 */
function heldExchange(port: number, body: string): Promise<{ socket: Socket; finish: (pipelined?: string) => void; answers: Promise<RawResponse[]> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    const answers = new Promise<RawResponse[]>((done) => socket.once('close', () => done(parseResponses(Buffer.concat(chunks)))));
    socket.once('error', () => {});
    socket.once('connect', () => {
      const half = Math.floor(body.length / 2);
      socket.write(
        `POST /v1/keyx HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
      );
      // The rest of the body, and a request pipelined behind it in the same write.
      resolve({ socket, finish: (pipelined = '') => void socket.write(body.slice(half) + pipelined), answers });
    });
    socket.once('error', reject);
  });
}

/** Whether a new TCP connection to the port is refused. */
const refused = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(false); });
  socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
});

const scrape = async (at: string): Promise<ReturnType<typeof parsePrometheus> | undefined> => {
  const res = await fetch(`${at}/metrics`).catch(() => undefined);
  return res?.status === 200 ? parsePrometheus(await res.text()) : undefined;
};

describe('keyladder serve --workers 2: SIGTERM under load, seen by a probe and by Prometheus', () => {
  it('refuses new connections, answers /v1/ready 503 DRAINING on a busy connection, keeps /metrics, answers every request in flight, exits 0', async () => {
    const s = await serve([...store, 'serve', '--workers', '2', '--token-file', tokenFile, '--metrics-listen', '127.0.0.1:0']);
    const port = Number(new URL(s.url).port);
    const metricsAt = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(s.stderr())?.[1];
    expect(metricsAt).toBeDefined();
    await until('ready', async () => ((await fetch(`${s.url}/v1/ready`, { headers: auth })).status === 200 ? true : undefined));

    // Load: many exchanges at once (unknown devices, refused 403), while slow ones are held open:
    // a real device's exchange and unknown devices' ones, whose bodies stop halfway.
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    const HELD = 6;
    const held = await Promise.all([
      heldExchange(port, JSON.stringify(device.nextRequest())),
      ...Array.from({ length: HELD - 1 }, (_, i) => heldExchange(port, psk(`ESN-UNKNOWN-HELD-${i}`))),
    ]);
    const LOAD = 200;
    const load = await Promise.all(Array.from({ length: LOAD }, (_, i) =>
      fetch(`${s.url}/v1/keyx`, { method: 'POST', body: psk(`ESN-UNKNOWN-${i}`), headers: { 'content-type': 'application/json', ...auth } }).then((r) => r.status)));
    expect(load.filter((status) => status !== 403)).toEqual([]);
    // Every held request has reached a worker (its headers are read): the whole responder counts them in flight.
    await until('the held requests in flight', async () => ((await scrape(metricsAt!))?.value('keyladder_requests_in_flight') === HELD ? true : undefined));

    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
    s.child.kill('SIGTERM');

    // Draining: both workers have closed their listeners, so the shared port refuses new connections.
    await until('new connections refused', async () => ((await refused(port)) ? true : undefined));
    // Prometheus still scrapes the supervisor's address, and sees the held requests in flight.
    const during = await until('a scrape during the drain', () => scrape(metricsAt!));
    expect(during.value('keyladder_requests_in_flight')).toBe(HELD);
    expect(during.value('keyladder_exchanges_total', { door: 'keyx', outcome: 'refused', code: 'ENTITY_NOT_FOUND' })).toBe(LOAD);

    // The held requests get the rest of their bodies; on half of the connections, a readiness probe
    // is pipelined behind the exchange in flight (a busy connection is not closed as idle ones are).
    const probe = `GET /v1/ready HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;
    held.forEach((h, i) => h.finish(i % 2 === 0 ? probe : ''));
    const answers = await Promise.all(held.map((h) => h.answers));

    // Every request in flight is answered: the device's exchange is a real one it can open.
    expect(answers.map((a) => a[0]?.status)).toEqual([200, ...Array<number>(HELD - 1).fill(403)]);
    await device.accept(JSON.parse(answers[0]![0]!.body));
    for (const a of answers.slice(1)) expect(JSON.parse(a[0]!.body)).toMatchObject({ error: { code: 'ENTITY_NOT_FOUND' } });
    answers.forEach((a, i) => {
      if (i % 2 === 0) {
        // The probe pipelined on the busy connection: 503 DRAINING, retry elsewhere; then the connection closes.
        expect(a).toHaveLength(2);
        expect(a[0]!.headers['connection']).not.toBe('close');
        expect(a[1]!.status).toBe(503);
        expect(JSON.parse(a[1]!.body)).toEqual({ ready: false, reason: 'DRAINING' });
        expect(a[1]!.headers['retry-after']).toBe('1');
        expect(a[1]!.headers['connection']).toBe('close');
      } else {
        // Alone on its connection, the exchange's answer says the connection closes (the responder is draining).
        expect(a).toHaveLength(1);
        expect(a[0]!.headers['connection']).toBe('close');
      }
    });

    expect(await exited).toBe(0);
    expect(s.stderr()).toMatch(/Stopped after \d+ exchanges? \(\d+ refused\) across 2 workers/);
    // The metrics listener is gone with the responder.
    await expect(fetch(`${metricsAt}/metrics`)).rejects.toThrow();
  });
});
