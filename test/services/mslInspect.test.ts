// `keyladder msl inspect`'s service: MSL's captured messages decoded with the
// keys a store holds (client1's PSK keys, server1's RSA public key and MSL's
// server's master-token keys, from the sample configurations): who speaks,
// whether the signature holds, the header data and the master tokens, and
// never a key or the payload.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { kcv } from '../../electron/jwe/kcv.js';
import { MslClient } from '../../electron/msl/client.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { client1Psk, decoded, messageBytes, server1Rsa } from '../support/mslVectors.js';
import { tokenKeys } from '../support/mslWire.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A store holding what MSL's sample server holds: client1's PSK keys, server1's
 * RSA key pair rsakeyid1 and (unless `tokens` is false) its master-token keys
 * msl.key.enc/hmac, with the clock at 001's request time.
 */
async function inspector(options: { tokens?: boolean; provision?: boolean } = {}) {
  t = await openTestServices();
  const s = t.services;
  const psk = client1Psk();
  if (options.provision ?? true) s.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: hex(psk.kpe), kph: hex(psk.kph) } });
  await s.msl.keys.importIdentity(server1Rsa().privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'rsakeyid1', 'server1');
  if (options.tokens ?? true) s.msl.keys.importTokenKeys(hex(tokenKeys().enc), hex(tokenKeys().hmac));
  t.clock.now = new Date(decoded('001', 'request').headerdata.timestamp * 1000);
  return s.mslInspect;
}

