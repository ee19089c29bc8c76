// The MSL responder against the captured exchanges of MSL's own client and
// server (test/vectors/msl-messages), with the sample keys: client1's PSK
// keys provisioned, server1's RSA key (rsakeyid1) and master-token keys
// imported. Every answer is opened by the independent wiki decoder
// (test/support/mslWikiDecoder.ts, node:crypto only). Then the whole flow
// with requests built by that decoder's writer, and the bad input of issue 20:
// each gets its error header, and nothing in the store changes but the
// refusal's audit record.
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { MslClient } from '../../electron/msl/client.js';
import { buildRequest, decodeResponse, openSymmetric, openToken, splitObjects, type DecodedResponse, type RequestSender, type SymmetricKeys } from '../support/mslWikiDecoder.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client1Psk, decoded, messageBytes, MSL_VECTORS, pskOf, server1Rsa, type Exchange } from '../support/mslVectors.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { provisionMslSample, sampleTokenKeys } from '../support/mslSample.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const tokenKeys: SymmetricKeys = sampleTokenKeys;
const psk = client1Psk();
const clientKeys: SymmetricKeys = { enc: Buffer.from(psk.kpe), hmac: Buffer.from(psk.kph) };
const kpw = deriveWrappingKey(psk.kpe, psk.kph);
const server = server1Rsa();
const CAPABILITIES = { compressionalgos: ['GZIP', 'LZW'], languages: ['en-US'], encoderformats: ['JSON'] };

/** The capture's clock: the request's own timestamp. */
const capturedAt = (exchange: Exchange): number => decoded(exchange, 'request').headerdata.timestamp as number;

async function setup(atSeconds: number): Promise<TestServices> {
  t = await openTestServices();
  t.clock.now = new Date(atSeconds * 1000);
  const s = t.services;
  await provisionMslSample(s);
  // The capture's server: renewal window 5 s, expiration 120 s (mslsrv.cfg).
  s.msl.settings.set({ renewalWindow: 5, expiration: 120 });
  return t;
}

function answer(bytes: Uint8Array): ReturnType<TestServices['services']['mslResponder']['answer']> {
  return t!.services.mslResponder.answer(bytes, { client: '127.0.0.1' });
}

const decode = (body: Uint8Array, keys: { kprev?: Buffer; requestSession?: SymmetricKeys } = {}): DecodedResponse =>
  decodeResponse(body, { serverPublicKey: server.publicKey, tokenKeys, ...keys });

/** The request's payload as its client wrote it (PSK or token keys), uncompressed. */
function requestPayload(bytes: Uint8Array, keys: SymmetricKeys): Buffer {
  const [, ...chunks] = splitObjects(bytes);
  return Buffer.concat(chunks.map((c) => {
    const p = JSON.parse(openSymmetric(keys, Buffer.from(c['payload'], 'base64'), Buffer.from(c['signature'], 'base64')).plaintext.toString('utf8'));
    const data = Buffer.from(p.data, 'base64');
    return p.compressionalgo === 'GZIP' ? gunzipSync(data) : data;
  }));
}

