// The audit log never holds key material, and neither does any error an
// operator sees. Provision with known keys, run every operation (answered and
// refused), then scan every audit row and every error message for every key
// the test knows, as hex (both cases), Base64 and Base64url.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import { openPassphraseExport } from '../support/factory.js';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveSubkey } from '../../db/sealing.js';
import type { RandomSource } from '../../electron/jwe/random.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { EXCHANGE_RANDOM_BYTES } from '../../electron/ladder/responder.js';
import { importWrappingKey, LadderRequestor } from '../support/device.js';
import { createServices } from '../../electron/services/index.js';
import { KeyStore } from '../../db/store.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';
import { dumpStore, keysIn, storeKeyOf } from '../support/storeFiles.js';
import { deriveVector, exchange1, exchange2 } from '../support/vectors.js';

/** Hands out fresh random bytes and remembers every key the responder drew from them. */
class RecordingRandom implements RandomSource {
  readonly draws: Buffer[] = [];
  take(n: number): Buffer {
    const bytes = randomBytes(n);
    this.draws.push(Buffer.from(bytes));
    return bytes;
  }
}

const dir = tempDir('keyladder-nokeys-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const v = deriveVector();
const e1 = exchange1();
const e2 = exchange2();
const NEW_PASSPHRASE = 'a brand new passphrase for the store';
const BUNDLE_PASSPHRASE = 'factory line 7 passphrase';
const hex = (n: number, seed: number): string => Buffer.from(Array.from({ length: n }, (_, i) => (seed * 37 + i * 11 + 5) & 0xff)).toString('hex');

describe('key material never reaches the audit log or an error', () => {
  it('after every kind of operation, answered and refused', async () => {
    const keys = new Map<string, Uint8Array>();
    const known = (label: string, h: string) => {
      keys.set(label, Buffer.from(h, 'hex'));
      return h;
    };
    const errors: string[] = [];
    const expectRefused = async (label: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${label}: ${(e as Error).message} ${JSON.stringify(e)}`);
        return;
      }
      throw new Error(`${label} was not refused`);
    };

    const random = new RecordingRandom();
    const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: true, random });
    await s.store.create(PASSPHRASE);
    const storeKey = await storeKeyOf(dir, PASSPHRASE);
    keys.set('store key', storeKey);
    keys.set('audit key', deriveSubkey(storeKey, 'audit mac'));
    keys.set('seal key', deriveSubkey(storeKey, 'record seal'));

    // Provision: every key input, with known keys; groups too.
    s.groups.add('model-a', { kind: 'kde-kdh', kde: known('kde', hex(16, 1)), kdh: known('kdh', hex(32, 2)) });
    s.groups.add('model-b', { kind: 'kdw', kdw: known('kdw', hex(16, 3)) });
    s.devices.provision({ identity: v.identity, group: 'model-a', keys: { kind: 'kpe-kph', kpe: known('vector kpe', v.kpe_hex), kph: known('vector kph', v.kph_hex) } });
    known('vector kpw', v.kpw_hex);
    s.devices.provision({ identity: 'ESN-KPW', group: 'model-b', keys: { kind: 'kpw', kpw: known('kpw', hex(16, 4)) } });
    s.devices.provision({ identity: 'ESN-GEN', keys: { kind: 'generate' } });
    await expectRefused('provision bad key', () => s.devices.provision({ identity: 'ESN-X', keys: { kind: 'kpw', kpw: `${known('bad kpw', hex(16, 5))}00` } }));
    await expectRefused('provision duplicate', () => s.devices.provision({ identity: 'ESN-KPW', keys: { kind: 'kpw', kpw: known('dup kpw', hex(16, 6)) } }));
    await expectRefused('group bad key', () => s.groups.add('model-c', { kind: 'kde-kdh', kde: known('bad kde', hex(16, 7)), kdh: hex(31, 8) }));

    // The keyring: a recipient added, and every read of it (audited, by kid and count), with this KeyLadder's own private keys known.
    const keyringPeer = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    await s.keyring.addRecipient(JSON.stringify(await exportJWK(keyringPeer.publicKey)), { kid: 'peer-enc', use: 'enc' });
    known('recipient private d', Buffer.from((await exportJWK(keyringPeer.privateKey)).d!, 'base64url').toString('hex'));
    for (const use of ['sig', 'enc'] as const) known(`own ${use} d`, Buffer.from((await s.keyring.ownPrivateKey(use))!.key.export({ format: 'jwk' }).d!, 'base64url').toString('hex'));
    s.keyring.recipients();
    s.keyring.recipient('peer-enc');
    s.keyring.recipientsJwks();
    await s.keyring.identityJwks();
    await s.keyring.ownKeys();
    await expectRefused('recipient show unknown', () => s.keyring.recipient('nobody'));

    // Bulk import, good and bad, CSV and JSON.
    const csv = ['identity,group,kpe,kph,kpw'];
    const json: Array<Record<string, string>> = [];
    for (let i = 0; i < 20; i++) {
      csv.push(`CSV-${i},,${known(`csv kpe ${i}`, hex(16, 100 + i))},${known(`csv kph ${i}`, hex(32, 200 + i))},`);
      json.push({ identity: `JSON-${i}`, kpw: known(`json kpw ${i}`, hex(16, 300 + i)) });
    }
    expect((await s.devices.import(csv.join('\n'), 'csv')).imported).toBe(20);
    expect((await s.devices.import(JSON.stringify(json), 'json')).imported).toBe(20);
    const badCsv = [...csv.slice(0, 1), `BAD-1,,${known('bad csv kpe', hex(16, 400))},${known('bad csv kph', hex(32, 401))},${known('bad csv kpw', hex(16, 402))}`, `BAD-2,,,,${known('bad csv short', hex(15, 403))}`, 'CSV-3,,,,'];
    const report = await s.devices.import(badCsv.join('\n'), 'csv');
    expect(report.failed.length).toBe(3);
    errors.push(JSON.stringify(report));
    await expectRefused('import broken csv', () => s.devices.import(`identity,kpw\nQ-1,${known('quoted kpw', hex(16, 404))}"x`, 'csv'));
    await expectRefused('import headerless csv', () => s.devices.import(`Q-1,${known('headerless kpw', hex(16, 405))}`, 'csv'));
    await expectRefused('import broken json', () => s.devices.import(`[{"identity":"Q-2","kpw":"${known('json broken kpw', hex(16, 406))}"`, 'json'));

    // Export (bundles), and learn the generated device's keys from one.
    const bundle = await s.devices.exportBundle(['ESN-GEN', v.identity], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE });
    const opened = await openPassphraseExport(bundle, BUNDLE_PASSPHRASE);
    const gen = (JSON.parse(new TextDecoder().decode(opened.plaintext)) as { payload: { devices: Array<Record<string, string>> } }).payload.devices[0]!;
    known('generated kpw', gen['kpw']!);
    known('generated kpe', gen['kpe']!);
    known('generated kph', gen['kph']!);
    const rsa = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    await s.devices.exportBundle(['ESN-KPW'], { kind: 'rsa', publicJwk: { ...(await exportJWK(rsa.publicKey)) } });
    await expectRefused('export unknown', () => s.devices.exportBundle(['ESN-NOPE'], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE }));

    // Exchanges, answered: PSK, MGK, WRAP (climbing), and checks.
    const device = new LadderRequestor(v.identity, await importWrappingKey(new Uint8Array(Buffer.from(v.kpw_hex, 'hex'))));
    for (let i = 0; i < 3; i++) await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
    const oldWrap = JSON.stringify(device.nextRequest());
    expect(s.exchanges.respond(JSON.stringify({ identity: 'ESN-KPW', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'MGK' } } })).ok).toBe(true);
    await s.exchanges.simulate('ESN-GEN', { rungs: 3, profile: 'rfc7516' });
    const psk = JSON.stringify({ identity: 'ESN-KPW', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    const answer = s.exchanges.respond(psk);
    expect((await s.exchanges.checkResponse(psk, answer.json)).ok).toBe(true);

    // Issuer lifecycle: rotate, import-msl (a known Kissuer), exchange-2's WRAP, retire, destroy, peer export/import.
    s.issuers.rotate(30);
    s.issuers.importMsl(known('msl kissuer', e1.inputs['msl_wrapping_key_hex (Kissuer)']), 30);
    known('exchange-1 kwrap', e1.expected['kwrap_hex (new wrapping key)']);
    // MSL's own wrapdata is answered only within the migration window (audited, policy.migration), for a
    // device that never climbed here (e2's identity did, above).
    s.exchanges.setMslMigration(new Date(Date.now() + 30 * 86_400_000).toISOString());
    s.devices.provision({ identity: 'ESN-FROM-MSL', keys: { kind: 'generate' } });
    expect(s.exchanges.respond(JSON.stringify({ identity: 'ESN-FROM-MSL', keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } })).ok).toBe(true);
    await expectRefused('import-msl bad', () => s.issuers.importMsl(`${known('bad kissuer', hex(16, 9))}0`));

    // The MSL server's keys: master-token keys imported, an RSA identity imported (its private key's
    // parts and DER known), both refused too; the settings; the token bookkeeping.
    s.msl.keys.importTokenKeys(known('msl.key.enc', hex(16, 21)), known('msl.key.hmac', hex(32, 22)), 60);
    await expectRefused('msl keys known', () => s.msl.keys.importTokenKeys(hex(16, 21), hex(32, 22)));
    await expectRefused('msl keys bad', () => s.msl.keys.importTokenKeys(`${known('bad msl.key.enc', hex(16, 23))}0`, hex(32, 24)));
    s.msl.keys.rotateTokenKeys(0);
    s.msl.keys.retireTokenKeys(1);
    const mslRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const mslRsaJwk = mslRsa.privateKey.export({ format: 'jwk' }) as Record<string, string>;
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) keys.set(`msl rsa ${m}`, Buffer.from(mslRsaJwk[m]!, 'base64url'));
    const mslRsaDer = mslRsa.privateKey.export({ format: 'der', type: 'pkcs8' });
    keys.set('msl rsa pkcs8', mslRsaDer);
    await s.msl.keys.importIdentity(mslRsaDer.toString('base64'), 'rsakeyid1', 'server1');
    await expectRefused('msl identity known', () => s.msl.keys.importIdentity(mslRsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string, 'another'));
    await expectRefused('msl identity truncated', () => s.msl.keys.importIdentity(mslRsaDer.subarray(0, 600).toString('base64'), 'cut'));
    await s.msl.keys.rotateIdentity();
    s.msl.keys.retireIdentity(2);
    s.msl.keys.destroyIdentity(2);
    s.msl.settings.set({ renewalWindow: 60, expiration: 600 });
    const mslSerial = s.msl.tokens.allocateSerial('client1');
    s.msl.tokens.acceptNonReplayableId(mslSerial, 'client1', 1);
    for (const k of s.msl.keys.tokenKeys()) keys.set(`msl token keys ${k.generation}`, Buffer.concat([k.encryptionKey, k.hmacKey]));
    const peerExport = await s.issuers.exportToPeer([1, 2, 3], { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE });
    const peer = await openPassphraseExport(peerExport, BUNDLE_PASSPHRASE);
    for (const g of (JSON.parse(new TextDecoder().decode(peer.plaintext)) as { payload: { generations: Array<{ generation: number; kissuer: string }> } }).payload.generations) known(`kissuer ${g.generation}`, g.kissuer);
    expect(await s.issuers.importFromPeer(peerExport, { kind: 'passphrase', passphrase: BUNDLE_PASSPHRASE, unsigned: true })).toEqual([]);
    await expectRefused('import-peer wrong passphrase', () => s.issuers.importFromPeer(peerExport, { kind: 'passphrase', passphrase: 'not the bundle passphrase', unsigned: true }));
    s.issuers.retire(1);
    s.issuers.destroy(1);
    await expectRefused('destroy twice', () => s.issuers.destroy(1));

    // Exchanges, refused: retired/destroyed wrapdata, revoked, unknown, malformed.
    const refusedJson: string[] = [];
    refusedJson.push(s.exchanges.respond(oldWrap).json);
    s.devices.revoke('ESN-KPW');
    refusedJson.push(s.exchanges.respond(psk).json);
    refusedJson.push(s.exchanges.respond(JSON.stringify({ identity: 'ESN-NOPE', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } })).json);
    refusedJson.push(s.exchanges.respond(JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: Buffer.from(v.kpw_hex, 'hex').toString('base64') } } })).json);
    // (What a device puts where its identity or mechanism goes is echoed back to it, bounded; that is not a key the store holds.)
    refusedJson.push(s.exchanges.respond(`{"identity":"ESN-KPW","keyrequestdata":{"scheme":"JWE_LADDER","keydata":{"mechanism":"WRAP","wrapdata":"${Buffer.from(v.kpe_hex + v.kph_hex, 'hex').toString('base64')}"}}}`).json);
    refusedJson.push(s.exchanges.respond(`{"identity":"x","keyrequestdata":"${v.kph_hex}`).json);
    for (const j of refusedJson) expect(JSON.parse(j)).toHaveProperty('error');
    errors.push(...refusedJson);
    const refusedCheck = await s.exchanges.checkResponse(psk, answer.json);
    errors.push(JSON.stringify(refusedCheck));

    // Store operations: backup, passphrase change (a wrong one first), lock, failed unlock, unlock, restore.
    const backupFile = join(dir, 'backup.klb');
    await s.store.backup(backupFile);
    await expectRefused('passphrase change with a wrong passphrase', () => s.store.changePassphrase('not the store passphrase', NEW_PASSPHRASE));
    await s.store.changePassphrase(PASSPHRASE, NEW_PASSPHRASE);
    s.store.lock();
    await expectRefused('unlock with the old passphrase', () => s.store.unlock(PASSPHRASE));
    await s.store.unlock(NEW_PASSPHRASE);
    s.store.lock();
    // A restore brings back the backup's log, so take the log as it is before that too.
    const logs = [(await dumpStore(dir, NEW_PASSPHRASE))['audit_log']!];
    await expectRefused('restore with a wrong passphrase', () => s.store.restore(backupFile, NEW_PASSPHRASE));
    await s.store.restore(backupFile, PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    await expectRefused('verify while locked', async () => {
      s.store.lock();
      s.audit.verify();
    });
    await s.store.unlock(PASSPHRASE);

    // The responder's own draws: every Kwrap, Kenc, Khmac and CEK it made.
    let d = 0;
    for (const draw of random.draws) {
      if (draw.length !== EXCHANGE_RANDOM_BYTES) continue;
      keys.set(`kwrap #${d}`, draw.subarray(0, 16));
      keys.set(`kenc #${d}`, draw.subarray(16, 32));
      keys.set(`khmac #${d}`, draw.subarray(32, 64));
      for (let c = 0; c < 3; c++) keys.set(`cek ${c} #${d}`, draw.subarray(72 + 16 * c, 88 + 16 * c));
      d++;
    }
    expect(d).toBe(9);
    expect(keys.size).toBeGreaterThan(100);

    // Now scan. The audit log, row by row and as the services list it...
    expect(s.audit.verify().ok).toBe(true);
    logs.push((await dumpStore(dir, PASSPHRASE))['audit_log']!);
    const rows = logs.flat();
    const actions = new Set(rows.map((r) => `${r['action']}:${r['outcome']}`));
    for (const a of [
      'store.create:ok', 'store.unlock:ok', 'store.unlock-failed:refused', 'store.passphrase-change:ok', 'store.backup:ok', 'store.restore:ok',
      'group.add:ok', 'device.provision:ok', 'device.import:ok', 'device.import:refused', 'device.export:ok', 'device.revoke:ok',
      'issuer.create:ok', 'issuer.rotate:ok', 'issuer.import-msl:ok', 'issuer.export:ok', 'issuer.retire:ok', 'issuer.destroy:ok',
      'exchange:ok', 'exchange:refused',
      'recipient.add:ok', 'recipient.list:ok', 'recipient.show:ok', 'recipient.jwks:ok', 'identity.jwks:ok', 'identity.list:ok',
      'msl.identity-create:ok', 'msl.identity-import:ok', 'msl.identity-rotate:ok', 'msl.identity-retire:ok', 'msl.identity-destroy:ok',
      'msl.keys-create:ok', 'msl.keys-import:ok', 'msl.keys-rotate:ok', 'msl.keys-retire:ok', 'msl.settings:ok',
    ]) expect(actions, a).toContain(a);
    for (const row of rows) {
      const { mac: _mac, ...text } = row;
      const found = keysIn(JSON.stringify(text), keys);
      expect(found, JSON.stringify(text)).toEqual([]);
      for (const p of [PASSPHRASE, NEW_PASSPHRASE, BUNDLE_PASSPHRASE]) expect(JSON.stringify(text).includes(p)).toBe(false);
    }
    const listed = JSON.stringify(s.audit.list({ limit: 10_000 }));
    expect(keysIn(listed, keys)).toEqual([]);
    // ...and every error that came back.
    expect(errors.length).toBeGreaterThanOrEqual(20);
    for (const e of errors) {
      expect(keysIn(e, keys), e).toEqual([]);
      for (const p of [PASSPHRASE, NEW_PASSPHRASE, BUNDLE_PASSPHRASE]) expect(e.includes(p), e).toBe(false);
    }
    // The scan itself works: a key is found where it is.
    expect(keysIn(`x ${Buffer.from(v.kpw_hex, 'hex').toString('base64url')} y`, keys)).toEqual(['vector kpw']);
    s.close();

    // And the store locked cleanly after all that.
    const store = await KeyStore.unlock(dir, PASSPHRASE);
    expect(store.verify().ok).toBe(true);
    store.lock();
  });
});
