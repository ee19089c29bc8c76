// The MSL server screen's channels (issue 21, item 4) through the real IPC
// wrapper and the real services: hostile arguments refused in main with
// INVALID_ARGUMENT and the store unchanged; the times refused in main whatever
// the renderer sent; imported keys refused with a reason and nothing stored;
// key files read by main (bounded), never crossing; and no reply carries a key:
// public forms, thumbprints and KCVs only.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, type Channel } from '../../electron/ipc/contract.js';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { wrapAll, type IpcEventLike, type WrappedHandler } from '../../electron/ipc/register.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { MslKeyRefusal } from '../../electron/services/mslRsaKeyInput.js';
import { adviceFor } from '../../renderer/src/api/advice.js';
import { ROOT } from '../support/cli.js';
import { mslServerConfig } from '../support/msl.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';

const TRUSTED: IpcEventLike = { senderFrame: { url: 'app://keyladder/index.html', parent: null }, sender: { send: () => {} } };
const MSL_CHANNELS = CHANNELS.filter((c) => c.startsWith('mslServer.'));

let t: TestServices;
let wrapped: ReadonlyMap<Channel, WrappedHandler>;
const open: Array<string | null> = [];
const replies: unknown[] = [];
const call = async (channel: Channel, request?: unknown): Promise<{ ok: boolean; value?: any; error?: { code: string; reason?: string; message: string } }> => {
  const reply = await wrapped.get(channel)!(TRUSTED, ...(request === undefined ? [] : [request]));
  replies.push(reply);
  return reply as never;
};
const snapshot = () => ({
  entries: t.services.audit.verify().entries,
  identities: JSON.stringify(t.services.msl.keys.identities()),
  tokenKeys: JSON.stringify(t.services.msl.keys.tokenKeyGenerations()),
  settings: JSON.stringify(t.services.msl.settings.all()),
});
const CONFIG = path.join(ROOT, 'test', 'vectors', 'msl-messages', 'mslsrv.cfg');
let dir: string;
const file = (name: string, text: string | Buffer) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

beforeAll(async () => {
  t = await openTestServices();
  dir = tempDir();
  const deps: AppDeps = {
    version: '0.0.0',
    settings: { get: () => ({ idleLockMinutes: 10 }), setIdleLockMinutes: (m) => ({ idleLockMinutes: m }) },
    openFile: async () => open.shift() ?? null,
    saveFile: async () => null,
    confirm: async () => false,
    responder: { status: () => { throw new Error('unused'); }, start: async () => { throw new Error('unused'); }, stop: async () => { throw new Error('unused'); }, chooseTls: () => { throw new Error('unused'); }, chooseTokenFile: () => { throw new Error('unused'); }, chooseClientCa: () => { throw new Error('unused'); }, metrics: () => { throw new Error('unused'); } } as unknown as AppDeps['responder'],
  };
  wrapped = wrapAll(createHandlers(t.services, deps), { isTrustedSender: trustedSender({ origins: ['app://keyladder'] }) });
}, 60_000);
afterAll(() => t?.cleanup());

