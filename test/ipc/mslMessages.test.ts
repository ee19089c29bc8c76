// The Responder screen's live list of MSL messages: the bounded log
// (mslMessageLog.ts: N + 1 messages keep N, the per-message and total byte
// caps), the app's responder filling it from what mslResponder audits (real
// services, real POST /msl, KeyLadder's MSL client), the row detail decoded
// by mslInspect, the charts' split by kind, and the two IPC channels'
// validation in main.
import { createPublicKey, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppResponder } from '../../electron/appResponder.js';
import { contract, PASSIVE_CHANNELS } from '../../electron/ipc/contract.js';
import { wrapHandler, type IpcEventLike } from '../../electron/ipc/register.js';
import { MslClient } from '../../electron/msl/client.js';
import { MslMessageLog, MSL_LOG_MESSAGE_BYTES, MSL_LOG_ROWS, MSL_LOG_TOTAL_BYTES } from '../../electron/mslMessageLog.js';
import type { MslOutcome } from '../../electron/services/api.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { adviceFor } from '../../renderer/src/api/advice.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';

const TRUSTED: IpcEventLike = { senderFrame: { url: 'app://keyladder/index.html', parent: null }, sender: { send: () => {} } };
const isTrustedSender = trustedSender({ origins: ['app://keyladder'] });

const answered = (details: Record<string, string | number | boolean | null> = {}): MslOutcome => ({
  kind: 'answered', body: new Uint8Array(1), identity: 'ESN-1', summary: { details: { scheme: 'PSK', payloadBytes: 3, ...details }, payloadBytesOut: 3 },
});

