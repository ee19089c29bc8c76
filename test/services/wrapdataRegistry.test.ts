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
const KPW_R = '202122232425262728292a2b2c2d2e2f';

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
    // Synchronously, so that no timer can write the batch in between (the wrapdata is in clear in the answer).
    const out = s.exchanges.respond(JSON.stringify({ identity: 'ESN-A', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
    const held = Buffer.from((JSON.parse(out.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata, 'base64');
    expect(s.exchanges.pendingRecords().audit).toBeGreaterThan(0);
    expect(error(s.exchanges.respond(wrap('ESN-B', held)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
    expect(s.exchanges.respond(wrap('ESN-A', held)).ok).toBe(true);
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

describe('bare-MSL wrapdata the registry does not know (issue 19, item 2)', () => {
  /** A revoked device's wrapdata from 4 WRAP exchanges before its last: no longer registered. */
  async function revokedDevicesOldWrapdata(s: TestServices['services']): Promise<Uint8Array> {
    s.devices.provision({ identity: 'ESN-R', keys: { kind: 'kpw', kpw: KPW_R } });
    const r = await device('ESN-R', KPW_R);
    await climb(r, 1); // PSK: a root
    const old = await climb(r, 1); // the first WRAP answer
    await climb(r, 4); // four more: the lineage keeps the last three, so `old` is forgotten
    s.devices.revoke('ESN-R');
    return old;
  }

  it('flag policy: a revoked device\'s wrapdata 4+ exchanges old is refused under a device that has climbed', async () => {
    const { services: s } = await setup('msl');
    const old = await revokedDevicesOldWrapdata(s);
    await climb(await device('ESN-B', KPW_B), 3);
    expect(s.exchanges.clonePolicy()).toBe('flag');
    const out = s.exchanges.respond(wrap('ESN-B', old));
    expect(out.ok, out.json).toBe(false);
    expect(error(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_UNREGISTERED' });
    // Nothing issued, nothing marked: ESN-B is not a clone, it was impersonated.
    expect(s.devices.get('ESN-B')).toMatchObject({ exchangeCount: 3, possibleClone: null });
    expect(error(s.exchanges.respond(wrap('ESN-NOT-HERE', old)).json).reason).toBe('WRAPDATA_IDENTITY_UNKNOWN');
  });

  it('refuse policy: it is refused under a held identity that never climbed (what the migration case let through)', async () => {
    const { services: s } = await setup('msl');
    const old = await revokedDevicesOldWrapdata(s);
    s.exchanges.setClonePolicy('refuse');
    s.devices.provision({ identity: 'DEV-NEW1', keys: { kind: 'kpw', kpw: KPW_B } });
    const out = s.exchanges.respond(wrap('DEV-NEW1', old));
    expect(error(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_UNREGISTERED' });
    expect(s.devices.get('DEV-NEW1').exchangeCount).toBe(0);
    // Opening the migration window changes nothing here: the generation that issued it is this KeyLadder's.
    s.exchanges.setMslMigration('2026-12-20');
    expect(error(s.exchanges.respond(wrap('DEV-NEW1', old)).json).reason).toBe('WRAPDATA_UNREGISTERED');
    expect(error(s.exchanges.respond(wrap('ESN-A', old)).json).reason).toBe('WRAPDATA_UNREGISTERED');
  });

  it('the roots (PSK answers) of a revoked device are refused under any other identity too, however far its lineage went', async () => {
    const { services: s } = await setup('msl');
    s.devices.provision({ identity: 'ESN-R', keys: { kind: 'kpw', kpw: KPW_R } });
    const r = await device('ESN-R', KPW_R);
    const root = await climb(r, 1);
    await climb(r, 6);
    s.devices.revoke('ESN-R');
    for (const other of ['ESN-A', 'ESN-B']) expect(error(s.exchanges.respond(wrap(other, root)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
  });
});

describe('the migration from MSL\'s own responder (issue 19, item 2)', () => {
  /** MSL's Kissuer imported, then a rotation: the imported generation only opens wrapdata, and never issued here. */
  async function migrating(): Promise<{ s: TestServices['services']; fromMsl: () => Buffer }> {
    const { services: s } = await setup('msl');
    s.issuers.rotate(90, 'msl');
    // Wrapdata as Netflix's MSL responder made it under the shared Kissuer: AES-KW(Kissuer, Kwrap), never registered here.
    return { s, fromMsl: () => aesKeyWrap(Buffer.from(KISSUER_MSL, 'hex'), randomBytes(16)) };
  }

  it('is off by default: the old responder\'s wrapdata is refused, WRAPDATA_UNREGISTERED', async () => {
    const { s, fromMsl } = await migrating();
    expect(s.exchanges.mslMigration()).toMatchObject({ until: null, open: false });
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_UNREGISTERED' });
  });

  it('within its window: answered once per device that never climbed here, audited when set and at each use', async () => {
    const { s, fromMsl } = await migrating();
    const window = s.exchanges.setMslMigration('2027-01-15');
    expect(window).toMatchObject({ until: '2027-01-15T00:00:00.000Z', open: true, generations: [2] });
    expect(s.audit.list({ action: 'policy.migration', limit: 1 })[0]!.details).toMatchObject({ until: '2027-01-15T00:00:00.000Z', previous: null });
    const held = fromMsl();
    const out = s.exchanges.respond(wrap('ESN-A', held));
    expect(out.ok, out.json).toBe(true);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'migrated', opened: 2 });
    // The device climbs on with what it got.
    const next = Buffer.from((JSON.parse(out.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata, 'base64');
    expect(s.exchanges.respond(wrap('ESN-A', next)).ok).toBe(true);
    // Once: other old-responder wrapdata under the same identity is refused now.
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json).reason).toBe('WRAPDATA_UNREGISTERED');
    // The migrated wrapdata is ESN-A's now: refused under any other identity ...
    expect(error(s.exchanges.respond(wrap('ESN-B', held)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
    // ... and, once ESN-A is revoked, under every identity.
    s.devices.revoke('ESN-A');
    s.devices.provision({ identity: 'DEV-NEW1', keys: { kind: 'kpw', kpw: KPW_R } });
    for (const other of ['ESN-A', 'ESN-B', 'DEV-NEW1']) expect(s.exchanges.respond(wrap(other, held)).ok).toBe(false);
    expect(error(s.exchanges.respond(wrap('DEV-NEW1', held)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
  });

  it('a device that climbed here does not migrate; PSK answers (anyone can ask for them) do not count as climbing', async () => {
    const { s, fromMsl } = await migrating();
    s.exchanges.setMslMigration('2027-01-15');
    await climb(await device('ESN-A', KPW_A), 2);
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json).reason).toBe('WRAPDATA_UNREGISTERED');
    expect(s.exchanges.respond(JSON.stringify({ identity: 'ESN-B', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } })).ok).toBe(true);
    expect(s.exchanges.respond(wrap('ESN-B', fromMsl())).ok).toBe(true);
  });

  it('a migrated device\'s revocation list carries the old responder\'s wrapdata: a peer migrating from the same MSL refuses it', async () => {
    const { s, fromMsl } = await migrating();
    s.exchanges.setMslMigration('2027-01-15');
    const held = fromMsl();
    expect(s.exchanges.respond(wrap('ESN-A', held)).ok).toBe(true);
    s.devices.revoke('ESN-A');
    const bundle = { kind: 'passphrase' as const, passphrase: 'a revocation list passphrase', unsigned: true };
    const { jwe } = await s.revocations.exportList(bundle);
    // Another KeyLadder moving devices off the same MSL responder, with a device that never climbed there.
    const peer = await openTestServices();
    try {
      const p = peer.services;
      p.issuers.importMsl(KISSUER_MSL);
      p.issuers.rotate(90, 'msl');
      p.exchanges.setMslMigration('2027-01-15');
      p.devices.provision({ identity: 'DEV-NEW1', keys: { kind: 'kpw', kpw: KPW_R } });
      await p.revocations.importList(jwe, bundle);
      expect(error(p.exchanges.respond(wrap('DEV-NEW1', held)).json).reason).toBe('WRAPDATA_IDENTITY_MISMATCH');
      expect(p.exchanges.respond(wrap('DEV-NEW1', fromMsl())).ok).toBe(true);
    } finally {
      peer.cleanup();
    }
  });

  it('is off after its end, and can be closed', async () => {
    const { s, fromMsl } = await migrating();
    s.exchanges.setMslMigration('2026-11-30');
    t!.clock.advanceDays(8);
    expect(s.exchanges.mslMigration()).toMatchObject({ until: '2026-11-30T00:00:00.000Z', open: false });
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json).reason).toBe('WRAPDATA_UNREGISTERED');
    s.exchanges.setMslMigration('2026-12-30');
    expect(s.exchanges.setMslMigration(null)).toMatchObject({ until: null, open: false });
    expect(s.audit.list({ action: 'policy.migration', limit: 1 })[0]!.details).toMatchObject({ until: null, previous: '2026-12-30T00:00:00.000Z' });
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json).reason).toBe('WRAPDATA_UNREGISTERED');
  });

  it('is bounded: a past end or one more than 90 days away is refused, and nothing changes', async () => {
    const { s } = await migrating();
    const audit = s.audit.list({ limit: 1000 }).length;
    for (const bad of ['2026-11-01', '2027-03-01', 'tomorrow', '2027-13-45', '2026-11-31'] as const) {
      expect(() => s.exchanges.setMslMigration(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(s.exchanges.mslMigration().until).toBeNull();
    expect(s.audit.list({ limit: 1000 })).toHaveLength(audit);
  });

  it('MSL\'s Kissuer imported again (active, retired or destroyed) is ISSUER_KEY_KNOWN and nothing changes: a revoked device\'s old wrapdata stays refused (round 2)', async () => {
    const { services: s } = await setup('msl');
    const msl = s.issuers.list()[0]!.generation; // MSL's Kissuer, imported
    const a = await device('ESN-A', KPW_A);
    const old = await climb(a, 2); // issued here under MSL's generation
    s.devices.revoke('ESN-A');
    let n = 0;
    s.exchanges.setMslMigration('2027-01-15');
    const reimport = async () => {
      const before = await dumpStore(t!.dir, PASSPHRASE);
      expect(() => s.issuers.importMsl(KISSUER_MSL, 30)).toThrow(expect.objectContaining({ code: 'ISSUER_KEY_KNOWN', message: expect.stringContaining(`generation ${msl} here`) }));
      const after = await dumpStore(t!.dir, PASSPHRASE);
      for (const table of ['issuer_generations', 'audit_log', 'issuer_first_issue', 'meta']) expect(after[table], table).toEqual(before[table]);
      expect(JSON.stringify(s.audit.list({ limit: 1000 }))).not.toContain(KISSUER_MSL);
      // The revoked device's wrapdata is refused under a held identity that never climbed.
      s.devices.provision({ identity: `DEV-NEW${++n}`, keys: { kind: 'kpw', kpw: KPW_R } });
      expect(s.exchanges.respond(wrap(`DEV-NEW${n}`, old)).ok).toBe(false);
    };
    await reimport(); // active
    s.issuers.rotate(0, 'msl'); // MSL's generation retired at once
    await reimport(); // retired
    s.issuers.destroy(msl);
    await reimport(); // destroyed: known by the KCV it had
    expect(s.issuers.list().map((g) => g.origin)).toEqual(['generated', 'imported-msl', 'generated']);
  });

  it('a device that climbed before lineages were recorded (a store upgraded to schema 5) does not migrate (round 2)', async () => {
    const { s, fromMsl } = await migrating();
    s.exchanges.setMslMigration('2027-01-15');
    // What migration 005 marks on a device with exchanges before it (test/db/migration005.test.ts).
    const db = (s.store as unknown as { session: { store(): { unsafeDatabase(): import('better-sqlite3-multiple-ciphers').Database } } }).session.store().unsafeDatabase();
    db.prepare(`UPDATE device_stats SET climbed_before_lineages = 1 WHERE device_id = (SELECT id FROM devices WHERE identity = 'ESN-A')`).run();
    expect(error(s.exchanges.respond(wrap('ESN-A', fromMsl())).json).reason).toBe('WRAPDATA_UNREGISTERED');
    expect(s.exchanges.respond(wrap('ESN-B', fromMsl())).ok).toBe(true);
  });

  it('defence in depth: a generation with the key of one that issued here never opens to migration', async () => {
    const { services: s } = await setup('msl');
    const msl = s.issuers.list()[0]!.generation;
    await climb(await device('ESN-B', KPW_B), 1); // MSL's generation issued here
    s.issuers.rotate(90, 'msl');
    // A copy of generation 1's key as a new imported-msl generation, as if import-msl had let it in.
    const db = (s.store as unknown as { session: { store(): { unsafeDatabase(): import('better-sqlite3-multiple-ciphers').Database } } }).session.store().unsafeDatabase();
    db.prepare(`INSERT INTO issuer_generations (generation, status, format, origin, key, kcv, created_at, grace_until)
      SELECT ?, 'grace', format, 'imported-msl', key, kcv, created_at, '2027-01-01T00:00:00.000Z' FROM issuer_generations WHERE generation = ?`).run(msl + 2, msl);
    expect(s.exchanges.setMslMigration('2027-01-15').generations).toEqual([]);
  });

  it('is never answered under a generation this KeyLadder issued under (here, MSL\'s Kissuer while it was active)', async () => {
    const { services: s } = await setup('msl');
    await climb(await device('ESN-B', KPW_B), 1); // issues under the imported generation
    s.issuers.rotate(90, 'msl');
    const window = s.exchanges.setMslMigration('2027-01-15');
    expect(window.generations).toEqual([]);
    expect(error(s.exchanges.respond(wrap('ESN-A', aesKeyWrap(Buffer.from(KISSUER_MSL, 'hex'), randomBytes(16)))).json).reason).toBe('WRAPDATA_UNREGISTERED');
  });
});

describe('strangers cannot make a device look like a clone (issue 19, item 4)', () => {
  const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

  it.each(['msl', 'keyladder-v1'] as const)('%s: two anonymous PSK requests for its identity neither mark it nor get its next WRAP refused', async (format) => {
    const { services: s } = await setup(format);
    s.exchanges.setClonePolicy('refuse');
    const a = await device('ESN-A', KPW_A);
    await climb(a, 3);
    // A stranger asks twice (answered: useless without Kpw).
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    await climb(a, 2); // the real device's next WRAPs are answered
    s.exchanges.setClonePolicy('flag');
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    await climb(a, 1);
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'latest' });
  });

  it.each(['msl', 'keyladder-v1'] as const)('%s: PSK spam does not push the device\'s lineage out of the registry', async (format) => {
    const { services: s } = await setup(format);
    s.exchanges.setClonePolicy('refuse');
    const a = await device('ESN-A', KPW_A);
    await climb(a, 2);
    for (let i = 0; i < 20; i++) expect(s.exchanges.respond(psk('ESN-A')).ok).toBe(true);
    await climb(a, 1);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'latest' });
  });

  it.each(['msl', 'keyladder-v1'] as const)('%s: a stranger\'s own root replayed three times (4 requests) is audited but marks nothing (round 2)', async (format) => {
    const { services: s } = await setup(format);
    const a = await device('ESN-A', KPW_A);
    await climb(a, 2);
    const rootOf = (out: { json: string }) => Buffer.from((JSON.parse(out.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata, 'base64');
    // The stranger's PSK answer carries a root in clear; it presents it three times: latest, retry, then a third.
    const root = rootOf(s.exchanges.respond(psk('ESN-A')));
    for (let i = 0; i < 3; i++) expect(s.exchanges.respond(wrap('ESN-A', root)).ok).toBe(true);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'root-replayed' });
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details['possibleClone']).toBeUndefined();
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
    // Under refuse, the stranger's replay is refused; the real device climbs on untouched.
    s.exchanges.setClonePolicy('refuse');
    const again = rootOf(s.exchanges.respond(psk('ESN-A')));
    for (let i = 0; i < 2; i++) expect(s.exchanges.respond(wrap('ESN-A', again)).ok).toBe(true);
    expect(error(s.exchanges.respond(wrap('ESN-A', again)).json).reason).toBe('WRAPDATA_SUPERSEDED');
    await climb(a, 1);
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'latest' });
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
  });

  it.each(['msl', 'keyladder-v1'] as const)('%s: a real fork still flags (two holders climb on from one wrapdata)', async (format) => {
    const { services: s } = await setup(format);
    const a = await device('ESN-A', KPW_A);
    const shared = await climb(a, 2);
    // A copy of the device holds the same wrapdata and Kwrap; both climb on from it.
    const first = s.exchanges.respond(wrap('ESN-A', shared));
    const second = s.exchanges.respond(wrap('ESN-A', shared)); // looks like a retry, once
    expect([first.ok, second.ok]).toEqual([true, true]);
    const held = (out: { json: string }) => Buffer.from((JSON.parse(out.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata, 'base64');
    expect(s.exchanges.respond(wrap('ESN-A', held(first))).ok).toBe(true);
    expect(s.devices.get('ESN-A').possibleClone).toBeNull();
    // The second branch climbs on too: a fork.
    expect(s.exchanges.respond(wrap('ESN-A', held(second))).ok).toBe(true);
    expect(s.devices.get('ESN-A').possibleClone).toMatchObject({ events: 1 });
    expect(s.audit.list({ action: 'exchange', subject: 'ESN-A', limit: 1 })[0]!.details).toMatchObject({ wrapdata: 'superseded', possibleClone: true });
    // Under `refuse`, the second branch is refused (ESN-B forks the same way).
    s.exchanges.setClonePolicy('refuse');
    const sharedB = await climb(await device('ESN-B', KPW_B), 2);
    const [b1, b2] = [s.exchanges.respond(wrap('ESN-B', sharedB)), s.exchanges.respond(wrap('ESN-B', sharedB))];
    expect(s.exchanges.respond(wrap('ESN-B', held(b1))).ok).toBe(true);
    expect(error(s.exchanges.respond(wrap('ESN-B', held(b2))).json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_SUPERSEDED' });
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
    const holds = (out: { json: string }) => Buffer.from((JSON.parse(out.json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata, 'base64');
    // Each presents what it got: the second to climb on from the shared wrapdata is a fork.
    expect(s.exchanges.respond(wrap('ESN-A', holds(original))).ok).toBe(true);
    expect(s.exchanges.respond(wrap('ESN-A', holds(clone))).ok).toBe(true);
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

describe('under the summary audit policy, what the operator must see is still a row each (round 2)', () => {
  it('a migration, a retry and a replayed wrapdata each keep their own exchange row; a plain climb is summarised', async () => {
    const { services: s } = await setup('msl');
    s.issuers.rotate(90, 'msl');
    s.audit.setExchangePolicy('summary');
    s.exchanges.setMslMigration('2027-01-15');
    const rows = (subject: string) => s.audit.list({ action: 'exchange', subject, limit: 100 }).map((e) => e.details['wrapdata'] ?? e.details['mechanism']);
    // ESN-A migrates from MSL's own responder.
    expect(s.exchanges.respond(wrap('ESN-A', aesKeyWrap(Buffer.from(KISSUER_MSL, 'hex'), randomBytes(16)))).ok).toBe(true);
    expect(rows('ESN-A')).toEqual(['migrated']);
    // ESN-B climbs (PSK, then a plain WRAP: summarised), then retries, then presents superseded wrapdata.
    const b = await device('ESN-B', KPW_B);
    const w1 = await climb(b, 1);
    expect(s.exchanges.respond(wrap('ESN-B', w1)).ok).toBe(true);
    expect(rows('ESN-B')).toEqual([]);
    expect(s.exchanges.respond(wrap('ESN-B', w1)).ok).toBe(true);
    expect(rows('ESN-B')).toEqual(['retry']);
    expect(s.exchanges.respond(wrap('ESN-B', w1)).ok).toBe(true);
    expect(rows('ESN-B')).toEqual(['root-replayed', 'retry']); // w1 is a root (a PSK answer)
  });
});
