// `msl simulate`'s service: KeyLadder's MSL client with the device's keys
// from the store against the store's responder, in process: first contact,
// data, renewal by PSK, then by WRAP, with the device's KCVs equal to the
// session keys in the tokens the responder issued, and the echo intact.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestServices, type TestServices } from '../support/services.js';
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
    expect(report.steps.map((x) => x.step)).toEqual(['first contact (PSK)', 'data under the master token', 'renewal by PSK', 'renewal by WRAP 1', 'renewal by WRAP 2', 'renewal by WRAP 3']);
    expect(report.allOk).toBe(true);
    const [first, data, ...renewals] = report.steps;
    expect(first).toMatchObject({ renewed: true, echoed: true, masterToken: { sequence: 0 } });
    expect(first!.device!.kenc).toBe(first!.responder!.kenc);
    expect(first!.device!.khmac).toBe(first!.responder!.khmac);
    expect(data).toMatchObject({ renewed: false, echoed: true, masterToken: first!.masterToken });
    renewals.forEach((r, i) => {
      expect(r).toMatchObject({ renewed: true, echoed: true, ok: true, masterToken: { serial: first!.masterToken!.serial, sequence: i + 1 } });
      expect(r.device!.kenc).toBe(r.responder!.kenc);
    });
    // Each renewal gave new session keys.
    expect(new Set(report.steps.filter((x) => x.renewed).map((x) => x.device!.kenc)).size).toBe(5);
    // No key in the report: KCVs are six hex digits.
    expect(JSON.stringify(report)).not.toMatch(/[0-9a-fA-F]{32}/);
  });

  it('is a test, as exchange simulate is: audited as msl.test, the device\'s exchange count and wrapdata lineage untouched', async () => {
    const s = await withClient1();
    const report = await s.mslSimulate.simulate('client1', { rungs: 2 });
    expect(report.allOk).toBe(true);
    s.exchanges.flush();
    expect(s.devices.get('client1')).toMatchObject({ exchangeCount: 0 });
    expect(s.audit.list({ action: 'msl' })).toEqual([]);
    const tests = s.audit.list({ action: 'msl.test' });
    expect(tests).toHaveLength(report.steps.length);
    expect(tests.every((r) => r.outcome === 'ok' && r.subject === 'client1')).toBe(true);
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

  it('a revoked device: the first contact gets an error header and the report says so', async () => {
    const s = await withClient1();
    s.devices.revoke('client1');
    const report = await s.mslSimulate.simulate('client1');
    expect(report.allOk).toBe(false);
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]!.error).toMatch(/^10\d{4}/);
  });
});