describe('the captured requests of MSL\'s client', () => {
  it('001 first contact (PSK, JWE_LADDER/PSK): RSA header, a new master token whose keys are the JWEs\', the echo under them', async () => {
    const { services: s } = await setup(capturedAt('001'));
    const request = messageBytes('001', 'request');
    const out = answer(request);
    expect(out.kind, new TextDecoder().decode(out.body)).toBe('answered');
    const r = decode(out.body, { kprev: kpw });
    expect(r.header['entityauthdata']).toEqual({ scheme: 'RSA', authdata: { identity: 'server1', pubkeyid: 'rsakeyid1' } });
    expect(r.data).toMatchObject({ messageid: decoded('001', 'request').headerdata.messageid + 1, renewable: false, handshake: false, timestamp: capturedAt('001') });
    const kr = r.keyResponse!;
    expect(kr.kenc.equals(kr.token.keys.enc) && kr.khmac.equals(kr.token.keys.hmac)).toBe(true);
    expect(kr.token.session['identity']).toBe('client1');
    expect(kr.token.tokendata).toMatchObject({ sequencenumber: 0, renewalwindow: capturedAt('001') + 5, expiration: capturedAt('001') + 120 });
    expect(r.payload!.data.toString()).toBe('run A: hello via PSK handshake');
    // The exchange's bookkeeping and its audit record: no payload, no keys.
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 1, lastMechanism: 'PSK' });
    const [record] = s.audit.list({ action: 'msl' });
    expect(record).toMatchObject({ outcome: 'ok', subject: 'client1', details: { scheme: 'PSK', mechanism: 'PSK', newSerial: kr.token.tokendata['serialnumber'], newSequence: 0, payloadBytes: 30 } });
    expect(JSON.stringify(record)).not.toContain('run A');
  });

  it('004: a master token MSL\'s server issued, inside its renewal window, is accepted when the keys are shared; answered under it without a rekey', async () => {
    await setup(capturedAt('004'));
    const request = messageBytes('004', 'request');
    const [header] = splitObjects(request);
    const token = openToken(header!['mastertoken'], tokenKeys);
    const out = answer(request);
    expect(out.kind, new TextDecoder().decode(out.body)).toBe('answered');
    const r = decode(out.body, { requestSession: token.keys });
    expect(r.header['mastertoken']).toEqual(header!['mastertoken']);
    expect(r.keyResponse).toBeUndefined();
    expect(r.data['messageid']).toBe(decoded('004', 'request').headerdata.messageid + 1);
    expect(r.payload!.data.toString()).toBe('run C: master token only');
  });

  it('the master token MSL\'s server issued in 001 is accepted (keys shared): a message under it inside its window is answered under it', async () => {
    await setup(capturedAt('001') + 2);
    const kr = decode(messageBytes('001', 'response'), { kprev: kpw }).keyResponse!;
    const c = new TestClient();
    // The token as MSL's server wrote it (RSA header data is plaintext), and the session keys its key response gave.
    const headerdata = JSON.parse(Buffer.from(splitObjects(messageBytes('001', 'response'))[0]!['headerdata'], 'base64').toString('utf8'));
    c.token = { json: headerdata.keyresponsedata.mastertoken, keys: { enc: kr.kenc, hmac: kr.khmac }, sequence: 0, serial: kr.token.tokendata['serialnumber'] };
    const r = c.accept(answer(c.request({ payload: Buffer.from('under MSL\'s token') })).body);
    expect(r.keyResponse).toBeUndefined();
    expect(r.payload!.data.toString()).toBe('under MSL\'s token');
  });

  it('005: an unknown identity gets an error header (FAIL, 104005) under the server\'s RSA key', async () => {
    const { services: s } = await setup(capturedAt('005'));
    const out = answer(messageBytes('005', 'request'));
    expect(out).toMatchObject({ kind: 'error-header', code: 'ENTITY_NOT_FOUND' });
    const r = decode(out.body);
    expect(r.kind).toBe('error');
    expect(r.data).toMatchObject({ errorcode: 1, internalcode: 104005 });
    expect(Number.isSafeInteger(r.data['messageid'])).toBe(true);
    expect(s.audit.list({ action: 'msl', outcome: 'refused' })[0]).toMatchObject({ subject: 'client9', details: { code: 'ENTITY_NOT_FOUND' } });
  });

  it('006 (client2): a handshake gets the key response and no payload', async () => {
    await setup(capturedAt('006'));
    const out = answer(messageBytes('006', 'request'));
    expect(out.kind, out.code).toBe('answered');
    const client2 = pskOf('client2');
    const r = decode(out.body, { kprev: deriveWrappingKey(client2.kpe, client2.kph) });
    expect(r.data['messageid']).toBe(decoded('006', 'request').headerdata.messageid + 1);
    expect(r.keyResponse).toBeDefined();
    expect(r.payload).toBeUndefined();
  });

  it('008: a 55 KB payload GZIP-compressed by the client is echoed, GZIP-compressed', async () => {
    await setup(capturedAt('008'));
    const request = messageBytes('008', 'request');
    const out = answer(request);
    const r = decode(out.body, { kprev: kpw });
    expect(r.payload!.compression).toBe('GZIP');
    expect(r.payload!.data.equals(requestPayload(request, clientKeys))).toBe(true);
    expect(r.payload!.data.length).toBeGreaterThan(50_000);
  });
});

/** A client of our own making (the wiki's rules, node:crypto only), as the tests drive it. */
class TestClient {
  messageId = 1000;
  token?: { json: Record<string, string>; keys: SymmetricKeys; sequence: number; serial: number };
  kwrap?: Buffer;
  wrapdata?: string;

  constructor(readonly identity = 'client1', readonly keys: SymmetricKeys = clientKeys, readonly scheme: 'PSK' | 'MGK' = 'PSK') {}

