// The keyring channels over real services: a key file is read in main, removing
// and rotating wait for main's own confirm, and no private member ever crosses.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { contract } from '../../electron/ipc/contract.js';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const ctx = { progress: vi.fn() };

async function handlers(files: Array<string | null>, answers: boolean[]) {
  t = await openTestServices();
  const open = [...files];
  const yes = [...answers];
  const deps = {
    openFile: vi.fn(async () => open.shift() ?? null),
    confirm: vi.fn(async () => yes.shift() ?? false),
  } as unknown as AppDeps;
  return { h: createHandlers(t.services, deps), deps };
}

function ecKeyFile(): { file: string; publicJwk: JWK } {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'factory-1', use: 'enc' };
  const file = path.join(tempDir(), 'factory.jwk');
  writeFileSync(file, JSON.stringify(publicJwk));
  return { file, publicJwk };
}

describe('keyring channels', () => {
  it('validate every argument: kid printable and at most 128, label at most 200, use sig or enc', () => {
    const add = contract['keyring.addRecipientFile'].request;
    expect(add.safeParse({ kid: 'a b' }).success).toBe(false);
    expect(add.safeParse({ kid: 'k'.repeat(129) }).success).toBe(false);
    expect(add.safeParse({ label: 'l'.repeat(201) }).success).toBe(false);
    expect(add.safeParse({ use: 'wrap' }).success).toBe(false);
    expect(add.safeParse({ jwk: {} }).success).toBe(false);
    expect(add.safeParse({ kid: 'k'.repeat(128), label: 'Factory in Łódź', use: 'enc' }).success).toBe(true);
    // A signing key's roles (issue 19, item 12): the two KeyLadder knows, nothing else.
    expect(add.safeParse({ use: 'sig', roles: ['revocations', 'issuer-export'] }).success).toBe(true);
    expect(add.safeParse({ use: 'sig', roles: ['everything'] }).success).toBe(false);
    expect(add.safeParse({ use: 'sig', roles: 'issuer-export' }).success).toBe(false);
    expect(contract['keyring.rotateOwnKey'].request.safeParse({ use: 'both' }).success).toBe(false);
    expect(contract['keyring.removeRecipient'].request.safeParse({ kid: '' }).success).toBe(false);
    const exportBundle = contract['devices.exportBundle'].request;
    expect(exportBundle.safeParse({ selection: { kind: 'all' }, protection: { kind: 'recipient', kid: 'factory-1' } }).success).toBe(true);
    expect(exportBundle.safeParse({ selection: { kind: 'all' }, protection: { kind: 'recipient', kid: 'factory-1', jwk: {} } }).success).toBe(false);
  });

  it('add a recipient from the file main reads, with its RFC 7638 thumbprint; a canceled dialog adds nothing', async () => {
    const { file, publicJwk } = ecKeyFile();
    const { h } = await handlers([file, null], []);
    const added = await h['keyring.addRecipientFile']({ label: 'Factory 1' }, ctx);
    expect(added).toMatchObject({ canceled: false, file, recipient: { kid: 'factory-1', label: 'Factory 1', use: 'enc', description: 'EC P-256' } });
    expect(added.canceled === false && added.recipient.thumbprint).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
    expect(await h['keyring.addRecipientFile']({}, ctx)).toEqual({ canceled: true });
    expect(await h['keyring.recipients'](undefined, ctx)).toHaveLength(1);
  });

  it('pass a signing key\'s roles through: revocation lists only unless the operator adds Kissuer exports', async () => {
    const files = [0, 1].map((i) => {
      const publicJwk = { ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK), kid: `peer-${i}`, use: 'sig' };
      const file = path.join(tempDir(), `peer-${i}.jwk`);
      writeFileSync(file, JSON.stringify(publicJwk));
      return file;
    });
    const { h } = await handlers(files, []);
    expect(await h['keyring.addRecipientFile']({}, ctx)).toMatchObject({ recipient: { kid: 'peer-0', use: 'sig', roles: ['revocations'] } });
    expect(await h['keyring.addRecipientFile']({ roles: ['revocations', 'issuer-export'] }, ctx)).toMatchObject({ recipient: { kid: 'peer-1', roles: ['revocations', 'issuer-export'] } });
  });

  it('pass the peer store id a revocation signer speaks for (round 2: bound at pin time), checked by the service', async () => {
    const files = [0, 1].map((i) => {
      const publicJwk = { ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK), kid: `peer-${i}`, use: 'sig' };
      const file = path.join(tempDir(), `peer-${i}.jwk`);
      writeFileSync(file, JSON.stringify(publicJwk));
      return file;
    });
    const { h } = await handlers(files, []);
    expect(contract['keyring.addRecipientFile'].request.safeParse({ source: 's'.repeat(65) }).success).toBe(false);
    const source = '0f1e2d3c-4b5a-4697-8877-665544332211';
    await expect(Promise.resolve(h['keyring.addRecipientFile']({ source: 'P\nforged' }, ctx))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await h['keyring.addRecipientFile']({ source }, ctx)).toMatchObject({ recipient: { kid: 'peer-1', use: 'sig', source } });
  });

  it('refuse a private key file, and keep the keyring unchanged', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = path.join(tempDir(), 'private.jwk');
    const jwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'oops' };
    writeFileSync(file, JSON.stringify(jwk));
    const { h } = await handlers([file], []);
    const refusal = await Promise.resolve(h['keyring.addRecipientFile']({}, ctx)).catch((e: unknown) => e as { code: string; message: string });
    expect(refusal).toMatchObject({ code: 'RECIPIENT_KEY_INVALID' });
    expect(JSON.stringify(refusal)).not.toContain(jwk.d);
    expect(await h['keyring.recipients'](undefined, ctx)).toEqual([]);
  });

  it('remove a recipient only on the operator’s yes in main', async () => {
    const { file } = ecKeyFile();
    const { h, deps } = await handlers([file], [false, true]);
    await h['keyring.addRecipientFile']({}, ctx);
    await expect(h['keyring.removeRecipient']({ kid: 'factory-1' }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(await h['keyring.recipients'](undefined, ctx)).toHaveLength(1);
    expect(await h['keyring.removeRecipient']({ kid: 'factory-1' }, ctx)).toMatchObject({ kid: 'factory-1' });
    expect(await h['keyring.recipients'](undefined, ctx)).toEqual([]);
    expect(deps.confirm).toHaveBeenCalledTimes(2);
    expect(t!.services.audit.list({ action: 'recipient.remove' })).toHaveLength(1);
  });

  it('rotate an own key only on a yes; the identity JWKS holds public halves only', async () => {
    const { h } = await handlers([], [false, true]);
    const before = await h['keyring.ownKeys'](undefined, ctx);
    expect(before.map((k) => [k.use, k.status]).sort()).toEqual([['enc', 'active'], ['sig', 'active']]);
    await expect(h['keyring.rotateOwnKey']({ use: 'sig' }, ctx)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(await h['keyring.ownKeys'](undefined, ctx)).toEqual(before);
    const rotated = await h['keyring.rotateOwnKey']({ use: 'sig' }, ctx);
    expect(rotated).toMatchObject({ use: 'sig', status: 'active', alg: 'ES256' });
    const jwks = JSON.parse(await h['keyring.identityJwks'](undefined, ctx)) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...before.map((k) => k.kid), rotated.kid].sort());
    for (const key of jwks.keys) expect(Object.keys(key).filter((m) => ['d', 'p', 'q', 'k'].includes(m))).toEqual([]);
  });
});
