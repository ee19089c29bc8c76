// The handlers hold no logic: they call the services, and main's file dialogs
// for the channels that read or write files. A canceled dialog does nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { adviceFor } from '../../renderer/src/api/advice.js';
import { openTestServices } from '../support/services.js';
import type { KeyLadderServices } from '../../electron/services/api.js';
import { deliverThenRecord, type Delivery } from '../../electron/services/delivery.js';

/** Services where every method is a spy returning `result` (or its own, from `results`, by "area.method"). */
function spyServices(result: unknown = 'ok', results: Record<string, unknown> = {}) {
  const calls: string[] = [];
  const services = new Proxy({}, {
    get: (_t, area: string) => new Proxy({}, {
      get: (_u, method: string) => vi.fn((...args: unknown[]) => {
        const isDelivery = (a: unknown): a is Delivery => typeof (a as Delivery | null)?.write === 'function';
        calls.push(`${area}.${method}(${args.map((a) => (typeof a === 'function' ? 'fn' : isDelivery(a) ? 'delivery' : JSON.stringify(a))).join(', ')})`);
        const value = `${area}.${method}` in results ? results[`${area}.${method}`] : result;
        // An export delivers its text where it was asked to before it returns it, as the services do.
        const delivery = args.find(isDelivery);
        if (delivery && typeof value === 'string') {
          delivery.write(value);
          delivery.done();
        }
        return value;
      }),
    }),
  }) as KeyLadderServices;
  return { services, calls };
}

const ctx = { progress: vi.fn() };

/** Temporary folders, removed after the file's tests. */
const made: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyladder-handlers-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const deps = (open: string | null, save: string | null): AppDeps => ({
  version: '1.2.3',
  settings: { get: () => ({ idleLockMinutes: 10 }), setIdleLockMinutes: (m) => ({ idleLockMinutes: m }) },
  openFile: vi.fn(async () => open),
  saveFile: vi.fn(async () => save),
  confirm: vi.fn(async () => false),
  responder: { status: vi.fn(), start: vi.fn(), stop: vi.fn(), chooseTls: vi.fn(), chooseTokenFile: vi.fn(), chooseClientCa: vi.fn(), metrics: vi.fn(), mslMessages: vi.fn(), mslMessage: vi.fn() },
});

