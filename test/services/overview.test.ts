// The Overview: store size and last check, Kissuer generations, devices by
// status and group, and the last day's refusals by code, counted in SQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PASSPHRASE, openTestServices, type TestServices } from '../support/services.js';

let t: TestServices;
beforeEach(async () => {
  t = await openTestServices();
});
afterEach(() => t.cleanup());

const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

describe('the store overview', () => {
  it('counts devices by status and by group', () => {
    const { devices, groups, overview } = t.services;
    groups.add('MODEL-A', { kind: 'generate' });
    for (let i = 0; i < 3; i++) devices.provision({ identity: `A-${i}`, group: 'MODEL-A', keys: { kind: 'generate' } });
    devices.provision({ identity: 'LONE', keys: { kind: 'generate' } });
    devices.revoke('A-2');
    const o = overview.get();
    expect(o.devices).toEqual({ total: 4, active: 3, revoked: 1, deleted: 0, byGroup: [{ group: 'MODEL-A', count: 3 }, { group: null, count: 1 }] });
    expect(o.generations.map((g) => g.status)).toEqual(['active']);
    expect(o.fileBytes).toBeGreaterThan(0);
  });

  it('knows the last verify result of this session, and forgets it after a restore', async () => {
    const { store, overview } = t.services;
    expect(overview.get().lastVerify).toBeNull();
    store.verify();
    expect(overview.get().lastVerify).toEqual({ at: t.clock.now.toISOString(), ok: true, problems: 0 });
    const file = join(t.dir, 'backup.klbackup');
    await store.backup(file);
    await store.restore(file, PASSPHRASE);
    await store.unlock(PASSPHRASE);
    expect(overview.get().lastVerify).toBeNull();
  });

  it('counts the last 24 hours of refusals by code, and no older ones', () => {
    const { devices, exchanges, overview } = t.services;
    devices.provision({ identity: 'GONE', keys: { kind: 'generate' } });
    devices.revoke('GONE');
    exchanges.respond(psk('OLD-UNKNOWN'));
    t.clock.advanceDays(2);
    for (let i = 0; i < 3; i++) exchanges.respond(psk(`UNKNOWN-${i}`));
    exchanges.respond(psk('GONE'));
    exchanges.respond('{"identity":');
    const { refusals } = overview.get();
    expect(refusals.since).toBe(new Date(t.clock.now.getTime() - 86_400_000).toISOString());
    expect(refusals.byCode).toEqual([{ code: 'ENTITY_NOT_FOUND', count: 3 }, { code: 'ENTITY_REVOKED', count: 1 }, { code: 'MSL_PARSE_ERROR', count: 1 }]);
    expect(refusals.total).toBe(5);
  });

  it('splits a client’s aggregated refusals into their codes', () => {
    const { exchanges, overview } = t.services;
    // Past the per-minute threshold, one client's refusals are counted in one aggregate row.
    for (let i = 0; i < 30; i++) exchanges.respond(psk(`GUESS-${i}`), 'msl', { client: '10.0.0.9' });
    exchanges.flush();
    const audit = t.services.audit.list({ action: 'exchange', outcome: 'refused', limit: 1000 });
    expect(audit.some((e) => e.details['code'] === 'AGGREGATE')).toBe(true);
    expect(overview.get().refusals.byCode).toEqual([{ code: 'ENTITY_NOT_FOUND', count: 30 }]);
  });

  it('needs the store unlocked', () => {
    t.services.store.lock();
    expect(() => t.services.overview.get()).toThrow(expect.objectContaining({ code: 'STORE_LOCKED' }));
  });
});
