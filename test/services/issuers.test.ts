// Kissuer generations (rotate, grace, retire, destroy; exactly one active), a
// bare-MSL Kissuer answering MSL's own WRAP request, export and import to a
// trusted peer (passphrase and RSA), and provisioning bundles for factories.
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { openPassphraseExport } from '../support/factory.js';
import { joseVectors } from '../support/joseVectors.js';
import { afterEach, describe, expect, it } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { acceptKeyResponse, importWrappingKey, LadderRequestor } from '../support/device.js';
import { createServices } from '../../electron/services/index.js';
import { openBundle, sealBundle } from '../../electron/services/bundles.js';
import type { IssuerGeneration } from '../../electron/services/types.js';
import { ReplayRandom, vectorDraw } from '../support/fixedRandom.js';
import { expectKeyHolds } from '../support/keyProbe.js';
import { PASSPHRASE, TEST_KDF_LOG_N, openTestServices, tempDir, type TestServices } from '../support/services.js';
import { dumpStore, keyTables, keysIn, storeKeyOf, openRaw, type Dump } from '../support/storeFiles.js';
import { deriveVector, exchange1, exchange2 } from '../support/vectors.js';

const open: TestServices[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});
async function store(options: Parameters<typeof openTestServices>[0] = {}): Promise<TestServices> {
  const t = await openTestServices(options);
  open.push(t);
  return t;
}

const v = deriveVector();
const BUNDLE_PASSPHRASE = 'factory line 7 passphrase';
const DAY = 86_400_000;

const keyOf = (hex: string) => importWrappingKey(new Uint8Array(Buffer.from(hex, 'hex')));
const refusal = (json: string) => (JSON.parse(json) as { error: { code: string; reason?: string } }).error;

function oneActive(gens: readonly IssuerGeneration[]): void {
  expect(gens.filter((g) => g.status === 'active').length).toBe(1);
}

