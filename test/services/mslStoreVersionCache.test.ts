// The MSL responder reads its settings, its signing key and its master-token
// keys on every message; they are cached on the store's PRAGMA data_version
// (electron/services/storeVersionCache.ts, issue 20 item 8). What a cache must
// never do is answer with what another process changed: a rotation or a
// settings change by the CLI (a real second process here) is seen by this
// process's very next call, and a change through this process's own services
// (which does not move data_version) likewise.
import { afterEach, describe, expect, it } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { cliProcess } from '../support/cli.js';
import { provisionMslSample } from '../support/mslSample.js';
import { decoded, messageBytes } from '../support/mslVectors.js';
import { splitObjects } from '../support/mslWikiDecoder.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

function otherProcess(test: TestServices, ...args: string[]): void {
  const r = cliProcess(['--store', test.dir, ...args]);
  expect(r.code, r.stderr).toBe(0);
}

describe('what the MSL responder reads per message, cached on data_version', () => {
  it('settings: the same answer while nothing changed; another process\'s change and this one\'s are seen at the next call', async () => {
    t = await openTestServices();
    const settings = t.services.msl.settings;
    const first = settings.get();
    expect(first).toEqual({ renewalWindow: 3600, expiration: 86_400 });
    expect(settings.get()).toBe(first); // cached: no read of the store

    otherProcess(t, 'msl', 'settings', '--renewal-window', '60', '--expiration', '600');
    expect(settings.get()).toEqual({ renewalWindow: 60, expiration: 600 });

    settings.set({ renewalWindow: 120 });
    expect(settings.get()).toEqual({ renewalWindow: 120, expiration: 600 });
    // ...and what the responder's state reads is the same service's.
    const cached = settings.get();
    expect(settings.get()).toBe(cached);
    otherProcess(t, 'msl', 'settings', '--expiration', '900');
    expect(settings.get()).toEqual({ renewalWindow: 120, expiration: 900 });
  }, 60_000);

  it('the signing key: another process\'s identity rotation is signed with from the next call; this one\'s too', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const first = keys.serverSigner();
    expect(keys.serverSigner()).toBe(first);
    otherProcess(t, 'msl', 'identity', 'rotate', '--name', 'elsewhere');
    const second = keys.serverSigner();
    expect(second).toMatchObject({ generation: 2, name: 'elsewhere', keyId: keys.identity().keyId });
    await keys.rotateIdentity('here');
    expect(keys.serverSigner()).toMatchObject({ generation: 3, name: 'here', keyId: keys.identity().keyId });
  }, 60_000);

  it('master-token keys: another process\'s rotation and retirement are seen at the next call', async () => {
    t = await openTestServices();
    const keys = t.services.msl.keys;
    const before = keys.tokenKeys();
    expect(before.map((k) => k.generation)).toEqual([1]);

    otherProcess(t, 'msl', 'keys', 'rotate', '--grace-seconds', '3600');
    const rotated = keys.tokenKeys();
    expect(rotated.map((k) => [k.generation, k.status])).toEqual([[2, 'active'], [1, 'grace']]);
    const g2 = keys.tokenKeyGenerations().find((g) => g.generation === 2)!;
    expect(kcv(rotated[0]!.encryptionKey, 'aes')).toBe(g2.kcvEnc);

    otherProcess(t, 'msl', 'keys', 'retire', '1');
    expect(keys.tokenKeys().map((k) => k.generation)).toEqual([2]);

    // A grace period that ends with time (no write anywhere) ends for the cache too.
    keys.rotateTokenKeys(60);
    expect(keys.tokenKeys().map((k) => k.generation)).toEqual([3, 2]);
    t.clock.now = new Date(t.clock.now.getTime() + 61_000);
    expect(keys.tokenKeys().map((k) => k.generation)).toEqual([3]);
  }, 60_000);

  it('through the responder: the message after another process rotated the identity is signed by the new one', async () => {
    t = await openTestServices();
    t.clock.now = new Date((decoded('001', 'request').headerdata.timestamp as number) * 1000);
    const s = t.services;
    await provisionMslSample(s);
    const signerOf = (): unknown => {
      const out = s.mslResponder.answer(messageBytes('001', 'request'), { client: '127.0.0.1' });
      expect(out.kind).toBe('answered');
      return (splitObjects(out.body)[0] as { entityauthdata: { authdata: unknown } }).entityauthdata.authdata;
    };
    expect(signerOf()).toEqual({ identity: 'server1', pubkeyid: 'rsakeyid1' });
    expect(signerOf()).toEqual({ identity: 'server1', pubkeyid: 'rsakeyid1' });
    s.exchanges.flush();
    otherProcess(t, 'msl', 'identity', 'rotate', '--name', 'rotated');
    const rotated = s.msl.keys.identity();
    expect(rotated.generation).toBe(3);
    expect(signerOf()).toEqual({ identity: 'rotated', pubkeyid: rotated.keyId });
  }, 60_000);
});