describe('the MSL server channels', () => {
  it('are thirteen, all in the contract', () => {
    expect(MSL_CHANNELS).toHaveLength(13);
  });

  it('refuse hostile arguments in main with INVALID_ARGUMENT, never quoting them, the store unchanged', async () => {
    const before = snapshot();
    const huge = 'A'.repeat(2_000_000);
    const hostile: Array<[Channel, unknown]> = [
      ['mslServer.identities', { extra: 1 }],
      ['mslServer.identities', 42],
      ['mslServer.createIdentity', { name: 'has space' }],
      ['mslServer.createIdentity', { name: huge }],
      ['mslServer.createIdentity', { name: '' }],
      ['mslServer.createIdentity', { name: 'ok', privateKey: '-----BEGIN PRIVATE KEY-----' }],
      ['mslServer.rotateIdentity', { name: 7 }],
      ['mslServer.rotateIdentity', null],
      ['mslServer.importIdentity', { keyId: 'x'.repeat(129) }],
      ['mslServer.importIdentity', { keyText: '-----BEGIN PRIVATE KEY-----' }],
      ['mslServer.importIdentity', { publicKeyFile: 'yes' }],
      ['mslServer.importIdentity', { keyId: 'kid\nmsl.rsa.id.1 evil' }],
      ['mslServer.retireIdentity', { generation: -1 }],
      ['mslServer.retireIdentity', { generation: 0 }],
      ['mslServer.retireIdentity', { generation: 1.5 }],
      ['mslServer.retireIdentity', { generation: '1' }],
      ['mslServer.retireIdentity', { generation: 2 ** 32 }],
      ['mslServer.retireIdentity', { generation: Number.NaN }],
      ['mslServer.retireIdentity', {}],
      ['mslServer.destroyIdentity', { generation: 1 }],
      ['mslServer.destroyIdentity', { generation: 1, confirm: 2 }],
      ['mslServer.destroyIdentity', { generation: 1, confirm: '1' }],
      ['mslServer.tokenKeys', { all: true }],
      ['mslServer.rotateTokenKeys', { graceSeconds: -1 }],
      ['mslServer.rotateTokenKeys', { graceSeconds: 365 * 86_400 + 1 }],
      ['mslServer.rotateTokenKeys', { graceSeconds: '60' }],
      ['mslServer.rotateTokenKeys', { enc: '00'.repeat(16) }],
      ['mslServer.importTokenKeys', { enc: '00'.repeat(16), hmac: '00'.repeat(32) }],
      ['mslServer.importTokenKeys', { graceSeconds: 0.5 }],
      ['mslServer.retireTokenKeys', { generation: -3 }],
      ['mslServer.destroyTokenKeys', { generation: 1, confirm: 3 }],
      ['mslServer.destroyTokenKeys', { generation: 1 }],
      ['mslServer.settings', { renewalWindow: 1 }],
      ['mslServer.setSettings', { renewalWindow: 0 }],
      ['mslServer.setSettings', { renewalWindow: -60 }],
      ['mslServer.setSettings', { expiration: 0 }],
      ['mslServer.setSettings', { expiration: -1 }],
      ['mslServer.setSettings', { expiration: 1e12 }],
      ['mslServer.setSettings', { expiration: 60.5 }],
      ['mslServer.setSettings', { expiration: '60' }],
      ['mslServer.setSettings', { expiration: Number.POSITIVE_INFINITY }],
      ['mslServer.setSettings', { nonReplayableWindow: 0 }],
      ['mslServer.setSettings', { nonReplayableWindow: -65536 }],
      ['mslServer.setSettings', { nonReplayableWindow: 2 ** 53 }],
      ['mslServer.setSettings', { renewalWindow: 60, maxSkipped: 9 }],
      ['mslServer.setSettings', [60, 120]],
    ];
    for (const [channel, request] of hostile) {
      const reply = await call(channel, request);
      expect(reply, `${channel} ${JSON.stringify(request)?.slice(0, 80)}`).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      expect(reply.error!.message).not.toContain('AAAAAAAAAA');
      expect(reply.error!.message).not.toContain('BEGIN');
    }
    // Two arguments where one is expected.
    expect(await wrapped.get('mslServer.setSettings')!(TRUSTED, { expiration: 60 }, { expiration: 60 })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(snapshot()).toEqual(before);
    expect(open).toEqual([]);
  });

  it('refuse in main a renewal window longer than the expiration, whatever the renderer sent, with nothing written', async () => {
    const before = snapshot();
    for (const change of [{ renewalWindow: 90_000 }, { renewalWindow: 200, expiration: 100 }, { expiration: 60, renewalWindow: 61 }]) {
      const reply = await call('mslServer.setSettings', change);
      expect(reply, JSON.stringify(change)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('at least the renewal window') } });
    }
    expect(snapshot()).toEqual(before);
    expect(await call('mslServer.setSettings', { renewalWindow: 60, expiration: 600, nonReplayableWindow: 1000 })).toEqual({ ok: true, value: { renewalWindow: 60, expiration: 600, nonReplayableWindow: 1000 } });
    expect(t.services.audit.list({ action: 'msl.settings' })[0]).toMatchObject({ details: { renewalWindow: 60, expiration: 600, nonReplayableWindow: 1000 } });
    expect(await call('mslServer.settings')).toEqual({ ok: true, value: { renewalWindow: 60, expiration: 600, nonReplayableWindow: 1000 } });
  });

  it('list the identity with its public forms and the client config lines, never the private key', async () => {
    const reply = await call('mslServer.identities');
    expect(reply.ok).toBe(true);
    const [id] = reply.value as Array<Record<string, unknown>>;
    expect(id).toMatchObject({ generation: 1, status: 'active', bits: 2048, keyId: expect.any(String), createdAt: expect.any(String) });
    expect(id!['clientConfig']).toBe(`entity.auth.schemes.keyladder RSA\nmsl.rsa.id.N ${id!['keyId']}\nmsl.rsa.pub.N ${id!['spki']}`);
    expect(id!['pem']).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(Object.keys(id!['jwk'] as object).sort()).toEqual(['e', 'kid', 'kty', 'n']);
  });

  it('import a key pair from files main reads: refused with a reason and nothing stored, or imported from an MSL config', async () => {
    const before = snapshot();
    // Canceled: nothing.
    expect(await call('mslServer.importIdentity', {})).toEqual({ ok: true, value: { canceled: true } });
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: Array<[string, string[], object, string, string?]> = [
      ['EC', [file('ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)], { keyId: 'k1' }, 'MSL_KEY_INVALID', MslKeyRefusal.NOT_RSA],
      ['1024 bits', [file('small.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)], { keyId: 'k2' }, 'MSL_KEY_INVALID', MslKeyRefusal.KEY_SIZE],
      ['e = 3', [file('e3.pem', generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)], { keyId: 'k3' }, 'MSL_KEY_INVALID', MslKeyRefusal.EXPONENT],
      ['halves of two keys', [file('pair.pem', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), file('other.pub', other.publicKey.export({ format: 'pem', type: 'spki' }) as string)], { keyId: 'k4', publicKeyFile: true }, 'MSL_KEY_INVALID', MslKeyRefusal.PUBLIC_KEY_MISMATCH],
      ['a config whose pub is another key\'s', [file('bad.cfg', readFileSync(CONFIG, 'utf8').replace(mslServerConfig()['msl.rsa.pub.0']!, other.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')))], {}, 'MSL_KEY_INVALID', MslKeyRefusal.PUBLIC_KEY_MISMATCH],
      ['a key file with no key id', [file('nokid.pem', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)], {}, 'INVALID_ARGUMENT'],
      ['a 300 KiB file', [file('big.pem', Buffer.alloc(300 * 1024, 0x41))], { keyId: 'k5' }, 'INVALID_ARGUMENT'],
      ['a file that is gone', [path.join(dir, 'missing.pem')], { keyId: 'k6' }, 'INVALID_ARGUMENT'],
    ];
    for (const [what, files, request, code, reason] of cases) {
      open.push(...files);
      const reply = await call('mslServer.importIdentity', request);
      expect(reply, what).toMatchObject({ ok: false, error: { code, ...(reason === undefined ? {} : { reason }) } });
      expect(snapshot(), what).toEqual(before);
      expect(open, what).toEqual([]);
    }
    // The MSL sample server's config: its key pair, under its key id, checked against its public key.
    open.push(CONFIG);
    const imported = await call('mslServer.importIdentity', { name: 'server1' });
    expect(imported).toMatchObject({ ok: true, value: { canceled: false, file: CONFIG, identity: { keyId: 'rsakeyid1', name: 'server1', origin: 'imported', spki: mslServerConfig()['msl.rsa.pub.0'] } } });
    // A key file with its own public key, under the key id given.
    open.push(file('good.pem', pair.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string), file('good.pub', pair.publicKey.export({ format: 'pem', type: 'spki' }) as string));
    expect(await call('mslServer.importIdentity', { keyId: 'lab-1', publicKeyFile: true })).toMatchObject({ ok: true, value: { canceled: false, identity: { keyId: 'lab-1', status: 'active' } } });
  });

  it('rotate, retire and destroy identity generations (destroy typed again), refusing what the status forbids', async () => {
    const list = async () => (await call('mslServer.identities')).value as Array<{ generation: number; status: string }>;
    const rotated = await call('mslServer.rotateIdentity', {});
    expect(rotated).toMatchObject({ ok: true, value: { status: 'active', origin: 'generated' } });
    const active = rotated.value.generation as number;
    expect(await call('mslServer.retireIdentity', { generation: active })).toMatchObject({ ok: false, error: { code: 'MSL_TRANSITION' } });
    expect(await call('mslServer.createIdentity', {})).toMatchObject({ ok: false, error: { code: 'MSL_TRANSITION' } });
    expect(await call('mslServer.retireIdentity', { generation: 999 })).toMatchObject({ ok: false, error: { code: 'MSL_NOT_FOUND' } });
    const retiring = (await list()).find((i) => i.status === 'retiring')!.generation;
    expect(await call('mslServer.destroyIdentity', { generation: retiring, confirm: retiring })).toMatchObject({ ok: false, error: { code: 'MSL_TRANSITION' } });
    expect(await call('mslServer.retireIdentity', { generation: retiring })).toMatchObject({ ok: true, value: { status: 'retired' } });
    expect(await call('mslServer.destroyIdentity', { generation: retiring, confirm: retiring })).toMatchObject({ ok: true, value: { status: 'destroyed', destroyedAt: expect.any(String) } });
  });

  it('rotate, import, retire and destroy master-token key generations, showing KCVs only', async () => {
    expect(await call('mslServer.importTokenKeys', {})).toEqual({ ok: true, value: { canceled: true } });
    const before = snapshot();
    open.push(file('nokeys.cfg', 'msl.key.enc 00112233445566778899aabbccddeeff\n'));
    expect(await call('mslServer.importTokenKeys', {})).toMatchObject({ ok: false, error: { code: 'INVALID_KEY', reason: 'MSL_TOKEN_KEYS' } });
    expect(snapshot()).toEqual(before);
    open.push(CONFIG);
    const imported = await call('mslServer.importTokenKeys', { graceSeconds: 60 });
    expect(imported).toMatchObject({ ok: true, value: { canceled: false, generation: { origin: 'imported-msl', status: 'active', kcvEnc: expect.stringMatching(/^[0-9A-F]{6}$/i) } } });
    const rotated = await call('mslServer.rotateTokenKeys', { graceSeconds: 600 });
    expect(rotated).toMatchObject({ ok: true, value: { status: 'active' } });
    const prior = imported.value.generation.generation as number;
    expect(await call('mslServer.destroyTokenKeys', { generation: prior, confirm: prior })).toMatchObject({ ok: false, error: { code: 'MSL_TRANSITION' } });
    expect(await call('mslServer.retireTokenKeys', { generation: prior })).toMatchObject({ ok: true, value: { status: 'retired' } });
    expect(await call('mslServer.destroyTokenKeys', { generation: prior, confirm: prior })).toMatchObject({ ok: true, value: { status: 'destroyed', kcvEnc: null, kcvHmac: null } });
    const all = await call('mslServer.tokenKeys');
    expect(all.ok).toBe(true);
    expect((all.value as unknown[]).length).toBeGreaterThanOrEqual(3);
  });

  it('never reply with key bytes: no private key, no master-token key, in any spelling', () => {
    const cfg = mslServerConfig();
    const haystack = JSON.stringify(replies);
    expect(haystack).not.toMatch(/PRIVATE KEY|"d":|"p":|"q":|"dp":/);
    const secrets = [cfg['msl.key.enc']!, cfg['msl.key.hmac']!].map((h) => Buffer.from(h, 'hex'));
    const privateDer = Buffer.from(cfg['msl.rsa.priv.0']!, 'base64');
    for (const key of secrets) {
      for (const spelling of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url')]) expect(haystack.includes(spelling), spelling.slice(0, 4)).toBe(false);
    }
    // The private exponent of MSL's sample key (PKCS #1: n's 257 bytes come first, then e, then d from about byte 275).
    const d = privateDer.subarray(300, 360);
    for (const spelling of [d.toString('hex'), d.toString('base64'), d.toString('base64url'), cfg['msl.rsa.priv.0']!.slice(400, 480)]) expect(haystack.includes(spelling)).toBe(false);
    // The public key is there, as it should be: the test looks in the right place.
    expect(haystack).toContain(cfg['msl.rsa.pub.0']);
  });
});

describe('the advice for an imported key\'s refusal', () => {
  it('says what to do for each reason a key is refused for', () => {
    const own = [MslKeyRefusal.NOT_RSA, MslKeyRefusal.KEY_SIZE, MslKeyRefusal.EXPONENT, MslKeyRefusal.WEAK_KEY, MslKeyRefusal.HALVES_MISMATCH, MslKeyRefusal.PUBLIC_KEY_MISMATCH, MslKeyRefusal.ENCRYPTED, MslKeyRefusal.NOT_PRIVATE];
    for (const reason of own) expect(adviceFor('MSL_KEY_INVALID', reason), reason).not.toBe(adviceFor('MSL_KEY_INVALID'));
    // The others fall back to the code's own line.
    expect(adviceFor('MSL_KEY_INVALID', MslKeyRefusal.MALFORMED)).toBe(adviceFor('MSL_KEY_INVALID'));
    // Master-token keys refused: advice about msl.key.enc/hmac, not a device's Kpe and Kph.
    expect(adviceFor('INVALID_KEY', 'MSL_TOKEN_KEYS')).toContain('msl.key.hmac');
    expect(adviceFor('INVALID_KEY')).toContain('Kpe');
  });
});
