// The app's operator name and reasons across IPC (issue 22 item 3): unlock and
// create need the operator's name (printable, 1 to 64 characters), destructive
// channels take an optional reason (at most 1,000 printable characters), and
// audit.list filters by actor. Bad values are refused in main before any
// service is called, and are never quoted back.
import { describe, expect, it, vi } from 'vitest';
import type { Channel } from '../../electron/ipc/contract.js';
import { wrapHandler, type IpcEventLike } from '../../electron/ipc/register.js';
import { trustedSender } from '../../electron/security/trustedSender.js';

const TRUSTED = 'app://keyladder/index.html';
const isTrustedSender = trustedSender({ origins: ['app://keyladder'] });
const event = (): IpcEventLike => ({ senderFrame: { url: TRUSTED, parent: null }, sender: { send: () => undefined } });

async function refuses(channel: Channel, requests: unknown[]) {
  const handler = vi.fn(() => ({}) as never);
  const wrapped = wrapHandler(channel, handler, { isTrustedSender });
  for (const request of requests) {
    const reply = await wrapped(event(), request);
    expect(reply, JSON.stringify(request)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    if (!reply.ok) expect(reply.error.message).not.toContain('hunter2-secret');
  }
  expect(handler).not.toHaveBeenCalled();
}

async function accepts(channel: Channel, request: unknown): Promise<unknown> {
  const handler = vi.fn((r: unknown) => r as never);
  const reply = await wrapHandler(channel, handler, { isTrustedSender })(event(), request);
  expect(reply, JSON.stringify(request)).toMatchObject({ ok: true });
  return handler.mock.calls[0]![0];
}

describe('the operator name at unlock and create', () => {
  it.each(['store.unlock', 'store.create'] as const)('%s needs a printable name of 1 to 64 characters', async (channel) => {
    await refuses(channel, [
      { passphrase: 'hunter2-secret' },
      { passphrase: 'hunter2-secret', operator: '' },
      { passphrase: 'hunter2-secret', operator: '   ' },
      { passphrase: 'hunter2-secret', operator: 'x'.repeat(65) },
      { passphrase: 'hunter2-secret', operator: 'alice\nroot' },
      { passphrase: 'hunter2-secret', operator: 'alice\u202e' },
      { passphrase: 'hunter2-secret', operator: 42 },
    ]);
    expect(await accepts(channel, { passphrase: 'pw', operator: '  Alice Martin ' })).toEqual({ passphrase: 'pw', operator: 'Alice Martin' });
    expect(await accepts(channel, { passphrase: 'pw', operator: 'é'.repeat(64) })).toMatchObject({ operator: 'é'.repeat(64) });
  });
});

describe('reasons on destructive channels', () => {
  const cases: Array<[Channel, Record<string, unknown>]> = [
    ['devices.revoke', { identity: 'ESN-1' }],
    ['issuers.retire', { generation: 1 }],
    ['issuers.destroy', { generation: 1, confirm: 1 }],
    ['store.rekey', { passphrase: 'pw' }],
    ['store.restore', { passphrase: 'pw' }],
    ['devices.delete', { selection: { kind: 'identities', identities: ['ESN-1'] }, confirm: 1 }],
    ['mslServer.retireIdentity', { generation: 1 }],
    ['mslServer.destroyIdentity', { generation: 1, confirm: 1 }],
    ['mslServer.retireTokenKeys', { generation: 1 }],
    ['mslServer.destroyTokenKeys', { generation: 1, confirm: 1 }],
  ];
  it.each(cases)('%s takes an optional reason of at most 1,000 printable characters', async (channel, base) => {
    await refuses(channel, [{ ...base, reason: 'x'.repeat(1001) }, { ...base, reason: 'one\ntwo' }, { ...base, reason: 'esc \u001b[2J' }, { ...base, reason: 7 }]);
    expect(await accepts(channel, base)).toEqual(base);
    expect(await accepts(channel, { ...base, reason: 'y'.repeat(1000) })).toEqual({ ...base, reason: 'y'.repeat(1000) });
  });
});

describe('a restore from the unlock screen', () => {
  it('may name its operator, checked as at unlock', async () => {
    await refuses('store.restore', [{ passphrase: 'pw', operator: '' }, { passphrase: 'pw', operator: 'a\nb' }, { passphrase: 'pw', operator: 'x'.repeat(65) }]);
    expect(await accepts('store.restore', { passphrase: 'pw', operator: 'Dana' })).toEqual({ passphrase: 'pw', operator: 'Dana' });
  });
});

describe('audit.list by actor', () => {
  it('takes an actor of 1 to 200 characters', async () => {
    await refuses('audit.list', [{ actor: '' }, { actor: 'x'.repeat(201) }, { actor: 3 }]);
    expect(await accepts('audit.list', { actor: 'alice@host', limit: 50 })).toEqual({ actor: 'alice@host', limit: 50 });
  });
});