async function expectUnchanged(t: TestServices, before: Dump): Promise<void> {
  const after = await dumpStore(t.dir, PASSPHRASE);
  expect(keyTables(after)).toEqual(keyTables(before));
  for (const row of after['audit_log']!.slice(before['audit_log']!.length)) expect(row['outcome']).toBe('refused');
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

/** A device that has climbed one rung (PSK) and holds wrapdata of the active generation. */
async function climbedDevice(t: TestServices, identity = v.identity, kpwHex = v.kpw_hex): Promise<LadderRequestor> {
  const device = new LadderRequestor(identity, await keyOf(kpwHex));
  const out = t.services.exchanges.respond(JSON.stringify(device.nextRequest()));
  expect(out.ok, out.json).toBe(true);
  await device.accept(parseJson(out.json));
  return device;
}

describe('the Kissuer lifecycle', () => {
  it('starts with one active generation', async () => {
    const t = await store();
    const gens = t.services.issuers.list();
    expect(gens).toEqual([expect.objectContaining({ generation: 1, status: 'active', format: 'keyladder-v1', origin: 'generated', graceUntil: null, kcv: expect.stringMatching(/^[0-9A-F]{6}$/) })]);
  });

  it('rotate: a new active generation, the old one in grace for 30 days by default (or N)', async () => {
    const t = await store();
    const now = t.clock.now.getTime();
    const g2 = t.services.issuers.rotate();
    expect(g2).toMatchObject({ generation: 2, status: 'active', activatedAt: t.clock.now.toISOString() });
    expect(t.services.issuers.list()[1]).toMatchObject({ generation: 1, status: 'grace', graceUntil: new Date(now + 30 * DAY).toISOString() });
    t.services.issuers.rotate(7);
    expect(t.services.issuers.list().map((g) => [g.generation, g.status, g.graceUntil])).toEqual([
      [3, 'active', null],
      [2, 'grace', new Date(now + 7 * DAY).toISOString()],
      [1, 'grace', new Date(now + 30 * DAY).toISOString()],
    ]);
    t.services.issuers.rotate(0);
    expect(t.services.issuers.list().map((g) => g.status)).toEqual(['active', 'retired', 'grace', 'grace']);
    oneActive(t.services.issuers.list());
    expect(t.services.audit.list({ action: 'issuer.rotate' }).map((e) => e.details['graceDays'])).toEqual([0, 7, 30]);
  });

  it('old-generation wrapdata works during grace, and after the grace date gets KEYX_WRAPPING_KEY_MISSING (WRAPDATA_GENERATION_RETIRED)', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
    const old = await climbedDevice(t);
    const oldWrap = JSON.stringify(old.nextRequest());
    t.services.issuers.rotate();
    t.clock.advanceDays(29);
    const inGrace = t.services.exchanges.respond(oldWrap);
    expect(inGrace.ok, inGrace.json).toBe(true);
    const keys = await old.accept(parseJson(inGrace.json));
    expect(Buffer.from(keys.wrapdata).readUInt32BE(1)).toBe(2); // the answer's wrapdata is under the new generation
    expect(t.services.devices.get(v.identity)).toMatchObject({ lastMechanism: 'WRAP', lastGeneration: 2 });

    t.clock.advanceDays(1.01);
    const late = t.services.exchanges.respond(oldWrap);
    expect(late.ok).toBe(false);
    expect(refusal(late.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_GENERATION_RETIRED' });
    // The device falls back to PSK, which still works; and new wrapdata works.
    old.fallBack();
    expect(t.services.exchanges.respond(JSON.stringify(old.nextRequest())).ok).toBe(true);
    // list() turns the ended grace into a retirement, with its audit record.
    expect(t.services.issuers.list().map((g) => g.status)).toEqual(['active', 'retired']);
    expect(t.services.audit.list({ action: 'issuer.retire' })).toEqual([expect.objectContaining({ subject: '1', details: { reason: 'grace period ended' } })]);
  });

  it('retire: explicit, only from grace; its wrapdata is refused at once', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
    const old = await climbedDevice(t);
    t.services.issuers.rotate();
    const before = await dumpStore(t.dir, PASSPHRASE);
    expect(await codeOf(() => t.services.issuers.retire(2))).toBe('ISSUER_TRANSITION'); // the active one
    expect(await codeOf(() => t.services.issuers.retire(9))).toBe('ISSUER_NOT_FOUND');
    expect(await codeOf(() => t.services.issuers.retire(0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => t.services.issuers.retire('1' as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => t.services.issuers.destroy(1))).toBe('ISSUER_TRANSITION'); // in grace, not retired
    expect(await codeOf(() => t.services.issuers.destroy(2))).toBe('ISSUER_TRANSITION'); // active
    await expectUnchanged(t, before);

    expect(t.services.issuers.retire(1)).toMatchObject({ generation: 1, status: 'retired', retiredAt: t.clock.now.toISOString(), graceUntil: null });
    expect(await codeOf(() => t.services.issuers.retire(1))).toBe('ISSUER_TRANSITION');
    const out = t.services.exchanges.respond(JSON.stringify(old.nextRequest()));
    expect(refusal(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_GENERATION_RETIRED' });
    oneActive(t.services.issuers.list());
  });

  it('destroy: only a retired generation; the key is erased (NULL in the database) and its KCV is gone from the API (kept as former_kcv)', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
    const old = await climbedDevice(t);
    const kcvBefore = t.services.issuers.list()[0]!.kcv;
    t.services.issuers.rotate();
    t.services.issuers.retire(1);
    const destroyed = t.services.issuers.destroy(1);
    expect(destroyed).toMatchObject({ generation: 1, status: 'destroyed', kcv: null, destroyedAt: t.clock.now.toISOString() });
    expect(await codeOf(() => t.services.issuers.destroy(1))).toBe('ISSUER_TRANSITION');
    const raw = (await dumpStore(t.dir, PASSPHRASE))['issuer_generations']!;
    expect(raw.find((r) => r['generation'] === 1)).toMatchObject({ status: 'destroyed', key: null, kcv: null, former_kcv: kcvBefore });
    expect(raw.find((r) => r['generation'] === 2)!['key']).toMatch(/^x'01/);
    // The audit log remembers which key was destroyed, by KCV only.
    expect(t.services.audit.list({ action: 'issuer.destroy' })).toEqual([expect.objectContaining({ subject: '1', details: { kcv: kcvBefore } })]);
    // Its wrapdata is now as unknown as any other.
    const out = t.services.exchanges.respond(JSON.stringify(old.nextRequest()));
    expect(refusal(out.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_UNKNOWN_GENERATION' });
    expect(await codeOf(() => t.services.issuers.exportToPeer([1], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE }))).toBe('ISSUER_TRANSITION');
    expect(t.services.store.verify().ok).toBe(true);
  });

  it('keeps exactly one active generation through any sequence of operations', async () => {
    const t = await store();
    const ops = ['rotate', 'rotate0', 'retire', 'destroy', 'msl', 'advance'];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 60; i++) {
      const op = ops[rnd(ops.length)]!;
      const gens = t.services.issuers.list();
      try {
        if (op === 'rotate') t.services.issuers.rotate(rnd(3) * 10);
        else if (op === 'rotate0') t.services.issuers.rotate(0);
        else if (op === 'retire') t.services.issuers.retire(gens[rnd(gens.length)]!.generation);
        else if (op === 'destroy') t.services.issuers.destroy(gens[rnd(gens.length)]!.generation);
        else if (op === 'msl') t.services.issuers.importMsl(Buffer.from(Array.from({ length: 16 }, () => rnd(256))).toString('hex'), rnd(2) * 5);
        else t.clock.advanceDays(rnd(15));
      } catch (e) {
        expect(['ISSUER_TRANSITION']).toContain((e as { code?: string }).code);
      }
      oneActive(t.services.issuers.list());
    }
    expect(t.services.store.verify()).toMatchObject({ ok: true });
  });
});

describe('a bare-MSL Kissuer', () => {
  it('imported from exchange-1, answers exchange-2\'s WRAP request; the requestor unwraps it with exchange-1\'s Kwrap', async () => {
    const t = await store();
    const e1 = exchange1();
    const e2 = exchange2();
    const before = t.services.issuers.list();
    const imported = t.services.issuers.importMsl(e1.inputs['msl_wrapping_key_hex (Kissuer)']);
    expect(imported).toMatchObject({ generation: 2, status: 'active', format: 'msl', origin: 'imported-msl', kcv: kcv(Buffer.from(e1.inputs['msl_wrapping_key_hex (Kissuer)'], 'hex'), 'aes') });
    expect(t.services.issuers.list()[1]).toMatchObject({ generation: before[0]!.generation, status: 'grace' });
    // Bare-MSL wrapdata names no identity: it is answered for devices this store holds (migrated with their keys).
    const unheld = t.services.exchanges.respond(JSON.stringify({ identity: e2.inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } }));
    expect(JSON.parse(unheld.json).error).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_IDENTITY_UNKNOWN' });
    t.services.devices.provision({ identity: e2.inputs.identity, keys: { kind: 'kpw', kpw: '00112233445566778899aabbccddeeff' } });
    // MSL's wrapdata is unknown here: refused unless the operator opens the migration window.
    expect(JSON.parse(t.services.exchanges.respond(JSON.stringify({ identity: e2.inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } })).json).error).toMatchObject({ reason: 'WRAPDATA_UNREGISTERED' });
    t.services.exchanges.setMslMigration('2026-12-31');

    const out = t.services.exchanges.respond(JSON.stringify({ identity: e2.inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } }));
    expect(out.ok, out.json).toBe(true);
    const keys = await acceptKeyResponse(parseJson(out.json), await keyOf(e1.expected['kwrap_hex (new wrapping key)']));
    expect(keys.wrapdata.length).toBe(24); // bare MSL wrapdata again
    expect(t.services.audit.list({ action: 'exchange' })[0]).toMatchObject({ outcome: 'ok', details: { mechanism: 'WRAP', opened: 2, generation: 2, provisioned: true, wrapdata: 'migrated' } });
    expect(t.services.issuers.list()[0]!.exchangeCount).toBe(1);
  });

  it('with MSL\'s own random draw, the store-backed answer is byte-for-byte MSL\'s', async () => {
    const e1 = exchange1();
    const e2 = exchange2();
    const dir = tempDir();
    const services = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, random: new ReplayRandom([vectorDraw(e2)]) });
    open.push({ services, dir, clock: { now: new Date(), advanceDays() {} }, cleanup: () => { services.close(); rmSync(dir, { recursive: true, force: true }); } });
    await services.store.create(PASSPHRASE);
    services.issuers.importMsl(e1.inputs['msl_wrapping_key_hex (Kissuer)']);
    services.devices.provision({ identity: e2.inputs.identity, keys: { kind: 'kpw', kpw: '00112233445566778899aabbccddeeff' } });
    services.exchanges.setMslMigration(new Date(Date.now() + 86_400_000).toISOString());
    const out = services.exchanges.respond(JSON.stringify({ identity: e2.inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } }));
    expect(out.ok, out.json).toBe(true);
    const exact = JSON.parse(e2['response_keydata_json_exact (MSL JsonMslObject encoding)']) as Record<string, unknown>;
    expect((JSON.parse(out.json) as { keyresponsedata: { scheme: string; keydata: unknown } }).keyresponsedata).toEqual({ scheme: 'JWE_LADDER', keydata: exact['keydata'] ?? exact });
  });

  it('refuses a bad Kissuer with INVALID_KEY and changes nothing', async () => {
    const t = await store();
    const before = await dumpStore(t.dir, PASSPHRASE);
    for (const bad of ['', 'zz'.repeat(16), '00'.repeat(15), '00'.repeat(32), 42]) {
      expect(await codeOf(() => t.services.issuers.importMsl(bad as string))).toBe('INVALID_KEY');
    }
    expect(await codeOf(() => t.services.issuers.importMsl('00'.repeat(16), -1))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => t.services.issuers.rotate(1.5))).toBe('INVALID_ARGUMENT');
    await expectUnchanged(t, before);
  });
});