describe('the MSL message log', () => {
  it('keeps the newest N of N + 1 messages, newest first, and pages from a cursor', () => {
    const log = new MslMessageLog(() => new Date('2026-12-07T12:00:00Z'), { rows: 3, messageBytes: 100, totalBytes: 1000 });
    for (let i = 0; i < 4; i++) log.add(new Uint8Array(10), answered(), 1);
    const all = log.page();
    expect(all.rows.map((r) => r.id)).toEqual([4, 3, 2]);
    expect(all).toMatchObject({ held: 3, capacity: 3, cursor: 4, oldest: 2 });
    expect(log.keptBytes).toBe(30);
    expect(log.get(1)).toBeUndefined();
    expect(log.page(3).rows.map((r) => r.id)).toEqual([4]);
    expect(log.page(4).rows).toEqual([]);
  });

  it('holds 200 rows, 64 KiB per message and 8 MiB in all by default', () => {
    expect([MSL_LOG_ROWS, MSL_LOG_MESSAGE_BYTES, MSL_LOG_TOTAL_BYTES]).toEqual([200, 64 * 1024, 8 * 1024 * 1024]);
    const log = new MslMessageLog();
    for (let i = 0; i < MSL_LOG_ROWS + 1; i++) log.add(new Uint8Array(MSL_LOG_MESSAGE_BYTES), answered(), 1);
    const page = log.page();
    expect(page.rows).toHaveLength(MSL_LOG_ROWS);
    expect(log.keptBytes).toBeLessThanOrEqual(MSL_LOG_TOTAL_BYTES);
    // 128 messages of 64 KiB fill 8 MiB: the 72 oldest held rows let their bytes go.
    expect(page.rows.filter((r) => r.kept)).toHaveLength(128);
    expect(page.rows.at(-1)).toMatchObject({ kept: false, notKept: 'total-cap' });
  });

  it('lists a message over the per-message cap without its bytes, and says so', () => {
    const log = new MslMessageLog(() => new Date(), { rows: 10, messageBytes: 100, totalBytes: 1000 });
    const row = log.add(new Uint8Array(101), answered(), 1);
    expect(row).toMatchObject({ kept: false, notKept: 'message-cap', requestBytes: 101 });
    expect(log.get(row.id)?.bytes).toBeUndefined();
    expect(log.keptBytes).toBe(0);
    expect(log.add(new Uint8Array(100), answered(), 1)).toMatchObject({ kept: true });
  });

  it('lets the oldest bytes go first to stay under the total, keeps the rows, and reports which', () => {
    const log = new MslMessageLog(() => new Date(), { rows: 10, messageBytes: 100, totalBytes: 250 });
    const ids = [0, 1, 2].map(() => log.add(new Uint8Array(100), answered(), 1).id);
    expect(log.keptBytes).toBe(200);
    expect(log.get(ids[0]!)?.row).toMatchObject({ kept: false, notKept: 'total-cap' });
    expect(log.get(ids[0]!)?.bytes).toBeUndefined();
    expect(log.get(ids[2]!)?.bytes).toHaveLength(100);
    expect(log.page(ids[2]!).released).toEqual([ids[0]]);
  });

  it('keeps a copy of the request, not the caller\'s buffer', () => {
    const log = new MslMessageLog();
    const body = Uint8Array.from([1, 2, 3]);
    const row = log.add(body, answered(), 1);
    body.fill(9);
    expect([...log.get(row.id)!.bytes!]).toEqual([1, 2, 3]);
  });

  it('reads the row from the audit details: refusal name and internal code, token numbers, mechanism, kind', () => {
    const log = new MslMessageLog();
    const refused = log.add(new Uint8Array(5), { kind: 'error-header', body: new Uint8Array(1), code: 'ENTITY_NOT_FOUND', identity: 'ESN-X', summary: { details: { bytes: 5, scheme: 'PSK', code: 'ENTITY_NOT_FOUND', internalCode: 104005 }, payloadBytesOut: 0 } }, 2);
    expect(refused).toMatchObject({ outcome: 'refused', kind: 'refused', identity: 'ESN-X', error: { name: 'ENTITY_NOT_FOUND', internalCode: 104005 }, payloadBytesIn: null, entityAuth: { scheme: 'PSK' } });
    const renewal = log.add(new Uint8Array(5), { ...answered({ scheme: 'MASTERTOKEN', serial: 7, sequence: 2, mechanism: 'WRAP' }), summary: { details: { scheme: 'MASTERTOKEN', serial: 7, sequence: 2, mechanism: 'WRAP', payloadBytes: 4 }, payloadBytesOut: 4, issued: { serial: 7, sequence: 3 } } }, 2);
    expect(renewal).toMatchObject({ kind: 'key-exchange', entityAuth: { scheme: 'MASTERTOKEN', serial: 7, sequence: 2 }, keyExchange: { mechanism: 'WRAP', answered: true }, issued: { serial: 7, sequence: 3 }, payloadBytesIn: 4, payloadBytesOut: 4 });
    const notYet = log.add(new Uint8Array(5), { ...answered({ scheme: 'MASTERTOKEN', serial: 7, sequence: 3 }), summary: { details: { scheme: 'MASTERTOKEN', serial: 7, sequence: 3, payloadBytes: 1 }, payloadBytesOut: 1, keyRequest: 'WRAP' } }, 1);
    expect(notYet).toMatchObject({ kind: 'data', keyExchange: { mechanism: 'WRAP', answered: false } });
    expect(notYet.issued).toBeUndefined();
    expect(log.add(new Uint8Array(5), answered({ handshake: true }), 1).kind).toBe('handshake');
    expect(log.add(new Uint8Array(5), answered(), 1).kind).toBe('data');
    expect(log.add(new Uint8Array(5), { kind: 'unavailable', body: new Uint8Array(1), code: 'AUDIT_UNAVAILABLE' }, 1)).toMatchObject({ kind: 'unavailable', error: { name: 'AUDIT_UNAVAILABLE' }, entityAuth: null });
  });
});

