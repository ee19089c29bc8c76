// The POST /msl door of the HTTP responder, over a stand-in MslApi: MSL's
// client's content type, bytes untouched, error headers with 200, the body
// cap (a 10 MB request refused without being read whole), and the caller
// checks the /v1/keyx door already does.
import { request as httpRequest } from 'node:http';
import { uploadUntilAnswered } from '../support/mslSample.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MSL_MAX_BODY_BYTES, ResponderServer } from '../../electron/server/httpResponder.js';
import type { MslApi, MslOutcome } from '../../electron/services/api.js';

const noExchanges = { respond: () => ({ ok: false, json: '{}', code: 'INTERNAL_ERROR' }) };
let server: ResponderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Fake extends MslApi {
  readonly bodies: Buffer[];
}

function fake(outcome: (body: Buffer) => MslOutcome): Fake {
  const bodies: Buffer[] = [];
  return {
    bodies,
    answer(body) {
      bodies.push(Buffer.from(body));
      return outcome(Buffer.from(body));
    },
  };
}

async function start(msl: MslApi | undefined, extra: Partial<ConstructorParameters<typeof ResponderServer>[0]> = {}): Promise<string> {
  server = new ResponderServer({ exchanges: noExchanges, ...(msl ? { msl } : {}), port: 0, requestTimeoutMs: 5000, ...extra });
  return server.listen();
}

// The stand-in's answers have an MSL message's shape (docs/openapi.json, which every answer here is checked against):
// a header under a master token whose headerdata is the request's bytes, as they came.
const B64 = Buffer.alloc(32, 1).toString('base64');
const echoText = (body: Buffer): string => JSON.stringify({ mastertoken: { tokendata: B64, signature: B64 }, headerdata: body.toString('base64'), signature: B64 });
const echo = (body: Buffer): MslOutcome => ({ kind: 'answered', body: Buffer.from(echoText(body)) });
const errorHeader = JSON.stringify({ entityauthdata: { scheme: 'RSA', authdata: { identity: 'server', pubkeyid: 'k1' } }, errordata: B64, signature: B64 });

describe('POST /msl', () => {
  it('takes MSL\'s form content type and hands the body over as bytes, never form-decoded', async () => {
    const msl = fake(echo);
    const base = await start(msl);
    const body = Buffer.concat([Buffer.from('{"a":"b+c%20d&e=f"}'), Buffer.from([0xff, 0x00, 0x80])]);
    const res = await fetch(`${base}/msl`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(echoText(body));
    expect(msl.bodies[0]!.equals(body)).toBe(true);
    // Any content type, or none.
    expect((await fetch(`${base}/msl`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(200);
  });

  it('answers an MSL error header with 200; an unavailable store with 503 and no MSL message', async () => {
    const base = await start(fake((b) => b.toString() === 'refuse'
      ? { kind: 'error-header', body: Buffer.from(errorHeader), code: 'ENTITY_NOT_FOUND' }
      : { kind: 'unavailable', body: Buffer.from('{"error":{"code":"AUDIT_UNAVAILABLE","message":"m"}}'), code: 'AUDIT_UNAVAILABLE' }));
    const refused = await fetch(`${base}/msl`, { method: 'POST', body: 'refuse' });
    expect(refused.status).toBe(200);
    expect(await refused.text()).toBe(errorHeader);
    const unavailable = await fetch(`${base}/msl`, { method: 'POST', body: 'x' });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('1');
    expect(server!.stats()).toMatchObject({ exchanges: 0, refused: 2 });
  });

  it('is 404 when the responder has no MSL service, and 405 for other methods', async () => {
    let base = await start(undefined);
    expect((await fetch(`${base}/msl`, { method: 'POST', body: 'x' })).status).toBe(404);
    await server!.close();
    base = await start(fake(echo));
    const get = await fetch(`${base}/msl`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('refuses a declared length over the cap with 413 before reading it', async () => {
    const msl = fake(echo);
    const base = await start(msl, { mslMaxBodyBytes: 1000 });
    const res = await fetch(`${base}/msl`, { method: 'POST', body: 'x'.repeat(1001) });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await fetch(`${base}/msl`, { method: 'POST', body: 'x'.repeat(1000) })).status).toBe(200);
    expect(msl.bodies).toHaveLength(1);
  });

  it('refuses a 10 MB chunked request with 413 as soon as it passes 1 MiB, without reading the rest', async () => {
    const msl = fake(echo);
    const base = await start(msl);
    const { status, written } = await uploadUntilAnswered(`${base}/msl`, 10 * 1024 * 1024);
    expect(status).toBe(413);
    expect(written).toBeLessThan(10 * 1024 * 1024);
    expect(msl.bodies).toHaveLength(0);
    expect(DEFAULT_MSL_MAX_BODY_BYTES).toBe(1024 * 1024);
  });

  it('keeps the door\'s caller checks: a bearer token and the Host', async () => {
    const msl = fake(echo);
    const token = 'a-long-enough-bearer-token-for-tests-0123456789';
    const base = await start(msl, { callers: { token } });
    expect((await fetch(`${base}/msl`, { method: 'POST', body: 'x' })).status).toBe(401);
    expect((await fetch(`${base}/msl`, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const wrongHost = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/msl`, { method: 'POST', headers: { host: 'evil.example', authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(wrongHost).toBe(421);
    expect(msl.bodies).toHaveLength(1);
  });
});