describe('MslInspectService.inspect', () => {
  it('a first contact: the device, its PSK keys by KCV, a valid signature, the key request and the chunk sizes', async () => {
    const svc = await inspector();
    const out = svc.inspect(messageBytes('001', 'request'));
    const psk = client1Psk();
    expect(out).toMatchObject({
      kind: 'message',
      sender: { kind: 'entity', scheme: 'PSK', identity: 'client1' },
      signature: 'valid',
      header: { messageId: decoded('001', 'request').headerdata.messageid, renewable: true, handshake: false, keyRequests: [{ scheme: 'JWE_LADDER', mechanism: 'PSK' }] },
      payload: { chunks: 2 },
    });
    expect(out.key).toContain(kcv(psk.kpe, 'aes'));
    expect(out.key).toContain(kcv(psk.kph, 'hmac'));
    expect(out.header!.capabilities!.compression).toEqual(['LZW', 'GZIP']);
    expect(out.payload.encryptedBytes.every((n: number) => n > 0)).toBe(true);
    const id = decoded('001', 'request').headerdata.messageid;
    expect(out.chunks).toEqual([
      { sequenceNumber: 1, messageId: id, endOfMessage: false, dataBytes: 30 },
      { sequenceNumber: 2, messageId: id, endOfMessage: true, dataBytes: 0 },
    ]);
    const text = JSON.stringify(out);
    expect(text).not.toContain(hex(psk.kpe));
    expect(text).not.toContain('hello via PSK');
  });

  it("the server's answer: its RSA key by thumbprint, and the new master token opened with the store's token keys (session keys by KCV)", async () => {
    const svc = await inspector();
    const out = svc.inspect(messageBytes('001', 'response'));
    const token = decoded('001', 'response').headerdata.keyresponsedata.mastertoken.tokendata;
    const session = token.sessiondata.plaintext;
    expect(out).toMatchObject({ kind: 'message', sender: { kind: 'entity', scheme: 'RSA', identity: 'server1', pubkeyid: 'rsakeyid1' }, signature: 'valid' });
    expect(out.key).toMatch(/thumbprint [A-Za-z0-9_-]{43}/);
    expect(out.header!.keyResponse).toMatchObject({
      scheme: 'JWE_LADDER',
      masterToken: {
        serialNumber: token.serialnumber,
        sequenceNumber: 0,
        state: 'current',
        opened: {
          identity: 'client1',
                    sessionKcvs: { encryption: kcv(Buffer.from(session.encryptionkey, 'base64'), 'aes'), hmac: kcv(Buffer.from(session.hmackey, 'base64'), 'hmac') },
        },
      },
    });
    expect(out.header!.keyResponse!.members).toEqual(['encryptionkey', 'hmackey', 'wrapdata', 'wrapkey']);
    // The echo is under the new token's session keys, which the store's token keys reveal.
    expect(out.chunks).toEqual([{ sequenceNumber: 1, messageId: decoded('001', 'response').headerdata.messageid, endOfMessage: true, dataBytes: 30 }]);
    expect(JSON.stringify(out)).not.toContain(session.hmackey);
  });

  it('a request under a master token: the token opened, the header under its session keys', async () => {
    const svc = await inspector();
    const out = svc.inspect(messageBytes('002', 'request'));
    const tokendata = decoded('002', 'request').mastertoken.tokendata;
    expect(out).toMatchObject({
      sender: { kind: 'master-token', token: { serialNumber: tokendata.serialnumber, sequenceNumber: tokendata.sequencenumber, opened: { identity: 'client1' } } },
      signature: 'valid',
      header: { sender: 'client1', keyRequests: [{ scheme: 'JWE_LADDER', mechanism: 'PSK' }] },
    });
  });

  it('a GZIP payload: the compression and the inflated size, both ways', async () => {
    const svc = await inspector();
    expect(svc.inspect(messageBytes('008', 'request')).chunks).toMatchObject([{ compression: 'GZIP', dataBytes: 55844 }, { endOfMessage: true, dataBytes: 0 }]);
    expect(svc.inspect(messageBytes('008', 'response')).chunks).toMatchObject([{ compression: 'GZIP', dataBytes: 55844, endOfMessage: true }]);
  });

  it('a token the store cannot open (no token keys): its numbers, and why the header was not checked', async () => {
    const svc = await inspector({ tokens: false });
    const out = svc.inspect(messageBytes('002', 'request'));
    expect(out).toMatchObject({ signature: 'no key', problemCode: 'MASTERTOKEN_UNTRUSTED' });
    expect(out.header).toBeUndefined();
    expect(out.sender).toMatchObject({ kind: 'master-token', token: { notOpened: expect.stringContaining('MASTERTOKEN_UNTRUSTED') } });
    expect(out.chunks).toBeUndefined();
    // A first contact's answer: the header verifies under the server's key, its echo stays closed.
    const answer = svc.inspect(messageBytes('001', 'response'));
    expect(answer).toMatchObject({ signature: 'valid', chunkProblem: expect.stringContaining('does not open') });
    expect(answer.chunks).toBeUndefined();
  });

  it("an error header: MSL's codes, under the server's RSA key", async () => {
    const svc = await inspector();
    const out = svc.inspect(messageBytes('005', 'response'));
    expect(out).toMatchObject({ kind: 'error', signature: 'valid', error: { responseCode: 1, internalCode: 104005, errorMsg: 'Entity not recognized.' }, payload: { chunks: 0 } });
  });

  it('a signature over other bytes is invalid, and the header is not decrypted', async () => {
    const svc = await inspector();
    const bytes = messageBytes('001', 'request');
    const text = Buffer.from(bytes).toString('utf8');
    const header = JSON.parse(text.slice(0, text.indexOf('}{') + 1)) as { signature: string };
    const sig = Buffer.from(header.signature, 'base64');
    sig[0]! ^= 1;
    const forged = text.replace(header.signature, sig.toString('base64'));
    const out = svc.inspect(new Uint8Array(Buffer.from(forged)));
    expect(out).toMatchObject({ signature: 'invalid', problemCode: 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED' });
    expect(out.header).toBeUndefined();
  });

  it('an unknown device: no key for this identity, with the responder\'s name for it; garbage: unreadable, with the MSL code', async () => {
    const svc = await inspector({ provision: false });
    expect(svc.inspect(messageBytes('001', 'request'))).toMatchObject({ signature: 'no key', problem: expect.stringContaining('ENTITY_NOT_FOUND'), problemCode: 'ENTITY_NOT_FOUND' });
    expect(svc.inspect(new Uint8Array(Buffer.from('{"headerdata":"AA==","signature":"AA=="}garbage')))).toMatchObject({ unreadable: { code: expect.any(String) }, signature: 'not checked' });
  });

  it("an MGK device's request: its model group's Kde/Kdh by KCV (the MSL wiki's MGK entity authentication)", async () => {
    const svc = await inspector();
    const kde = randomBytes(16), kdh = randomBytes(32);
    t!.services.groups.add('model-a', { kind: 'kde-kdh', kde: hex(kde), kdh: hex(kdh) });
    t!.services.devices.provision({ identity: 'ESN-MGK-1', group: 'model-a', keys: { kind: 'generate' } });
    const client = await MslClient.create({ identity: 'ESN-MGK-1', longTerm: { mechanism: 'MGK', encryptionKey: kde, hmacKey: kdh }, trustedServerKeys: new Map() });
    const out = svc.inspect(client.request({ renew: 'MGK', payload: new Uint8Array(5) }));
    expect(out).toMatchObject({ sender: { kind: 'entity', scheme: 'MGK', identity: 'ESN-MGK-1' }, signature: 'valid', header: { keyRequests: [{ scheme: 'JWE_LADDER', mechanism: 'MGK' }] } });
    expect(out.key).toBe(`model group model-a's Kde/Kdh (KCVs ${kcv(kde, 'aes')}/${kcv(kdh, 'hmac')})`);
    expect(out.chunks!.reduce((n, c) => n + c.dataBytes, 0)).toBe(5);
  });

  /** client1 (PSK) as KeyLadder's own MSL client writes it, trusting server1's key. */
  const client1 = () => {
    const psk = client1Psk();
    return MslClient.create({
      identity: 'client1', longTerm: { mechanism: 'PSK', encryptionKey: psk.kpe, hmacKey: psk.kph },
      trustedServerKeys: new Map([['rsakeyid1', server1Rsa().publicKey]]), now: () => Math.floor(t!.clock.now.getTime() / 1000),
    });
  };

  it('the payload: only when asked, as text when it holds no key material; never its key members, binary data or more than 64 KiB', async () => {
    const svc = await inspector();
    expect(svc.inspect(messageBytes('001', 'request')).payloadData).toBeUndefined();
    expect(svc.inspect(messageBytes('001', 'request'), { showPayload: true }).payloadData).toEqual({ bytes: 30, text: 'run A: hello via PSK handshake' });
    const c = await client1();
    const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const keyed = svc.inspect(c.request({ renew: 'PSK', payload: Buffer.from(JSON.stringify({ note: 'x', kpe: secret })) }), { showPayload: true });
    expect(keyed.payloadData).toMatchObject({ withheld: { reason: 'key-members', members: ['note', 'kpe'] } });
    expect(JSON.stringify(keyed)).not.toContain(secret);
    // A JWK two levels down, and a compact JWS whose payload is one: withheld all the same (jose/keyMembers.ts).
    const nested = svc.inspect(c.request({ renew: 'PSK', payload: Buffer.from(JSON.stringify({ a: { b: [{ kty: 'oct', k: secret }] } })) }), { showPayload: true });
    expect(nested.payloadData?.withheld?.reason).toBe('key-members');
    const binary = svc.inspect(c.request({ renew: 'PSK', payload: new Uint8Array([0xff, 0xfe, 0x00, 0x80]) }), { showPayload: true });
    expect(binary.payloadData).toEqual({ bytes: 4, withheld: { reason: 'binary', members: [] } });
    const large = svc.inspect(c.request({ renew: 'PSK', payload: Buffer.alloc(64 * 1024 + 1, 0x61) }), { showPayload: true });
    expect(large.payloadData).toEqual({ bytes: 64 * 1024 + 1, withheld: { reason: 'too-large', members: [] } });
    expect(JSON.stringify(large)).not.toContain('aaaaaaaa');
  });

  it("a master token: issued by this store (its serial recorded) or only opened with its token keys (MSL's server issued 001's)", async () => {
    const svc = await inspector();
    const captured = svc.inspect(messageBytes('001', 'response')).header!.keyResponse!.masterToken;
    expect(captured.issued).toEqual({ byThisStore: 'keys-only' });
    const c = await client1();
    const answer = t!.services.mslResponder.answer(c.request({ renew: 'PSK', payload: Buffer.from('hi') }), { client: '127.0.0.1' });
    const ours = svc.inspect(answer.body, { showPayload: true });
    expect(ours.header!.keyResponse!.masterToken).toMatchObject({ opened: { identity: 'client1', tokenKeyGeneration: expect.any(Number) }, issued: { byThisStore: 'yes', newestSequence: 0 } });
    expect(ours.payloadData).toEqual({ bytes: 2, text: 'hi' });
  });

  it('chunks out of order, or after the end of the message: listed, and refused with the responder\'s names (PayloadSequence)', async () => {
    const svc = await inspector();
    const text = Buffer.from(messageBytes('001', 'request')).toString('utf8');
    const [header, first, second] = text.split(/(?<=\})(?=\{)/) as [string, string, string];
    const swapped = svc.inspect(new Uint8Array(Buffer.from(header + second + first)), { showPayload: true });
    expect(swapped).toMatchObject({ signature: 'valid', chunks: [{ sequenceNumber: 2 }], chunkProblemCode: 'PAYLOAD_SEQUENCE_NUMBER_MISMATCH', chunkProblem: 'chunk 1: PAYLOAD_SEQUENCE_NUMBER_MISMATCH' });
    expect(swapped.payloadData).toBeUndefined();
    const repeated = svc.inspect(new Uint8Array(Buffer.from(header + first + second + second)));
    expect(repeated).toMatchObject({ chunkProblemCode: 'MESSAGE_FORMAT_ERROR', chunkProblem: expect.stringContaining('CHUNK_AFTER_END_OF_MESSAGE') });
    expect(repeated.chunks).toHaveLength(3);
  });

  it("a token whose device is revoked still opens, and says the responder's refusal (MASTERTOKEN_IDENTITY_REVOKED); a revoked device's own request: ENTITY_REVOKED, not checked", async () => {
    const svc = await inspector();
    expect(svc.inspect(messageBytes('003', 'request')).sender).not.toHaveProperty('token.refusedNow');
    t!.services.devices.revoke('client1');
    const out = svc.inspect(messageBytes('003', 'request'));
    expect(out).toMatchObject({ signature: 'valid', sender: { kind: 'master-token', token: { opened: { identity: 'client1' }, refusedNow: 'MASTERTOKEN_IDENTITY_REVOKED (DEVICE_REVOKED)' } } });
    expect(svc.inspect(messageBytes('001', 'request'))).toMatchObject({ signature: 'not checked', problemCode: 'ENTITY_REVOKED' });
  });

  it("a token of a deleted device says the responder's refusal (DEVICE_DELETED) and whose it was, also once the identity is provisioned again; the new device's token does not", async () => {
    const svc = await inspector();
    const s = t!.services;
    s.devices.deleteSelected({ kind: 'identities', identities: ['client1'] });
    const deletedToken = { opened: { identity: 'client1' }, issued: { byThisStore: 'deleted-device' }, refusedNow: 'MASTERTOKEN_IDENTITY_REVOKED (DEVICE_DELETED)' };
    expect(svc.inspect(messageBytes('003', 'request'))).toMatchObject({ signature: 'valid', sender: { kind: 'master-token', token: deletedToken } });
    const psk = client1Psk();
    s.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: hex(psk.kpe), kph: hex(psk.kph) }, reuseIdentity: true });
    expect(svc.inspect(messageBytes('003', 'request'))).toMatchObject({ signature: 'valid', sender: { kind: 'master-token', token: deletedToken } });
    // The reused identity's first contact, answered by this store's responder: its token is the new device's.
    const answered = s.mslResponder.answer(messageBytes('001', 'request'), { client: '127.0.0.1' });
    expect(answered.kind).toBe('answered');
    s.exchanges.flush();
    const fresh = svc.inspect(answered.body).header?.keyResponse?.masterToken;
    expect(fresh).toMatchObject({ opened: { identity: 'client1' }, issued: { byThisStore: 'yes' } });
    expect(fresh).not.toHaveProperty('refusedNow');
  });

  it('writes nothing: no audit record, no device bookkeeping', async () => {
    const svc = await inspector();
    const before = t!.services.audit.list({}).length;
    for (const n of ['001', '002', '003', '005'] as const) {
      svc.inspect(messageBytes(n, 'request'));
      svc.inspect(messageBytes(n, 'response'));
    }
    expect(t!.services.audit.list({})).toHaveLength(before);
    expect(t!.services.devices.get('client1')).toMatchObject({ exchangeCount: 0 });
  });
});
