// Hostile input at the HTTP door, against the real services and store: every
// answer is JSON with a stable code and a fitting status (never a 500, never a
// stack), and nothing but exchange records changes in the store.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { deriveVector, exchange2 } from '../support/vectors.js';

let t: TestServices;
let server: ResponderServer;
let url = '';
const v = deriveVector();
let wrapdata = '';

beforeAll(async () => {
  t = await openTestServices({ batch: true });
  t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
  server = new ResponderServer({ exchanges: t.services.exchanges, port: 0 });
  url = `${await server.listen()}/v1/keyx`;
  const first = t.services.exchanges.respond(JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
  wrapdata = JSON.parse(first.json).keyresponsedata.keydata.wrapdata;
});
afterAll(async () => {
  await server.close();
  t.cleanup();
});

const snapshot = () => JSON.stringify({ devices: t.services.devices.list({ limit: 1000 }).items.map(({ lastExchangeAt, lastMechanism, lastGeneration, exchangeCount, ...rest }) => rest), groups: t.services.groups.list(), issuers: t.services.issuers.list().map(({ exchangeCount, ...rest }) => rest) });

const seeds = () => [
  { identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } },
  { identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata } } },
  { identity: exchange2().inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: exchange2().inputs.request_keydata } },
];

/** Mutates a valid request: drop, retype or replace members, and flip wrapdata characters. */
const mutated = fc.tuple(fc.constantFrom(...seeds()), fc.array(fc.tuple(fc.constantFrom('identity', 'keyrequestdata', 'scheme', 'keydata', 'mechanism', 'wrapdata', 'extra'), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined), fc.array(fc.string()), fc.base64String(), fc.constantFrom('PSK', 'MGK', 'WRAP', 'JWE_LADDER'))), { maxLength: 3 }), fc.nat(60))
  .map(([seed, edits, flip]) => {
    const req = structuredClone(seed) as Record<string, any>;
    for (const [key, value] of edits) {
      const target = key === 'identity' || key === 'keyrequestdata' || key === 'extra' ? req : key === 'scheme' || key === 'keydata' ? req['keyrequestdata'] ?? req : req['keyrequestdata']?.['keydata'] ?? req;
      if (typeof target === 'object' && target !== null) target[key] = value;
    }
    const kd = req['keyrequestdata']?.['keydata'];
    if (kd && typeof kd.wrapdata === 'string' && kd.wrapdata.length > 0) {
      const i = flip % kd.wrapdata.length;
      kd.wrapdata = kd.wrapdata.slice(0, i) + (kd.wrapdata[i] === 'A' ? 'B' : 'A') + kd.wrapdata.slice(i + 1);
    }
    return JSON.stringify(req);
  });

const body = fc.oneof(mutated, fc.string(), fc.json(), fc.jsonValue().map((x) => JSON.stringify(x)));

describe('fuzzing POST /v1/keyx', () => {
  it('answers every mutated or random body with JSON, a stable code and a 200/400/403 status', async () => {
    const before = snapshot();
    await fc.assert(fc.asyncProperty(body, async (text) => {
      const res = await fetch(url, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
      const answer = await res.text();
      const parsed = JSON.parse(answer);
      if (res.status === 200) {
        expect(parsed.keyresponsedata.scheme).toBe('JWE_LADDER');
      } else {
        expect([400, 403]).toContain(res.status);
        expect(parsed.error.code).toMatch(/^[A-Z_]+$/);
        expect(typeof parsed.error.message).toBe('string');
        expect(answer).not.toMatch(/\bat .*:\d+:\d+/);
      }
    }), { numRuns: 400, seed: 20261123 });
    t.services.exchanges.flush();
    expect(snapshot()).toBe(before);
    expect(t.services.audit.verify().ok).toBe(true);
  });
});
