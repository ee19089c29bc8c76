// An export is audited "ok" only once its file is in place: a delivery that
// fails leaves no record, and a record that fails takes the file back, and
// puts back the file a forced export replaced.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import type { Delivery } from '../../electron/services/delivery.js';
import { outDelivery } from '../../electron/cli/output.js';
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
    ['issuer.export', (d) => services.issuers.exportToPeer([1], PROTECTION, d)],
    ['audit.checkpoint', (d) => services.audit.checkpoint(d)],
  ];
}

/**
 * `delivery`, whose export's record then fails after the file is written: a
 * record written after the delivery fails, and a transaction holding the
 * delivery fails at its commit (audit.checkpoint writes its file inside its
 * record's transaction), so undo really has a file to take back.
 */
function recordFailsAfter(s: TestServices, delivery: Delivery): Delivery {
  const store = storeOf(s);
  const failure = () => new Error('the audit log cannot be written');
  let written = false;
  const append = store.audit.append.bind(store.audit);
  vi.spyOn(store.audit, 'append').mockImplementation((...records) => {
    if (written) throw failure();
    append(...records);
  });
  const transaction = store.transaction.bind(store);
  vi.spyOn(store, 'transaction').mockImplementation(((fn: () => unknown, durability?: 'full' | 'relaxed', wait?: 'wait' | 'no-wait') => transaction(() => {
    const result = fn();
    if (written) throw failure();
    return result;
  }, durability, wait)) as never);
  return {
    write: (text) => {
      delivery.write(text);
      written = true;
    },
    undo: () => delivery.undo(),
    done: () => delivery.done(),
  };
}

const kept = (dir: string) => readdirSync(dir).filter((name) => name.includes('keyladder-previous'));

describe('exports and their audit records', () => {
  it('a delivery that fails leaves no record of the export', async () => {
    for (const [action, run] of await withExports()) {
      const before = t!.services.audit.list({ limit: 10_000 });
      const undo = vi.fn();
      const done = vi.fn();
      await expect(async () => run({ write: () => { throw Object.assign(new Error('no room'), { code: 'ENOSPC' }); }, undo, done })).rejects.toThrow('no room');
      expect(t!.services.audit.list({ limit: 10_000 }), action).toEqual(before);
      expect(undo).not.toHaveBeenCalled();
      expect(done).not.toHaveBeenCalled();
    }
    expect(t!.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('a delivered export is recorded once; if its record fails after the write, a new file is taken back', async () => {
    const dir = tempDir();
    for (const [action, run] of await withExports()) {
      const file = join(dir, `${action}.out`);
      await run(outDelivery(file, false));
      expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0);
      expect(t!.services.audit.list({ limit: 1 })[0]).toMatchObject({ action, outcome: 'ok' });

      const second = join(dir, `${action}-2.out`);
      const before = t!.services.audit.list({ limit: 10_000 });
      await expect(async () => run(recordFailsAfter(t!, outDelivery(second, false)))).rejects.toThrow('the audit log cannot be written');
      vi.restoreAllMocks();
      expect(existsSync(second), action).toBe(false);
      expect(t!.services.audit.list({ limit: 10_000 }), action).toEqual(before);
    }
    expect(kept(dir)).toEqual([]);
    expect(t!.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('a forced export over an existing file: the file it replaced comes back when the record fails, and is dropped when it stands', async () => {
    const dir = tempDir();
    for (const [action, run] of await withExports()) {
      const file = join(dir, `${action}.out`);
      writeFileSync(file, "the operator's previous file\n", { mode: 0o600 });
      await expect(async () => run(recordFailsAfter(t!, outDelivery(file, true)))).rejects.toThrow('the audit log cannot be written');
      vi.restoreAllMocks();
      expect(readFileSync(file, 'utf8'), action).toBe("the operator's previous file\n");
      expect(kept(dir), action).toEqual([]);

      await run(outDelivery(file, true));
      expect(readFileSync(file, 'utf8'), action).not.toBe("the operator's previous file\n");
      expect(t!.services.audit.list({ limit: 1 })[0]).toMatchObject({ action, outcome: 'ok' });
      expect(kept(dir), action).toEqual([]);
    }
    expect(t!.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('audit.export signs its own "ok" record, so a delivery that fails after it adds a "refused" record naming the code, not the file', async () => {
    t = await openTestServices();
    const { audit } = t.services;
    const done = vi.fn();
    const failing: Delivery = { write: () => { throw Object.assign(new Error("EIO: i/o error, write '/secret/place.jws'"), { code: 'EIO' }); }, undo: vi.fn(), done };
    await expect(audit.exportSigned({}, failing)).rejects.toMatchObject({ code: 'EIO' });
    const [refusal, signed] = audit.list({ action: 'audit.export', limit: 2 });
    expect(signed).toMatchObject({ outcome: 'ok' });
    expect(refusal).toMatchObject({ seq: signed!.seq + 1, outcome: 'refused', details: { from: 1, to: signed!.seq, reason: 'EIO' } });
    expect(JSON.stringify(refusal)).not.toContain('secret');
    expect(done).not.toHaveBeenCalled();
    const delivered = vi.fn();
    const { jws } = await audit.exportSigned({}, { write: delivered, undo: vi.fn(), done });
    expect(delivered).toHaveBeenCalledWith(jws);
    expect(done).toHaveBeenCalledOnce();
    expect(audit.verify()).toMatchObject({ ok: true });
  });
});