  sender(): RequestSender {
    return this.token
      ? { kind: 'token', token: this.token.json, identity: this.identity, sequence: this.token.sequence, keys: this.token.keys }
      : { kind: 'entity', scheme: this.scheme, identity: this.identity, keys: this.keys };
  }

  request(options: { renew?: 'PSK' | 'MGK' | 'WRAP'; handshake?: boolean; nonReplayableId?: number; payload?: Buffer; gzip?: boolean; extra?: Record<string, unknown> } = {}): Buffer {
    this.messageId += 7;
    const keyrequestdata = options.renew === undefined ? undefined : [{ scheme: 'JWE_LADDER', keydata: options.renew === 'WRAP' ? { mechanism: 'WRAP', wrapdata: this.wrapdata } : { mechanism: options.renew } }];
    const headerdata = {
      messageid: this.messageId, renewable: options.renew !== undefined, handshake: options.handshake ?? false, capabilities: CAPABILITIES,
      ...(keyrequestdata ? { keyrequestdata } : {}), ...(options.nonReplayableId === undefined ? {} : { nonreplayableid: options.nonReplayableId }),
      ...(this.token ? { sender: this.identity } : {}), ...options.extra,
    };
    const payload = options.payload ?? Buffer.from(`hello ${this.messageId}`);
    const chunks = options.handshake ? [] : [{ sequencenumber: 1, messageid: this.messageId, endofmsg: true, ...(options.gzip ? { compressionalgo: 'GZIP', data: gzipSync(payload) } : { data: payload }) }];
    return buildRequest(this.sender(), { headerdata, chunks });
  }

  /** Opens the answer; takes a new token and Kwrap from a key response. */
  accept(body: Uint8Array, kprev?: Buffer): DecodedResponse {
    const r = decode(body, { ...(kprev ? { kprev } : {}), ...(this.token ? { requestSession: this.token.keys } : {}) });
    if (r.kind === 'message') {
      expect(r.data['messageid']).toBe(this.messageId + 1);
      if (r.keyResponse) {
        const td = r.keyResponse.token.tokendata;
        this.token = { json: r.data['keyresponsedata']['mastertoken'], keys: { enc: r.keyResponse.kenc, hmac: r.keyResponse.khmac }, sequence: td['sequencenumber'], serial: td['serialnumber'] };
        this.kwrap = r.keyResponse.kwrap;
        this.wrapdata = r.keyResponse.wrapdata;
      }
    }
    return r;
  }
}