describe('export and import to a trusted peer', () => {
  /** A store whose generation 2 is active and has issued wrapdata to a device. */
  async function primary(): Promise<{ a: TestServices; device: LadderRequestor }> {
    const a = await store();
    a.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
    a.services.issuers.rotate();
    return { a, device: await climbedDevice(a) };
  }

  async function peerAnswers(b: TestServices, device: LadderRequestor): Promise<void> {
    const out = b.services.exchanges.respond(JSON.stringify(device.nextRequest()));
    expect(out.ok, out.json).toBe(true);
    const keys = await device.accept(parseJson(out.json));
    expect(keys.kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
    expect(b.services.audit.list({ action: 'exchange' })[0]).toMatchObject({ outcome: 'ok', details: { mechanism: 'WRAP', opened: 2, generation: 2, provisioned: false } });
  }

  it('to a passphrase: the second store answers WRAP with wrapdata the first issued', async () => {
    const { a, device } = await primary();
    const jwe = await a.services.issuers.exportToPeer([2], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE });
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'keyladder-issuer-export' });
    const b = await store();
    const gens = await b.services.issuers.importFromPeer(jwe, { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true });
    expect(gens).toEqual([expect.objectContaining({ generation: 2, status: 'active', origin: 'imported-peer', kcv: a.services.issuers.list()[0]!.kcv })]);
    expect(b.services.issuers.list().map((g) => [g.generation, g.status])).toEqual([[2, 'active'], [1, 'grace']]);
    await peerAnswers(b, device);
    // Importing the same export again adds nothing.
    const before = await dumpStore(b.dir, PASSPHRASE);
    const records = () => b.services.audit.list({ action: 'issuer.import-peer', limit: 100 });
    expect(records()).toEqual([expect.objectContaining({ subject: '2', details: { count: 1, offered: 1, generations: expect.stringMatching(/^2 active keyladder-v1 KCV [0-9A-F]{6}$/), unsigned: true } })]);
    expect(await b.services.issuers.importFromPeer(jwe, { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true })).toEqual([]);
    expect(keyTables(await dumpStore(b.dir, PASSPHRASE))).toEqual(keyTables(before));
    // An unsigned import that brought nothing is recorded all the same: one record per import.
    expect(records()).toHaveLength(2);
    expect(records()[0]).toMatchObject({ subject: null, details: { count: 0, offered: 1, generations: '', unsigned: true } });
    expect(a.services.audit.list({ action: 'issuer.export' })).toEqual([expect.objectContaining({ subject: '2', details: { count: 1, protection: 'passphrase' } })]);
  });

  it('to an RSA public key (RSA-OAEP-256): only the private key opens it', async () => {
    const { a, device } = await primary();
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    const jwe = await a.services.issuers.exportToPeer([2], { kind: 'rsa', publicJwk: { ...publicJwk } });
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM' });
    const b = await store();
    const other = await exportJWK((await generateKeyPair('RSA-OAEP-256', { extractable: true })).privateKey);
    const before = await dumpStore(b.dir, PASSPHRASE);
    expect(await codeOf(() => b.services.issuers.importFromPeer(jwe, { kind: 'rsa', privateJwk: { ...other }, unsigned: true }))).toBe('BUNDLE_INVALID');
    expect(await codeOf(() => b.services.issuers.importFromPeer(jwe, { kind: 'rsa', privateJwk: { ...publicJwk }, unsigned: true }))).toBe('RECIPIENT_KEY_INVALID');
    expect(await codeOf(() => b.services.issuers.importFromPeer(jwe, { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true }))).toBe('BUNDLE_INVALID');
    // RSA1_5 (RFC 7516 A.2) is refused for what it is, with the table's reason, not as a wrong key; RSA-OAEP (A.1) is no export's alg.
    const appendixA = joseVectors('rfc7516-appendix-a.json').vectors;
    const rsa15 = appendixA.find((v) => v.section === 'A.2')!.jwe!;
    await expect(b.services.issuers.importFromPeer(rsa15, { kind: 'rsa', privateJwk: { ...privateJwk }, unsigned: true })).rejects.toMatchObject({ code: 'JOSE_UNSUPPORTED_ALG', reason: 'UNSUPPORTED_ALG', message: expect.stringMatching(/RSA1_5.*Bleichenbacher/) });
    await expect(b.services.issuers.importFromPeer(appendixA.find((v) => v.section === 'A.1')!.jwe!, { kind: 'rsa', privateJwk: { ...privateJwk }, unsigned: true })).rejects.toMatchObject({ code: 'JOSE_UNSUPPORTED_ALG', message: expect.stringContaining('RSA-OAEP-256') });
    await expectUnchanged(b, before);
    await b.services.issuers.importFromPeer(jwe, { kind: 'rsa', privateJwk: { ...privateJwk }, unsigned: true });
    await peerAnswers(b, device);
  });

  it('refuses what it should, changing nothing on either side', async () => {
    const { a } = await primary();
    const aBefore = await dumpStore(a.dir, PASSPHRASE);
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pass = { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true } as const;
    expect(await codeOf(() => a.services.issuers.exportToPeer([], pass))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => a.services.issuers.exportToPeer([7], pass))).toBe('ISSUER_NOT_FOUND');
    expect(await codeOf(() => a.services.issuers.exportToPeer([2], { kind: 'passphrase', passphrase: 'short' }))).toBe('INVALID_ARGUMENT');
    const privateJwk = { ...(await exportJWK(privateKey)) };
    const weakJwk = { ...weak.publicKey.export({ format: 'jwk' }) };
    expect(await codeOf(() => a.services.issuers.exportToPeer([2], { kind: 'rsa', publicJwk: privateJwk }))).toBe('RECIPIENT_KEY_INVALID');
    expect(await codeOf(() => a.services.issuers.exportToPeer([2], { kind: 'rsa', publicJwk: weakJwk }))).toBe('RECIPIENT_KEY_INVALID');
    expect(await codeOf(() => a.services.issuers.exportToPeer([2], { kind: 'rsa', publicJwk: { kty: 'oct', k: 'AAAA' } }))).toBe('RECIPIENT_KEY_INVALID');
    a.services.issuers.rotate(0);
    expect(await codeOf(() => a.services.issuers.exportToPeer([2], pass))).toBe('ISSUER_TRANSITION'); // retired
    expect((await dumpStore(a.dir, PASSPHRASE))['issuer_generations']!.length).toBe(aBefore['issuer_generations']!.length + 1);
    void publicKey;

    const b = await store();
    const bBefore = await dumpStore(b.dir, PASSPHRASE);
    const jwe = await a.services.issuers.exportToPeer([3], pass);
    const parts = jwe.split('.');
    const tampered = [...parts.slice(0, 3), `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('A') ? 'B' : 'A'}A`.slice(0, parts[3]!.length), parts[4]].join('.');
    expect(await codeOf(() => b.services.issuers.importFromPeer(jwe, { kind: 'passphrase', passphrase: 'not the passphrase at all', unsigned: true }))).toBe('BUNDLE_INVALID');
    expect(await codeOf(() => b.services.issuers.importFromPeer(tampered, pass))).toBe('BUNDLE_INVALID');
    expect(await codeOf(() => b.services.issuers.importFromPeer('not.a.jwe', pass))).toBe('BUNDLE_INVALID');
    // A provisioning bundle is not an issuer export, even under the right passphrase.
    const bundle = await a.services.devices.exportBundle([v.identity], pass);
    expect(await codeOf(() => b.services.issuers.importFromPeer(bundle, pass))).toBe('BUNDLE_INVALID');
    await expectUnchanged(b, bBefore);
  });

  it('checks a peer export field by field: a malformed field is BUNDLE_INVALID naming it (never its value), and nothing is imported', async () => {
    const { a } = await primary();
    const pass = { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true } as const;
    // What exportToPeer wrote, as the peer's file holds it.
    const good = (await openBundle('keyladder-issuer-export', await a.services.issuers.exportToPeer([1, 2], pass), pass)).payload as { generations: Array<Record<string, unknown>> };
    const grace = good.generations.find((g) => g['status'] === 'grace')!;
    const active = good.generations.find((g) => g['status'] === 'active')!;
    const b = await store();
    const before = await dumpStore(b.dir, PASSPHRASE);
    const forged = async (change: (g: Record<string, unknown>) => Record<string, unknown>, target = grace) =>
      sealBundle('keyladder-issuer-export', { generations: good.generations.map((g) => (g === target ? change({ ...g }) : g)) }, pass);
    const cases: Array<[string, Promise<string>, string]> = [
      ['graceUntil "~never"', forged((g) => ({ ...g, graceUntil: '~never' })), 'generations.0.graceUntil'],
      ['graceUntil not a date', forged((g) => ({ ...g, graceUntil: '2026-13-45' })), 'generations.0.graceUntil'],
      ['a grace generation without a grace date', forged((g) => ({ ...g, graceUntil: null })), 'generations.0.graceUntil'],
      ['an active generation with one', forged((g) => ({ ...g, graceUntil: '2027-01-01T00:00:00.000Z' }), active), 'generations.1.graceUntil'],
      ['an unknown status', forged((g) => ({ ...g, status: 'retired' })), 'generations.0.status'],
      ['an unknown member', forged((g) => ({ ...g, note: 'x' })), 'generations.0'],
      ['a generation of 0', forged((g) => ({ ...g, generation: 0 })), 'generations.0.generation'],
      ['a short key', forged((g) => ({ ...g, kissuer: String(g['kissuer']).slice(2) })), 'generations.0.kissuer'],
    ];
    for (const [what, jwe, where] of cases) {
      const error = await b.services.issuers.importFromPeer(await jwe, pass).then(() => undefined, (e: unknown) => e as { code: string; message: string });
      expect(error, what).toMatchObject({ code: 'BUNDLE_INVALID', message: `The export is malformed at ${where}; nothing was imported.` });
    }
    // A KCV that is not the key's own.
    const wrongKcv = await forged((g) => ({ ...g, kcv: g['kcv'] === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA' }));
    expect(await codeOf(() => b.services.issuers.importFromPeer(wrongKcv, pass))).toBe('BUNDLE_INVALID');
    await expectUnchanged(b, before);
  });

  it('a generation number the peer already uses for another key is ISSUER_CONFLICT, and nothing is imported', async () => {
    const { a } = await primary();
    const b = await store(); // its own generation 1, another key than a's generation 1
    const before = await dumpStore(b.dir, PASSPHRASE);
    const jwe = await a.services.issuers.exportToPeer([2, 1], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE });
    expect(await codeOf(() => b.services.issuers.importFromPeer(jwe, { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true }))).toBe('ISSUER_CONFLICT');
    await expectUnchanged(b, before);
    oneActive(b.services.issuers.list());
  });
});

