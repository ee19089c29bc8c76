// Issue 22, item 2: a deleted device. Its keys and registry rows are gone in
// one transaction with its tombstone and audit record; its wrapdata is refused
// from then on under any identity, a new device's included and the deleted
// identity's own when it is provisioned again (--reuse-identity).
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson } from '../../electron/ladder/messages.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { dumpStore } from '../support/storeFiles.js';
import type { KeyStore } from '../../db/store.js';

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
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

async function climb(identity: string, kpw: string, rungs: number): Promise<Uint8Array> {
  const d = new LadderRequestor(identity, await importWrappingKey(new Uint8Array(Buffer.from(kpw, 'hex'))), 'PSK', 'msl');
  let wrapdata: Uint8Array | undefined;
  for (let i = 0; i < rungs; i++) {
    const out = t!.services.exchanges.respond(JSON.stringify(d.nextRequest()));
    expect(out.ok, out.json).toBe(true);
    wrapdata = (await d.accept(parseJson(out.json))).wrapdata;
  }
  return wrapdata!;
}

const rows = async (table: string): Promise<number> => (await dumpStore(t!.dir, PASSPHRASE))[table]!.length;
/** The open store behind the services, to make one step of a delete fail. */
const storeOf = (s: TestServices['services']): KeyStore => (s.devices as unknown as { session: { store(): KeyStore } }).session.store();

describe.each(['msl', 'keyladder-v1'] as const)('a deleted device (%s wrapdata)', (format) => {
  async function setup() {
    t = await openTestServices();
    if (format === 'msl') t.services.issuers.importMsl(KISSUER_MSL);
    t.services.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW_A } });
    return t.services;
  }

  it('has its rows gone, its KCVs in the audit record, and its last wrapdata refused under a new name and under its own name reused', async () => {
    const s = await setup();
    const held = await climb('ESN-A', KPW_A, 3);
    const kcv = s.devices.get('ESN-A').kcv.kpw;
    expect(await rows('wrapdata_issued')).toBeGreaterThan(0);
    expect(s.devices.deleteSelected({ kind: 'identities', identities: ['ESN-A'] })).toMatchObject({ deleted: 1 });
    expect(await rows('devices')).toBe(0);
    expect(await rows('device_stats')).toBe(0);
    expect(await rows('wrapdata_issued')).toBe(0);
    expect(await rows('deleted_devices')).toBe(1);
    expect(await rows('deleted_wrapdata')).toBeGreaterThan(0);
    expect(s.audit.list({ action: 'device.delete' })[0]).toMatchObject({ subject: 'ESN-A', details: { kcvKpw: kcv, status: 'active' } });

    // A new device takes another name and presents the deleted device's wrapdata.
    s.devices.provision({ identity: 'ESN-B', keys: { kind: 'kpw', kpw: KPW_B } });
    const underB = s.exchanges.respond(wrap('ESN-B', held));
    expect(underB.ok).toBe(false);
    // keyladder-v1 wrapdata names its identity: the ladder refuses it under another before the registry is asked.
    expect(error(underB.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: format === 'msl' ? 'WRAPDATA_DEVICE_DELETED' : 'WRAPDATA_IDENTITY_MISMATCH' });

    // The identity provisioned again (on purpose) with other keys: the old wrapdata still climbs nowhere.
    expect(codeOf(() => s.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW_B } }))).toBe('DEVICE_DELETED');
    s.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW_B }, reuseIdentity: true });
    const underA = s.exchanges.respond(wrap('ESN-A', held));
    expect(underA.ok).toBe(false);
    expect(error(underA.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_DEVICE_DELETED' });
    // The new device climbs with its own keys.
    await climb('ESN-A', KPW_B, 2);
  });

  it('is refused a second delete with DEVICE_DELETED, changing nothing', async () => {
    const s = await setup();
    s.devices.deleteSelected({ kind: 'identities', identities: ['ESN-A'] });
    const audit = s.audit.list({ limit: 1000 }).length;
    expect(codeOf(() => s.devices.deleteSelected({ kind: 'identities', identities: ['ESN-A'] }))).toBe('DEVICE_DELETED');
    expect(s.audit.list({ limit: 1000 }).length).toBe(audit);
  });
});

describe('deleting a selection', () => {
  it('is one transaction: a failure part-way deletes none of them', async () => {
    t = await openTestServices();
    const s = t.services;
    for (const id of ['LOT-1', 'LOT-2', 'LOT-3']) s.devices.provision({ identity: id, keys: { kind: 'generate' } });
    const store = storeOf(s);
    const bury = store.tombstones.bury.bind(store.tombstones);
    let calls = 0;
    store.tombstones.bury = (identity, at) => {
      if (++calls === 3) throw new Error('crash on the third device');
      return bury(identity, at);
    };
    expect(() => s.devices.deleteSelected({ kind: 'prefix', prefix: 'LOT-' })).toThrow(/third device/);
    store.tombstones.bury = bury;
    expect(await rows('devices')).toBe(3);
    expect(await rows('deleted_devices')).toBe(0);
    expect(s.audit.list({ action: 'device.delete' })).toEqual([]);
  });

  it('refuses an import of a deleted identity unless reuse is asked for, naming the row', async () => {
    t = await openTestServices();
    const s = t.services;
    s.devices.provision({ identity: 'GONE-1', keys: { kind: 'generate' } });
    s.devices.deleteSelected({ kind: 'identities', identities: ['GONE-1'] });
    const report = await s.devices.import('identity\nFRESH-1\nGONE-1\n', 'csv');
    expect(report).toMatchObject({ imported: 0, failed: [{ row: 3, identity: 'GONE-1', code: 'DEVICE_DELETED' }] });
    expect((await s.devices.import('identity\nFRESH-1\nGONE-1\n', 'csv', undefined, { reuseIdentity: true })).imported).toBe(2);
  });
});