describe('IPC handlers', () => {
  it('do nothing when the operator cancels a file dialog', async () => {
    const { services, calls } = spyServices('ok', { 'devices.select': ['A'] });
    const h = createHandlers(services, deps(null, null));
    expect(await h['devices.importFile']({}, ctx)).toEqual({ canceled: true });
    expect(await h['devices.exportBundle']({ selection: { kind: 'identities', identities: ['A'] }, protection: { kind: 'passphrase', passphrase: 'p' } }, ctx)).toEqual({ canceled: true });
    // Only the selection was resolved (a read): nothing was exported.
    expect(calls.splice(0)).toEqual(['devices.select({"kind":"identities","identities":["A"]})']);
    expect(await h['issuers.exportToPeer']({ generations: [1], protection: { kind: 'passphrase', passphrase: 'p' } }, ctx)).toEqual({ canceled: true });
    expect(await h['issuers.importFromPeer']({ protection: { kind: 'passphrase', passphrase: 'p' } }, ctx)).toEqual({ canceled: true });
    expect(calls).toEqual([]);
  });

  it('read the chosen file in main and pass its text, format and progress to the services', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'devices.JSON');
    writeFileSync(file, '[{"identity":"A"}]');
    const { services, calls } = spyServices({ total: 1, imported: 1, failed: [] });
    const h = createHandlers(services, deps(file, null));
    expect(await h['devices.importFile']({ format: 'auto' }, ctx)).toEqual({ canceled: false, file, report: { total: 1, imported: 1, failed: [] } });
    expect(calls).toEqual(['devices.import("[{\\"identity\\":\\"A\\"}]", "json", fn, {"reuseIdentity":false})']);
  });

  it('write exports to the chosen file, readable by the owner only, and return no key material', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bundle.jwe');
    const { services } = spyServices('eyJhbGciOi.compact.jwe', { 'devices.select': ['A', 'B'] });
    const h = createHandlers(services, deps(null, file));
    const value = await h['devices.exportBundle']({ selection: { kind: 'prefix', prefix: 'A' }, protection: { kind: 'passphrase', passphrase: 'p' } }, ctx);
    expect(value).toEqual({ canceled: false, file, count: 2 });
    expect(readFileSync(file, 'utf8')).toBe('eyJhbGciOi.compact.jwe');
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('an export over the file the save dialog let it replace puts that file back when its audit record fails', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bundle.jwe');
    writeFileSync(file, 'the bundle saved here last week');
    // The services' own order (delivery.ts): the file first, then the record, which fails here.
    const record = () => {
      throw new Error('the audit log cannot be written');
    };
    const services = {
      devices: { select: () => ['A'], exportBundle: async (_ids: unknown, _protection: unknown, delivery: Delivery) => deliverThenRecord('a new bundle', delivery, record) },
      issuers: { exportToPeer: async (_generations: unknown, _protection: unknown, delivery: Delivery) => deliverThenRecord('a new export', delivery, record) },
    } as unknown as KeyLadderServices;
    const h = createHandlers(services, deps(null, file));
    await expect(h['devices.exportBundle']({ selection: { kind: 'identities', identities: ['A'] }, protection: { kind: 'passphrase', passphrase: 'p' } }, ctx)).rejects.toThrow('the audit log cannot be written');
    expect(readFileSync(file, 'utf8')).toBe('the bundle saved here last week');
    await expect(h['issuers.exportToPeer']({ generations: [1], protection: { kind: 'passphrase', passphrase: 'p' } }, ctx)).rejects.toThrow('the audit log cannot be written');
    expect(readFileSync(file, 'utf8')).toBe('the bundle saved here last week');
    expect(readdirSync(dir)).toEqual(['bundle.jwe']);
  });

  it('map each channel to its one service call', async () => {
    const { services, calls } = spyServices({ path: '/s', exists: true, unlocked: true });
    const h = createHandlers(services, deps(null, null));
    await h['store.unlock']({ passphrase: 'pw', operator: 'Alice' }, ctx);
    await h['devices.provision']({ identity: 'A', keys: { kind: 'generate' } }, ctx);
    await h['exchanges.simulate']({ identity: 'A', rungs: 3, mechanism: 'PSK', profile: 'msl' }, ctx);
    await h['issuers.destroy']({ generation: 2, confirm: 2, reason: 'compromised' }, ctx);
    expect(calls).toEqual([
      'store.unlock("pw", "Alice")',
      'store.status()',
      'devices.provision({"identity":"A","group":null,"keys":{"kind":"generate"},"reuseIdentity":false})',
      'exchanges.simulate("A", {"rungs":3,"mechanism":"PSK","profile":"msl"})',
      'issuers.destroy(2, "compromised")',
    ]);
    expect(await h['app.info'](undefined, ctx)).toEqual({ version: '1.2.3', settings: { idleLockMinutes: 10 } });
  });
});

