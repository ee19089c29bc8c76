// The wrapdata registry (issue 11, items 1 and 2): wrapdata issued to one
// device is refused under any other identity, a revoked device cannot climb
// on bare-MSL wrapdata under another name, and wrapdata older than a device's
// latest marks it "possible clone" (policy flag) or is refused (policy refuse),
// with one retry allowed for a device whose answer was lost.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { aesKeyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { dumpStore } from '../support/storeFiles.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const KPW_A = '000102030405060708090a0b0c0d0e0f';
const KPW_B = '101112131415161718191a1b1c1d1e1f';
const KISSUER_MSL = '8899aabbccddeeff0011223344556677';

const wrap = (identity: string, wrapdata: Uint8Array): string =>
  JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: Buffer.from(wrapdata).toString('base64') } } });
const error = (json: string) => (JSON.parse(json) as { error: { code: string; reason?: string } }).error;

async function setup(format: 'msl' | 'keyladder-v1', batch = false): Promise<TestServices> {
  t = await openTestServices({ batch });
  if (format === 'msl') t.services.issuers.importMsl(KISSUER_MSL);
  t.services.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW_A } });
  t.services.devices.provision({ identity: 'ESN-B', keys: { kind: 'kpw', kpw: KPW_B } });
  return t;
}

/** A device that climbs against the services: PSK first, then WRAP with whatever it holds. */
async function device(identity: string, kpw: string): Promise<LadderRequestor> {
  return new LadderRequestor(identity, await importWrappingKey(new Uint8Array(Buffer.from(kpw, 'hex'))), 'PSK', 'msl');
}

async function climb(d: LadderRequestor, rungs: number): Promise<Uint8Array> {
  let wrapdata: Uint8Array | undefined;
  for (let i = 0; i < rungs; i++) {
    const out = t!.services.exchanges.respond(JSON.stringify(d.nextRequest()));
    expect(out.ok, out.json).toBe(true);
    wrapdata = (await d.accept(parseJson(out.json))).wrapdata;
  }
  return wrapdata!;
}

