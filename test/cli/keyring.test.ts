// The keyring at the command line (issue 13): recipients from files or stdin
// with their thumbprints, this KeyLadder's own keys, exports --to a recipient
// (signed, then encrypted), imports that find their key by kid and pin their
// signer, --unsigned for anything else, and the signed audit export.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactDecrypt, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';

const dir = tempDir('keyladder-keyring-');
const A = join(dir, 'a');
const B = join(dir, 'b');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
type Options = Parameters<typeof cli>[1];
const run = (store: string, args: string[], options?: Options) => cli(['--store', store, ...args], options);
async function json<T = any>(store: string, args: string[], options?: Options): Promise<{ code: number; value: T; stderr: string }> {
  const r = await run(store, [...args, '--json'], options);
  return { code: r.code, value: JSON.parse(r.stdout) as T, stderr: r.stderr };
}
/** A refusal with `code` and exit `status`; what the store holds (recipients, generations, audit rows but the CLI's unlocks and the recipient.list rows `held` itself makes) stays as it was. */
async function refused(store: string, args: string[], code: string, status: number, options?: Options): Promise<string> {
  const before = await held(store);
  const r = await json<{ error: { code: string; message: string } }>(store, args, options);
  expect(r.code).toBe(status);
  expect(r.value.error.code).toBe(code);
  expect(await held(store)).toEqual(before);
  return r.value.error.message;
}
const held = async (store: string) => ({
  recipients: (await json(store, ['recipient', 'list'])).value.items,
  issuers: (await json(store, ['issuer', 'list'])).value.items,
  // Listing the recipients above is an audited read (recipient.list): its rows are left out, every other row counts.
  audit: ((await json<{ items: Array<{ action: string }> }>(store, ['audit', 'list', '--limit', '10000'])).value.items).filter((e) => e.action !== 'recipient.list').length,
});
const BUNDLE = { KEYLADDER_BUNDLE_PASSPHRASE: 'a peer export passphrase' };
const factory = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
const factoryJwk = factory.publicKey.export({ format: 'jwk' }) as JWK;
const ownKey = async (store: string, use: 'sig' | 'enc'): Promise<JWK> => (await json<{ keys: JWK[] }>(store, ['identity', 'jwks'])).value.keys.find((k) => k.use === use)!;

