// KeyLadder's MSL client: it accepts every response MSL's own server gave
// (driven by the captured requests, adoptRequest), refuses forged or
// mismatched responses, and its own requests open with the server's keys.
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { MslClient } from '../../electron/msl/client.js';
import { MslError } from '../../electron/msl/errors.js';
import { openHeader, writeMessageHeader, type ParsedMessageHeader } from '../../electron/msl/header.js';
import { nextMessageId } from '../../electron/msl/headerData.js';
import { selectKeyRequest } from '../../electron/msl/keyExchange.js';
import { openMasterToken, sessionContext } from '../../electron/msl/masterToken.js';
import { openPayloads, parseMessage, payloadChunkTexts, writeMessage } from '../../electron/msl/message.js';
import { decoded, messageBytes, pskOf, server1Rsa } from '../support/mslVectors.js';
import { client9Psk, contextFor, pskContext, tokenContext } from '../support/mslWire.js';

const T = 1796626903;
const trusted = (): Map<string, ReturnType<typeof server1Rsa>['publicKey']> => new Map([['rsakeyid1', server1Rsa().publicKey]]);

async function clientOf(identity: 'client1' | 'client2' | 'client9', options: { now?: () => number; trustedServerKeys?: Map<string, any> } = {}): Promise<MslClient> {
  const psk = identity === 'client9' ? client9Psk() : pskOf(identity);
  return MslClient.create({ identity, longTerm: { mechanism: 'PSK', encryptionKey: psk.kpe, hmacKey: psk.kph }, trustedServerKeys: options.trustedServerKeys ?? trusted(), now: options.now ?? (() => T) });
}

const text = (b: Uint8Array): string => fromUtf8(b)!;

async function rejected(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MslError) return e.code;
    throw e;
  }
  throw new Error('did not reject');
}

/** Replays one captured exchange through `client`. */
async function replay(client: MslClient, n: '001' | '002' | '003' | '004' | '005' | '006' | '007' | '008') {
  client.adoptRequest(messageBytes(n, 'request'));
  return client.accept(messageBytes(n, 'response'));
}

/** client1 after 001: holding token 0 and its session keys. */
async function afterFirstContact(now?: () => number): Promise<MslClient> {
  const client = await clientOf('client1', now ? { now } : {});
  await replay(client, '001');
  return client;
}

describe('the client accepts every response MSL’s server gave', () => {
  it('client1: first contact (001), renewal by PSK (002), by WRAP (003), no rekey (004), GZIP (008)', async () => {
    const client = await clientOf('client1');
    const r1 = await replay(client, '001');
    expect(text(r1.payload)).toBe('run A: hello via PSK handshake');
    expect(r1).toMatchObject({ renewed: true, masterToken: { serial: 2254509952953800, sequence: 0 } });
    const jwk = decoded('001', 'response').headerdata.keyresponsedata.keydata;
    expect(r1.kcvs).toMatchObject({ kenc: kcv(Buffer.from(jwk.encryptionkey.jwk.k, 'base64url'), 'aes'), khmac: kcv(Buffer.from(jwk.hmackey.jwk.k, 'base64url'), 'hmac') });
    expect(client.serverNow()).toBe(decoded('001', 'response').headerdata.timestamp);

    const r2 = await replay(client, '002');
    expect([text(r2.payload), r2.renewed, r2.masterToken]).toEqual(['run B1: renewal via PSK', true, { serial: 2254509952953800, sequence: 1 }]);
    const r3 = await replay(client, '003');
    expect([text(r3.payload), r3.renewed, r3.masterToken]).toEqual(['run B2: renewal via WRAP', true, { serial: 2254509952953800, sequence: 2 }]);
    const r4 = await replay(client, '004');
    expect([text(r4.payload), r4.renewed, r4.masterToken]).toEqual(['run C: master token only', false, { serial: 2254509952953800, sequence: 2 }]);
    const r8 = await replay(client, '008');
    const want8 = decoded('008', 'response').payload_chunks[0].payload.data;
    expect([r8.renewed, r8.compressed, r8.payload.length, r8.masterToken]).toEqual([true, true, want8.len, { serial: 1549821910986206, sequence: 0 }]);
    // The echo of what the client sent (its own request opened with its PSK).
    const sent = parseMessage(messageBytes('008', 'request'));
    const sentId = openHeader(sent.header as ParsedMessageHeader, pskContext('client1')).messageId;
    expect(r8.payload).toEqual(openPayloads(sent.chunks, pskContext('client1'), sentId).data);
  });

  it('client9 (unknown to the server): the error header, FAIL 104005', async () => {
    const result = await replay(await clientOf('client9'), '005');
    expect(result.error).toMatchObject({ errorCode: 1, internalCode: 104005, errorMsg: 'Entity not recognized.' });
    expect(result.payload.length).toBe(0);
  });

  it('client2: a handshake (006, no payload), then non-replayable with the new token (007)', async () => {
    const client = await clientOf('client2');
    const r6 = await replay(client, '006');
    expect([r6.chunks, r6.renewed, r6.masterToken]).toEqual([0, true, { serial: 968045932037594, sequence: 0 }]);
    // Its next request is what MSL's client sent as 007: the handshake response's id + 1, non-replayable id 1, under the new token.
    const next = parseMessage(client.request({ payload: utf8('run E: non-replayable'), renew: false, nonReplayable: true }));
    const want7 = decoded('007', 'request').headerdata;
    const ours = openHeader(next.header as ParsedMessageHeader, contextFor(next.header));
    expect([ours.messageId, ours.nonReplayableId, ours.sender]).toEqual([want7.messageid, want7.nonreplayableid, want7.sender]);
    const r7 = await replay(client, '007');
    expect([text(r7.payload), r7.renewed]).toEqual(['run E: non-replayable', false]);
  });
});