describe('provisioning bundles for a factory', () => {
  it('to a passphrase: a compact JWE that jose decrypts to the devices\' keys, and that is not plain text', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    t.services.devices.provision({ identity: 'ESN-KPW', keys: { kind: 'kpw', kpw: '00112233445566778899aabbccddeeff' } });
    const jwe = await t.services.devices.exportBundle([v.identity, 'ESN-KPW'], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE });
    expect(jwe.split('.').length).toBe(5);
    for (const secret of [v.identity, 'ESN-KPW', v.kpw_hex, v.kpe_hex, v.kph_hex, '00112233445566778899aabbccddeeff']) expect(jwe.includes(secret)).toBe(false);
    const keys = new Map([['kpw', Buffer.from(v.kpw_hex, 'hex')], ['kpe', Buffer.from(v.kpe_hex, 'hex')], ['kph', Buffer.from(v.kph_hex, 'hex')]]);
    expect(keysIn(jwe, keys)).toEqual([]);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'keyladder-provisioning-bundle', p2c: 600_000 });

    // 600,000 PBKDF2 rounds: more than jose accepts by default (10,000), so the factory raises its limit.
    const factory = { keyManagementAlgorithms: ['PBES2-HS512+A256KW'], maxPBES2Count: 1_000_000 };
    await expect(compactDecrypt(jwe, new TextEncoder().encode(BUNDLE_PASSPHRASE), { keyManagementAlgorithms: factory.keyManagementAlgorithms })).rejects.toThrow(/p2c/);
    const { plaintext } = await openPassphraseExport(jwe, BUNDLE_PASSPHRASE);
    const bundle = JSON.parse(new TextDecoder().decode(plaintext)) as { format: string; version: number; payload: { devices: Array<Record<string, unknown>> } };
    expect(bundle.format).toBe('keyladder-provisioning-bundle');
    expect(bundle.payload.devices).toEqual([
      expect.objectContaining({ identity: v.identity, kpw: v.kpw_hex, kpe: v.kpe_hex, kph: v.kph_hex, kcv: { kpw: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes'), kpe: expect.any(String), kph: expect.any(String) } }),
      expect.objectContaining({ identity: 'ESN-KPW', kpw: '00112233445566778899aabbccddeeff' }),
    ]);
    // What the factory gets is what the responder answers under.
    await expectKeyHolds(await keyOf(bundle.payload.devices[0]!['kpw'] as string), 'wrap', v.kpw_hex);
    await expect(compactDecrypt(jwe, new TextEncoder().encode('the wrong passphrase'), factory)).rejects.toThrow(/decryption/i);
    expect(t.services.audit.list({ action: 'device.export' })).toEqual([expect.objectContaining({ details: { count: 2, protection: 'passphrase' } })]);
  });

  it('to an RSA public key, for one device', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const jwe = await t.services.devices.exportBundle([v.identity], { kind: 'rsa', publicJwk: { ...(await exportJWK(publicKey)) } });
    expect(jwe.includes(v.kpw_hex)).toBe(false);
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, privateKey);
    expect(protectedHeader).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM' });
    const bundle = JSON.parse(new TextDecoder().decode(plaintext)) as { payload: { devices: Array<Record<string, unknown>> } };
    expect(bundle.payload.devices[0]).toMatchObject({ identity: v.identity, kpw: v.kpw_hex });
    expect(t.services.audit.list({ action: 'device.export' })[0]).toMatchObject({ subject: v.identity, details: { count: 1, protection: 'rsa' } });
  });

  it('refuses unknown devices, an empty list, a weak passphrase, and a private key as recipient, writing nothing', async () => {
    const t = await store();
    t.services.devices.provision({ identity: v.identity, keys: { kind: 'generate' } });
    const before = await dumpStore(t.dir, PASSPHRASE);
    const pass = { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true } as const;
    expect(await codeOf(() => t.services.devices.exportBundle([v.identity, 'ESN-NOPE'], pass))).toBe('DEVICE_NOT_FOUND');
    expect(await codeOf(() => t.services.devices.exportBundle([], pass))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => t.services.devices.exportBundle(['bad id'], pass))).toBe('INVALID_IDENTITY');
    expect(await codeOf(() => t.services.devices.exportBundle([v.identity], { kind: 'passphrase', passphrase: 'short' }))).toBe('INVALID_ARGUMENT');
    const { privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    expect(await codeOf(async () => t.services.devices.exportBundle([v.identity], { kind: 'rsa', publicJwk: { ...(await exportJWK(privateKey)) } }))).toBe('RECIPIENT_KEY_INVALID');
    await expectUnchanged(t, before);
  });
});