beforeAll(async () => {
  for (const s of [A, B]) expect((await run(s, ['init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recipient', () => {
  it('add prints the thumbprint to confirm out of band; list, show, jwks; remove needs --yes', async () => {
    const added = await run(A, ['recipient', 'add', file('factory.jwk', JSON.stringify(factoryJwk)), '--kid', 'factory-7', '--use', 'enc', '--label', 'line 7']);
    expect(added.code, added.stderr).toBe(0);
    const thumbprint = await calculateJwkThumbprint(factoryJwk);
    expect(added.stdout).toContain(`Thumbprint (RFC 7638, SHA-256): ${thumbprint}`);
    expect(added.stdout).toMatch(/Confirm it with the key's owner by another channel/);
    // From stdin, PEM.
    const lab = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const fromStdin = await json(A, ['recipient', 'add', '-', '--kid', 'lab', '--use', 'sig'], { stdin: lab.publicKey.export({ format: 'pem', type: 'spki' }) as string });
    expect(fromStdin.value).toMatchObject({ kid: 'lab', use: 'sig', description: 'EC P-384' });

    expect((await json(A, ['recipient', 'list'])).value.items.map((r: { kid: string }) => r.kid)).toEqual(['factory-7', 'lab']);
    expect((await json(A, ['recipient', 'show', 'factory-7'])).value).toMatchObject({ kid: 'factory-7', label: 'line 7', thumbprint, description: 'RSA 2048' });
    const jwks = (await json<{ keys: JWK[] }>(A, ['recipient', 'jwks'])).value;
    expect(jwks.keys.map((k) => [k.kid, 'd' in k])).toEqual([['factory-7', false], ['lab', false]]);

    // Refused before the store is even unlocked: not one byte of it changes.
    const hashes = storeHashes(A);
    const unconfirmed = await json(A, ['recipient', 'remove', 'lab']);
    expect([unconfirmed.code, unconfirmed.value.error.code]).toEqual([2, 'USAGE_NOT_CONFIRMED']);
    expect(unconfirmed.value.error.message).toContain('--yes');
    expect(storeHashes(A)).toEqual(hashes);
    expect((await json(A, ['recipient', 'remove', 'lab', '--yes'])).value).toMatchObject({ kid: 'lab' });
    await refused(A, ['recipient', 'show', 'lab'], 'RECIPIENT_NOT_FOUND', 1);
  });

  it('list, show and jwks are audited, as are identity jwks and list: by kid and count, never a key; audit list --action knows them', async () => {
    const last = async (action: string) => (await json<{ items: Array<{ subject: string | null; details: Record<string, unknown> }> }>(A, ['audit', 'list', '--action', action, '--limit', '1'])).value.items[0];
    const count = (await json<{ items: unknown[] }>(A, ['recipient', 'list'])).value.items.length;
    expect(await last('recipient.list')).toMatchObject({ subject: null, details: { count } });
    expect((await json(A, ['recipient', 'show', 'factory-7'])).code).toBe(0);
    expect(await last('recipient.show')).toEqual(expect.objectContaining({ subject: 'factory-7', details: { use: 'enc', thumbprint: await calculateJwkThumbprint(factoryJwk) } }));
    expect((await json(A, ['recipient', 'jwks'])).code).toBe(0);
    expect(await last('recipient.jwks')).toMatchObject({ details: { count } });
    const own = (await json<{ keys: JWK[] }>(A, ['identity', 'jwks'])).value.keys;
    expect(await last('identity.jwks')).toMatchObject({ details: { count: own.length, kids: own.map((k) => k.kid).join(' ') } });
    expect((await json(A, ['identity', 'list'])).code).toBe(0);
    expect(await last('identity.list')).toMatchObject({ details: { count: own.length } });
    const rows = JSON.stringify((await json(A, ['audit', 'list', '--limit', '50'])).value.items);
    for (const member of [factoryJwk.n!, ...own.flatMap((k) => [k.x!, k.y!])]) expect(rows).not.toContain(member);
    const help = (await cli(['audit', 'list', '--help'])).stdout;
    for (const action of ['recipient.list', 'recipient.show', 'recipient.jwks', 'identity.list', 'identity.jwks']) expect(help).toContain(action);
  });

  it('refuses weak, private and unreadable keys with their code, adding nothing', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 65537 });
    await refused(A, ['recipient', 'add', file('weak.jwk', JSON.stringify(weak.publicKey.export({ format: 'jwk' }))), '--kid', 'weak', '--use', 'enc'], 'RECIPIENT_KEY_INVALID', 1);
    await refused(A, ['recipient', 'add', file('private.jwk', JSON.stringify(factory.privateKey.export({ format: 'jwk' }))), '--kid', 'p', '--use', 'enc'], 'RECIPIENT_KEY_INVALID', 1);
    await refused(A, ['recipient', 'add', join(dir, 'nope'), '--kid', 'x'], 'FILE_UNREADABLE', 2);
    await refused(A, ['recipient', 'add', file('f.jwk', '{}'), '--use', 'both'], 'USAGE_BAD_VALUE', 2);
  });
});

describe('kids that start with "-" (one RFC 7638 thumbprint in 64 does)', () => {
  it('are taken after --kid and --to, and as a positional, as typed', async () => {
    const kid = '-U9alK5V-6zLjIfD5M7XCdIMrgCKCBToDoXxU0virv0';
    const key = JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));
    const added = await json(A, ['recipient', 'add', file('dash.jwk', key), '--kid', kid, '--use', 'enc']);
    expect(added.value, added.stderr).toMatchObject({ kid });
    expect((await json(A, ['recipient', 'show', kid])).value).toMatchObject({ kid });
    const enc = await json(A, ['jose', 'encrypt', '--to', kid, file('dash-note.txt', 'for a dash kid')]);
    expect(enc.code, enc.stderr).toBe(0);
    expect(await refused(A, ['recipient', 'remove', kid], 'USAGE_NOT_CONFIRMED', 2)).toContain('--yes');
    expect((await json(A, ['recipient', 'remove', kid, '--yes'])).value).toMatchObject({ kid });
    // A word that names one of our options is never taken as a value.
    await refused(A, ['recipient', 'add', file('dash2.jwk', key), '--kid', '--json'], 'USAGE_MISSING_ARGUMENT', 2);
  });
});

describe('identity', () => {
  it('jwks publishes the public halves; list shows them; rotate makes a new one and keeps the old', async () => {
    const jwks = (await json<{ keys: JWK[] }>(A, ['identity', 'jwks'])).value;
    expect(jwks.keys.map((k) => [k.use, k.alg, 'd' in k])).toEqual(expect.arrayContaining([['sig', 'ES256', false], ['enc', 'ECDH-ES+A256KW', false]]));
    const rotated = await json(B, ['identity', 'rotate', 'enc']);
    expect(rotated.value).toMatchObject({ use: 'enc', status: 'active' });
    const list = (await json<{ items: Array<{ kid: string; use: string; status: string }> }>(B, ['identity', 'list'])).value.items;
    expect(list.filter((k) => k.use === 'enc').map((k) => k.status).sort()).toEqual(['active', 'retired']);
    await refused(B, ['identity', 'rotate', 'both'], 'USAGE_BAD_VALUE', 2);
  });
});

describe('exports --to a recipient', () => {
  it('device export --to: the factory opens it with its private key and verifies it with identity jwks', async () => {
    expect((await run(A, ['device', 'add', 'ESN-F', '--keys', '-'], { stdin: JSON.stringify({ kpw: '000102030405060708090a0b0c0d0e0f' }) })).code).toBe(0);
    const out = join(dir, 'factory.jwe');
    const made = await json(A, ['device', 'export', 'ESN-F', '--to', 'factory-7', '--out', out]);
    expect(made.value).toMatchObject({ file: out, devices: 1, to: 'factory-7', signed: true });
    const jwe = readFileSync(out, 'utf8').trim();
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'factory-7' });
    const { plaintext } = await compactDecrypt(jwe, factory.privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'], contentEncryptionAlgorithms: ['A256GCM'] });
    const { payload } = await compactVerify(new TextDecoder().decode(plaintext), await importJWK(await ownKey(A, 'sig'), 'ES256'), { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ format: 'keyladder-provisioning-bundle', payload: { devices: [{ identity: 'ESN-F' }] } });
    const audit = (await json<{ items: Array<{ details: unknown }> }>(A, ['audit', 'list', '--action', 'device.export', '--limit', '1'])).value.items;
    expect(audit[0]!.details).toEqual({ count: 1, protection: 'recipient', recipient: 'factory-7', signed: true });
  });

  it('refuses an unknown kid, --to with --recipient, and an ad-hoc key the keyring would refuse, writing nothing', async () => {
    const out = join(dir, 'never.jwe');
    await refused(A, ['device', 'export', 'ESN-F', '--to', 'nobody', '--out', out], 'RECIPIENT_NOT_FOUND', 1);
    await refused(A, ['group', 'export', 'g', '--to', 'factory-7', '--recipient', file('r.jwk', JSON.stringify(factoryJwk)), '--out', out], 'USAGE_BAD_VALUE', 2);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    expect(await refused(A, ['issuer', 'export', '1', '--recipient', file('ec.jwk', JSON.stringify(ec)), '--out', out], 'RECIPIENT_KEY_INVALID', 1)).toContain('--to');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 65537 }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    await refused(A, ['revocation', 'export', '--recipient', file('weak.pem', weak), '--out', out], 'RECIPIENT_KEY_INVALID', 1);
    expect(() => readFileSync(out)).toThrow();
    // An RSA key file still works, PEM too, checked as the keyring checks keys.
    const pem = factory.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect((await run(A, ['device', 'export', 'ESN-F', '--recipient', file('factory.pem', pem), '--out', join(dir, 'adhoc.jwe')])).code).toBe(0);
    await compactDecrypt(readFileSync(join(dir, 'adhoc.jwe'), 'utf8').trim(), factory.privateKey);
  });
});

