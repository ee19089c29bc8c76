// `msl simulate`'s service: KeyLadder's MSL client with the device's keys
// from the store against the store's responder, in process: first contact,
// data, renewal by PSK, then by WRAP, a handshake and a non-replayable message, with the device's KCVs equal to the
// session keys in the tokens the responder issued, and the echo intact.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { dumpStore } from '../support/storeFiles.js';
import { client1Psk } from '../support/mslVectors.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function withClient1() {
  t = await openTestServices();
  const psk = client1Psk();
  t.services.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: hex(psk.kpe), kph: hex(psk.kph) } });
  return t.services;
}

describe('MslSimulateService.simulate, in process', () => {
  it('first contact, data, renewal by PSK and 3 by WRAP: one serial, sequence + 1 each renewal, KCVs equal on both sides', async () => {
    const s = await withClient1();
    const report = await s.mslSimulate.simulate('client1', { rungs: 3 });
    expect(report.steps.map((x) => x.step)).toEqual(['first contact (PSK)', 'data under the master token', 'renewal by PSK', 'renewal by WRAP 1', 'renewal by WRAP 2', 'renewal by WRAP 3', 'handshake only', 'non-replayable data']);
    expect(report.allOk).toBe(true);
    const [first, data, ...rest] = report.steps;
    const renewals = rest.slice(0, 4);
    expect(first).toMatchObject({ renewed: true, echoed: true, masterToken: { sequence: 0 } });
    expect(first!.device!.kenc).toBe(first!.responder!.kenc);
    expect(first!.device!.khmac).toBe(first!.responder!.khmac);
    expect(data).toMatchObject({ renewed: false, echoed: true, masterToken: first!.masterToken });
    renewals.forEach((r, i) => {
      expect(r).toMatchObject({ renewed: true, echoed: true, ok: true, masterToken: { serial: first!.masterToken!.serial, sequence: i + 1 } });
      expect(r.device!.kenc).toBe(r.responder!.kenc);
    });
    // Each renewal gave new session keys.
    expect(new Set(report.steps.filter((x) => x.renewed).map((x) => x.device!.kenc)).size).toBe(6);
    // No key in the report: KCVs are six hex digits.
    expect(JSON.stringify(report)).not.toMatch(/[0-9a-fA-F]{32}/);
  });

  it('for an identity deleted and provisioned again (--reuse-identity): the simulated device is the new one, and every step under its tokens passes', async () => {
    const s = await withClient1();
    expect((await s.mslSimulate.simulate('client1', { rungs: 1 })).allOk).toBe(true);
    s.devices.deleteSelected({ kind: 'identities', identities: ['client1'] });
    const psk = client1Psk();
    s.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: hex(psk.kpe), kph: hex(psk.kph) }, reuseIdentity: true });
    const report = await s.mslSimulate.simulate('client1', { rungs: 2 });
    expect(report.allOk, JSON.stringify(report.steps.filter((x) => !x.ok))).toBe(true);
    expect(report.steps.find((x) => x.step === 'renewal by WRAP 2')).toMatchObject({ ok: true, renewed: true });
  });

  it('is a test, as exchange simulate is: audited as exchange.test with msl: true (issue 21), never as msl or msl.test', async () => {
    const s = await withClient1();
    const report = await s.mslSimulate.simulate('client1', { rungs: 2 });
    expect(report.allOk).toBe(true);
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 0 });
    expect(s.audit.list({ action: 'msl' })).toEqual([]);
    expect(s.audit.list({ action: 'msl.test' })).toEqual([]);
    const tests = s.audit.list({ action: 'exchange.test', limit: 100 });
    expect(tests).toHaveLength(report.steps.length);
    expect(tests.every((r) => r.outcome === 'ok' && r.subject === 'client1' && r.details['msl'] === true)).toBe(true);
    // The key exchanges among them name their mechanism, as the ladder's test exchanges do.
    expect(tests.map((r) => r.details['mechanism'] ?? null).reverse()).toEqual(['PSK', null, 'PSK', 'WRAP', 'WRAP', 'WRAP', null]);
  });

  it('leaves the real device alone: its wrapdata registry rows, exchange count and last exchange are what its own exchange left', async () => {
    const s = await withClient1();
    // The real device climbs once (PSK), so there is something to disturb.
    expect(s.exchanges.respond(JSON.stringify({ identity: 'client1', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } })).ok).toBe(true);
    s.exchanges.flush();
    const device = s.devices.get('client1');
    expect(device).toMatchObject({ exchangeCount: 1, lastMechanism: 'PSK' });
    const registry = async () => {
      const dump = await dumpStore(t!.dir, PASSPHRASE);
      return Object.fromEntries(Object.entries(dump).filter(([table]) => table.startsWith('wrapdata')));
    };
    const before = await registry();
    expect(before['wrapdata_issued']!.length).toBeGreaterThan(0);
    const report = await s.mslSimulate.simulate('client1', { rungs: 3 });
    expect(report.allOk).toBe(true);
    s.exchanges.flush();
    expect(await registry()).toEqual(before);
    expect(s.devices.get('client1')).toEqual(device);
  });

  it('each message is described by the store\'s inspector: the keys that protected it, the header\'s fields, the token issued, KCVs of both sides, the payload echoed', async () => {
    const s = await withClient1();
    const report = await s.mslSimulate.simulate('client1', { rungs: 1 });
    expect(report).toMatchObject({ mechanism: 'PSK', planned: 6, allOk: true });
    expect(report.steps.map((x) => x.kind)).toEqual(['first-contact', 'data', 'renewal', 'renewal', 'handshake', 'non-replayable']);
    const keyId = s.msl.keys.identity().keyId;
    const [first, data, psk, wrap, handshake, nonReplayable] = report.steps;
    const token = (x: typeof first) => `session keys of token ${x!.masterToken!.serial} (sequence ${x!.masterToken!.sequence})`;
    // First contact: the device's Kpe/Kph (named by KCV), answered under the server's RSA key by key id.
    expect(first!.request).toMatchObject({ keys: 'Kpe/Kph', signature: 'valid', header: { renewable: true, handshake: false, keyRequest: 'PSK', keyResponse: false, capabilities: 'GZIP, LZW, en-US, JSON' } });
    expect(first!.request!.keyDetail).toMatch(/^device client1's Kpe\/Kph \(KCVs [0-9A-F]{6}\/[0-9A-F]{6}\)$/);
    const device = s.devices.get('client1')!;
    expect(first!.request!.keyKcvs).toBe(`${device.kcv.kpe}/${device.kcv.kph}`);
    expect(first!.answer!.keyKcvs).toBeUndefined();
    // A message under token n names the session keys by the KCVs the device got with it.
    expect(data!.request!.keyKcvs).toBe(`${first!.device!.kenc}/${first!.device!.khmac}`);
    expect(first!.answer).toMatchObject({ keys: `server RSA key ${keyId}`, signature: 'valid', header: { keyResponse: true, messageId: first!.request!.header!.messageId + 1 }, payloadKeys: token(first) });
    expect(first!.issued).toMatchObject({ serial: first!.masterToken!.serial, sequence: 0, tokenKeyGeneration: 1 });
    expect(Date.parse(first!.issued!.renewalWindow)).toBeLessThan(Date.parse(first!.issued!.expiration));
    // Both sides' KCVs: Kwrap too (the responder's read from the wrapdata it issued).
    for (const step of [first, psk, wrap, handshake]) {
      expect(step!.match).toEqual({ kwrap: true, kenc: true, khmac: true });
      expect(step!.responder).toEqual(step!.device);
    }
    // Data: under token n's session keys both ways, no key request, the payload echoed as sent.
    expect(data!.request).toMatchObject({ keys: token(first), header: { renewable: false } });
    expect(data!.request!.header!.keyRequest).toBeUndefined();
    expect(data!.answer).toMatchObject({ keys: token(first), header: { keyResponse: false } });
    expect(data!.payload.sent).toMatch(/^step 2, data under the master token: [0-9a-f]{12}$/);
    expect(data!.payload.received).toBe(data!.payload.sent);
    // Renewals: PSK under the token, then WRAP; each issues sequence + 1.
    expect(psk!.request!.header!.keyRequest).toBe('PSK');
    expect(wrap!.request).toMatchObject({ keys: token(psk), header: { keyRequest: 'WRAP' } });
    expect(wrap!.issued!.sequence).toBe(2);
    // Handshake: flagged, renewable, no payload either way, new keys.
    expect(handshake!.request).toMatchObject({ header: { handshake: true, renewable: true, keyRequest: 'WRAP' } });
    expect(handshake!.payload).toEqual({ sent: '', received: '' });
    expect(handshake!.answer).toMatchObject({ chunks: 0, header: { keyResponse: true } });
    expect(handshake!.answer!.payloadKeys).toBeUndefined();
    expect(handshake!.renewed).toBe(true);
    // Non-replayable: the id 1 for the new token, the echo intact.
    expect(nonReplayable!.request).toMatchObject({ keys: token(handshake), header: { nonReplayableId: 1 } });
    expect(nonReplayable).toMatchObject({ echoed: true, ok: true });
    // Names and KCVs only: no 16-byte key in any form.
    expect(JSON.stringify(report)).not.toMatch(/[0-9a-fA-F]{32}/);
  });

  it('a device in a model group: first contact and renewal by MGK, under Kde/Kdh', async () => {
    const s = await withClient1();
    s.groups.add('model-a', { kind: 'generate' });
    s.devices.provision({ identity: 'ESN-MGK', group: 'model-a', keys: { kind: 'generate' } });
    const report = await s.mslSimulate.simulate('ESN-MGK', { mechanism: 'MGK', rungs: 1 });
    expect(report.allOk).toBe(true);
    expect(report.steps[0]).toMatchObject({ step: 'first contact (MGK)', request: { keys: 'Kde/Kdh', header: { keyRequest: 'MGK' } } });
    expect(report.steps[0]!.request!.keyDetail).toMatch(/^model group model-a's Kde\/Kdh/);
    expect(report.steps[2]).toMatchObject({ step: 'renewal by MGK', request: { header: { keyRequest: 'MGK' } }, match: { kwrap: true, kenc: true, khmac: true } });
  });

  it('an unknown device, or one without Kpe/Kph, is refused before anything is sent', async () => {
    const s = await withClient1();
    await expect(s.mslSimulate.simulate('client9')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    s.devices.provision({ identity: 'kpw-only', keys: { kind: 'kpw', kpw: '00112233445566778899aabbccddeeff' } });
    await expect(s.mslSimulate.simulate('kpw-only')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.mslSimulate.simulate('client1', { url: 'ftp://x/msl' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('over HTTP, an answer larger than 4 MiB is refused while it streams in, and a non-200 status is no MSL answer', async () => {
    const s = await withClient1();
    const big = Buffer.alloc(1024 * 1024, 0x20);
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/status') {
        res.writeHead(503).end('{}');
        return;
      }
      res.writeHead(200);
      let sent = 0;
      const more = () => {
        while (sent < 64 && res.write(big)) sent++;
        if (sent < 64) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => undefined);
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(s.mslSimulate.simulate('client1', { url: `http://127.0.0.1:${port}/msl` })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('more than 4194304 bytes') });
      await expect(s.mslSimulate.simulate('client1', { url: `http://127.0.0.1:${port}/status` })).rejects.toMatchObject({ message: expect.stringContaining('HTTP 503') });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a responder that cannot answer at all (its audit log unwritable): AUDIT_UNAVAILABLE with its message, not a malformed answer', async () => {
    const s = await withClient1();
    const body = new TextEncoder().encode(JSON.stringify({ error: { code: 'AUDIT_UNAVAILABLE', message: 'The audit log cannot be written (disk full).' } }));
    vi.spyOn(s.mslResponder, 'withOverrides').mockReturnValue({ answer: () => ({ kind: 'unavailable', body, code: 'AUDIT_UNAVAILABLE' }) } as unknown as ReturnType<typeof s.mslResponder.withOverrides>);
    await expect(s.mslSimulate.simulate('client1')).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE', message: 'The audit log cannot be written (disk full).' });
  });

  it('a revoked device: the first contact gets an error header and the report says so', async () => {
    const s = await withClient1();
    s.devices.revoke('client1');
    const report = await s.mslSimulate.simulate('client1');
    expect(report.allOk).toBe(false);
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]!.error).toMatch(/^10\d{4}/);
    // MSL's names for the error header, for the app's advice; its signature checked with the server's key.
    expect(report.steps[0]).toMatchObject({ mslError: { name: 'ENTITY_REVOKED', internalCode: 104025, response: 'FAIL', responseCode: 1 }, answer: { signature: 'valid' } });
    expect(report.steps[0]!.issued).toBeUndefined();
  });
});