describe('what the store holds for Kissuer', () => {
  it('is sealed: the raw columns never hold the imported Kissuer', async () => {
    const t = await store();
    const e1 = exchange1();
    t.services.issuers.importMsl(e1.inputs['msl_wrapping_key_hex (Kissuer)']);
    const key = await storeKeyOf(t.dir, PASSPHRASE);
    const db = openRaw(`${t.dir}/keyladder.db`, key);
    const row = db.prepare('SELECT key FROM issuer_generations WHERE generation = 2').get() as { key: Buffer };
    db.close();
    expect(row.key.length).toBe(45);
    expect(row.key.includes(Buffer.from(e1.inputs['msl_wrapping_key_hex (Kissuer)'], 'hex'))).toBe(false);
  });
});

describe('two processes on one store (the CLI while the app is open)', () => {
  it('the open one issues under a generation the other rotated in, and refuses wrapdata of one the other destroyed', async () => {
    const app = await store();
    app.services.devices.provision({ identity: v.identity, keys: { kind: 'kpw', kpw: v.kpw_hex } });
    const device = await climbedDevice(app); // holds generation-1 wrapdata; the app has opened generation 1
    const oldWrap = JSON.stringify(device.nextRequest());

    const cli = createServices({ storeDir: app.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, now: () => app.clock.now });
    try {
      await cli.store.unlock(PASSPHRASE);
      cli.issuers.rotate();
      const answered = app.services.exchanges.respond(oldWrap);
      expect(answered.ok, answered.json).toBe(true);
      const keys = await device.accept(parseJson(answered.json));
      expect(Buffer.from(keys.wrapdata).readUInt32BE(1)).toBe(2);

      cli.issuers.retire(1);
      cli.issuers.destroy(1);
    } finally {
      cli.close();
    }
    const refused = app.services.exchanges.respond(oldWrap);
    expect(refusal(refused.json)).toMatchObject({ code: 'KEYX_WRAPPING_KEY_MISSING', reason: 'WRAPDATA_UNKNOWN_GENERATION' });
    // The device's current wrapdata (generation 2) still climbs.
    expect(app.services.exchanges.respond(JSON.stringify(device.nextRequest())).ok).toBe(true);
  });
});
