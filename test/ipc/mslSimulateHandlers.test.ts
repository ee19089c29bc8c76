// exchanges.simulateMsl (issue 21, the Test exchange screen's "Simulated MSL
// device") through the real IPC wrapper and real services: hostile arguments
// are refused in main with INVALID_ARGUMENT before the service runs, and
// nothing changes in the store; a good call runs the six steps in process and
// returns names and KCVs, never a key.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { wrapAll, type IpcEventLike } from '../../electron/ipc/register.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { client1Psk } from '../support/mslVectors.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';
import { dumpStore } from '../support/storeFiles.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const TRUSTED = 'app://keyladder/index.html';
const event: IpcEventLike = { senderFrame: { url: TRUSTED, parent: null }, sender: { send: () => undefined } };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function setup() {
  t = await openTestServices();
  const psk = client1Psk();
  t.services.devices.provision({ identity: 'client1', keys: { kind: 'kpe-kph', kpe: hex(psk.kpe), kph: hex(psk.kph) } });
  const simulate = vi.spyOn(t.services.mslSimulate, 'simulate');
  const wrapped = wrapAll(createHandlers(t.services, {} as AppDeps), { isTrustedSender: trustedSender({ origins: ['app://keyladder'] }) });
  const call = (...args: unknown[]) => wrapped.get('exchanges.simulateMsl')!(event, ...args);
  return { s: t.services, psk, simulate, call };
}

describe('exchanges.simulateMsl', () => {
  it('refuses hostile arguments in main, with INVALID_ARGUMENT, without running the simulation or changing the store', async () => {
    const { s, simulate, call } = await setup();
    s.exchanges.flush();
    const before = await dumpStore(t!.dir, PASSPHRASE);
    const hostile: unknown[][] = [
      [],
      [undefined],
      [null],
      ['client1'],
      [42],
      [{}],
      [{ identity: 42 }],
      [{ identity: '' }],
      [{ identity: 'has space' }],
      [{ identity: 'x'.repeat(10_000_000) }],
      [{ identity: 'client1\u0000' }],
      [{ identity: 'client1', mechanism: 'WRAP' }],
      [{ identity: 'client1', mechanism: 'psk' }],
      [{ identity: 'client1', mechanism: -1 }],
      // No URL: main sends nothing anywhere for the renderer.
      [{ identity: 'client1', url: 'http://127.0.0.1:9/msl' }],
      [{ identity: 'client1', rungs: 100 }],
      [{ identity: 'client1', rungs: -1 }],
      [{ identity: 'client1', __proto__: { polluted: true }, extra: 1 }],
      [{ identity: 'client1' }, { identity: 'client1' }],
    ];
    for (const args of hostile) {
      const reply = await call(...args);
      expect(reply, JSON.stringify(args).slice(0, 80)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      // The refusal does not quote the argument back.
      expect(JSON.stringify(reply)).not.toContain('xxxxxxxxxx');
    }
    expect(simulate).not.toHaveBeenCalled();
    s.exchanges.flush();
    expect(await dumpStore(t!.dir, PASSPHRASE)).toEqual(before);
  });

  it('a device the store does not hold is DEVICE_NOT_FOUND and nothing is written; a revoked one gets the MSL error in the report', async () => {
    const { s, call } = await setup();
    s.exchanges.flush();
    const before = await dumpStore(t!.dir, PASSPHRASE);
    expect(await call({ identity: 'client9' })).toMatchObject({ ok: false, error: { code: 'DEVICE_NOT_FOUND' } });
    s.exchanges.flush();
    expect(await dumpStore(t!.dir, PASSPHRASE)).toEqual(before);
    s.devices.revoke('client1');
    const reply = await call({ identity: 'client1' });
    expect(reply).toMatchObject({ ok: true, value: { allOk: false, steps: [{ ok: false, mslError: { name: 'ENTITY_REVOKED', response: 'FAIL' } }] } });
  });

  it('runs the six steps in process, one WRAP renewal, and answers with names and KCVs only', async () => {
    const { psk, simulate, call } = await setup();
    const reply = await call({ identity: 'client1', mechanism: 'PSK' });
    expect(reply).toMatchObject({ ok: true, value: { identity: 'client1', target: 'this store, in process', planned: 6, allOk: true } });
    expect(simulate).toHaveBeenCalledWith('client1', { mechanism: 'PSK', rungs: 1 });
    const text = JSON.stringify(reply);
    for (const key of [psk.kpe, psk.kph]) {
      expect(text).not.toContain(hex(key));
      expect(text.toLowerCase()).not.toContain(Buffer.from(key).toString('base64').toLowerCase());
    }
    expect(text).not.toMatch(/[0-9a-fA-F]{32}/);
  });
});
