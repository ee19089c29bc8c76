// The JOSE channels over real services: the renderer cannot send a key, a key
// file is read in main, a file that is no JOSE object never crosses, and a
// decrypted plaintext never comes back as bytes.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { contract } from '../../electron/ipc/contract.js';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { joseVectors } from '../support/joseVectors.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const a = joseVectors('rfc7516-appendix-a.json');
const vector = (section: string) => a.vectors.find((x) => x.section === section)!;
const ctx = { progress: vi.fn() };

async function handlersOpening(...files: Array<string | null>) {
  t = await openTestServices();
  const open = [...files];
  const deps = {
    openFile: vi.fn(async () => open.shift() ?? null),
  } as unknown as AppDeps;
  return createHandlers(t.services, deps);
}

describe('jose channels', () => {
  it('take no key from the renderer: only own, device, group, key-file (read by main) or a typed passphrase', () => {
    const schema = contract['jose.decrypt'].request;
    const text = vector('A.3').jwe!;
    expect(schema.safeParse({ text, key: { kind: 'jwk', jwk: a.keys['A.3.3'] } }).success).toBe(false);
    expect(schema.safeParse({ text, key: { kind: 'key-file', jwk: a.keys['A.3.3'] } }).success).toBe(false);
    expect(schema.safeParse({ text, key: { kind: 'device', identity: 'ESN 1' } }).success).toBe(false);
    expect(schema.safeParse({ text: 'x'.repeat(1024 * 1024 + 1), key: { kind: 'own' } }).success).toBe(false);
    expect(schema.safeParse({ text, key: { kind: 'key-file' } }).success).toBe(true);
  });

  it('decrypt through a key file main reads: metadata back, no plaintext bytes; a canceled dialog does nothing', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'a33.jwk');
    writeFileSync(keyFile, JSON.stringify(a.keys['A.3.3']));
    const h = await handlersOpening(keyFile, null);
    const reply = await h['jose.decrypt']({ text: vector('A.4').jwe!, key: { kind: 'key-file' } }, ctx);
    expect(reply).toMatchObject({ canceled: false, result: { index: 1, alg: 'A128KW', summary: { kind: 'text', length: 22 } } });
    expect(JSON.stringify(reply)).not.toContain('Live long');
    expect(JSON.stringify(reply)).not.toContain(a.keys['A.3.3']!.k);
    expect(await h['jose.decrypt']({ text: vector('A.4').jwe!, key: { kind: 'key-file' } }, ctx)).toEqual({ canceled: true });
    expect(t!.services.audit.list({ action: 'jose.decrypt' })).toHaveLength(1);
  });

  it('a key file nested 300,000 deep is JSON_TOO_DEEP (issue 19 item 15), and nothing is audited', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'deep.jwk');
    writeFileSync(keyFile, `{"kty":"oct","x":${'['.repeat(300_000)}${']'.repeat(300_000)}}`);
    const h = await handlersOpening(keyFile);
    await expect(h['jose.decrypt']({ text: vector('A.4').jwe!, key: { kind: 'key-file' } }, ctx)).rejects.toMatchObject({ code: 'JSON_TOO_DEEP', message: expect.stringMatching(/^The key file nests/) });
    expect(t!.services.audit.list({ action: 'jose.decrypt' })).toHaveLength(0);
  });

  it('inspectFile sends the text of a JOSE object, and refuses any other file without sending it', async () => {
    const dir = tempDir();
    const jwe = path.join(dir, 'a5.json');
    writeFileSync(jwe, `${vector('A.5').jwe!}\n`);
    const keyFile = path.join(dir, 'secret.jwk');
    writeFileSync(keyFile, JSON.stringify(a.keys['A.3.3']));
    const h = await handlersOpening(jwe, keyFile);
    expect(await h['jose.inspectFile'](undefined, ctx)).toMatchObject({ canceled: false, file: jwe, text: vector('A.5').jwe, inspection: { view: { type: 'jwe', serialization: 'json-flattened' } } });
    const refused = await Promise.resolve(h['jose.inspectFile'](undefined, ctx)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'JOSE_PARSE' });
    expect(JSON.stringify({ message: (refused as Error).message })).not.toContain(a.keys['A.3.3']!.k);
  });

  it('a signed export holding keys never crosses: decrypt answers its summary, inspectFile its member names and no text', async () => {
    const dir = tempDir();
    const kpw = '000102030405060708090a0b0c0d0e0f';
    const inner = path.join(dir, 'export.jws');
    const h = await handlersOpening(inner);
    const s = t!.services;
    const own = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await s.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
    s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw } });
    const jwe = await s.devices.exportBundle(['ESN-1'], { kind: 'recipient', kid: own.kid! });
    const jws = Buffer.from((await s.jose.decrypt(jwe, { kind: 'own' })).plaintext!).toString('utf8');
    writeFileSync(inner, jws);
    const leaks = (reply: unknown) => {
      const shown = JSON.stringify(reply);
      return [shown.includes(kpw), shown.includes(jws.split('.')[1]!.slice(0, 40)), shown.includes(Buffer.from('{"format"').toString('hex'))];
    };
    const decrypted = await h['jose.decrypt']({ text: jwe, key: { kind: 'own' } }, ctx);
    expect(decrypted).toMatchObject({ canceled: false, result: { summary: { kind: 'jws', payload: { kind: 'json', holdsKeys: true } } } });
    expect(leaks(decrypted)).toEqual([false, false, false]);
    const inspected = await h['jose.inspectFile'](undefined, ctx);
    expect(inspected).toMatchObject({ canceled: false, file: inner, inspection: { view: { type: 'jws', payload: { withheld: { members: ['format', 'version', 'createdAt', 'payload'] } } } } });
    expect(inspected).not.toHaveProperty('text');
    expect(leaks(inspected)).toEqual([false, false, false]);
    expect(leaks(await h['jose.inspect']({ text: jws }, ctx))).toEqual([false, false, false]);
    expect(leaks(await h['jose.verify']({ text: jws, key: { kind: 'own' } }, ctx))).toEqual([false, false, false]);
  });
});
