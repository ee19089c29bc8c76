// The IPC wrapper, under plain Node: the sender is checked first, arguments are
// validated, results are wrapped, service errors become {code,message} and
// nothing else leaks (no stack, no request values).
import { describe, expect, it, vi } from 'vitest';
import { StoreError, StoreErrorCode } from '../../db/errors.js';
import { LadderError, MslErrorCode } from '../../electron/ladder/errors.js';
import { ServiceError } from '../../electron/services/errors.js';
import { CHANNELS, contract, EVENTS } from '../../electron/ipc/contract.js';
import { wrapAll, wrapHandler, registerIpc, type Handlers, type IpcEventLike } from '../../electron/ipc/register.js';
import { trustedSender } from '../../electron/security/trustedSender.js';

const TRUSTED = 'app://keyladder/index.html';
const isTrustedSender = trustedSender({ origins: ['app://keyladder'] });

function eventFrom(url: string | null, parent: unknown = null): IpcEventLike & { sent: Array<[string, unknown]> } {
  const sent: Array<[string, unknown]> = [];
  return { senderFrame: url === null ? null : { url, parent }, sender: { send: (c, p) => sent.push([c, p]) }, sent };
}


const page = { total: 1, offset: 0, items: [] };

describe('the IPC wrapper', () => {
  it('refuses a sender that is not the app, before looking at anything else', async () => {
    const handler = vi.fn(() => page);
    const onActivity = vi.fn();
    const wrapped = wrapHandler('devices.list', handler, { isTrustedSender, onActivity });
    for (const url of [
      'https://evil.example/index.html',
      'app://keyladder.evil/index.html',
      'app://evil/index.html',
      'http://keyladder/index.html',
      'file:///tmp/index.html',
      'about:blank',
      'data:text/html,<script>1</script>',
      '',
      'not a url',
    ]) {
      const reply = await wrapped(eventFrom(url), { offset: 0 });
      expect(reply, url).toEqual({ ok: false, error: { code: 'UNTRUSTED_SENDER', message: expect.any(String) } });
    }
    // A destroyed frame, and a subframe on our own origin, are refused too.
    expect(await wrapped(eventFrom(null), {})).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    expect(await wrapped(eventFrom(TRUSTED, { url: TRUSTED }), {})).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    // Even a request that would not validate gets UNTRUSTED_SENDER: the sender is checked first.
    expect(await wrapped(eventFrom('https://evil.example/'), 42)).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    expect(handler).not.toHaveBeenCalled();
    expect(onActivity).not.toHaveBeenCalled();
  });

  it('accepts the app itself (the guard is not backwards)', async () => {
    const handler = vi.fn((_request: unknown) => page);
    const wrapped = wrapHandler('devices.list', handler, { isTrustedSender });
    expect(await wrapped(eventFrom(TRUSTED), { prefix: 'ESN', limit: 50 })).toEqual({ ok: true, value: page });
    expect(await wrapped(eventFrom('app://keyladder/#/devices'), {})).toEqual({ ok: true, value: page });
    expect(handler).toHaveBeenCalledTimes(2);
    expect(handler.mock.calls[0]?.[0]).toEqual({ prefix: 'ESN', limit: 50 });
  });

  it('refuses invalid arguments without calling the service, and without quoting them', async () => {
    const handler = vi.fn(() => ({}) as never);
    const wrapped = wrapHandler('devices.provision', handler, { isTrustedSender });
    const secret = '00112233445566778899aabbccddeeZZ';
    for (const bad of [
      undefined,
      null,
      'ESN-1',
      { identity: 'ESN-1' },
      { identity: 'has space', keys: { kind: 'generate' } },
      { identity: 'ESN-1', keys: { kind: 'kpw', kpw: secret } },
      { identity: 'ESN-1', keys: { kind: 'kpw', kpw: '0011' } },
      { identity: 'ESN-1', keys: { kind: 'generate' }, extra: true },
      { identity: 'ESN-1', keys: { kind: 'generate', kpw: '00112233445566778899aabbccddeeff' } },
      { identity: 'x'.repeat(300), keys: { kind: 'generate' } },
    ]) {
      const reply = await wrapped(eventFrom(TRUSTED), bad);
      expect(reply.ok, JSON.stringify(bad)).toBe(false);
      if (reply.ok) continue;
      expect(reply.error.code).toBe('INVALID_ARGUMENT');
      expect(reply.error.message).not.toContain(secret);
    }
    // More than one argument is refused as well.
    expect(await wrapped(eventFrom(TRUSTED), { identity: 'ESN-1', keys: { kind: 'generate' } }, 'second')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(handler).not.toHaveBeenCalled();
  });

  it('checks the typed confirmation of a destroy in main too', async () => {
    const handler = vi.fn(() => ({}) as never);
    const wrapped = wrapHandler('issuers.destroy', handler, { isTrustedSender });
    expect(await wrapped(eventFrom(TRUSTED), { generation: 2, confirm: 3 })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(handler).not.toHaveBeenCalled();
    await wrapped(eventFrom(TRUSTED), { generation: 2, confirm: 2 });
    expect(handler).toHaveBeenCalledOnce();
  });

  it('wraps a valid call as {ok:true,value} and counts it as activity', async () => {
    const onActivity = vi.fn();
    const wrapped = wrapHandler('store.status', () => ({ path: '/x', exists: true, unlocked: false }), { isTrustedSender, onActivity });
    expect(await wrapped(eventFrom(TRUSTED))).toEqual({ ok: true, value: { path: '/x', exists: true, unlocked: false } });
    expect(await wrapped(eventFrom(TRUSTED), {})).toMatchObject({ ok: true });
    expect(onActivity).toHaveBeenCalledWith('store.status');
  });

  it('maps service and ladder errors to {code,message}, with no stack', async () => {
    const fail = (error: unknown) => wrapHandler('store.unlock', () => Promise.reject(error), { isTrustedSender })(eventFrom(TRUSTED), { passphrase: 'pw', operator: 'Alice' });
    expect(await fail(new StoreError('WRONG_PASSPHRASE', 'The passphrase is wrong.'))).toEqual({
      ok: false,
      error: { code: 'WRONG_PASSPHRASE', message: 'The passphrase is wrong.' },
    });
    expect(await fail(new ServiceError('DEVICE_EXISTS', 'ESN-1 is already provisioned.'))).toEqual({
      ok: false,
      error: { code: 'DEVICE_EXISTS', message: 'ESN-1 is already provisioned.' },
    });
    // A service's finer reason goes along (which check refused an imported key); a ladder error's stays in main.
    expect(await fail(new ServiceError('MSL_KEY_INVALID', 'Not RSA.', undefined, 'NOT_RSA'))).toEqual({ ok: false, error: { code: 'MSL_KEY_INVALID', reason: 'NOT_RSA', message: 'Not RSA.' } });
    expect(await fail(new ServiceError('MSL_KEY_INVALID', 'Odd.', undefined, 'not a code; <b>'))).toEqual({ ok: false, error: { code: 'MSL_KEY_INVALID', message: 'Odd.' } });
    const ladder = await fail(new LadderError(MslErrorCode.ENTITY_NOT_FOUND, 'NO_DEVICE', 'No such device.'));
    expect(ladder).toEqual({ ok: false, error: { code: 'ENTITY_NOT_FOUND', message: 'No such device.' } });
    for (const reply of [ladder]) expect(JSON.stringify(reply)).not.toMatch(/stack|at .*\.ts/);
  });

  it('tells main of an expected refusal by its code only (the app log\'s ipc.refused); not of an unexpected error', async () => {
    const onRefused = vi.fn();
    const log = vi.fn();
    const refused = await wrapHandler('store.unlock', () => {
      throw new StoreError(StoreErrorCode.WRONG_PASSPHRASE, 'Wrong passphrase.');
    }, { isTrustedSender, onRefused, log })(eventFrom(TRUSTED), { passphrase: 'correct horse', operator: 'Alice' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'WRONG_PASSPHRASE' } });
    expect(onRefused.mock.calls).toEqual([['store.unlock', 'WRONG_PASSPHRASE']]);
    expect(log).not.toHaveBeenCalled();
    await wrapHandler('store.lock', () => { throw new Error('boom'); }, { isTrustedSender, onRefused, log })(eventFrom(TRUSTED));
    expect(onRefused).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith('store.lock', 'unexpected-error', expect.any(Error));
  });

  it('hides unexpected errors behind INTERNAL and logs them in main only', async () => {
    const log = vi.fn();
    const reply = await wrapHandler('store.unlock', () => {
      throw new Error('SQLITE_CORRUPT near 00112233445566778899aabbccddeeff');
    }, { isTrustedSender, log })(eventFrom(TRUSTED), { passphrase: 'correct horse', operator: 'Alice' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'INTERNAL_ERROR' } });
    expect(JSON.stringify(reply)).not.toContain('0011223344');
    expect(JSON.stringify(reply)).not.toContain('correct horse');
    expect(log).toHaveBeenCalledWith('store.unlock', 'unexpected-error', expect.any(Error));
    // A plain Error with a code is not trusted to be operator-safe either.
    const coded = Object.assign(new Error('ENOENT: /home/op/secret.csv'), { code: 'ENOENT' });
    // Nor is an error that merely calls itself a ServiceError.
    const impostor = Object.assign(new Error('leaky text 00112233445566778899aabbccddeeff'), { name: 'ServiceError', code: 'DEVICE_EXISTS' });
    expect(await wrapHandler('store.lock', () => { throw impostor; }, { isTrustedSender })(eventFrom(TRUSTED))).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL_ERROR' },
    });
    expect(await wrapHandler('store.lock', () => { throw coded; }, { isTrustedSender })(eventFrom(TRUSTED))).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL_ERROR' },
    });
  });

  it('sends throttled progress to the calling window only', async () => {
    const event = eventFrom(TRUSTED);
    const report = { total: 1000, imported: 1000, failed: [] };
    const wrapped = wrapHandler('devices.importFile', (_req, ctx) => {
      for (let done = 1; done <= 1000; done++) ctx.progress({ done, total: 1000 });
      return { canceled: false, file: '/tmp/devices.csv', report };
    }, { isTrustedSender, progressIntervalMs: 60_000 });
    expect(await wrapped(event, {})).toEqual({ ok: true, value: { canceled: false, file: '/tmp/devices.csv', report } });
    expect(event.sent).toEqual([
      [EVENTS.progress, { channel: 'devices.importFile', done: 1, total: 1000 }],
      [EVENTS.progress, { channel: 'devices.importFile', done: 1000, total: 1000 }],
    ]);
  });

  it('registers every channel of the contract, each through the wrapper', async () => {
    const handlers = Object.fromEntries(CHANNELS.map((c) => [c, () => `called ${c}`])) as unknown as Handlers;
    const registered = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>();
    const unregister = registerIpc(
      { handle: (c, l) => registered.set(c, l as never), removeHandler: (c) => registered.delete(c) },
      handlers,
      { isTrustedSender },
    );
    expect([...registered.keys()].sort()).toEqual(Object.keys(contract).sort());
    for (const [channel, listener] of registered) {
      expect(await listener(eventFrom('https://evil.example/'), {}), channel).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    }
    expect(await registered.get('store.status')?.(eventFrom(TRUSTED))).toEqual({ ok: true, value: 'called store.status' });
    unregister();
    expect(registered.size).toBe(0);
    expect(wrapAll(handlers, { isTrustedSender }).size).toBe(CHANNELS.length);
  });
});