describe('the whole flow with our own client', () => {
  it('first contact PSK, token reuse, renewal by PSK then WRAP, handshake then non-replayable, replay refused', async () => {
    const { services: s, clock } = await setup(1_796_626_900);
    const c = new TestClient();
    const first = c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    expect(first.payload!.data.toString()).toBe(`hello ${c.messageId}`);
    const serial = c.token!.serial;
    expect(c.token!.sequence).toBe(0);

    // Inside the renewal window, a renewable request is answered without a rekey (MSL's ResponseMessageBuilder).
    const reuse = c.accept(answer(c.request({ renew: 'PSK' })).body);
    expect(reuse.keyResponse).toBeUndefined();
    expect(reuse.payload!.data.toString()).toBe(`hello ${c.messageId}`);

    clock.now = new Date(clock.now.getTime() + 6_000);
    const renewed = c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    expect(renewed.keyResponse).toBeDefined();
    expect(c.token).toMatchObject({ serial, sequence: 1 });

    clock.now = new Date(clock.now.getTime() + 6_000);
    const wrapped = c.accept(answer(c.request({ renew: 'WRAP' })).body, c.kwrap);
    expect(wrapped.keyResponse).toBeDefined();
    expect(c.token).toMatchObject({ serial, sequence: 2 });

    // A new session: handshake, then a non-replayable message under the new token.
    const d = new TestClient();
    const hs = d.accept(answer(d.request({ renew: 'PSK', handshake: true })).body, kpw);
    expect(hs.payload).toBeUndefined();
    const nrep = d.accept(answer(d.request({ nonReplayableId: 1 })).body);
    expect(nrep.payload!.data.toString()).toBe(`hello ${d.messageId}`);
    const replay = answer(d.request({ nonReplayableId: 1 }));
    expect(replay).toMatchObject({ kind: 'error-header', code: 'MESSAGE_REPLAYED' });
    expect(decode(replay.body).data).toMatchObject({ errorcode: 9, messageid: d.messageId + 1 });
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 4 });
  });

  it('an expired token without a renewal: MESSAGE_EXPIRED; with one: renewed', async () => {
    const { clock } = await setup(1_796_626_900);
    const c = new TestClient();
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    clock.now = new Date(clock.now.getTime() + 121_000);
    const expired = answer(c.request());
    expect(expired).toMatchObject({ kind: 'error-header', code: 'MESSAGE_EXPIRED' });
    expect(decode(expired.body).data).toMatchObject({ errorcode: 8 });
    c.accept(answer(c.request({ renew: 'WRAP' })).body, c.kwrap);
    expect(c.token!.sequence).toBe(1);
  });

  it('a revoked device\'s token is refused from its next message on (ENTITY_REAUTH); PSK is refused too', async () => {
    const { services: s } = await setup(1_796_626_900);
    const c = new TestClient();
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    s.devices.revoke('client1');
    const out = answer(c.request());
    expect(out).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_IDENTITY_REVOKED' });
    expect(decode(out.body).data).toMatchObject({ errorcode: 3 });
    expect(answer(new TestClient().request({ renew: 'PSK' }))).toMatchObject({ kind: 'error-header', code: 'ENTITY_REVOKED' });
  });

  it('a deleted device\'s token is refused, also once its identity is provisioned again (--reuse-identity): the new device\'s own tokens work', async () => {
    const { services: s, clock } = await setup(1_796_626_900);
    const old = new TestClient();
    old.accept(answer(old.request({ renew: 'PSK' })).body, kpw);
    const oldToken = old.token!;
    const refusedOld = (): void => {
      old.token = oldToken;
      const out = answer(old.request());
      expect(out).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_IDENTITY_REVOKED' });
      expect(decode(out.body).data).toMatchObject({ errorcode: 3, internalcode: 101013 });
      s.exchanges.flush();
      expect(s.audit.list({ action: 'msl', outcome: 'refused' })[0]).toMatchObject({ subject: 'client1', details: { code: 'MASTERTOKEN_IDENTITY_REVOKED', reason: 'DEVICE_DELETED' } });
    };
    s.devices.deleteSelected({ kind: 'identities', identities: ['client1'] });
    refusedOld();

    // The identity provisioned again on purpose, even with the very same keys: the old token stays refused.
    s.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: Buffer.from(psk.kpe).toString('hex'), kph: Buffer.from(psk.kph).toString('hex') }, reuseIdentity: true });
    refusedOld();
    // Renewal under the old token (a key request, PSK or WRAP) is refused the same way, before any key exchange.
    clock.now = new Date(clock.now.getTime() + 6_000);
    old.token = oldToken;
    expect(answer(old.request({ renew: 'PSK' }))).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_IDENTITY_REVOKED' });
    old.token = oldToken;
    expect(answer(old.request({ renew: 'WRAP' }))).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_IDENTITY_REVOKED' });

    // The new device: its first contact, a message under its token, a renewal, a message under the renewed one.
    const now = new TestClient();
    now.accept(answer(now.request({ renew: 'PSK' })).body, kpw);
    expect(now.token!.serial).not.toBe(oldToken.serial);
    expect(now.accept(answer(now.request({ payload: Buffer.from('new device') })).body).payload!.data.toString()).toBe('new device');
    clock.now = new Date(clock.now.getTime() + 6_000);
    expect(now.accept(answer(now.request({ renew: 'PSK' })).body, kpw).keyResponse).toBeDefined();
    expect(now.token).toMatchObject({ sequence: 1 });
    expect(now.accept(answer(now.request({ payload: Buffer.from('renewed') })).body).payload!.data.toString()).toBe('renewed');
    refusedOld();

    // A second delete and reuse: the first reused device's tokens are refused in turn.
    const second = now.token!;
    s.devices.deleteSelected({ kind: 'identities', identities: ['client1'] });
    s.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: Buffer.from(psk.kpe).toString('hex'), kph: Buffer.from(psk.kph).toString('hex') }, reuseIdentity: true });
    now.token = second;
    expect(answer(now.request())).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_IDENTITY_REVOKED' });
    const third = new TestClient();
    third.accept(answer(third.request({ renew: 'PSK' })).body, kpw);
    expect(third.accept(answer(third.request({ payload: Buffer.from('third') })).body).payload!.data.toString()).toBe('third');
  });

  it('WRAP with wrapdata this store cannot open: KEYX_WRAPPING_KEY_MISSING, so the device falls back to PSK', async () => {
    const { clock } = await setup(1_796_626_900);
    const c = new TestClient();
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    clock.now = new Date(clock.now.getTime() + 6_000);
    c.wrapdata = Buffer.alloc(33, 1).toString('base64');
    const out = answer(c.request({ renew: 'WRAP' }));
    expect(out).toMatchObject({ kind: 'error-header', code: 'KEYX_WRAPPING_KEY_MISSING' });
    expect(decode(out.body).data).toMatchObject({ errorcode: 1, internalcode: 107013, messageid: c.messageId + 1 });
    // PSK still works (the serial's renewal that the refusal did not complete is allowed to be skipped).
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    expect(c.token!.sequence).toBeGreaterThanOrEqual(1);
  });

  it('an entity-authenticated message without a key request: RESPONSE_REQUIRES_MASTERTOKEN (KEYX_REQUIRED), never an echo in the clear', async () => {
    await setup(1_796_626_900);
    const out = answer(new TestClient().request());
    expect(out).toMatchObject({ kind: 'error-header', code: 'RESPONSE_REQUIRES_MASTERTOKEN' });
    expect(decode(out.body).data).toMatchObject({ errorcode: 5 });
  });
});

