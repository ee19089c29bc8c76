// Rekey (issue 11, item 5): a new store key for every page, sealed record and
// audit MAC; afterwards the old key file with its passphrase, and a recovery
// key printed before, open nothing, while everything else is as it was. It
// needs the store to itself, and a crash at any point leaves a store that
// opens (the old one before READY, the new one after).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, tempDir, type TestServices } from '../support/services.js';
import { dumpTables, openRaw, storeKeyOf } from '../support/storeFiles.js';

let t: TestServices | undefined;
let other: KeyLadderRuntime | undefined;
afterEach(() => {
  other?.close();
  t?.cleanup();
  t = other = undefined;
});

const KPW = '000102030405060708090a0b0c0d0e0f';
const NEXT = 'the passphrase after the rekey';

/** A store with a bit of everything: a group, devices (one revoked), an msl generation, exchanges, a clone policy. */
async function populated(): Promise<TestServices> {
  t = await openTestServices();
  const s = t.services;
  s.groups.add('model-a', { kind: 'generate' });
  s.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW }, group: 'model-a' });
  s.devices.provision({ identity: 'ESN-B', keys: { kind: 'generate' } });
  s.devices.revoke('ESN-B');
  s.issuers.importMsl('8899aabbccddeeff0011223344556677');
  s.exchanges.setClonePolicy('refuse');
  const device = new LadderRequestor('ESN-A', await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
  for (let i = 0; i < 2; i++) await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
  return t;
}

const visible = (s: KeyLadderRuntime) => ({
  devices: s.devices.list({ limit: 100 }).items,
  groups: s.groups.list(),
  issuers: s.issuers.list().map(({ exchangeCount, ...g }) => g),
  policy: s.exchanges.clonePolicy(),
});

describe('keyladder rekey', () => {
  it('keeps everything, with every key the same (KCVs, an exchange under the same Kpw), under a new store key', async () => {
    const { services: s, dir } = await populated();
    const before = visible(s);
    const oldKeyFile = readFileSync(join(dir, 'keyladder.key.json'), 'utf8');
    const oldRecoveryKey = await storeKeyOf(dir, PASSPHRASE);
    const entries = s.audit.verify().entries;
    const counts = await s.store.rekey(PASSPHRASE, NEXT);
    expect(counts).toEqual({ devices: 2, groups: 1, generations: 2, auditEntries: entries });
    expect(s.store.status().unlocked).toBe(true);
    expect(visible(s)).toEqual(before);
    expect(s.audit.verify()).toMatchObject({ ok: true, entries: entries + 2 }); // the rekey and the unlock after it
    expect(s.audit.list({ action: 'store.rekey', limit: 1 })[0]!.details).toMatchObject({ devices: 2, passphraseChanged: true });
    expect(s.store.verify()).toMatchObject({ ok: true });
    // The keys inside are the same: the device still gets answers under its Kpw.
    const device = new LadderRequestor('ESN-A', await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
    expect((await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json))).kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
    s.store.lock();
    // The old recovery key opens nothing; the new one does.
    expect(() => dumpTables(openRaw(join(dir, 'keyladder.db'), oldRecoveryKey, { readonly: true }))).toThrow();
    const newKey = await storeKeyOf(dir, NEXT);
    expect(newKey.equals(oldRecoveryKey)).toBe(false);
    expect(Object.keys(dumpTables(openRaw(join(dir, 'keyladder.db'), newKey, { readonly: true })))).toContain('devices');
    // The old key file with the old passphrase opens nothing either.
    writeFileSync(join(dir, 'keyladder.key.json'), oldKeyFile);
    await expect(s.store.unlock(PASSPHRASE)).rejects.toMatchObject({ code: expect.stringMatching(/STORE_CORRUPT|WRONG_PASSPHRASE|NOT_A_STORE/) });
  });

  it('keeps deleted devices\' tombstones: the identity is still refused, and its wrapdata with it', async () => {
    const { services: s } = await populated();
    const device = new LadderRequestor('ESN-A', await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
    const { wrapdata } = await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
    s.devices.deleteSelected({ kind: 'identities', identities: ['ESN-A'] });
    await s.store.rekey(PASSPHRASE);
    expect(() => s.devices.provision({ identity: 'ESN-A', keys: { kind: 'generate' } })).toThrow(expect.objectContaining({ code: 'DEVICE_DELETED' }));
    const out = s.exchanges.respond(JSON.stringify({ identity: 'ESN-C', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: Buffer.from(wrapdata!).toString('base64') } } }));
    expect(JSON.parse(out.json).error.reason).toBe('WRAPDATA_DEVICE_DELETED');
  });

  it('keeps the passphrase when given none; old key material still opens nothing', async () => {
    const { services: s, dir } = await populated();
    const oldRecoveryKey = await storeKeyOf(dir, PASSPHRASE);
    await s.store.rekey(PASSPHRASE);
    s.store.lock();
    await s.store.unlock(PASSPHRASE);
    expect((await storeKeyOf(dir, PASSPHRASE)).equals(oldRecoveryKey)).toBe(false);
  });

  it('refuses while another process has the store open, or with a wrong passphrase, changing nothing', async () => {
    const { services: s, dir } = await populated();
    const key = readFileSync(join(dir, 'keyladder.key.json'));
    await expect(s.store.rekey('not the passphrase at all')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    other = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    await other.store.unlock(PASSPHRASE);
    await expect(s.store.rekey(PASSPHRASE)).rejects.toMatchObject({ code: 'STORE_IN_USE' });
    expect(readFileSync(join(dir, 'keyladder.key.json')).equals(key)).toBe(true);
    expect(existsSync(join(dir, 'restore-pending'))).toBe(false);
    // Both go on working, and the audit chain is whole.
    other.devices.provision({ identity: 'ESN-AFTER', keys: { kind: 'generate' } });
    expect(s.devices.get('ESN-AFTER').status).toBe('active');
    expect(s.audit.verify()).toMatchObject({ ok: true });
  });

  it('a crash after READY rolls forward at the next unlock; before READY, the old store stays', async () => {
    const { services: s, dir } = await populated();
    const snapshot = tempDir('keyladder-rekey-crash-');
    s.store.lock();
    for (const f of ['keyladder.db', 'keyladder.key.json']) copyFileSync(join(dir, f), join(snapshot, f));
    await s.store.unlock(PASSPHRASE);
    await s.store.rekey(PASSPHRASE, NEXT);
    s.store.lock();
    // Recreate the moment before the swap: the old files in place, the new ones staged with READY.
    const staged = join(dir, 'restore-pending');
    mkdirSync(staged);
    for (const f of ['keyladder.db', 'keyladder.key.json']) copyFileSync(join(dir, f), join(staged, f));
    for (const f of ['keyladder.db', 'keyladder.key.json']) copyFileSync(join(snapshot, f), join(dir, f));
    writeFileSync(join(staged, 'READY'), 'ready\n');
    await s.store.unlock(NEXT);
    expect(s.audit.list({ action: 'store.rekey', limit: 1 })).toHaveLength(1);
    s.store.lock();
    // Without READY the staging is discarded, and the old store opens with the old passphrase.
    mkdirSync(staged);
    copyFileSync(join(snapshot, 'keyladder.db'), join(staged, 'keyladder.db'));
    rmSync(join(dir, 'keyladder.db-wal'), { force: true });
    await s.store.unlock(NEXT);
    expect(existsSync(staged)).toBe(false);
    expect(s.store.verify()).toMatchObject({ ok: true });
  });
});
