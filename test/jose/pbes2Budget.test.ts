// Issue 19 item 14: PBES2's cost is set by the object (p2c), so a general JWE
// of thousands of PBES2 recipients at 1,000,000 iterations each would hold
// `jose decrypt` for hours. The work one object may cost is bounded
// (MAX_PBES2_WORK iterations across the recipients tried), and beyond it the
// object is refused (PBES2_BUDGET). Measured by counting PBKDF2 derivations
// (node:crypto's pbkdf2, which KeyLadder's key management calls), not by
// timing: the mock answers at once with a key that opens nothing.
import { randomBytes, type BinaryLike } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const derivations = vi.hoisted(() => ({ count: 0, iterations: 0, real: true }));

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  const pbkdf2 = (password: BinaryLike, salt: BinaryLike, iterations: number, keylen: number, digest: string, callback: (error: Error | null, key: Buffer) => void) => {
    derivations.count++;
    derivations.iterations += iterations;
    if (derivations.real) crypto.pbkdf2(password, salt, iterations, keylen, digest, callback);
    else callback(null, crypto.randomBytes(keylen));
  };
  return { ...crypto, default: { ...crypto, pbkdf2 }, pbkdf2 };
});

const { decryptJose, MAX_PBES2_WORK } = await import('../../electron/jose/open.js');
const { JoseRefusal } = await import('../../electron/jose/errors.js');
const { joseError } = await import('../../electron/services/joseTools.js');
const { pbes2Encrypt } = await import('../../electron/jwe/pbes2.js');

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const PASSPHRASE = Buffer.from('correct horse battery staple');

/** A general JWE of `n` PBES2 recipients asking for `p2c` iterations each (none opens with the passphrase). */
function manyRecipients(n: number, p2c: number, alg = 'PBES2-HS256+A128KW'): string {
  const recipients = Array.from({ length: n }, () => ({ header: { alg, p2s: b64(randomBytes(8)), p2c }, encrypted_key: b64(randomBytes(alg.endsWith('A128KW') ? 24 : 40)) }));
  return JSON.stringify({ protected: b64('{"enc":"A256GCM"}'), recipients, iv: b64(randomBytes(12)), ciphertext: b64(randomBytes(16)), tag: b64(randomBytes(16)) });
}

async function refusal(jwe: string): Promise<InstanceType<typeof JoseRefusal>> {
  const error = await decryptJose(jwe, [{ kind: 'passphrase', passphrase: PASSPHRASE }]).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(JoseRefusal);
  return error as InstanceType<typeof JoseRefusal>;
}

beforeEach(() => {
  derivations.count = 0;
  derivations.iterations = 0;
  derivations.real = false;
});

describe('the PBES2 work of one object is bounded', () => {
  it('7,000 recipients at 1,000,000 iterations: 2 derivations, then PBES2_BUDGET (PBES2_BUDGET_EXCEEDED at the doors)', async () => {
    const jwe = manyRecipients(7_000, 1_000_000);
    expect(jwe.length).toBeLessThan(1024 * 1024);
    const e = await refusal(jwe);
    expect(e.code).toBe('PBES2_BUDGET');
    expect(derivations.count).toBe(2);
    expect(derivations.iterations).toBe(MAX_PBES2_WORK);
    expect(e.message).toContain('stopped at recipient 2 of 7000');
    expect(joseError(e).code).toBe('PBES2_BUDGET_EXCEEDED');
  });

  it('the budget counts iterations, not recipients: 1,500 recipients at 1,000 each are all tried', async () => {
    const e = await refusal(manyRecipients(1_500, 1_000));
    expect(e.code).toBe('INTEGRITY');
    expect(derivations.count).toBe(1_500);
    expect(derivations.iterations).toBeLessThanOrEqual(MAX_PBES2_WORK);
  });

  it('a count beyond the per-recipient maximum is refused before any derivation', async () => {
    const e = await refusal(manyRecipients(3, 1_000_001));
    expect(e.code).toBe('UNSUPPORTED_ALG');
    expect(derivations.count).toBe(0);
  });

  it('recipients no passphrase opens (other algorithms, refused PBES2 variants) cost no derivation', async () => {
    const e = await refusal(manyRecipients(5_000, 1_000_000, 'PBES2-HS384+A192KW'));
    expect(e.code).toBe('UNSUPPORTED_ALG');
    expect(derivations.count).toBe(0);
  });

  it('a passphrase export (one PBES2 recipient) still opens, with one derivation', async () => {
    derivations.real = true;
    const jwe = await pbes2Encrypt(Buffer.from('hello'), PASSPHRASE, { iterations: 1_000 });
    derivations.count = 0;
    const opened = await decryptJose(jwe, [{ kind: 'passphrase', passphrase: PASSPHRASE }]);
    expect(Buffer.from(opened.plaintext).toString()).toBe('hello');
    expect(derivations.count).toBe(1);
  });
});
