// Answering devices from the store: PSK, MGK and WRAP; revoked and unknown
// identities; refusals by MSL's error names; and the bookkeeping every answer
// leaves (device and Kissuer generation), batched and not.
import { afterEach, describe, expect, it } from 'vitest';
import { acceptKeyResponse, importWrappingKey, LadderRequestor } from '../support/device.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const v = deriveVector();
const KDW = '0f0e0d0c0b0a09080706050403020100';

const request = (identity: string, keydata: Record<string, string>): string => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });
const psk = (identity: string) => request(identity, { mechanism: 'PSK' });
const mgk = (identity: string) => request(identity, { mechanism: 'MGK' });
const wrap = (identity: string, wrapdata: string) => request(identity, { mechanism: 'WRAP', wrapdata });

const keyOf = (hex: string) => importWrappingKey(new Uint8Array(Buffer.from(hex, 'hex')));

function refusal(json: string): { code: string; reason?: string; message: string } {
  return (JSON.parse(json) as { error: { code: string; reason?: string; message: string } }).error;
}

async function setup(batch = false): Promise<TestServices> {
  t = await openTestServices({ batch });
  t.services.groups.add('model-a', { kind: 'kdw', kdw: KDW });
  t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex }, group: 'model-a' });
  t.services.devices.provision({ identity: 'ESN-NO-GROUP', keys: { kind: 'kpw', kpw: v.kpw_hex } });
  return t;
}

describe('answers', () => {
  it('PSK: the device unwraps the answer with its Kpw; then climbs with WRAP', async () => {
    const { services: s } = await setup();
    for (const profile of ['msl', 'rfc7516'] as const) {
      const device = new LadderRequestor(v.identity, await keyOf(v.kpw_hex), 'PSK', profile);
      for (let rung = 0; rung < 3; rung++) {
        const out = s.exchanges.respond(JSON.stringify(device.nextRequest()), profile);
        expect(out.ok, out.json).toBe(true);
        expect(out.identity).toBe(v.identity);
        const keys = await device.accept(parseJson(out.json));
        expect(keys.wrapdata.length).toBe(33); // keyladder-v1 wrapdata
      }
    }
  });

  it('MGK: a device of a model group gets an answer under the group\'s Kdw', async () => {
    const { services: s } = await setup();
    const out = s.exchanges.respond(mgk(v.identity));
    expect(out.ok).toBe(true);
    const keys = await acceptKeyResponse(parseJson(out.json), await keyOf(KDW));
    expect(keys.kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
    // Not under its own Kpw.
    await expect(acceptKeyResponse(parseJson(out.json), await keyOf(v.kpw_hex))).rejects.toMatchObject({ code: 'JWE_DECRYPTION_ERROR' });
  });

  it('MGK without a model group: UNSUPPORTED_KEYX_MECHANISM; PSK still works for that device', async () => {
    const { services: s } = await setup();
    const out = s.exchanges.respond(mgk('ESN-NO-GROUP'));
    expect(out).toMatchObject({ ok: false, code: 'UNSUPPORTED_KEYX_MECHANISM', identity: 'ESN-NO-GROUP' });
    expect(refusal(out.json)).toMatchObject({ code: 'UNSUPPORTED_KEYX_MECHANISM', reason: 'NO_MODEL_GROUP' });
    expect(s.exchanges.respond(psk('ESN-NO-GROUP')).ok).toBe(true);
  });

  it('an unknown identity: ENTITY_NOT_FOUND for PSK and MGK', async () => {
    const { services: s } = await setup();
    for (const json of [psk('ESN-UNKNOWN'), mgk('ESN-UNKNOWN')]) {
      const out = s.exchanges.respond(json);
      expect(out).toMatchObject({ ok: false, code: 'ENTITY_NOT_FOUND', identity: 'ESN-UNKNOWN' });
      expect(refusal(out.json).message).toMatch(/not provisioned/);
    }
  });

  it('a revoked device: ENTITY_REVOKED for PSK, MGK and WRAP (even with wrapdata issued before)', async () => {
    const { services: s } = await setup();
    const device = new LadderRequestor(v.identity, await keyOf(v.kpw_hex));
    await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
    const wrapRequest = JSON.stringify(device.nextRequest());
    expect(JSON.parse(wrapRequest).keyrequestdata.keydata.mechanism).toBe('WRAP');
    expect(s.exchanges.respond(wrapRequest).ok).toBe(true);
    s.devices.revoke(v.identity);
    for (const json of [psk(v.identity), mgk(v.identity), wrapRequest]) {
      const out = s.exchanges.respond(json);
      expect(out, json).toMatchObject({ ok: false, code: 'ENTITY_REVOKED' });
      expect(refusal(out.json).reason).toBe('DEVICE_REVOKED');
    }
    const refused = s.audit.list({ action: 'exchange', outcome: 'refused' });
    expect(refused.map((e) => e.details['mechanism']).sort()).toEqual(['MGK', 'PSK', 'WRAP']);
    for (const e of refused) expect(e).toMatchObject({ subject: v.identity, details: { code: 'ENTITY_REVOKED', reason: 'DEVICE_REVOKED' } });
    // Simulation refuses too.
    await expect(s.exchanges.simulate(v.identity)).rejects.toMatchObject({ code: 'ENTITY_REVOKED' });
  });

  it('refuses malformed requests by MSL\'s error names', async () => {
    const { services: s } = await setup();
    const device = new LadderRequestor(v.identity, await keyOf(v.kpw_hex));
    const first = await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
    const wd = Buffer.from(first.wrapdata).toString('base64');
    const cases: Array<[string, string, string?]> = [
      ['not json', 'MSL_PARSE_ERROR'],
      [JSON.stringify({ identity: v.identity }), 'MSL_PARSE_ERROR'],
      [request(v.identity, { mechanism: 'DH' }), 'UNIDENTIFIED_KEYX_MECHANISM'],
      [JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'ASYMMETRIC_WRAPPED', keydata: { mechanism: 'PSK' } } }), 'UNSUPPORTED_KEYX_MECHANISM'],
      [request(v.identity, { mechanism: 'WRAP' }), 'KEYX_WRAPPING_KEY_MISSING', 'WRAPDATA_MISSING'],
      [wrap(v.identity, 'bm90IHdyYXBkYXRh'), 'KEYX_WRAPPING_KEY_MISSING', 'WRAPDATA_MALFORMED'],
      [wrap('ESN-NO-GROUP', wd), 'KEYX_WRAPPING_KEY_MISSING', 'WRAPDATA_IDENTITY_MISMATCH'],
      [wrap(v.identity, wd.replace(/^.{8}/, 'AQAAAAcA')), 'KEYX_WRAPPING_KEY_MISSING', 'WRAPDATA_UNKNOWN_GENERATION'],
      [wrap(v.identity, 'AQAAAAE-_wAA'), 'MSL_PARSE_ERROR'], // base64url is not MSL's Base64
    ];
    for (const [json, code, reason] of cases) {
      const out = s.exchanges.respond(json);
      expect(out.code, json).toBe(code);
      if (reason) expect(refusal(out.json).reason, json).toBe(reason);
    }
    expect(s.exchanges.respond(JSON.stringify(device.nextRequest()), 'jwe' as never)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
  });
});

