// Revocation reaches the network (issue 11, item 3): a device revoked on one
// responder is refused by a peer that shares Kissuer once the peer imports
// the revocation list (a JWE, audited both ways), on its wrapdata under any
// identity, bare-MSL included; devices the peer holds are revoked there too.
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson } from '../../electron/ladder/messages.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';

const open: TestServices[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});

const BUNDLE = { kind: 'passphrase' as const, passphrase: 'a revocation list passphrase', unsigned: true };
const KPW = '000102030405060708090a0b0c0d0e0f';
const wrap = (identity: string, wrapdata: Uint8Array) =>
  JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: Buffer.from(wrapdata).toString('base64') } } });
const error = (json: string) => (JSON.parse(json) as { error: { code: string; reason?: string } }).error;

/** Responder A, and a peer B that joined it (same Kissuer generations). */
async function network(format: 'keyladder-v1' | 'msl'): Promise<[TestServices, TestServices]> {
  const a = await openTestServices();
  open.push(a);
  if (format === 'msl') a.services.issuers.importMsl('8899aabbccddeeff0011223344556677', 0);
  const active = a.services.issuers.list().find((g) => g.status === 'active')!.generation;
  const kissuer = await a.services.issuers.exportToPeer([active], BUNDLE);
  const b = await openTestServices({ create: false });
  open.push(b);
  await b.services.store.create(PASSPHRASE, { jwe: kissuer, protection: BUNDLE });
  return [a, b];
}

async function climbAt(t: TestServices, identity: string, rungs: number): Promise<Uint8Array> {
  const device = new LadderRequestor(identity, await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
  let wrapdata: Uint8Array | undefined;
  for (let i = 0; i < rungs; i++) wrapdata = (await device.accept(parseJson(t.services.exchanges.respond(JSON.stringify(device.nextRequest())).json))).wrapdata;
  return wrapdata!;
}

describe('a revocation list', () => {
  it.each(['keyladder-v1', 'msl'] as const)('%s: the peer answers the revoked device until it imports the list, then refuses its wrapdata under any identity', async (format) => {
    const [a, b] = await network(format);
    a.services.devices.provision({ identity: 'ESN-ROAMS', keys: { kind: 'kpw', kpw: KPW } });
    const held = await climbAt(a, 'ESN-ROAMS', 2);
    a.services.devices.revoke('ESN-ROAMS');
    // The gap the review found: B never heard of the revocation and keeps answering keyladder-v1
    // wrapdata (bound to its identity). Bare-MSL wrapdata B answers only for identities it holds.
    const before = b.services.exchanges.respond(wrap('ESN-ROAMS', held));
    if (format === 'keyladder-v1') expect(before.ok).toBe(true);
    else expect(error(before.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_IDENTITY_UNKNOWN' });
    const { jwe, entries } = await a.services.revocations.exportList(BUNDLE);
    expect(entries).toBe(1);
    expect(jwe.split('.')).toHaveLength(5);
    const result = await b.services.revocations.importList(jwe, BUNDLE);
    expect(result).toMatchObject({ entries: 1, revokedHere: [], heard: 1 });
    expect(error(b.services.exchanges.respond(wrap('ESN-ROAMS', held)).json)).toMatchObject({ code: 'ENTITY_REVOKED' });
    for (const other of ['ESN-SOMEONE-ELSE', 'ESN-ANOTHER']) {
      const out = b.services.exchanges.respond(wrap(other, held));
      expect(out.ok, `${format} under ${other}`).toBe(false);
      expect(error(out.json).code).toBe('KEYX_WRAPPING_KEY_MISSING');
    }
    expect(b.services.revocations.peerLists()).toEqual([{ source: expect.any(String), listAt: expect.any(String), receivedAt: expect.any(String), entries: 1 }]);
    expect(b.services.audit.list({ action: 'revocation.import', limit: 1 })[0]!.details).toMatchObject({ entries: 1, heard: 1, revokedHere: 0 });
    expect(a.services.audit.list({ action: 'revocation.export', limit: 1 })[0]!.details).toMatchObject({ entries: 1, protection: 'passphrase' });
  });

  it('revokes the devices the peer holds too (audited, naming the source), and passes on what it heard', async () => {
    const [a, b] = await network('keyladder-v1');
    for (const t of [a, b]) t.services.devices.provision({ identity: 'ESN-BOTH', keys: { kind: 'kpw', kpw: KPW } });
    a.services.devices.revoke('ESN-BOTH');
    a.services.devices.provision({ identity: 'ESN-ONLY-A', keys: { kind: 'generate' } });
    a.services.devices.revoke('ESN-ONLY-A');
    const result = await b.services.revocations.importList((await a.services.revocations.exportList(BUNDLE)).jwe, BUNDLE);
    expect(result).toMatchObject({ entries: 2, revokedHere: ['ESN-BOTH'], heard: 1 });
    expect(b.services.devices.get('ESN-BOTH').status).toBe('revoked');
    expect(b.services.audit.list({ action: 'device.revoke', limit: 1 })[0]).toMatchObject({ subject: 'ESN-BOTH', details: { by: 'peer', source: result.source } });
    // B's own list now carries both, so a third responder hears of them from B.
    const fromB = await b.services.revocations.exportList(BUNDLE);
    expect(fromB.entries).toBe(2);
    // Importing the same list again changes nothing but the time it was received.
    expect(await b.services.revocations.importList((await a.services.revocations.exportList(BUNDLE)).jwe, BUNDLE)).toMatchObject({ revokedHere: [], heard: 0 });
  });

  it('refuses a wrong passphrase, a list of this very store, and a malformed one, importing nothing', async () => {
    const [a, b] = await network('keyladder-v1');
    a.services.devices.provision({ identity: 'ESN-X', keys: { kind: 'generate' } });
    a.services.devices.revoke('ESN-X');
    const { jwe } = await a.services.revocations.exportList(BUNDLE);
    await expect(b.services.revocations.importList(jwe, { kind: 'passphrase', passphrase: 'not the list passphrase at all', unsigned: true })).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    await expect(a.services.revocations.importList(jwe, BUNDLE)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('own revocation list') });
    const { sealBundle } = await import('../../electron/services/bundles.js');
    for (const payload of [{ source: 'peer', at: 'yesterday', revoked: [] }, { source: 'peer', at: new Date().toISOString(), revoked: [{ identity: 'ESN X', revokedAt: new Date().toISOString(), wrapdata: [] }] }, { source: 'peer', at: new Date().toISOString(), revoked: [{ identity: 'ESN-Y', revokedAt: new Date().toISOString(), wrapdata: ['zz'] }] }]) {
      await expect(b.services.revocations.importList(await sealBundle('keyladder-revocation-list', payload, BUNDLE), BUNDLE)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    }
    expect(b.services.revocations.peerLists()).toEqual([]);
    expect(b.services.audit.list({ action: 'revocation.import', limit: 10 })).toEqual([]);
  });
});