describe('wrapdata issued to one device is refused under any other identity', () => {
  it.each(['msl', 'keyladder-v1'] as const)('%s: another active device and an unknown identity get WRAPDATA_IDENTITY_MISMATCH', async (format) => {
    const { services: s } = await setup(format);
    const held = await climb(await device('ESN-A', KPW_A), 2);
    for (const other of ['ESN-B', 'ESN-NOT-HERE']) {
      const out = s.exchanges.respond(wrap(other, held));
      expect(out.ok).toBe(false);
      expect(error(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_IDENTITY_MISMATCH' });
    }
    // ESN-B's bookkeeping is untouched: the refused exchanges are not counted as its own.
    expect(s.devices.get('ESN-B')).toMatchObject({ exchangeCount: 0, lastExchangeAt: null, possibleClone: null });
    // The rightful holder still climbs with it.
    expect(s.exchanges.respond(wrap('ESN-A', held)).ok).toBe(true);
  });

  it('msl: a revoked device cannot climb on under another identity, with its latest wrapdata or the one before', async () => {
    const { services: s } = await setup('msl');
    const a = await device('ESN-A', KPW_A);
    const before = await climb(a, 1);
    const latest = await climb(a, 1);
    s.devices.revoke('ESN-A');
    expect(error(s.exchanges.respond(wrap('ESN-A', latest)).json)).toMatchObject({ code: 'ENTITY_REVOKED' });
    for (const held of [latest, before]) {
      for (const other of ['ESN-B', 'ESN-UNKNOWN-1', 'ESN-UNKNOWN-2']) {
        const out = s.exchanges.respond(wrap(other, held));
        expect(out.ok, `${other}: ${out.json}`).toBe(false);
        expect(error(out.json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
      }
    }
    const refused = s.audit.list({ action: 'exchange', outcome: 'refused', limit: 100 });
    expect(refused.filter((e) => e.details['reason'] === 'WRAPDATA_IDENTITY_MISMATCH')).toHaveLength(6);
    expect(s.devices.get('ESN-B').exchangeCount).toBe(0);
  });

  it('holds while the records are still batched (the next exchange comes before the 20 ms write)', async () => {
    const { services: s } = await setup('msl', true);
    const held = await climb(await device('ESN-A', KPW_A), 1);
    expect(t!.services.exchanges.pendingRecords().audit).toBeGreaterThan(0);
    expect(error(s.exchanges.respond(wrap('ESN-B', held)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
  });

  it('the registry holds keyed hashes, never the wrapdata', async () => {
    const { services: s, dir } = await setup('msl');
    const held = await climb(await device('ESN-A', KPW_A), 3);
    s.exchanges.flush();
    const dump = await dumpStore(dir, PASSPHRASE);
    const text = JSON.stringify(dump);
    expect(text).not.toContain(Buffer.from(held).toString('hex'));
    expect(dump['wrapdata_issued']!.map((r) => r['seq'])).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(dump['wrapdata_issued']!.every((r) => String(r['tag']).length === "x''".length + 32)).toBe(true);
  });
});

describe('bare-MSL wrapdata the registry does not know', () => {
  it('a revoked device\'s older wrapdata (pruned from the registry) gets nothing under an unknown identity, and marks an active one', async () => {
    const { services: s } = await setup('msl');
    const a = await device('ESN-A', KPW_A);
    const oldest = await climb(a, 1);
    await climb(a, 4); // five issues: the first is no longer registered
    s.devices.revoke('ESN-A');
    const unknown = s.exchanges.respond(wrap('ESN-NOT-HERE', oldest));
    expect(error(unknown.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_IDENTITY_UNKNOWN' });
    // Under ESN-B, which has wrapdata of its own: not B's, so a replay or a clone (flag: answered and marked).
    await climb(await device('ESN-B', KPW_B), 1);
    expect(s.exchanges.respond(wrap('ESN-B', oldest)).ok).toBe(true);
    expect(s.devices.get('ESN-B').possibleClone).toMatchObject({ events: 1 });
    // Under the refuse policy it is refused.
    s.exchanges.setClonePolicy('refuse');
    expect(error(s.exchanges.respond(wrap('ESN-B', oldest)).json).reason).toBe('WRAPDATA_SUPERSEDED');
  });

  it('is answered for a held identity with no registered wrapdata yet (its first WRAP after migrating from MSL)', async () => {
    const { services: s } = await setup('msl');
    // Wrapdata as Netflix's MSL responder made it under the shared Kissuer: AES-KW(Kissuer, Kwrap), never registered here.
    const held = aesKeyWrap(Buffer.from(KISSUER_MSL, 'hex'), randomBytes(16));
    const out = s.exchanges.respond(wrap('ESN-A', held));
    expect(out.ok, out.json).toBe(true);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'unregistered' });
  });
});

describe('wrapdata older than the latest: a replay or a clone', () => {
  it('flag (the default): answered, audited, and the device is marked "possible clone"', async () => {
    const { services: s } = await setup('keyladder-v1');
    expect(s.exchanges.clonePolicy()).toBe('flag');
    const a = await device('ESN-A', KPW_A);
    const w1 = await climb(a, 1);
    await climb(a, 2); // w1 came back once (issuing w2); w2 came back (issuing w3): w1 is two behind
    const out = s.exchanges.respond(wrap('ESN-A', w1));
    expect(out.ok, out.json).toBe(true);
    const shown = s.devices.get('ESN-A');
    expect(shown.possibleClone).toMatchObject({ events: 1 });
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'superseded', possibleClone: true });
    // The operator looks into it and clears the mark (audited).
    expect(s.devices.clearPossibleClone('ESN-A').possibleClone).toBeNull();
    expect(s.audit.list({ action: 'device.clone-cleared', limit: 1 })[0]).toMatchObject({ subject: 'ESN-A', details: { events: 1 } });
    expect(() => s.devices.clearPossibleClone('ESN-A')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuse: KEYX_WRAPPING_KEY_MISSING WRAPDATA_SUPERSEDED, nothing issued; the device falls back to PSK', async () => {
    const { services: s } = await setup('keyladder-v1');
    expect(s.exchanges.setClonePolicy('refuse')).toBe('refuse');
    expect(s.audit.list({ action: 'policy.clone', limit: 1 })[0]!.details).toEqual({ policy: 'refuse', previous: 'flag' });
    const a = await device('ESN-A', KPW_A);
    const w1 = await climb(a, 1);
    await climb(a, 2);
    const before = s.devices.get('ESN-A').exchangeCount;
    const out = s.exchanges.respond(wrap('ESN-A', w1));
    expect(error(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_SUPERSEDED' });
    expect(s.devices.get('ESN-A')).toMatchObject({ exchangeCount: before, possibleClone: null });
    expect(s.exchanges.respond(JSON.stringify({ identity: 'ESN-A', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } })).ok).toBe(true);
  });

  it('a device whose answer was lost retries with its previous wrapdata once; a second retry is superseded', async () => {
    const { services: s } = await setup('msl');
    await s.exchanges.setClonePolicy('refuse');
    const a = await device('ESN-A', KPW_A);
    const w1 = await climb(a, 1);
    // w1 comes back and w2 is issued, but the answer never reaches the device.
    expect(s.exchanges.respond(wrap('ESN-A', w1)).ok).toBe(true);
    const retried = s.exchanges.respond(wrap('ESN-A', w1));
    expect(retried.ok, retried.json).toBe(true);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'retry' });
    expect(error(s.exchanges.respond(wrap('ESN-A', w1)).json).reason).toBe('WRAPDATA_SUPERSEDED');
  });

  it('a clone is caught even when the two copies take turns', async () => {
    const { services: s } = await setup('msl');
    const a = await device('ESN-A', KPW_A);
    const shared = await climb(a, 1);
    // The original climbs with the shared wrapdata; the clone then presents it too (looks like a retry, once).
    const original = s.exchanges.respond(wrap('ESN-A', shared));
    const clone = s.exchanges.respond(wrap('ESN-A', shared));
    expect([original.ok, clone.ok]).toEqual([true, true]);
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
    // The original now presents what it got, which the clone's exchange superseded.
    const originalHolds = (JSON.parse(original.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata;
    expect(s.exchanges.respond(wrap('ESN-A', Buffer.from(originalHolds, 'base64'))).ok).toBe(true);
    expect(s.devices.get('ESN-A').possibleClone).toMatchObject({ events: 1 });
  });

  it('a test exchange (simulate) leaves the registry alone: the real device is not taken for a clone', async () => {
    const { services: s } = await setup('keyladder-v1');
    const a = await device('ESN-A', KPW_A);
    const held = await climb(a, 1);
    const report = await s.exchanges.simulate('ESN-A', { rungs: 3 });
    expect(report.allMatch).toBe(true);
    expect(s.exchanges.respond(wrap('ESN-A', held)).ok).toBe(true);
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'latest' });
  });

  it('refuses an unknown policy with INVALID_ARGUMENT and changes nothing', async () => {
    const { services: s } = await setup('msl');
    const audit = s.audit.list({ limit: 1000 }).length;
    expect(() => s.exchanges.setClonePolicy('allow' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(s.exchanges.clonePolicy()).toBe('flag');
    expect(s.audit.list({ limit: 1000 })).toHaveLength(audit);
  });
});
