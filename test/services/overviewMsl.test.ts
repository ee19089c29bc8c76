// Issue 21 item 5: the Overview counts the last day's MSL messages and their
// refusals by MSL error; a device's detail (devices.get) shows its last master
// token (serial, sequence, expiry) and its last MSL message (time, outcome).
// Real messages from KeyLadder's MSL client through the MSL responder.
import { createPublicKey, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MslClient } from '../../electron/msl/client.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

describe('MSL on the Overview and in a device\'s detail', () => {
  it('counts messages and refusals by MSL error, and shows the device\'s last token and message', async () => {
    t = await openTestServices();
    const s = t.services;
    const kpe = randomBytes(16);
    const kph = randomBytes(32);
    s.devices.provision({ identity: 'ESN-OV-1', keys: { kind: 'kpe-kph', kpe: kpe.toString('hex'), kph: kph.toString('hex') } });
    s.devices.provision({ identity: 'ESN-OV-QUIET', keys: { kind: 'generate' } });
    const server = s.msl.keys.identity();
    const now = () => Math.floor(t!.clock.now.getTime() / 1000);
    const client = (identity: string) => MslClient.create({ identity, longTerm: { mechanism: 'PSK', encryptionKey: kpe, hmacKey: kph }, trustedServerKeys: new Map([[server.keyId, createPublicKey(server.pem)]]), now });
    const send = async (c: MslClient, body: Uint8Array) => c.accept(s.mslResponder.answer(body, { client: '127.0.0.1' }).body);

    expect(s.overview.get().msl).toMatchObject({ messages: 0, refused: 0, byError: [] });
    expect(s.devices.get('ESN-OV-1').msl).toEqual({ lastToken: null, lastMessage: null });

    const device = await client('ESN-OV-1');
    const first = await send(device, device.request({ payload: Buffer.from('one') }));
    await send(device, device.request({ payload: Buffer.from('two'), renew: false }));
    const stranger = await client('ESN-OV-NOBODY');
    await send(stranger, stranger.request({ payload: Buffer.from('x') }));
    await send(stranger, stranger.request({ payload: Buffer.from('y') }));
    // A message without a token that asks for none: no key to encrypt the echo, refused with its own MSL error.
    const fresh = await client('ESN-OV-1');
    expect((await send(fresh, fresh.request({ payload: Buffer.from('z'), renew: false }))).error).toBeDefined();

    const overview = s.overview.get();
    expect(overview.msl.messages).toBe(5);
    expect(overview.msl.refused).toBe(3);
    expect(overview.msl.byError).toEqual([{ code: 'ENTITY_NOT_FOUND', count: 2 }, { code: 'RESPONSE_REQUIRES_MASTERTOKEN', count: 1 }]);
    expect(overview.msl.since).toBe(overview.refusals.since);

    const detail = s.devices.get('ESN-OV-1');
    expect(detail.msl?.lastToken).toEqual({ serial: first.masterToken!.serial, sequence: 0, at: t.clock.now.toISOString(), expiresAt: expect.any(String) });
    expect(Date.parse(detail.msl!.lastToken!.expiresAt)).toBeGreaterThan(t.clock.now.getTime());
    expect(detail.msl?.lastMessage).toMatchObject({ at: t.clock.now.toISOString(), outcome: 'refused' });
    expect(s.devices.get('ESN-OV-QUIET').msl).toEqual({ lastToken: null, lastMessage: null });
    // The list stays as it was: the MSL facts are the detail's.
    expect(s.devices.list({ prefix: 'ESN-OV-1' }).items[0]).not.toHaveProperty('msl');
  });
});
