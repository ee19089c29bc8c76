// docs/openapi.json: it is a valid OpenAPI 3.1 document, its schemas are valid
// JSON Schema 2020-12, it names every status the exchange door maps a code to,
// and the checker that every server test's fetch goes through
// (test/support/openapiHook.ts) refuses answers that break it.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_BY_CODE } from '../../electron/server/httpResponder.js';
import { OPENAPI_FILE, OpenApiResponses, type ObservedResponse } from '../support/openapiResponses.js';
import { checkedFetch, inScope, plainFetch } from '../support/openapiHook.js';

type Json = Record<string, unknown>;
const text = readFileSync(OPENAPI_FILE, 'utf8');
const doc = (): Json => JSON.parse(text) as Json;
const responses = new OpenApiResponses();

const UUID = '3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const std = { 'x-request-id': UUID, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-type': 'application/json' };
const answer = (over: Partial<Omit<ObservedResponse, 'headers' | 'body'>> & { headers?: Record<string, string | undefined>; body?: unknown }): ObservedResponse => {
  const headers = new Map(Object.entries({ ...std, ...over.headers }).filter((e): e is [string, string] => e[1] !== undefined));
  const body = over.body === undefined ? new Uint8Array() : typeof over.body === 'string' ? Buffer.from(over.body) : Buffer.from(JSON.stringify(over.body));
  return { method: over.method ?? 'GET', path: over.path ?? '/v1/health', status: over.status ?? 200, headers, body };
};
const health = { state: 'listening', address: 'http://127.0.0.1:8420', startedAt: '2026-12-07T23:00:00.000Z', exchanges: 1, refused: 0, inFlight: 0 };
const B64 = Buffer.alloc(24, 7).toString('base64');
const keyResponse = { keyresponsedata: { scheme: 'JWE_LADDER', keydata: { wrapdata: B64, hmackey: B64, encryptionkey: B64, wrapkey: B64 } } };

describe('docs/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc());
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
  });

  it('a document that breaks OpenAPI 3.1 is refused by the same validator', async () => {
    const broken = doc();
    // A response object without its required description, and a path that is not a path.
    delete ((((broken['paths'] as Json)['/v1/health'] as Json)['get'] as Json)['responses'] as Json)['200'] as never;
    ((((broken['paths'] as Json)['/v1/health'] as Json)['get'] as Json)['responses'] as Json)['200'] = { content: {} };
    (broken['paths'] as Json)['v1/nope'] = {};
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('every schema in it compiles as JSON Schema 2020-12 under ajv strict mode', () => {
    const schemas: unknown[] = [];
    const walk = (v: unknown, key?: string): void => {
      if (key === 'schema') return void schemas.push(v);
      if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, k);
    };
    walk(doc()['paths']);
    walk((doc()['components'] as Json)['headers']);
    walk((doc()['components'] as Json)['responses']);
    for (const name of Object.keys((doc()['components'] as Json)['schemas'] as Json)) schemas.push({ $ref: `#/components/schemas/${name}` });
    expect(schemas.length).toBeGreaterThan(30);
    for (const s of schemas) expect(() => responses.compile(s)).not.toThrow();
    expect(() => responses.compile({ type: 'object', propertiez: {} })).toThrow(/unknown keyword/);
  });

  it('lists, for POST /v1/keyx, each refusal code under the status the door answers it with', () => {
    const post = ((doc()['paths'] as Json)['/v1/keyx'] as Json)['post'] as Json;
    for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
      const schema = ((((post['responses'] as Json)[String(status)] as Json)['content'] as Json)['application/json'] as Json)['schema'];
      expect(responses.compile(schema)({ error: { code, message: 'm' } }), `${code} → ${status}`).toBe(true);
    }
  });
});