describe('with KeyLadder\'s MSL client (electron/msl/client.ts)', () => {
  const client = (identity: string, kpe: Uint8Array, kph: Uint8Array) => MslClient.create({
    identity, longTerm: { mechanism: 'PSK', encryptionKey: kpe, hmacKey: kph },
    trustedServerKeys: new Map([['rsakeyid1', server.publicKey]]), now: () => Math.floor(t!.clock.now.getTime() / 1000),
  });
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

  it('accepts our answer to the captured 001 request as MSL\'s client would', async () => {
    await setup(capturedAt('001'));
    const c = await client('client1', psk.kpe, psk.kph);
    const request = messageBytes('001', 'request');
    c.adoptRequest(request);
    const r = await c.accept(answer(request).body);
    expect(r).toMatchObject({ renewed: true, masterToken: { sequence: 0 } });
    expect(text(r.payload)).toBe('run A: hello via PSK handshake');
  });

  it('first contact PSK, token reuse, renewal by PSK then WRAP, handshake then non-replayable, a 55 KB GZIP echo, an unknown identity', async () => {
    const { clock } = await setup(1_796_626_900);
    const c = await client('client1', psk.kpe, psk.kph);
    const first = await c.accept(answer(c.request({ payload: Buffer.from('first') })).body);
    expect(first).toMatchObject({ renewed: true, masterToken: { sequence: 0 } });
    expect(text(first.payload)).toBe('first');
    const serial = first.masterToken!.serial;
    const reuse = await c.accept(answer(c.request({ payload: Buffer.from('reuse') })).body);
    expect(reuse).toMatchObject({ renewed: false });
    expect(text(reuse.payload)).toBe('reuse');
    clock.now = new Date(clock.now.getTime() + 6_000);
    expect(await c.accept(answer(c.request({ renew: 'PSK', payload: Buffer.from('psk') })).body)).toMatchObject({ renewed: true, masterToken: { serial, sequence: 1 } });
    clock.now = new Date(clock.now.getTime() + 6_000);
    expect(await c.accept(answer(c.request({ renew: 'WRAP', payload: Buffer.from('wrap') })).body)).toMatchObject({ renewed: true, masterToken: { serial, sequence: 2 } });

    const d = await client('client1', psk.kpe, psk.kph);
    const hs = await d.accept(answer(d.request({ handshake: true })).body);
    expect(hs).toMatchObject({ renewed: true, chunks: 0 });
    const nrep = await d.accept(answer(d.request({ nonReplayable: true, payload: Buffer.from('once') })).body);
    expect(text(nrep.payload)).toBe('once');

    // Words in a pseudo-random order, as 008's payload (a text that deflates beyond MSL's ratio of 200 is refused).
    let seed = 7;
    const words = ['alpha', 'beta', 'gamma', 'delta', 'token', 'chunk', 'msl', 'ladder'];
    const big = Buffer.from(Array.from({ length: 11_000 }, () => words[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) >>> 20 & 7]).join(' ').slice(0, 55_000));
    const gz = await d.accept(answer(d.request({ payload: big, compression: 'GZIP' })).body);
    expect(gz.compressed).toBe(true);
    expect(Buffer.from(gz.payload).equals(big)).toBe(true);

    const [, kpe9, kph9] = readFileSync(join(MSL_VECTORS, 'client9.psk'), 'utf8').trim().split('\n');
    const stranger = await client('client9', Buffer.from(kpe9!, 'base64'), Buffer.from(kph9!, 'base64'));
    const refused = await stranger.accept(answer(stranger.request({ payload: Buffer.from('x') })).body);
    expect(refused.error).toMatchObject({ errorCode: 1, internalCode: 104005 });
  });
});