describe('the app\'s responder lists the MSL messages it answers', () => {
  let t: TestServices | undefined;
  let responder: AppResponder | undefined;
  afterEach(async () => {
    await responder?.stop('quit', 500);
    t?.cleanup();
    t = responder = undefined;
  });

  async function setup() {
    t = await openTestServices();
    const s = t.services;
    const kpe = randomBytes(16);
    const kph = randomBytes(32);
    s.devices.provision({ identity: 'ESN-MSL-1', keys: { kind: 'kpe-kph', kpe: kpe.toString('hex'), kph: kph.toString('hex') } });
    const inspect = vi.fn((bytes: Uint8Array) => s.mslInspect.inspect(bytes));
    responder = new AppResponder({ exchanges: s.exchanges, msl: s.mslResponder, inspect, store: s.store, drainMs: 500 });
    await responder.start({ port: 0 });
    const identity = s.msl.keys.identity();
    const client = (id: string) =>
      MslClient.create({ identity: id, longTerm: { mechanism: 'PSK', encryptionKey: kpe, hmacKey: kph }, trustedServerKeys: new Map([[identity.keyId, createPublicKey(identity.pem)]]), now: () => Math.floor(t!.clock.now.getTime() / 1000) });
    const post = async (c: MslClient, body: Uint8Array) => {
      const res = await fetch(`${responder!.status().address}/msl`, { method: 'POST', body: Buffer.from(body) });
      return c.accept(new Uint8Array(await res.arrayBuffer()));
    };
    return { s, kpe, kph, inspect, client, post };
  }

  it('first contact, a data message, a handshake and a refusal: rows newest first, details decoded, the charts split by kind', async () => {
    const { kpe, kph, inspect, client, post } = await setup();
    const r = responder!;
    expect(r.mslMessages()).toMatchObject({ rows: [], cursor: 0, held: 0 });

    const device = await client('ESN-MSL-1');
    const first = await post(device, device.request({ payload: Buffer.from('hello') }));
    expect(first.renewed).toBe(true);
    await post(device, device.request({ payload: Buffer.from('data under the token'), renew: false }));
    await post(device, device.request({ handshake: true, renew: 'WRAP' }));
    const stranger = await client('ESN-NOBODY');
    expect((await post(stranger, stranger.request({ payload: Buffer.from('x') }))).error).toMatchObject({ internalCode: 104005 });

    const page = r.mslMessages();
    expect(page.rows.map((row) => row.kind)).toEqual(['refused', 'handshake', 'data', 'key-exchange']);
    const [refused, handshake, data, firstContact] = page.rows;
    expect(firstContact).toMatchObject({ identity: 'ESN-MSL-1', entityAuth: { scheme: 'PSK' }, keyExchange: { mechanism: 'PSK', answered: true }, issued: { sequence: 0 }, payloadBytesIn: 5, payloadBytesOut: 5, outcome: 'answered', kept: true });
    const serial = firstContact!.issued!.serial;
    expect(data).toMatchObject({ entityAuth: { scheme: 'MASTERTOKEN', serial, sequence: 0 }, keyExchange: null, payloadBytesIn: 20, payloadBytesOut: 20 });
    // The token's renewal window has not opened: the handshake carried a key request, not answered.
    expect(handshake).toMatchObject({ handshake: true, keyExchange: { mechanism: 'WRAP', answered: false }, entityAuth: { scheme: 'MASTERTOKEN', serial }, payloadBytesOut: 0 });
    expect(handshake!.issued).toBeUndefined();
    expect(refused).toMatchObject({ identity: 'ESN-NOBODY', outcome: 'refused', error: { name: 'ENTITY_NOT_FOUND', internalCode: 104005 }, keyExchange: null });
    for (const row of page.rows) expect(row.latencyMs).toBeGreaterThan(0);
    // The screen asks only for what is new.
    expect(r.mslMessages(page.cursor).rows).toEqual([]);
    expect(r.mslMessages(page.cursor - 1).rows.map((row) => row.id)).toEqual([refused!.id]);

    // A row's detail: its header decoded with the store's keys (PSK: the device's key KCVs).
    const detail = r.mslMessage(firstContact!.id, { showPayload: true });
    expect(detail.row).toEqual(firstContact);
    expect(detail.inspection).toMatchObject({ kind: 'message', signature: 'valid', sender: { kind: 'entity', scheme: 'PSK', identity: 'ESN-MSL-1' }, header: { keyRequests: [{ scheme: 'JWE_LADDER', mechanism: 'PSK' }] } });
    expect(inspect).toHaveBeenCalledTimes(1);
    expect(r.mslMessage(data!.id).inspection).toMatchObject({ sender: { kind: 'master-token', token: { serialNumber: serial } }, signature: 'valid' });
    expect(() => r.mslMessage(9999)).toThrow(expect.objectContaining({ code: 'MSL_MESSAGE_NOT_FOUND' }));
    // The app says what to do about it, not the catch-all.
    expect(adviceFor('MSL_MESSAGE_NOT_FOUND')).not.toBe(adviceFor('NO_SUCH_CODE_AT_ALL'));

    // No key bytes in anything that crosses to the renderer.
    const crossing = JSON.stringify([page, ...page.rows.map((row) => r.mslMessage(row.id))]);
    for (const key of [kpe, kph]) {
      expect(crossing).not.toContain(key.toString('hex'));
      expect(crossing).not.toContain(key.toString('base64'));
      expect(crossing).not.toContain(key.toString('base64url'));
    }

    expect(r.metrics().kinds).toEqual({ ladder: 0, mslKeyExchange: 1, mslData: 1, mslHandshake: 1, mslRefused: 1 });
    expect(r.metrics().perSecond.reduce((n, s) => n + s.msl, 0)).toBe(4);
  });

  it('forgets the list when the store locks', async () => {
    const { s, client, post } = await setup();
    const device = await client('ESN-MSL-1');
    await post(device, device.request({ payload: Buffer.from('hello') }));
    const wrapped = responder!.lockAware(s);
    expect(responder!.mslMessages().held).toBe(1);
    wrapped.store.lock();
    expect(responder!.mslMessages()).toMatchObject({ rows: [], held: 0, oldest: null, cursor: 1 });
    await s.store.unlock(PASSPHRASE);
  });
});

