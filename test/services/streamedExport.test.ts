// Issue 22, item 1: a passphrase bundle into a file is written as it is made
// (sealBundleStream), one device after another. It is the same JWE a factory
// opens with any JOSE library; a failure part-way leaves no file and no audit
// record; a device that is not there refuses the export before a file is begun.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { compactDecrypt, importJWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStore } from '../../db/store.js';
import { fileDelivery } from '../../electron/services/delivery.js';
import { openPassphraseExport } from '../support/factory.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  t?.cleanup();
  t = undefined;
});

const PROTECTION = { kind: 'passphrase' as const, passphrase: 'a bundle passphrase for the factory' };
const storeOf = (s: TestServices['services']): KeyStore => (s.devices as unknown as { session: { store(): KeyStore } }).session.store();

async function fleet(n: number) {
  t = await openTestServices();
  const rows = ['identity', ...Array.from({ length: n }, (_, i) => `STREAM-${String(i).padStart(5, '0')}`)];
  expect((await t.services.devices.import(`${rows.join('\n')}\n`, 'csv')).imported).toBe(n);
  return { s: t.services, identities: rows.slice(1), out: join(t.dir, 'bundle.jwe') };
}

describe('a streamed passphrase bundle', () => {
  it('is written piece by piece into its file, and opens as the same bundle: every device, its keys matching its KCVs', async () => {
    const { s, identities, out } = await fleet(3000);
    const delivery = fileDelivery(out, false, '\n');
    const pieces = vi.spyOn(delivery, 'writeChunks');
    expect(await s.devices.exportBundle(identities, PROTECTION, delivery)).toBe('');
    expect(pieces).toHaveBeenCalledOnce();
    const { plaintext, protectedHeader } = await openPassphraseExport(readFileSync(out, 'utf8').trim(), PROTECTION.passphrase);
    expect(protectedHeader).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'keyladder-provisioning-bundle', p2c: 600000 });
    const bundle = JSON.parse(Buffer.from(plaintext).toString('utf8'));
    expect(bundle).toMatchObject({ format: 'keyladder-provisioning-bundle', version: 1 });
    expect(bundle.payload.devices.map((d: { identity: string }) => d.identity)).toEqual(identities);
    const first = bundle.payload.devices[0];
    expect(first.kcv).toEqual(s.devices.get(identities[0]!).kcv);
    expect(first.kpw).toMatch(/^[0-9a-f]{32}$/);
    expect(s.audit.list({ action: 'device.export', limit: 1 })[0]!.details).toMatchObject({ count: 3000 });
  });

  it('fails part-way with no file left and no audit record', async () => {
    const { s, identities, out } = await fleet(5);
    const store = storeOf(s);
    const sealed = store.devices.sealedKeys.bind(store.devices);
    let calls = 0;
    vi.spyOn(store.devices, 'sealedKeys').mockImplementation((identity) => {
      if (++calls === 4) throw new Error('the disk went away');
      return sealed(identity);
    });
    await expect(s.devices.exportBundle(identities, PROTECTION, fileDelivery(out, false))).rejects.toThrow(/disk went away/);
    expect(existsSync(out)).toBe(false);
    expect(s.audit.list({ action: 'device.export' })).toEqual([]);
  });

  it('refuses a device that is not there before a file is begun', async () => {
    const { s, out } = await fleet(2);
    await expect(s.devices.exportBundle(['STREAM-00000', 'NOT-HERE'], PROTECTION, fileDelivery(out, false))).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect(existsSync(out)).toBe(false);
  });
});

describe('a streamed RSA bundle', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = rsa.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const privateJwk = rsa.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const RSA = { kind: 'rsa' as const, publicJwk };

  it('is written piece by piece, opens with jose (RSA-OAEP-256, A256GCM), every device in it', async () => {
    const { s, identities, out } = await fleet(3000);
    const delivery = fileDelivery(out, false, '\n');
    const pieces = vi.spyOn(delivery, 'writeChunks');
    expect(await s.devices.exportBundle(identities, RSA, delivery)).toBe('');
    expect(pieces).toHaveBeenCalledOnce();
    const jwe = readFileSync(out, 'utf8').trim();
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, await importJWK({ ...privateJwk, alg: 'RSA-OAEP-256' } as never, 'RSA-OAEP-256'));
    expect(protectedHeader).toEqual({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'keyladder-provisioning-bundle' });
    const bundle = JSON.parse(Buffer.from(plaintext).toString('utf8'));
    expect(bundle.payload.devices.map((d: { identity: string }) => d.identity)).toEqual(identities);
    expect(bundle.payload.devices[0].kcv).toEqual(s.devices.get(identities[0]!).kcv);
    expect(s.audit.list({ action: 'device.export', limit: 1 })[0]!.details).toMatchObject({ count: 3000, protection: 'rsa' });
  });

  it('refuses a weak recipient key as a bundle made whole does, before a file is begun', async () => {
    const { s, identities, out } = await fleet(2);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    await expect(s.devices.exportBundle(identities, { kind: 'rsa', publicJwk: weak }, fileDelivery(out, false))).rejects.toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
    expect(existsSync(out)).toBe(false);
  });
});