describe('model groups, stale tokens, and an audit log that cannot be written', () => {
  it('MGK entity authentication: the model group\'s Kde/Kdh authenticate the device, and MGK key exchange answers under its Kdw', async () => {
    const { services: s } = await setup(1_796_626_900);
    const kde = Buffer.alloc(16, 0x3c), kdh = Buffer.alloc(32, 0x5a);
    s.groups.add('model-a', { kind: 'kde-kdh', kde: kde.toString('hex'), kdh: kdh.toString('hex') });
    s.devices.provision({ identity: 'ESN-MGK-1', keys: { kind: 'generate' }, group: 'model-a' });
    const c = new TestClient('ESN-MGK-1', { enc: kde, hmac: kdh }, 'MGK');
    const r = c.accept(answer(c.request({ renew: 'MGK' })).body, deriveWrappingKey(kde, kdh));
    expect(r.keyResponse!.token.session['identity']).toBe('ESN-MGK-1');
    expect(r.payload!.data.toString()).toBe(`hello ${c.messageId}`);
    // The group's keys do not authenticate a device of no group, nor PSK entity auth.
    expect(answer(new TestClient('ESN-MGK-1', { enc: kde, hmac: kdh }, 'PSK').request({ renew: 'PSK' }))).toMatchObject({ code: 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED' });
    expect(answer(new TestClient('client1', { enc: kde, hmac: kdh }, 'MGK').request({ renew: 'MGK' }))).toMatchObject({ code: 'ENTITY_NOT_FOUND' });
  });

  it('002 at its capture time: a renewal of a token MSL\'s server issued under the shared keys is answered; its serial is adopted at the token\'s sequence and renewed from it', async () => {
    const { services: s } = await setup(capturedAt('002'));
    expect(s.msl.tokens.serial(2254509952953800)).toBeUndefined();
    const out = answer(messageBytes('002', 'request'));
    expect(out).toMatchObject({ kind: 'answered', identity: 'client1' });
    s.exchanges.flush();
    expect(s.msl.tokens.serial(2254509952953800)).toMatchObject({ identity: 'client1', sequence: 1, previous_sequence: 0 });
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 1 });
    expect(s.audit.list({ action: 'msl' })[0]).toMatchObject({ outcome: 'ok', details: { serial: 2254509952953800, sequence: 0, newSerial: 2254509952953800, newSequence: 1 } });
  });

  it('an adopted serial is then held to its own row: an older sequence, or the serial under another identity, is refused', async () => {
    const { services: s } = await setup(capturedAt('002'));
    // What 002's renewal would leave had it already happened twice (sequence 2, renewed from 1).
    expect(s.msl.tokens.recordRenewal(2254509952953800, 'client1', 1, undefined, { adoptUnknown: true })).toEqual({ ok: true, sequence: 2 });
    expect(s.msl.tokens.recordRenewal(2254509952953800, 'client1', 2)).toEqual({ ok: true, sequence: 3 });
    const out = answer(messageBytes('002', 'request'));
    expect(out).toMatchObject({ kind: 'error-header', code: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(decode(out.body).data).toMatchObject({ errorcode: 3, messageid: decoded('002', 'request').headerdata.messageid + 1 });
    expect(s.msl.tokens.recordRenewal(2254509952953800, 'client2', 3, undefined, { adoptUnknown: true })).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 0 });
    expect(s.msl.tokens.serial(2254509952953800)).toMatchObject({ identity: 'client1', sequence: 3 });
  });

  it('fails closed: while the audit log cannot be written there is no MSL answer at all (503 body), and nothing is issued', async () => {
    const { services: s } = await setup(1_796_626_900);
    const c = new TestClient();
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    const recorder = (s.exchanges as unknown as { recorder: { unavailable(): string | undefined } }).recorder;
    const spy = vi.spyOn(recorder, 'unavailable').mockReturnValue('The audit log cannot be written (DISK_FULL).');
    try {
      for (const request of [c.request(), c.request({ renew: 'PSK' }), new TestClient().request({ renew: 'PSK' })]) {
        const out = answer(request);
        expect(out).toMatchObject({ kind: 'unavailable', code: 'AUDIT_UNAVAILABLE' });
        expect(JSON.parse(new TextDecoder().decode(out.body)).error.code).toBe('AUDIT_UNAVAILABLE');
      }
      // Refused before anything is looked up: the non-replayable id is not spent.
      expect(answer(c.request({ nonReplayableId: 5 }))).toMatchObject({ kind: 'unavailable' });
    } finally {
      spy.mockRestore();
    }
    expect(answer(c.request({ nonReplayableId: 5 })).kind).toBe('answered');
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 1 });
    expect(s.msl.tokens.serial(c.token!.serial)).toMatchObject({ sequence: 0 });
  });

  it('a locked store: no MSL answer', async () => {
    const { services: s } = await setup(1_796_626_900);
    const request = new TestClient().request({ renew: 'PSK' });
    s.store.lock();
    expect(answer(request)).toMatchObject({ kind: 'unavailable', code: 'STORE_LOCKED' });
  });
});

