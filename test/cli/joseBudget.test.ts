// Issue 19 item 14 at the door: `jose decrypt` of a general JWE of 5,000 PBES2
// recipients at 1,000,000 iterations each (under 1 MiB) is refused with
// PBES2_BUDGET_EXCEEDED after the budget (two such derivations, counted in
// test/jose/pbes2Budget.test.ts), not after hours; the refusal is audited.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-jose-budget-');
const S = ['--store', join(dir, 'store')];
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('5,000 PBES2 recipients at 1,000,000 iterations: PBES2_BUDGET_EXCEEDED, audited as the pbes2-budget step', async () => {
  const recipients = Array.from({ length: 5_000 }, () => ({ header: { alg: 'PBES2-HS256+A128KW', p2s: b64(randomBytes(8)), p2c: 1_000_000 }, encrypted_key: b64(randomBytes(24)) }));
  const jwe = JSON.stringify({ protected: b64('{"enc":"A256GCM"}'), recipients, iv: b64(randomBytes(12)), ciphertext: b64(randomBytes(16)), tag: b64(randomBytes(16)) });
  expect(jwe.length).toBeLessThan(1024 * 1024);
  const file = join(dir, 'many.json');
  writeFileSync(file, jwe);
  const passphraseFile = join(dir, 'pp');
  writeFileSync(passphraseFile, 'a passphrase for the test\n');
  const r = await cli([...S, 'jose', 'decrypt', file, '--bundle-passphrase-file', passphraseFile, '--json']);
  expect(r.code).toBe(1);
  const error = JSON.parse(r.stdout).error;
  expect([error.code, error.reason]).toEqual(['PBES2_BUDGET_EXCEEDED', 'pbes2-budget']);
  expect(error.message).toContain('stopped at recipient 2 of 5000');
  const audit = JSON.parse((await cli([...S, 'audit', 'list', '--action', 'jose.decrypt', '--json'])).stdout).items as Array<{ outcome: string; details: Record<string, unknown> }>;
  expect(audit[0]).toMatchObject({ outcome: 'refused', details: { source: 'passphrase', step: 'pbes2-budget' } });
}, 120_000);