describe('the client refuses', () => {
  it('a response to another message id', async () => {
    const client = await clientOf('client1');
    client.adoptRequest(messageBytes('001', 'request'));
    expect(await rejected(client.accept(messageBytes('008', 'response')))).toBe('UNEXPECTED_RESPONSE_MESSAGE_ID');
  });

  it('a server RSA key id it does not trust', async () => {
    const client = await clientOf('client1', { trustedServerKeys: new Map() });
    client.adoptRequest(messageBytes('001', 'request'));
    expect(await rejected(client.accept(messageBytes('001', 'response')))).toBe('ENTITYAUTH_VERIFICATION_FAILED');
  });

  it('a response under a master token other than the one it sent', async () => {
    const client = await afterFirstContact();
    client.adoptRequest(messageBytes('002', 'request'));
    expect(await rejected(client.accept(messageBytes('004', 'response')))).toBe('MASTERTOKEN_UNTRUSTED');
  });

  it('a payload under other keys than the key response gave, and a payload whose signature was altered', async () => {
    const response = text(messageBytes('001', 'response'));
    const at = response.indexOf('{"payload"');
    const foreign = text(messageBytes('008', 'response'));
    const swapped = utf8(response.slice(0, at) + foreign.slice(foreign.indexOf('{"payload"')));
    const client = await clientOf('client1');
    client.adoptRequest(messageBytes('001', 'request'));
    expect(await rejected(client.accept(swapped))).toBe('PAYLOAD_VERIFICATION_FAILED');
    const chunk = JSON.parse(response.slice(at));
    chunk.signature = Buffer.alloc(32, 1).toString('base64');
    const again = await clientOf('client1');
    again.adoptRequest(messageBytes('001', 'request'));
    expect(await rejected(again.accept(utf8(response.slice(0, at) + JSON.stringify(chunk))))).toBe('PAYLOAD_VERIFICATION_FAILED');
  });

  it('a key response to a request that asked for none', async () => {
    const client = await afterFirstContact();
    // 004's request asks for a PSK renewal; without key request data the same response would be refused:
    // build that case from our own request instead.
    const request = client.request({ payload: utf8('x'), renew: false });
    const { header } = parseMessage(request);
    const token = openMasterToken((header as ParsedMessageHeader).masterToken!.json, [tokenContext()]);
    const ctx = sessionContext(token, token.identity, token.keys);
    const data = openHeader(header as ParsedMessageHeader, ctx);
    expect(data.keyRequestData).toEqual([]);
    const keyResponse = JSON.parse(text(messageBytes('001', 'response')).split('{"payload"')[0]!);
    const kr = JSON.parse(Buffer.from(keyResponse.headerdata, 'base64').toString()).keyresponsedata;
    const reply = writeMessageHeader({ masterToken: token.json }, { messageId: nextMessageId(data.messageId), renewable: false, handshake: false, keyResponseDataJson: JSON.stringify(kr) }, ctx);
    expect(await rejected(client.accept(writeMessage(reply)))).toBe('KEYX_RESPONSE_REQUEST_MISMATCH');
  });

  it('drops its master token on ENTITY_REAUTH', async () => {
    const client = await afterFirstContact();
    expect(client.masterToken).toBeDefined();
    const request = client.request({ payload: utf8('x'), renew: false });
    const { header } = parseMessage(request);
    const { writeErrorHeader } = await import('../../electron/msl/errorHeader.js');
    const { serverRsaContext, SERVER_ENTITY } = await import('../support/mslWire.js');
    const error = writeErrorHeader(SERVER_ENTITY, new MslError('MASTERTOKEN_UNTRUSTED'), 5, T, serverRsaContext());
    expect(header.kind).toBe('message');
    const result = await client.accept(writeMessage(error));
    expect(result.error).toMatchObject({ errorCode: 3, internalCode: 101000 });
    expect(client.masterToken).toBeUndefined();
  });
});