describe('imports between peers', () => {
  it('issuer and revocation import open a JWE by its kid, pin the signer, and say who signed', async () => {
    // B's encryption key is A's recipient; A's signing key is pinned by B.
    const bEnc = await ownKey(B, 'enc');
    const aSig = await ownKey(A, 'sig');
    expect((await run(A, ['recipient', 'add', file('b.enc.jwk', JSON.stringify(bEnc))])).code).toBe(0);
    const exported = join(dir, 'revocations.jwe');
    expect((await json(A, ['revocation', 'export', '--to', bEnc.kid!, '--out', exported])).value).toMatchObject({ to: bEnc.kid, signed: true });
    // Not pinned yet: refused, nothing changed.
    expect(await refused(B, ['revocation', 'import', exported], 'SIGNER_UNKNOWN', 1)).toContain('recipient add');
    const pinned = await json(B, ['recipient', 'add', '-', '--use', 'sig'], { stdin: JSON.stringify(aSig) });
    expect(pinned.value).toMatchObject({ kid: aSig.kid, roles: ['revocations'] });
    const imported = await run(B, ['revocation', 'import', exported]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`signed by ${aSig.kid}`);

    expect((await run(A, ['issuer', 'rotate'])).code).toBe(0);
    const kissuer = join(dir, 'kissuer.jwe');
    expect((await run(A, ['issuer', 'export', '2', '--to', bEnc.kid!, '--out', kissuer])).code).toBe(0);
    // Pinned for revocation lists only (the default), A's key does not sign Kissuer for B (issue 19, item 12).
    expect(await refused(B, ['issuer', 'import', kissuer], 'SIGNER_ROLE', 1)).toContain('--role revocations,issuer-export');
    expect(await refused(B, ['recipient', 'add', '-', '--role', 'anything'], 'USAGE_BAD_VALUE', 2, { stdin: JSON.stringify(aSig) })).toContain('issuer-export');
    expect((await run(B, ['recipient', 'remove', aSig.kid!, '--yes'])).code).toBe(0);
    const repinned = await run(B, ['recipient', 'add', '-', '--role', 'revocations,issuer-export'], { stdin: JSON.stringify(aSig) });
    expect(repinned.stdout).toContain('(revocations, issuer-export)');
    expect((await json(B, ['issuer', 'import', kissuer])).value.map((g: { generation: number }) => g.generation)).toEqual([2]);
    const rows = (await json<{ items: Array<{ details: Record<string, unknown> }> }>(B, ['audit', 'list', '--action', 'issuer.import-peer', '--limit', '1'])).value.items;
    expect(rows[0]!.details).toMatchObject({ signer: aSig.kid });
    // A store that is not the recipient has no key for its kid.
    const C = join(dir, 'c');
    expect((await run(C, ['init', '--kdf-log-n', '10'])).code).toBe(0);
    expect(await refused(C, ['issuer', 'import', kissuer], 'NO_KEY_FOR_KID', 1)).toContain(bEnc.kid!);
  });

  it('a passphrase export needs --unsigned, is refused before any prompt, and is audited as unsigned', async () => {
    const exported = join(dir, 'revocations-pass.jwe');
    expect((await run(A, ['revocation', 'export', '--out', exported], { env: BUNDLE })).code).toBe(0);
    const message = await refused(B, ['revocation', 'import', exported], 'SIGNATURE_REQUIRED', 1, { env: BUNDLE });
    expect(message).toContain('--unsigned');
    expect(await refused(B, ['revocation', 'import', exported, '--bundle-passphrase-file', file('bp', 'a peer export passphrase\n')], 'SIGNATURE_REQUIRED', 1)).toContain('--unsigned');
    // B took A's signed list before (the test above): A's store id is bound to A's key there, so an
    // unsigned list claiming it is refused even with --unsigned (issue 19, item 12).
    expect(await refused(B, ['revocation', 'import', exported, '--unsigned'], 'REVOCATION_LIST_REFUSED', 1, { env: BUNDLE })).toContain('are signed');
    // A store that never heard from A takes it, on the operator's word.
    const D = join(dir, 'd');
    expect((await run(D, ['init', '--kdf-log-n', '10'])).code).toBe(0);
    const ok = await run(D, ['revocation', 'import', exported, '--unsigned'], { env: BUNDLE });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('(unsigned,');
    const rows = (await json<{ items: Array<{ details: Record<string, unknown> }> }>(D, ['audit', 'list', '--action', 'revocation.import', '--limit', '1'])).value.items;
    expect(rows[0]!.details).toMatchObject({ unsigned: true });
  });

  it('round 2: a source seen unsigned takes A\'s signed list only once A\'s key is pinned --source A, or with --bind-source', async () => {
    const aSig = await ownKey(A, 'sig');
    // D and E took A's list unsigned (as the test above did on D): A's source is seen there, bound to no key.
    const unsignedList = join(dir, 'revocations-pass.jwe');
    const E = join(dir, 'e');
    expect((await run(E, ['init', '--kdf-log-n', '10'])).code).toBe(0);
    expect((await run(E, ['revocation', 'import', unsignedList, '--unsigned'], { env: BUNDLE })).code).toBe(0);
    for (const [store, name] of [[join(dir, 'd'), 'd'], [E, 'e']] as const) {
      const enc = await ownKey(store, 'enc');
      expect((await run(A, ['recipient', 'add', file(`${name}.enc.jwk`, JSON.stringify(enc))])).code).toBe(0);
    }
    const exportTo = async (store: string, name: string) => {
      const out = join(dir, `revocations-to-${name}.jwe`);
      const r = await json<{ source: string }>(A, ['revocation', 'export', '--to', (await ownKey(store, 'enc')).kid!, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      return { out, source: r.value.source };
    };
    const D = join(dir, 'd');
    const toD = await exportTo(D, 'd');
    expect(toD.source).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await run(D, ['recipient', 'add', '-', '--use', 'sig'], { stdin: JSON.stringify(aSig) })).code).toBe(0);
    expect(await refused(D, ['revocation', 'import', toD.out], 'REVOCATION_LIST_REFUSED', 1)).toContain('--bind-source');
    // Pinned for A's store id: taken.
    expect((await run(D, ['recipient', 'remove', aSig.kid!, '--yes'])).code).toBe(0);
    const bad = await run(D, ['recipient', 'add', '-', '--use', 'sig', '--source', 'A'], { stdin: JSON.stringify(aSig) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('INVALID_ARGUMENT');
    const pinned = await json(D, ['recipient', 'add', '-', '--use', 'sig', '--source', toD.source], { stdin: JSON.stringify(aSig) });
    expect(pinned.value).toMatchObject({ kid: aSig.kid, source: toD.source });
    const taken = await run(D, ['revocation', 'import', toD.out]);
    expect(taken.code, taken.stderr).toBe(0);
    // On E, the operator vouches instead: --bind-source, audited.
    const toE = await exportTo(E, 'e');
    expect((await run(E, ['recipient', 'add', '-', '--use', 'sig'], { stdin: JSON.stringify(aSig) })).code).toBe(0);
    expect(await refused(E, ['revocation', 'import', toE.out], 'REVOCATION_LIST_REFUSED', 1)).toContain('no signer is bound');
    const vouched = await run(E, ['revocation', 'import', toE.out, '--bind-source']);
    expect(vouched.code, vouched.stderr).toBe(0);
    const rows = (await json<{ items: Array<{ details: Record<string, unknown> }> }>(E, ['audit', 'list', '--action', 'revocation.import', '--limit', '1'])).value.items;
    expect(rows[0]!.details).toMatchObject({ source: toE.source, signer: aSig.kid, sourceBound: 'operator' });
  });
});

describe('audit export', () => {
  it('writes a JWS that jose verifies with identity jwks; a flipped byte fails', async () => {
    const out = join(dir, 'audit.jws');
    const made = await json(A, ['audit', 'export', '--out', out]);
    expect(made.code).toBe(0);
    const jws = readFileSync(out, 'utf8').trim();
    const key = await importJWK(await ownKey(A, 'sig'), 'ES256');
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['ES256'] });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'keyladder-audit+jws', kid: made.value.signer });
    const body = JSON.parse(new TextDecoder().decode(payload)) as { from: number; to: number; entries: Array<{ seq: number; action: string }>; head: { seq: number } };
    expect(body).toMatchObject({ from: 1, to: made.value.to, head: { seq: made.value.to } });
    expect(body.entries.at(-1)!.action).toBe('audit.export');
    const [h, p, s] = jws.split('.') as [string, string, string];
    const flipped = Buffer.from(p, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    await expect(compactVerify(`${h}.${flipped.toString('base64url')}.${s}`, key)).rejects.toThrow();

    const ranged = await json(A, ['audit', 'export', '--out', join(dir, 'range.jws'), '--from', '2', '--to', '4']);
    expect(ranged.value).toMatchObject({ from: 2, to: 4 });
    await refused(A, ['audit', 'export', '--out', join(dir, 'bad.jws'), '--from', '5', '--to', '2'], 'INVALID_ARGUMENT', 1);
    await refused(A, ['audit', 'export', '--out', join(dir, 'bad.jws'), '--from', 'x'], 'USAGE_BAD_VALUE', 2);
    await refused(A, ['audit', 'export', '--out', out], 'FILE_EXISTS', 1);
  });
});