describe('bad input: an error header each, no store change but the refusal\'s audit row', () => {
  /** A request from a client that holds a token, and the store's state to compare. */
  async function withToken(): Promise<{ c: TestClient; snapshot: () => unknown }> {
    const { services: s } = await setup(1_796_626_900);
    const c = new TestClient();
    c.accept(answer(c.request({ renew: 'PSK' })).body, kpw);
    s.exchanges.flush();
    const snapshot = () => {
      s.exchanges.flush();
      // The device's last MSL message is read from the audit log, whose refusal row is expected: left out here as that row is.
      const { msl, ...device } = s.devices.get('client1');
      return { device: { ...device, lastToken: msl?.lastToken }, token: s.msl.tokens.serial(c.token!.serial), audit: s.audit.list({ limit: 1000 }).filter((e) => !(e.action === 'msl' && e.outcome === 'refused')).length };
    };
    return { c, snapshot };
  }

  const cases: Array<[string, (c: TestClient) => Uint8Array, string]> = [
    ['truncated', (c) => c.request().subarray(0, 100), 'MESSAGE_FORMAT_ERROR'],
    ['concatenated garbage', (c) => Buffer.concat([c.request(), Buffer.from('garbage')]), 'MESSAGE_FORMAT_ERROR'],
    ['nothing', () => new Uint8Array(0), 'MESSAGE_DATA_MISSING'],
    ['a duplicate member', (c) => Buffer.from(c.request().toString().replace('{"mastertoken"', '{"signature":"AA==","mastertoken"')), 'MSL_PARSE_ERROR'],
    ['Base64url instead of Base64', (c) => Buffer.from(c.request().toString().replace(/"signature":"([^"]*)"/, (_, sig: string) => `"signature":"${Buffer.from(sig, 'base64').toString('base64url')}"`)), 'MSL_PARSE_ERROR'],
    ['both entity auth data and a master token', (c) => Buffer.from(c.request().toString().replace('{"mastertoken"', '{"entityauthdata":{"scheme":"PSK","authdata":{"identity":"client1"}},"mastertoken"')), 'MESSAGE_FORMAT_ERROR'],
    ['neither', (c) => Buffer.from(c.request().toString().replace(/^\{"mastertoken":\{[^}]*\},/, '{')), 'MESSAGE_ENTITY_NOT_FOUND'],
    ['a signature over other bytes', (c) => {
      const [h, ...rest] = splitObjects(c.request());
      const other = splitObjects(c.request())[0]!;
      return Buffer.from([JSON.stringify({ ...h, signature: other['signature'] }), ...rest.map((x) => JSON.stringify(x))].join(''));
    }, 'MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED'],
    ['a foreign master token', (c) => {
      c.token = { ...c.token!, json: { tokendata: c.token!.json['tokendata']!, signature: Buffer.alloc(32, 7).toString('base64') } };
      return c.request();
    }, 'MASTERTOKEN_UNTRUSTED'],
    ['an altered master token', (c) => {
      // The same token data with a later expiration, under the old signature.
      const td = JSON.parse(Buffer.from(c.token!.json['tokendata']!, 'base64').toString('utf8'));
      const altered = Buffer.from(JSON.stringify({ ...td, expiration: td.expiration + 86_400 })).toString('base64');
      c.token = { ...c.token!, json: { tokendata: altered, signature: c.token!.json['signature']! } };
      return c.request();
    }, 'MASTERTOKEN_UNTRUSTED'],
    ['a chunk out of sequence', (c) => rechunk(c, [{ sequencenumber: 2, endofmsg: true }]), 'PAYLOAD_SEQUENCE_NUMBER_MISMATCH'],
    ['a chunk of another message', (c) => rechunk(c, [{ sequencenumber: 1, endofmsg: true, messageid: 5 }]), 'PAYLOAD_MESSAGE_ID_MISMATCH'],
    ['a GZIP bomb', (c) => rechunk(c, [{ sequencenumber: 1, endofmsg: true, compressionalgo: 'GZIP', data: gzipSync(Buffer.alloc(64 * 1024 * 1024)) }]), 'UNCOMPRESSION_ERROR'],
    ['an unknown compression', (c) => rechunk(c, [{ sequencenumber: 1, endofmsg: true, compressionalgo: 'ZSTD' }]), 'UNIDENTIFIED_COMPRESSION'],
    ['an unsupported key exchange scheme', (c) => c.request({ extra: { renewable: true, keyrequestdata: [{ scheme: 'DIFFIE_HELLMAN', keydata: {} }] } }), 'KEYX_FACTORY_NOT_FOUND'],
    ['an unknown key exchange scheme', (c) => c.request({ extra: { renewable: true, keyrequestdata: [{ scheme: 'SECRET-DATA-HERE', keydata: {} }] } }), 'UNIDENTIFIED_KEYX_SCHEME'],
    ['a message over the size cap', (c) => c.request({ payload: Buffer.alloc(2 * 1024 * 1024, 0x41) }), 'MESSAGE_FORMAT_ERROR'],
  ];

  /** The client's next request with its payload chunks replaced. */
  function rechunk(c: TestClient, chunks: Array<{ sequencenumber: number; endofmsg?: boolean; messageid?: number; compressionalgo?: string; data?: Buffer }>): Buffer {
    c.messageId += 7;
    const headerdata = { messageid: c.messageId, renewable: false, handshake: false, capabilities: CAPABILITIES, sender: c.identity };
    return buildRequest(c.sender(), { headerdata, chunks: chunks.map((k) => ({ messageid: c.messageId, data: Buffer.from('x'), ...k })) });
  }

  it.each(cases)('%s', async (_name, make, code) => {
    const { c, snapshot } = await withToken();
    const before = snapshot();
    const out = answer(make(c));
    expect(out.kind, new TextDecoder().decode(out.body).slice(0, 300)).toBe('error-header');
    expect(out.code).toBe(code);
    const r = decode(out.body);
    expect(r.kind).toBe('error');
    expect(r.data['internalcode']).toBeGreaterThanOrEqual(100_000);
    expect(snapshot()).toEqual(before);
    t!.services.exchanges.flush();
    const [refusal] = t!.services.audit.list({ action: 'msl', outcome: 'refused' });
    expect(refusal?.details['code']).toBe(code);
    // Reason codes only: nothing the caller wrote reaches the audit.
    expect(JSON.stringify(refusal)).not.toContain('SECRET-DATA');
  });

  it('an envelope naming another key id, under the right keys: ENVELOPE_KEY_ID_MISMATCH', async () => {
    await setup(1_796_626_900);
    const headerdata = { messageid: 77, renewable: true, handshake: false, capabilities: CAPABILITIES, keyrequestdata: [{ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }] };
    const request = buildRequest({ kind: 'entity', scheme: 'PSK', identity: 'client1', keys: clientKeys, keyid: 'client2' }, { headerdata, chunks: [{ sequencenumber: 1, messageid: 77, endofmsg: true, data: Buffer.from('x') }] });
    expect(answer(request)).toMatchObject({ kind: 'error-header', code: 'ENVELOPE_KEY_ID_MISMATCH' });
  });

  it('chunks that never say endofmsg end with the message\'s bytes, as in MSL (its reader takes the end of the stream as the end)', async () => {
    const { c } = await withToken();
    const r = c.accept(answer(rechunk(c, [{ sequencenumber: 1, endofmsg: false, data: Buffer.from('no end') }])).body);
    expect(r.payload!.data.toString()).toBe('no end');
  });

  it('a request signed with another client\'s keys: refused, never answered', async () => {
    await setup(1_796_626_900);
    const other = pskOf('client2');
    const c = new TestClient('client1', { enc: Buffer.from(other.kpe), hmac: Buffer.from(other.kph) });
    const out = answer(c.request({ renew: 'PSK' }));
    expect(out).toMatchObject({ kind: 'error-header', code: 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED' });
  });
});
