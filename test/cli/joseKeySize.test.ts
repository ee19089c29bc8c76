// A secret key of the wrong size for an AES key wrap JWE says so (issue 22,
// item 8): a 32-byte key given for an A128KW JWE with no kid was refused as
// NO_KEY_FOR_KID, which sends the operator looking for another key.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptJose } from '../../electron/jose/open.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { adviceFor } from '../../renderer/src/api/advice.js';
import { cli } from '../support/cli.js';
import { joseVectors } from '../support/joseVectors.js';
import { tempDir } from '../support/services.js';
import { exchange1 } from '../support/vectors.js';

const dir = tempDir('keyladder-jose-size-');
const S = ['--store', join(dir, 'store')];
const kek = randomBytes(16);
// The ladder's RFC 7516 profile: a compact A128KW + A128GCM JWE with no kid.
const jwe = ENCODERS.rfc7516.encrypt(kek, Buffer.from('{"hello":"world"}'), randomBytes(16), randomBytes(12));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const octJwk = (bytes: Buffer) => JSON.stringify({ kty: 'oct', k: bytes.toString('base64url') });
const refusal = async (p: Promise<unknown>) => p.then(() => { throw new Error('opened'); }, (e: unknown) => e as { code: string; message: string });

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a secret key of the wrong size', () => {
  it('jose decrypt --key-file with a 32-byte key for an A128KW JWE with no kid: INVALID_KEY, saying the sizes', async () => {
    const r = await cli([...S, 'jose', 'decrypt', file('a.jwe', jwe), '--key-file', file('k32.jwk', octJwk(randomBytes(32))), '--json']);
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.stdout);
    expect(error).toMatchObject({ code: 'INVALID_KEY', reason: 'key-size' });
    expect(error.message).toContain('The key given is 32 bytes: A128KW takes a 16-byte key (128 bits).');
    expect(error.message).not.toMatch(/kid/i);
    const plain = await cli([...S, 'jose', 'decrypt', file('b.jwe', jwe), '--key-file', file('k24.jwk', octJwk(randomBytes(24)))]);
    expect(plain.stderr).toContain('The key given is 24 bytes: A128KW takes a 16-byte key (128 bits). [INVALID_KEY] (reason: key-size)');
  });

  it('the right size still opens it, and a right-size wrong key is still JOSE_INTEGRITY', async () => {
    const ok = await cli([...S, 'jose', 'decrypt', file('c.jwe', jwe), '--key-file', file('k16.jwk', octJwk(kek))]);
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = await cli([...S, 'jose', 'decrypt', file('d.jwe', jwe), '--key-file', file('w16.jwk', octJwk(randomBytes(16)))]);
    expect(wrong.stderr).toContain('[JOSE_INTEGRITY]');
  });

  it('MSL\'s JWE (no kid) given a 32-byte key: KEY_SIZE, not NO_KEY_FOR_KID', async () => {
    const wrapkey = exchange1()['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'].wrapkey.jwe_exact;
    const r = await refusal(decryptJose(wrapkey, [{ kind: 'jwk', jwk: { kty: 'oct', k: randomBytes(32).toString('base64url') } }]));
    expect(r.code).toBe('KEY_SIZE');
    expect(r.message).toBe('The key given is 32 bytes: A128KW takes a 16-byte key (128 bits).');
  });

  it('the app advises on the size, not on hex digits of device keys', () => {
    expect(adviceFor('INVALID_KEY', 'key-size')).toContain('A128KW: 16 bytes');
  });

  it('a kid that names no key given stays NO_KEY_FOR_KID (RFC 7516 A.4\'s A128KW recipient, kid "7", given a key of kid "8")', async () => {
    const a4 = joseVectors('rfc7516-appendix-a.json');
    const jweA3 = a4.vectors.find((v) => v.section === 'A.4')!.jwe!;
    const r = await refusal(decryptJose(jweA3, [{ kind: 'jwk', jwk: { kty: 'oct', k: randomBytes(32).toString('base64url') }, kid: '8' }]));
    expect(r.code).toBe('NO_KEY_FOR_KID');
    // Its own kid, at the wrong size: the size is what is wrong.
    const sized = await refusal(decryptJose(jweA3, [{ kind: 'jwk', jwk: { kty: 'oct', k: randomBytes(32).toString('base64url') }, kid: '7' }]));
    expect(sized.code).toBe('KEY_SIZE');
  });
});
