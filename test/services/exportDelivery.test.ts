// An export is audited "ok" only once its file is in place: a delivery that
// fails leaves no record, and a record that fails takes the file back.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import type { Delivery } from '../../electron/services/delivery.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  t?.cleanup();
  t = undefined;
});

const PROTECTION = { kind: 'passphrase' as const, passphrase: 'an export passphrase' };
const storeOf = (s: TestServices): KeyStore => (s.services.store as unknown as { session: { store(): KeyStore } }).session.store();

async function withExports(): Promise<Array<[string, (d: Delivery) => Promise<unknown> | unknown]>> {
  t = await openTestServices();
  const { services } = t;
  services.devices.provision({ identity: 'ESN-DELIVERY', keys: { kind: 'generate' } });
  services.groups.add('delivery-group', { kind: 'generate' });
  return [
    ['device.export', (d) => services.devices.exportBundle(['ESN-DELIVERY'], PROTECTION, d)],
    ['group.export', (d) => services.groups.exportBundle(['delivery-group'], PROTECTION, d)],
    ['revocation.export', (d) => services.revocations.exportList(PROTECTION, d)],
    ['audit.checkpoint', (d) => services.audit.checkpoint(d)],
  ];
}

describe('exports and their audit records', () => {
  it('a delivery that fails leaves no record of the export', async () => {
    for (const [action, run] of await withExports()) {
      const before = t!.services.audit.list({ limit: 10_000 });
      const undo = vi.fn();
      await expect(async () => run({ write: () => { throw Object.assign(new Error('no room'), { code: 'ENOSPC' }); }, undo })).rejects.toThrow('no room');
      expect(t!.services.audit.list({ limit: 10_000 }), action).toEqual(before);
      expect(undo).not.toHaveBeenCalled();
    }
    expect(t!.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('a delivered export is recorded once; if its record fails, the file is taken back', async () => {
    const dir = tempDir();
    for (const [action, run] of await withExports()) {
      const file = join(dir, `${action}.out`);
      const delivery: Delivery = { write: (text) => { writeFileSync(file, text); }, undo: () => rmSync(file) };
      await run(delivery);
      expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0);
      expect(t!.services.audit.list({ limit: 1 })[0]).toMatchObject({ action, outcome: 'ok' });

      const second = join(dir, `${action}-2.out`);
      const audit = storeOf(t!).audit;
      vi.spyOn(audit, 'append').mockImplementationOnce(() => { throw new Error('the audit log cannot be written'); });
      await expect(async () => run({ write: (text) => { writeFileSync(second, text); }, undo: () => rmSync(second) })).rejects.toThrow('the audit log cannot be written');
      expect(existsSync(second), action).toBe(false);
    }
  });
});
