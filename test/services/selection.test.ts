// Selecting devices for an export by rule (all, prefix, model group) or by
// list, resolved in SQL, with the count and the revoked devices shown first.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices;
beforeEach(async () => {
  t = await openTestServices();
  const { devices, groups } = t.services;
  groups.add('MODEL-A', { kind: 'generate' });
  for (let i = 0; i < 5; i++) devices.provision({ identity: `ESN-A-${i}`, group: 'MODEL-A', keys: { kind: 'generate' } });
  for (let i = 0; i < 3; i++) devices.provision({ identity: `ESN-B-${i}`, keys: { kind: 'generate' } });
  devices.revoke('ESN-A-1');
  devices.revoke('ESN-B-2');
});
afterEach(() => t.cleanup());

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('device selections', () => {
  it('count every device, a prefix, a group and a list, with the revoked among them', () => {
    const { devices } = t.services;
    expect(devices.countSelection({ kind: 'all' })).toEqual({ total: 8, revoked: 2, missing: 0 });
    expect(devices.countSelection({ kind: 'prefix', prefix: 'ESN-B-' })).toEqual({ total: 3, revoked: 1, missing: 0 });
    expect(devices.countSelection({ kind: 'group', group: 'MODEL-A' })).toEqual({ total: 5, revoked: 1, missing: 0 });
    expect(devices.countSelection({ kind: 'identities', identities: ['ESN-A-0', 'ESN-A-1', 'NOT-HERE', 'ESN-A-0'] })).toEqual({ total: 2, revoked: 1, missing: 1 });
    expect(devices.countSelection({ kind: 'prefix', prefix: 'NOPE' })).toEqual({ total: 0, revoked: 0, missing: 0 });
  });

  it('resolve to identities in identity order, without duplicates', () => {
    const { devices } = t.services;
    expect(devices.select({ kind: 'prefix', prefix: 'ESN-B-' })).toEqual(['ESN-B-0', 'ESN-B-1', 'ESN-B-2']);
    expect(devices.select({ kind: 'group', group: 'MODEL-A' })).toEqual(['ESN-A-0', 'ESN-A-1', 'ESN-A-2', 'ESN-A-3', 'ESN-A-4']);
    expect(devices.select({ kind: 'all' })).toHaveLength(8);
    expect(devices.select({ kind: 'identities', identities: ['ESN-B-1', 'ESN-A-0', 'ESN-B-1'] })).toEqual(['ESN-B-1', 'ESN-A-0']);
  });

  it('an export of a prefix selection is audited with its count', async () => {
    const { devices } = t.services;
    const before = t.services.audit.list({ action: 'device.export' }).length;
    await devices.exportBundle(devices.select({ kind: 'prefix', prefix: 'ESN-B-' }), { kind: 'passphrase', passphrase: 'bundle passphrase 1' });
    const [entry] = t.services.audit.list({ action: 'device.export' });
    expect(t.services.audit.list({ action: 'device.export' })).toHaveLength(before + 1);
    expect(entry!.details['count']).toBe(3);
  });

  it('refuse a selection of nothing, an unknown group and bad input, with codes', () => {
    const { devices } = t.services;
    expect(codeOf(() => devices.select({ kind: 'prefix', prefix: 'NOPE' }))).toBe('DEVICE_NOT_FOUND');
    expect(codeOf(() => devices.select({ kind: 'group', group: 'NO-SUCH' }))).toBe('GROUP_NOT_FOUND');
    expect(codeOf(() => devices.countSelection({ kind: 'group', group: 'NO-SUCH' }))).toBe('GROUP_NOT_FOUND');
    expect(codeOf(() => devices.select({ kind: 'prefix', prefix: '' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => devices.select({ kind: 'identities', identities: [] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => devices.select({ kind: 'identities', identities: ['has space'] }))).toBe('INVALID_IDENTITY');
    expect(codeOf(() => devices.select({ kind: 'everything' } as never))).toBe('INVALID_ARGUMENT');
  });
});