describe('the client’s own requests', () => {
  it('first contact: PSK entity auth, renewable, JWE_LADDER/PSK, payload in a data chunk and an end chunk', async () => {
    const client = await clientOf('client1');
    const { header, chunks } = parseMessage(client.request({ payload: utf8('hello') }));
    expect(header.kind === 'message' && header.entityAuth).toEqual({ scheme: 'PSK', identity: 'client1' });
    const data = openHeader(header as ParsedMessageHeader, pskContext('client1'));
    expect(data).toMatchObject({ renewable: true, handshake: false, timestamp: T, capabilities: { compressionAlgos: ['GZIP', 'LZW'] } });
    expect(selectKeyRequest(data.keyRequestData)).toEqual({ mechanism: 'PSK' });
    expect(data.messageId).toBeLessThan(2 ** 53);
    const payloads = openPayloads(chunks, pskContext('client1'), data.messageId);
    expect([text(payloads.data), payloads.chunks]).toEqual(['hello', 2]);
  });

  it('with a token: under its session keys, sender set, a server answer accepted, GZIP when smaller, non-replayable ids counting up', async () => {
    let now = T + 1;
    const client = await afterFirstContact(() => now);
    // Words in a pseudo-random order: compressible, but under MSL's deflate ratio cap.
    const words = ['alpha', 'beta', 'gamma', 'delta', 'token', 'chunk', 'msl'];
    let seed = 7;
    const big = utf8(Array.from({ length: 4000 }, () => words[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % words.length]).join(' '));
    const request = client.request({ payload: big, renew: false, compression: 'GZIP', nonReplayable: true });
    const { header, chunks } = parseMessage(request);
    const token = openMasterToken((header as ParsedMessageHeader).masterToken!.json, [tokenContext()]);
    const ctx = sessionContext(token, token.identity, token.keys);
    const data = openHeader(header as ParsedMessageHeader, ctx);
    expect(data).toMatchObject({ sender: 'client1', renewable: false, nonReplayableId: 1, keyRequestData: [] });
    const payloads = openPayloads(chunks, ctx, data.messageId);
    expect([payloads.compressed, payloads.data]).toEqual([true, big]);
    // The server's answer, with its clock 10 s ahead.
    const id = nextMessageId(data.messageId);
    const reply = writeMessage(writeMessageHeader({ masterToken: token.json }, { messageId: id, timestamp: now + 10, renewable: false, handshake: false }, ctx), payloadChunkTexts(utf8('echo'), ctx, id));
    const result = await client.accept(reply);
    expect([text(result.payload), result.renewed]).toEqual(['echo', false]);
    expect(client.serverNow()).toBe(now + 10);
    const second = openHeader(parseMessage(client.request({ payload: utf8('y'), renew: false, nonReplayable: true })).header as ParsedMessageHeader, ctx);
    expect(second.nonReplayableId).toBe(2);
    // Once the server clock reaches the renewal window it asks for a rekey, by WRAP.
    now = token.renewalWindow;
    const renewing = openHeader(parseMessage(client.request({ payload: utf8('z') })).header as ParsedMessageHeader, ctx);
    expect([renewing.renewable, selectKeyRequest(renewing.keyRequestData)?.mechanism]).toEqual([true, 'WRAP']);
  });

  it('a model-group client authenticates as MGK and asks for an MGK key exchange', async () => {
    const psk = pskOf('client2');
    const client = await MslClient.create({ identity: 'group-device-1', longTerm: { mechanism: 'MGK', encryptionKey: psk.kpe, hmacKey: psk.kph }, trustedServerKeys: trusted(), now: () => T });
    const { header } = parseMessage(client.request({ payload: utf8('x') }));
    expect(header.kind === 'message' && header.entityAuth).toEqual({ scheme: 'MGK', identity: 'group-device-1' });
    const { SymmetricCryptoContext } = await import('../../electron/msl/symmetricContext.js');
    const data = openHeader(header as ParsedMessageHeader, new SymmetricCryptoContext('group-device-1', psk.kpe, psk.kph));
    expect(selectKeyRequest(data.keyRequestData)).toEqual({ mechanism: 'MGK' });
    expect(() => client.request({ renew: 'PSK' })).toThrow(RangeError);
  });

  it('refuses to build what MSL forbids', async () => {
    const client = await clientOf('client1');
    expect(() => client.request({ payload: utf8('x'), nonReplayable: true })).toThrow(MslError);
    expect(() => client.request({ renew: 'WRAP' })).toThrow(RangeError);
    expect(() => client.request({ renew: 'MGK' })).toThrow(RangeError);
    expect(() => client.request({ handshake: true, payload: utf8('x') })).toThrow(RangeError);
  });
});