describe('bookkeeping', () => {
  async function climb(s: TestServices['services'], rungs: number): Promise<void> {
    const device = new LadderRequestor(v.identity, await keyOf(v.kpw_hex));
    for (let i = 0; i < rungs; i++) {
      const out = s.exchanges.respond(JSON.stringify(device.nextRequest()));
      expect(out.ok).toBe(true);
      await device.accept(parseJson(out.json));
    }
  }

  it('without batching, every answer updates the device and the issuing generation at once', async () => {
    const { services: s, clock } = await setup(false);
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 0, lastExchangeAt: null, lastMechanism: null, lastGeneration: null });
    await climb(s, 1);
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 1, lastExchangeAt: clock.now.toISOString(), lastMechanism: 'PSK', lastGeneration: 1 });
    clock.advanceDays(2);
    s.issuers.rotate();
    await climb(s, 3);
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 4, lastExchangeAt: clock.now.toISOString(), lastMechanism: 'WRAP', lastGeneration: 2 });
    expect(s.issuers.list().map((g) => [g.generation, g.exchangeCount])).toEqual([[2, 3], [1, 1]]);
    expect(s.exchanges.respond(mgk(v.identity)).ok).toBe(true);
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 5, lastMechanism: 'MGK' });
    // Refusals are audited but do not count as exchanges of the device.
    s.exchanges.respond(wrap(v.identity, 'AAAA'));
    expect(s.devices.get(v.identity).exchangeCount).toBe(5);
    expect(s.audit.list({ action: 'exchange', limit: 100 }).map((e) => e.outcome)).toEqual(['refused', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(s.audit.verify().ok).toBe(true);
  });

  it('with batching, records are buffered (20 ms for audit, 1 s for counters), and every read sees them all', async () => {
    const { services: s, clock } = await setup(true);
    await climb(s, 3);
    // Synchronous calls, so no timer can write in between: buffered, not yet written...
    expect(s.exchanges.respond(psk(v.identity)).ok).toBe(true);
    s.exchanges.respond(psk('ESN-UNKNOWN'));
    expect(s.exchanges.pendingRecords().audit).toBeGreaterThanOrEqual(2);
    expect(s.exchanges.pendingRecords().devices).toBe(1);
    // ...but a read writes what is pending first, so it sees every exchange.
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 4, lastMechanism: 'PSK', lastGeneration: 1, lastExchangeAt: clock.now.toISOString() });
    expect(s.exchanges.pendingRecords()).toEqual({ audit: 0, devices: 0 });
    expect(s.issuers.list()[0]!.exchangeCount).toBe(4);
    expect(s.audit.list({ action: 'exchange', limit: 10 }).map((e) => e.outcome)).toEqual(['refused', 'ok', 'ok', 'ok', 'ok']);

    // The timers write on their own: audit records after 20 ms, counters after a second.
    await climb(s, 1);
    await new Promise((r) => setTimeout(r, 60));
    expect(s.exchanges.pendingRecords().audit).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    expect(s.exchanges.pendingRecords()).toEqual({ audit: 0, devices: 0 });
    expect(s.devices.get(v.identity).exchangeCount).toBe(5);

    // Locking writes what is pending.
    await climb(s, 2);
    expect(s.exchanges.pendingRecords().devices).toBe(1);
    s.store.lock();
    await s.store.unlock('correct horse battery staple');
    expect(s.devices.get(v.identity).exchangeCount).toBe(7);
    expect(s.audit.verify().ok).toBe(true);
  });

  it('with batching, a burst of more than one batch is written whole', async () => {
    const { services: s } = await setup(true);
    for (let i = 0; i < 600; i++) expect(s.exchanges.respond(psk(v.identity)).ok).toBe(true);
    s.exchanges.flush();
    expect(s.devices.get(v.identity).exchangeCount).toBe(600);
    expect(s.issuers.list()[0]!.exchangeCount).toBe(600);
    expect(s.audit.verify()).toMatchObject({ ok: true });
    expect(s.audit.list({ action: 'exchange', limit: 1000 }).length).toBe(600);
  });

  it('simulate climbs the ladder and audits each rung as a test exchange, apart from the real device', async () => {
    const { services: s } = await setup(true);
    const report = await s.exchanges.simulate(v.identity, { rungs: 4, mechanism: 'MGK', profile: 'rfc7516' });
    expect(report.allMatch).toBe(true);
    expect(report.rungs.map((r) => r.mechanism)).toEqual(['MGK', 'WRAP', 'WRAP', 'WRAP']);
    // A test is not the device climbing: its counters, last exchange and the generation's count stay as they were...
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 0, lastExchangeAt: null, lastMechanism: null, lastGeneration: null });
    expect(s.issuers.list()[0]!.exchangeCount).toBe(0);
    // ...and its audit rows say it was a test.
    expect(s.audit.list({ action: 'exchange.test', limit: 10 }).map((e) => [e.subject, e.outcome, e.details['mechanism']]))
      .toEqual([[v.identity, 'ok', 'WRAP'], [v.identity, 'ok', 'WRAP'], [v.identity, 'ok', 'WRAP'], [v.identity, 'ok', 'MGK']]);
    expect(s.audit.list({ action: 'exchange', limit: 10 })).toEqual([]);
    // The real device's exchanges still count.
    expect(s.exchanges.respond(mgk(v.identity)).ok).toBe(true);
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 1, lastMechanism: 'MGK', lastGeneration: 1 });
    expect(s.issuers.list()[0]!.exchangeCount).toBe(1);
    expect(s.audit.verify().ok).toBe(true);
    await expect(s.exchanges.simulate('ESN-NO-GROUP', { mechanism: 'MGK' })).rejects.toMatchObject({ code: 'UNSUPPORTED_KEYX_MECHANISM' });
    await expect(s.exchanges.simulate('ESN-UNKNOWN')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(s.exchanges.simulate(v.identity, { rungs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('checkResponse opens an answer with the key its request names', async () => {
    const { services: s } = await setup(false);
    const out = s.exchanges.respond(psk(v.identity));
    const check = await s.exchanges.checkResponse(psk(v.identity), out.json);
    expect(check).toMatchObject({ ok: true, kcv: { kwrap: expect.any(String) } });
    const other = s.exchanges.respond(psk('ESN-NO-GROUP'));
    expect(await s.exchanges.checkResponse(mgk(v.identity), other.json)).toMatchObject({ ok: false, error: { code: 'JWE_DECRYPTION_ERROR' } });
  });
});

describe('decoys (serve --uniform-refusals, issue 19 item 5)', () => {
  const uniform = { client: '127.0.0.1', uniform: true } as const;

  it('a revoked device gets decoys for PSK, MGK and WRAP (wrapdata issued before), and opens none of them with its own keys', async () => {
    const { services: s } = await setup();
    const device = new LadderRequestor(v.identity, await keyOf(v.kpw_hex), 'PSK');
    expect(s.exchanges.respond(JSON.stringify(device.nextRequest()), 'msl', uniform).ok).toBe(true);
    const first = s.exchanges.respond(JSON.stringify(device.nextRequest()), 'msl', uniform);
    await device.accept(parseJson(first.json));
    const before = s.devices.get(v.identity);
    s.devices.revoke(v.identity);
    const answers = [
      [s.exchanges.respond(psk(v.identity), 'msl', uniform), v.kpw_hex],
      [s.exchanges.respond(mgk(v.identity), 'msl', uniform), KDW],
    ] as const;
    for (const [out, key] of answers) {
      expect(out).toMatchObject({ ok: false, decoy: true, code: 'ENTITY_REVOKED', reason: 'DEVICE_REVOKED', identity: v.identity });
      await expect(acceptKeyResponse(parseJson(out.json), await keyOf(key))).rejects.toMatchObject({ code: 'JWE_DECRYPTION_ERROR' });
    }
    // Its WRAP with the wrapdata it holds: a decoy its Kwrap does not open.
    const climb = s.exchanges.respond(JSON.stringify(device.nextRequest()), 'msl', uniform);
    expect(climb).toMatchObject({ ok: false, decoy: true, code: 'ENTITY_REVOKED', reason: 'DEVICE_REVOKED' });
    await expect(device.accept(parseJson(climb.json))).rejects.toMatchObject({ code: 'JWE_DECRYPTION_ERROR' });
    // The decoy's own wrapdata, sent back, opens nowhere: another decoy (WRAPDATA_INVALID), for any identity.
    const decoyWrapdata = (JSON.parse(climb.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata;
    expect(Buffer.from(decoyWrapdata, 'base64').length).toBe(33);
    expect(s.exchanges.respond(wrap(v.identity, decoyWrapdata), 'msl', uniform)).toMatchObject({ decoy: true, reason: 'WRAPDATA_INVALID' });
    // The audit: refusals with their reasons, marked; nothing counted as the device's exchange.
    const rows = s.audit.list({ action: 'exchange', outcome: 'refused', limit: 10 });
    expect(rows.filter((r) => r.details['decoy'] === true).map((r) => r.details['reason']).sort()).toEqual(['DEVICE_REVOKED', 'DEVICE_REVOKED', 'DEVICE_REVOKED', 'WRAPDATA_INVALID']);
    const after = s.devices.get(v.identity);
    expect([after.exchangeCount, after.lastExchangeAt]).toEqual([before.exchangeCount, before.lastExchangeAt]);
  });

  it('under a bare-MSL Kissuer, a decoy carries 24-byte wrapdata like a real answer, and it opens nowhere', async () => {
    const { services: s } = await setup();
    s.issuers.importMsl('00112233445566778899aabbccddeeff');
    const real = s.exchanges.respond(psk('ESN-NO-GROUP'), 'msl', uniform);
    const decoy = s.exchanges.respond(psk('ESN-NOBODY'), 'msl', uniform);
    const wrapdataOf = (json: string) => (JSON.parse(json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata;
    expect([real.ok, decoy.decoy]).toEqual([true, true]);
    expect(Buffer.from(wrapdataOf(decoy.json), 'base64').length).toBe(24);
    expect(Buffer.from(wrapdataOf(real.json), 'base64').length).toBe(24);
    expect(s.exchanges.respond(wrap('ESN-NO-GROUP', wrapdataOf(decoy.json)), 'msl', uniform)).toMatchObject({ decoy: true, code: 'KEYX_WRAPPING_KEY_MISSING' });
  });

  it('decoys are asked for: without `uniform`, the same requests are refused as before', async () => {
    const { services: s } = await setup();
    s.devices.revoke(v.identity);
    expect(s.exchanges.respond(psk(v.identity), 'msl', { client: '127.0.0.1' })).toMatchObject({ ok: false, code: 'ENTITY_REVOKED' });
    expect(s.exchanges.respond(psk(v.identity), 'msl', { client: '127.0.0.1' }).decoy).toBeUndefined();
    expect(s.exchanges.respond(psk('ESN-NOBODY'), 'msl', uniform)).toMatchObject({ decoy: true, code: 'ENTITY_NOT_FOUND' });
  });
});