describe('RSA keys reach main from files main reads, never through the renderer (issue 11, items 11 and 20)', () => {
  it('the contract has no channel that carries a JWK: a pasted publicJwk or privateJwk is refused', async () => {
    const { contract } = await import('../../electron/ipc/contract.js');
    const jwk = { kty: 'RSA', n: 'AQAB', e: 'AQ' };
    expect(contract['devices.exportBundle'].request.safeParse({ selection: { kind: 'all' }, protection: { kind: 'rsa', publicJwk: jwk } }).success).toBe(false);
    expect(contract['issuers.exportToPeer'].request.safeParse({ generations: [1], protection: { kind: 'rsa', publicJwk: jwk } }).success).toBe(false);
    expect(contract['issuers.importFromPeer'].request.safeParse({ protection: { kind: 'rsa', privateJwk: jwk } }).success).toBe(false);
    expect(contract['issuers.importFromPeer'].request.safeParse({ protection: { kind: 'rsa-key-file', privateJwk: jwk } }).success).toBe(false);
    expect(contract['devices.exportBundle'].request.safeParse({ selection: { kind: 'all' }, protection: { kind: 'rsa-key-file' } }).success).toBe(true);
  });

  it('export: main asks for the recipient key file, reads it, and hands the services the JWK it read', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'factory.jwk');
    writeFileSync(keyFile, '{"kty":"RSA","n":"sXch","e":"AQAB"}');
    const out = path.join(dir, 'bundle.jwe');
    const { services, calls } = spyServices('a.b.c.d.e', { 'devices.select': ['A'] });
    const d = deps(keyFile, out);
    const h = createHandlers(services, d);
    expect(await h['devices.exportBundle']({ selection: { kind: 'identities', identities: ['A'] }, protection: { kind: 'rsa-key-file' } }, ctx)).toEqual({ canceled: false, file: out, count: 1 });
    expect(calls).toEqual(['devices.select({"kind":"identities","identities":["A"]})', 'devices.exportBundle(["A"], {"kind":"rsa","publicJwk":{"kty":"RSA","n":"sXch","e":"AQAB"}}, delivery)']);
    expect((d.openFile as ReturnType<typeof vi.fn>).mock.calls[0]![0]).toMatchObject({ title: 'Choose the recipient’s RSA public key (JWK)' });
  });

  it('a key file that is not a JWK, a duplicate member included, is RECIPIENT_KEY_INVALID and nothing is called', async () => {
    const dir = tempDir();
    for (const text of ['not json', '[1]', '{"kty":"RSA","e":"AQ","e":"AQAB"}']) {
      const keyFile = path.join(dir, 'bad.jwk');
      writeFileSync(keyFile, text);
      const { services, calls } = spyServices('x');
      const h = createHandlers(services, deps(keyFile, path.join(dir, 'out.jwe')));
      await expect(h['issuers.exportToPeer']({ generations: [1], protection: { kind: 'rsa-key-file' } }, ctx)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
      await expect(h['issuers.importFromPeer']({ protection: { kind: 'rsa-key-file' } }, ctx)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
      expect(calls).toEqual([]);
    }
  });
});

describe('failed unlocks back off (issue 11, item 20)', () => {
  it('after each wrong passphrase the next attempt waits 1 s, 2 s, 4 s … up to 30 s, refused before the store sees it; a right one resets it', async () => {
    const { UnlockBackoff } = await import('../../electron/security/unlockBackoff.js');
    let now = 0;
    let right = false;
    const unlock = vi.fn(async () => {
      if (!right) throw Object.assign(new Error('wrong'), { code: 'WRONG_PASSPHRASE' });
    });
    const services = { store: { unlock, status: () => ({ unlocked: right }) } } as unknown as KeyLadderServices;
    const backoff = new UnlockBackoff(() => now);
    const h = createHandlers(services, { ...deps(null, null), unlockBackoff: backoff });
    const attempt = () => h['store.unlock']({ passphrase: 'p', operator: 'Alice' }, ctx);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      await expect(attempt()).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
      waits.push(backoff.wait());
      const calls = unlock.mock.calls.length;
      now += waits[i]! - 1;
      await expect(attempt()).rejects.toMatchObject({ code: 'UNLOCK_BACKOFF', message: expect.stringMatching(/try again in \d+ s\.$/) });
      expect(unlock.mock.calls.length).toBe(calls);
      now += 1;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    right = true;
    await expect(attempt()).resolves.toMatchObject({ unlocked: true });
    right = false;
    await expect(attempt()).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(backoff.wait()).toBe(1000);
  });
});

