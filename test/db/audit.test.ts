// The audit log's chain: append-only triggers, and verify() finding edited,
// deleted (in the middle and at the end) and reordered rows.
import { cpSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { KeyStore } from '../../db/store.js';
import { PASSPHRASE, openTestServices, tempDir } from '../support/services.js';

let fixture: string;
let dir: string;
let store: KeyStore;

beforeAll(async () => {
  const t = await openTestServices();
  const s = t.services;
  s.devices.provision({ identity: 'ESN-A', keys: { kind: 'generate' } });
  s.devices.provision({ identity: 'ESN-B', keys: { kind: 'generate' } });
  s.devices.revoke('ESN-B');
  s.issuers.rotate(30);
  s.exchanges.respond(JSON.stringify({ identity: 'ESN-A', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
  s.exchanges.respond(JSON.stringify({ identity: 'ESN-B', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
  s.close();
  fixture = t.dir;
});
afterAll(() => rmSync(fixture, { recursive: true, force: true }));

beforeEach(async () => {
  dir = tempDir('keyladder-audit-');
  cpSync(fixture, dir, { recursive: true });
  store = await KeyStore.unlock(dir, PASSPHRASE);
});
afterEach(() => {
  store.lock();
  rmSync(dir, { recursive: true, force: true });
});

const db = () => store.unsafeDatabase();
const count = () => db().prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
const dropTriggers = () => db().exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');

describe('the audit log', () => {
  it('holds every step so far, verifies, and lists newest first', () => {
    const rows = store.audit.list({ limit: 100 });
    expect(rows.map((r) => r.action).reverse()).toEqual([
      'issuer.create', 'identity.create', 'identity.create', 'msl.identity-create', 'msl.keys-create', 'store.create', 'device.provision', 'device.provision', 'device.revoke', 'issuer.rotate', 'exchange', 'exchange', 'store.unlock',
    ]);
    expect(rows[1]).toMatchObject({ action: 'exchange', outcome: 'refused', subject: 'ESN-B', details: { code: 'ENTITY_REVOKED' } });
    expect(store.audit.verify()).toEqual({ ok: true, entries: 13 });
  });

  it('is append-only: UPDATE and DELETE are refused by the database while the triggers stand', () => {
    const n = count();
    expect(() => db().prepare(`UPDATE audit_log SET action = 'x' WHERE seq = 2`).run()).toThrow(/append-only/);
    expect(() => db().prepare('DELETE FROM audit_log WHERE seq = 2').run()).toThrow(/append-only/);
    expect(() => db().prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(count()).toBe(n);
    expect(store.audit.verify().ok).toBe(true);
  });

  it.each([
    ['details', `UPDATE audit_log SET details = '{"origin":"generated"}' WHERE seq = 4`],
    ['action', `UPDATE audit_log SET action = 'device.import' WHERE seq = 4`],
    ['outcome', `UPDATE audit_log SET outcome = 'refused' WHERE seq = 4`],
    ['subject', `UPDATE audit_log SET subject = 'ESN-Z' WHERE seq = 4`],
    ['time', `UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 4`],
    ['mac', `UPDATE audit_log SET mac = zeroblob(32) WHERE seq = 4`],
  ])('catches an edited %s', (_, sql) => {
    dropTriggers();
    db().prepare(sql).run();
    const check = store.audit.verify();
    expect(check).toMatchObject({ ok: false, brokenAt: 4, entries: 3 });
    expect(check.problem).toMatch(/edited or reordered/);
    expect(store.verify().ok).toBe(false);
  });

  it('catches a row deleted in the middle', () => {
    dropTriggers();
    db().prepare('DELETE FROM audit_log WHERE seq = 5').run();
    expect(store.audit.verify()).toMatchObject({ ok: false, brokenAt: 5, entries: 4, problem: expect.stringMatching(/missing/) });
  });

  it('catches the first row deleted', () => {
    dropTriggers();
    db().prepare('DELETE FROM audit_log WHERE seq = 1').run();
    expect(store.audit.verify()).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('catches the last row deleted, and the last several', () => {
    dropTriggers();
    const n = count();
    db().prepare('DELETE FROM audit_log WHERE seq = ?').run(n);
    expect(store.audit.verify()).toMatchObject({ ok: false, entries: n - 1, brokenAt: n, problem: expect.stringMatching(/deleted/) });
    db().prepare('DELETE FROM audit_log WHERE seq > ?').run(n - 4);
    expect(store.audit.verify()).toMatchObject({ ok: false, entries: n - 4 });
  });

  it('catches every row deleted', () => {
    dropTriggers();
    db().prepare('DELETE FROM audit_log').run();
    expect(store.audit.verify()).toMatchObject({ ok: false, entries: 0 });
  });

  it('catches two rows swapped (reordered), whole rows or contents only', () => {
    dropTriggers();
    const swap = db().transaction(() => {
      db().prepare('UPDATE audit_log SET seq = -seq WHERE seq IN (6, 7)').run();
      db().prepare('UPDATE audit_log SET seq = 7 WHERE seq = -6').run();
      db().prepare('UPDATE audit_log SET seq = 6 WHERE seq = -7').run();
    });
    swap();
    expect(store.audit.verify()).toMatchObject({ ok: false, brokenAt: 6 });
  });

  it('catches a row moved to the end (renumbered) with the rows after it shifted down', () => {
    dropTriggers();
    const n = count();
    db().transaction(() => {
      db().prepare('UPDATE audit_log SET seq = ? WHERE seq = 3').run(n + 1);
      db().prepare('UPDATE audit_log SET seq = seq - 1 WHERE seq > 3 AND seq <= ?').run(n);
      db().prepare('UPDATE audit_log SET seq = ? WHERE seq = ?').run(n, n + 1);
    })();
    expect(count()).toBe(n);
    expect(store.audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('catches a forged head (the last entry is not the head the log says)', () => {
    db().prepare(`UPDATE meta SET value = '3:' || hex(zeroblob(32)) WHERE key = 'audit_head'`).run();
    expect(store.audit.verify().ok).toBe(false);
  });

  it('goes on verifying across locks and unlocks, and with new appends', async () => {
    store.audit.append({ at: new Date().toISOString(), action: 'device.revoke', outcome: 'ok', subject: 'ESN-A', details: { n: 1, ok: true, none: null } });
    store.lock();
    store = await KeyStore.unlock(dir, PASSPHRASE);
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: 15 });
    expect(store.audit.list({ limit: 2, action: 'device.revoke', subject: 'ESN-A' })[0]!.details).toEqual({ n: 1, ok: true, none: null });
  });
});