describe('responder.mslMessages and responder.mslMessage validation in main', () => {
  const hostile = ['x'.repeat(1_000_000), -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, [], { valueOf: 1 }, true];

  it.each<[string, unknown]>([
    ...hostile.map((after): [string, unknown] => [`after ${String(after).slice(0, 20)}`, { after }]),
    ['an extra member', { after: 0, limit: 5 }],
    ['a prototype key', JSON.parse('{"__proto__": {"after": 1}, "x": 1}')],
    ['a string', 'all'],
  ])('mslMessages refuses %s', async (_name, request) => {
    const handler = vi.fn();
    const reply = await wrapHandler('responder.mslMessages', handler, { isTrustedSender })(TRUSTED, request);
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(handler).not.toHaveBeenCalled();
  });

  it.each<[string, unknown]>([
    ...hostile.map((id): [string, unknown] => [`id ${String(id).slice(0, 20)}`, { id }]),
    ['id 0', { id: 0 }],
    ['no id', {}],
    ['nothing', undefined],
    ['showPayload as text', { id: 1, showPayload: 'yes' }],
    ['an extra member', { id: 1, bytes: 'AAAA' }],
  ])('mslMessage refuses %s', async (_name, request) => {
    const handler = vi.fn();
    const reply = await wrapHandler('responder.mslMessage', handler, { isTrustedSender })(TRUSTED, request);
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(handler).not.toHaveBeenCalled();
  });

  it('accepts what the screen sends', () => {
    for (const request of [undefined, {}, { after: 0 }, { after: 42 }]) expect(contract['responder.mslMessages'].request.safeParse(request).success).toBe(true);
    for (const request of [{ id: 1 }, { id: 7, showPayload: true }, { id: 7, showPayload: false }]) expect(contract['responder.mslMessage'].request.safeParse(request).success).toBe(true);
  });

  it('polls the list passively (it never holds off the idle lock); opening a row is the operator\'s act', async () => {
    expect(PASSIVE_CHANNELS.has('responder.mslMessages')).toBe(true);
    expect(PASSIVE_CHANNELS.has('responder.mslMessage')).toBe(false);
    const onActivity = vi.fn();
    await wrapHandler('responder.mslMessages', () => ({}) as never, { isTrustedSender, onActivity })(TRUSTED, { after: 0 });
    expect(onActivity).not.toHaveBeenCalled();
    await wrapHandler('responder.mslMessage', () => ({}) as never, { isTrustedSender, onActivity })(TRUSTED, { id: 1 });
    expect(onActivity).toHaveBeenCalledWith('responder.mslMessage');
  });

  it('refuses an untrusted sender before the handler runs', async () => {
    const handler = vi.fn();
    const reply = await wrapHandler('responder.mslMessages', handler, { isTrustedSender })({ senderFrame: { url: 'https://evil.example/', parent: null }, sender: { send: () => {} } }, {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    expect(handler).not.toHaveBeenCalled();
  });
});