describe('backup and restore through main’s dialogs (issue 12, item 7)', () => {
  const withConfirm = (open: string | null, save: string | null, yes: boolean): AppDeps => ({ ...deps(open, save), confirm: vi.fn(async () => yes) });

  it('backup: writes a new file with progress; an existing one only on the operator’s yes', async () => {
    const dir = tempDir();
    const fresh = path.join(dir, 'new.klbackup');
    let spy = spyServices(undefined);
    expect(await createHandlers(spy.services, withConfirm(null, fresh, false))['store.backup'](undefined, ctx)).toEqual({ canceled: false, file: fresh });
    expect(spy.calls).toEqual([`store.backup(${JSON.stringify(fresh)}, fn, false)`]);

    const existing = path.join(dir, 'old.klbackup');
    writeFileSync(existing, 'an older backup');
    spy = spyServices(undefined);
    const declined = withConfirm(null, existing, false);
    expect(await createHandlers(spy.services, declined)['store.backup'](undefined, ctx)).toEqual({ canceled: true });
    expect(spy.calls).toEqual([]);
    expect((declined.confirm as ReturnType<typeof vi.fn>).mock.calls[0]![0]).toMatchObject({ title: 'Replace the existing file?' });
    spy = spyServices(undefined);
    expect(await createHandlers(spy.services, withConfirm(null, existing, true))['store.backup'](undefined, ctx)).toEqual({ canceled: false, file: existing });
    expect(spy.calls).toEqual([`store.backup(${JSON.stringify(existing)}, fn, true)`]);

    spy = spyServices(undefined);
    expect(await createHandlers(spy.services, withConfirm(null, null, true))['store.backup'](undefined, ctx)).toEqual({ canceled: true });
    expect(spy.calls).toEqual([]);
  });

  it('restore: only after the file dialog, the preview of the backup and main’s own yes, with the backup’s passphrase', async () => {
    const file = path.join(tempDir(), 'b.klbackup');
    const preview = { backupAt: '2026-12-01T10:00:00.000Z', backupId: 'b1', storeId: 'store-1', currentStoreId: 'store-1', sameStore: true, devices: 7, generations: 2, activeGeneration: 2, auditHead: { seq: 41, mac: '0123456789abcdef' }, bytes: 4096 };
    const status = { path: '/s/keyladder.db', exists: true, unlocked: false };
    const results = { 'store.previewRestore': Promise.resolve(preview), 'store.status': status, 'store.restore': Promise.resolve({ safetyCopy: '/s/replaced-x' }) };
    let spy = spyServices('ok', results);
    expect(await createHandlers(spy.services, withConfirm(null, null, true))['store.restore']({ passphrase: 'old pw' }, ctx)).toEqual({ canceled: true });
    expect(spy.calls).toEqual([]);
    spy = spyServices('ok', results);
    const declined = withConfirm(file, null, false);
    await expect(createHandlers(spy.services, declined)['store.restore']({ passphrase: 'old pw' }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    // Only the preview was asked for (it reads the backup, never the store); the dialog shows it.
    expect(spy.calls.filter((c) => !c.startsWith('store.status'))).toEqual([`store.previewRestore(${JSON.stringify(file)}, "old pw")`]);
    const detail = ((declined.confirm as ReturnType<typeof vi.fn>).mock.calls[0]![0] as { detail: string }).detail;
    expect(detail).toContain('store id:    store-1 (this store\'s own backup)');
    expect(detail).toContain('devices:     7');
    expect(detail).toContain('Kissuer:     2 generations, 2 active');
    expect(detail).toContain('made:        2026-12-01T10:00:00.000Z');
    expect(detail).toContain('audit head:  entry 41 (MAC 0123456789abcdef…)');
    spy = spyServices('ok', results);
    expect(await createHandlers(spy.services, withConfirm(file, null, true))['store.restore']({ passphrase: 'old pw' }, ctx)).toEqual({ canceled: false, file, status });
    expect(spy.calls).toContain(`store.restore(${JSON.stringify(file)}, "old pw", {})`);
    // The reason and the restoring operator (from the unlock screen) reach the service.
    spy = spyServices('ok', results);
    expect(await createHandlers(spy.services, withConfirm(file, null, true))['store.restore']({ passphrase: 'old pw', reason: 'undo a bad import', operator: 'Dana' }, ctx)).toEqual({ canceled: false, file, status });
    expect(spy.calls).toContain(`store.restore(${JSON.stringify(file)}, "old pw", {"reason":"undo a bad import","operator":"Dana"})`);
  });

  it('restore: another store\'s backup is refused before the question (BACKUP_OTHER_STORE, from the preview)', async () => {
    const file = path.join(tempDir(), 'b.klbackup');
    const refusal = Object.assign(new Error('This backup is of another store'), { code: 'BACKUP_OTHER_STORE' });
    const spy = spyServices('ok', { 'store.previewRestore': Promise.reject(refusal), 'store.status': { path: '/s/keyladder.db', exists: true, unlocked: false } });
    const app = withConfirm(file, null, true);
    await expect(createHandlers(spy.services, app)['store.restore']({ passphrase: 'old pw' }, ctx)).rejects.toMatchObject({ code: 'BACKUP_OTHER_STORE' });
    expect(app.confirm).not.toHaveBeenCalled();
    expect(spy.calls.some((c) => c.startsWith('store.restore('))).toBe(false);
  });

  it('the selector schema takes the four kinds only, and bounded', async () => {
    const { contract } = await import('../../electron/ipc/contract.js');
    const ok = (selection: unknown) => contract['devices.countSelection'].request.safeParse({ selection }).success;
    expect([{ kind: 'all' }, { kind: 'prefix', prefix: 'ESN-' }, { kind: 'group', group: 'G' }, { kind: 'identities', identities: ['A'] }].every(ok)).toBe(true);
    expect(ok({ kind: 'prefix', prefix: '' })).toBe(false);
    expect(ok({ kind: 'identities', identities: [] })).toBe(false);
    expect(ok({ kind: 'identities', identities: ['has space'] })).toBe(false);
    expect(ok({ kind: 'all', where: '1=1' })).toBe(false);
    expect(ok({ kind: 'sql' })).toBe(false);
  });
});

describe('devices.delete', () => {
  it('deletes only when the typed count is what the selection holds now; otherwise NOT_CONFIRMED and nothing deleted', async () => {
    const selection = { kind: 'identities' as const, identities: ['A', 'B'] };
    let spy = spyServices({ deleted: 2, wrapdataRefused: 0 }, { 'devices.select': ['A', 'B'] });
    await expect(createHandlers(spy.services, deps(null, null))['devices.delete']({ selection, confirm: 3 }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED', message: expect.stringContaining('holds 2 devices, not the 3 typed') });
    expect(spy.calls).toEqual(['devices.select({"kind":"identities","identities":["A","B"]}, 1000000)']);
    spy = spyServices({ deleted: 2, wrapdataRefused: 0 }, { 'devices.select': ['A', 'B'] });
    expect(await createHandlers(spy.services, deps(null, null))['devices.delete']({ selection, confirm: 2, reason: 'mistaken import' }, ctx)).toEqual({ deleted: 2, wrapdataRefused: 0 });
    expect(spy.calls).toEqual(['devices.select({"kind":"identities","identities":["A","B"]}, 1000000)', 'devices.deleteSelected({"kind":"identities","identities":["A","B"]}, "mistaken import")']);
  });

  it('validates its request: a selector, and a whole typed count from 1 to 1,000,000, nothing else', async () => {
    const { contract } = await import('../../electron/ipc/contract.js');
    const ok = (request: unknown) => contract['devices.delete'].request.safeParse(request).success;
    expect(ok({ selection: { kind: 'group', group: 'G' }, confirm: 5 })).toBe(true);
    expect(ok({ selection: { kind: 'identities', identities: ['A'] }, confirm: 1 })).toBe(true);
    for (const bad of [
      { selection: { kind: 'identities', identities: ['A'] } },
      { selection: { kind: 'identities', identities: ['A'] }, confirm: 0 },
      { selection: { kind: 'identities', identities: ['A'] }, confirm: 1.5 },
      { selection: { kind: 'identities', identities: ['A'] }, confirm: '1' },
      { selection: { kind: 'identities', identities: ['A'] }, confirm: 1_000_001 },
      { selection: { kind: 'identities', identities: [] }, confirm: 1 },
      { selection: { kind: 'prefix', prefix: '' }, confirm: 1 },
      { selection: { kind: 'all' }, confirm: 1, reuse: true },
    ]) expect(ok(bad), JSON.stringify(bad)).toBe(false);
  });
});

describe('reusing a deleted identity from the app', () => {
  it('passes reuseIdentity to the services only when ticked; an absent tick is false', async () => {
    const { services, calls } = spyServices({ identity: 'A' });
    const h = createHandlers(services, deps(null, null));
    await h['devices.provision']({ identity: 'A', keys: { kind: 'generate' } }, ctx);
    await h['devices.provision']({ identity: 'A', keys: { kind: 'generate' }, reuseIdentity: true }, ctx);
    expect(calls).toEqual([
      'devices.provision({"identity":"A","group":null,"keys":{"kind":"generate"},"reuseIdentity":false})',
      'devices.provision({"identity":"A","group":null,"keys":{"kind":"generate"},"reuseIdentity":true})',
    ]);
  });

  it('passes the import\'s tick with the file\'s text', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'devices.csv');
    writeFileSync(file, 'identity\nA\n');
    for (const reuseIdentity of [undefined, true]) {
      const { services, calls } = spyServices({ total: 1, imported: 1, failed: [] });
      await createHandlers(services, deps(file, null))['devices.importFile']({ format: 'csv', ...(reuseIdentity ? { reuseIdentity } : {}) }, ctx);
      expect(calls).toEqual([`devices.import("identity\\nA\\n", "csv", fn, {"reuseIdentity":${reuseIdentity === true}})`]);
    }
  });

  it('validates the tick: a boolean or absent, nothing else', async () => {
    const { contract } = await import('../../electron/ipc/contract.js');
    const provision = (request: unknown) => contract['devices.provision'].request.safeParse(request).success;
    const importFile = (request: unknown) => contract['devices.importFile'].request.safeParse(request).success;
    expect(provision({ identity: 'A', keys: { kind: 'generate' }, reuseIdentity: true })).toBe(true);
    expect(provision({ identity: 'A', keys: { kind: 'generate' }, reuseIdentity: false })).toBe(true);
    expect(importFile({ reuseIdentity: true })).toBe(true);
    for (const bad of ['yes', 1, null, 'true']) {
      expect(provision({ identity: 'A', keys: { kind: 'generate' }, reuseIdentity: bad }), String(bad)).toBe(false);
      expect(importFile({ format: 'csv', reuseIdentity: bad }), String(bad)).toBe(false);
    }
    expect(provision({ identity: 'A', keys: { kind: 'generate' }, reuse: true })).toBe(false);
    expect(importFile({ reuse: true })).toBe(false);
  });

  it('refuses a deleted identity without the tick (DEVICE_DELETED, with the app\'s advice naming the tick), and provisions it with it', async () => {
    const t = await openTestServices();
    try {
      const h = createHandlers(t.services, deps(null, null));
      await h['devices.provision']({ identity: 'ESN-R', keys: { kind: 'generate' } }, ctx);
      await h['devices.delete']({ selection: { kind: 'identities', identities: ['ESN-R'] }, confirm: 1 }, ctx);
      await expect(Promise.resolve().then(() => h['devices.provision']({ identity: 'ESN-R', keys: { kind: 'generate' } }, ctx))).rejects.toMatchObject({ code: 'DEVICE_DELETED' });
      expect(adviceFor('DEVICE_DELETED')).toContain('Reuse a deleted device’s name');
      expect(await h['devices.provision']({ identity: 'ESN-R', keys: { kind: 'generate' }, reuseIdentity: true }, ctx)).toMatchObject({ identity: 'ESN-R', status: 'active' });
      expect(t.services.audit.list({ action: 'device.provision' })[0]).toMatchObject({ subject: 'ESN-R', details: { reusedIdentity: true } });
    } finally {
      t.cleanup();
    }
  });

  it('deletes by group or prefix from the app, the typed count checked against what main selects', async () => {
    const t = await openTestServices();
    try {
      const s = t.services;
      s.groups.add('G1', { kind: 'generate' });
      for (const id of ['LOT-A1', 'LOT-A2', 'OTHER-1']) s.devices.provision({ identity: id, group: id === 'LOT-A2' ? 'G1' : null, keys: { kind: 'generate' } });
      const h = createHandlers(s, deps(null, null));
      await expect(h['devices.delete']({ selection: { kind: 'prefix', prefix: 'LOT-' }, confirm: 1 }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
      expect(s.devices.list().total).toBe(3);
      expect(await h['devices.delete']({ selection: { kind: 'group', group: 'G1' }, confirm: 1 }, ctx)).toMatchObject({ deleted: 1 });
      expect(await h['devices.delete']({ selection: { kind: 'prefix', prefix: 'LOT-' }, confirm: 1 }, ctx)).toMatchObject({ deleted: 1 });
      expect(s.devices.list().items.map((d) => d.identity)).toEqual(['OTHER-1']);
    } finally {
      t.cleanup();
    }
  });
});
