// POST /msl on the HTTP responder over the real services, as MSL's Java
// client calls it: its form content type and headers, the captured first
// contact answered with 200 and an MSL message, an unknown identity with an
// error header (200), a 10 MB request refused with 413 without being read whole,
// and the door still answering after all of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { ResponderServer } from '../../electron/server/httpResponder.js';
import { decodeResponse } from '../support/mslWikiDecoder.js';
import { client1Psk, decoded, messageBytes, server1Rsa } from '../support/mslVectors.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { provisionMslSample, sampleTokenKeys, uploadUntilAnswered } from '../support/mslSample.js';

const tokenKeys = sampleTokenKeys;
const psk = client1Psk();
const server = server1Rsa();

let t: TestServices;
let responder: ResponderServer;
let base = '';
const log: string[] = [];

beforeAll(async () => {
  t = await openTestServices({ batch: true });
  t.clock.now = new Date((decoded('001', 'request').headerdata.timestamp as number) * 1000);
  const s = t.services;
  await provisionMslSample(s);
  responder = new ResponderServer({ exchanges: s.exchanges, msl: s.mslResponder, port: 0, accessLog: (l) => log.push(l), requestTimeoutMs: 5000 });
  base = await responder.listen();
});
afterAll(async () => {
  await responder.close();
  t.cleanup();
});

/** As MSL's client posts (HttpURLConnection's defaults, test/vectors/msl-messages/001-request.http). */
const postMsl = (body: Uint8Array) => fetch(`${base}/msl`, { method: "POST", body: Buffer.from(body), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html, image/gif, image/jpeg, */*; q=0.2' } });

describe('POST /msl', () => {
  it('answers the captured first contact with 200 and an MSL message', async () => {
    const res = await postMsl(messageBytes('001', 'request'));
    expect(res.status).toBe(200);
    const r = decodeResponse(new Uint8Array(await res.arrayBuffer()), { serverPublicKey: server.publicKey, tokenKeys, kprev: deriveWrappingKey(psk.kpe, psk.kph) });
    expect(r.payload!.data.toString()).toBe('run A: hello via PSK handshake');
    expect(r.keyResponse!.kenc.equals(r.keyResponse!.token.keys.enc)).toBe(true);
  });

  it('answers an unknown identity with an MSL error header, status 200', async () => {
    const res = await postMsl(messageBytes('005', 'request'));
    expect(res.status).toBe(200);
    const r = decodeResponse(new Uint8Array(await res.arrayBuffer()), { serverPublicKey: server.publicKey, tokenKeys });
    expect(r).toMatchObject({ kind: 'error', data: { errorcode: 1, internalcode: 104005 } });
    expect(log.at(-1)).toMatch(/ 200 .*msl ENTITY_NOT_FOUND client9/);
  });

  it('answers garbage with an error header, and keeps answering', async () => {
    const res = await postMsl(Buffer.from('{"entityauthdata":'));
    expect(res.status).toBe(200);
    expect(decodeResponse(new Uint8Array(await res.arrayBuffer()), { serverPublicKey: server.publicKey, tokenKeys }).kind).toBe('error');
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  });

  it('refuses a 10 MB request with 413 before reading it all', async () => {
    const { status, written } = await uploadUntilAnswered(`${base}/msl`, 10 * 1024 * 1024);
    expect(status).toBe(413);
    expect(written).toBeLessThan(10 * 1024 * 1024);
    const declared = await postMsl(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(declared.status).toBe(413);
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  });
});