describe('the answer checker', () => {
  it('takes answers that follow the document', () => {
    expect(responses.problems(answer({ body: health }))).toEqual([]);
    expect(responses.problems(answer({ method: 'POST', path: '/v1/keyx', body: keyResponse }))).toEqual([]);
    expect(responses.problems(answer({ method: 'HEAD', path: '/v1/ready', status: 503, headers: { 'retry-after': '1' } }))).toEqual([]);
    expect(responses.problems(answer({ path: '/nope', status: 404, body: { error: { code: 'NOT_FOUND', message: 'm' } } }))).toEqual([]);
    // A store failure without a status of its own reaches a key exchange's caller as 500 with its code.
    expect(responses.problems(answer({ method: 'POST', path: '/v1/keyx', status: 500, body: { error: { code: 'STORE_CORRUPT', message: 'm' } } }))).toEqual([]);
    // /v1/health names the responder as its only server: the --metrics-listen address answers it 404.
    expect(responses.problems(answer({ path: '/v1/health', status: 404, body: { error: { code: 'NOT_FOUND', message: 'm' } } }))).toEqual([]);
    expect(responses.problems(answer({ path: '/metrics', headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: '# HELP up 1\n' }))).toEqual([]);
  });

  it('refuses a body member, a missing header, a status, a content type or a path the document does not allow', () => {
    expect(responses.problems(answer({ body: { ...health, secret: 'x' } })).join()).toMatch(/must NOT have additional properties/);
    expect(responses.problems(answer({ body: health, headers: { 'x-request-id': undefined } })).join()).toMatch(/required header x-request-id is missing/);
    expect(responses.problems(answer({ body: health, headers: { 'x-request-id': 'caller-chosen' } })).join()).toMatch(/x-request-id.*must match format "uuid"/);
    expect(responses.problems(answer({ status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'm' } } })).join()).toMatch(/allows no status 500/);
    expect(responses.problems(answer({ headers: { 'content-type': 'text/html' }, body: health })).join()).toMatch(/content-type text\/html is not one/);
    expect(responses.problems(answer({ path: '/v1/other', body: health })).join()).toMatch(/allows no status 200/);
    // A refusal code under the wrong status, and a stack in an error.
    expect(responses.problems(answer({ method: 'POST', path: '/v1/keyx', status: 400, body: { error: { code: 'ENTITY_NOT_FOUND', message: 'm' } } })).join()).toMatch(/allowed values/);
    expect(responses.problems(answer({ method: 'POST', path: '/v1/keyx', status: 400, body: { error: { code: 'MSL_PARSE_ERROR', message: 'm', stack: 'at x' } } })).join()).toMatch(/additional properties/);
    // /msl's 500 is its handler's own INTERNAL_ERROR only (store failures are 503 or an MSL error header there).
    expect(responses.problems(answer({ method: 'POST', path: '/msl', status: 500, body: { error: { code: 'STORE_CORRUPT', message: 'm' } } })).join()).toMatch(/allowed values/);
    // 405 needs allow; 503 from /v1/ready needs retry-after.
    expect(responses.problems(answer({ method: 'DELETE', path: '/v1/health', status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: 'm' } } })).join()).toMatch(/required header allow/);
    expect(responses.problems(answer({ path: '/v1/ready', status: 503, body: { ready: false, reason: 'DRAINING' } })).join()).toMatch(/required header retry-after/);
  });

  it('reads an MSL answer as its concatenated JSON texts', () => {
    const header = { entityauthdata: { scheme: 'RSA', authdata: { identity: 'server', pubkeyid: 'k1' } }, headerdata: B64, signature: B64 };
    const chunk = { payload: B64, signature: B64 };
    const error = { entityauthdata: header.entityauthdata, errordata: B64, signature: B64 };
    const msl = (...parts: unknown[]) => answer({ method: 'POST', path: '/msl', body: parts.map((p) => JSON.stringify(p)).join('') });
    expect(responses.problems(msl(header, chunk, chunk))).toEqual([]);
    expect(responses.problems(msl(error))).toEqual([]);
    expect(responses.problems(msl(error, chunk)).join()).toMatch(/body/);
    expect(responses.problems(msl({ ...chunk, payload: 'not base64!' })).join()).toMatch(/body/);
    expect(responses.problems(answer({ method: 'POST', path: '/msl', body: '' })).join()).toMatch(/body/);
  });

  it('watches the server, CLI and MSL test files, and no others', () => {
    expect(inScope(`${process.cwd()}/test/server/serve.test.ts`)).toBe(true);
    expect(inScope(`${process.cwd()}/test/cli/serveConfig.test.ts`)).toBe(true);
    expect(inScope(`${process.cwd()}/test/e2e/app.e2e.test.ts`)).toBe(false);
  });

  describe('hooked into fetch', () => {
    let server: Server;
    let base = '';
    beforeAll(async () => {
      // Answers /v1/health as the responder would, but with a member the document does not have.
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-request-id': UUID });
        res.end(JSON.stringify(req.url === '/v1/health' ? health : { ...health, kissuer: 'AAAA' }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('records an answer that breaks the document, and hands the caller the answer untouched', async () => {
      const violations: string[] = [];
      const checked = checkedFetch(plainFetch, () => responses, violations);
      const good = await checked(`${base}/v1/health`);
      expect(await good.json()).toEqual(health);
      expect(violations).toEqual([]);
      const bad = await checked(`${base}/v1/health?leak=1`, { method: 'GET' });
      expect(await bad.json()).toEqual({ ...health, kissuer: 'AAAA' });
      expect(violations).toEqual([expect.stringMatching(/^GET \/v1\/health → 200: body: body must NOT have additional properties/)]);
      const other = await checked(new Request(`${base}/v1/ready`, { method: 'POST' }));
      expect(other.status).toBe(200);
      expect(violations[1]).toMatch(/^POST \/v1\/ready → 200: the document allows no status 200 here/);
    });
  });
});
