// Every key management the table accepts, with every content cipher it
// accepts, as jose makes them (test/vectors/jose/jose-matrix.json, made on
// plain Node by build/make-jose-matrix.mjs, since jose needs the AES-KW that
// Electron lacks to make some): each opens under both runtimes, one flipped
// byte anywhere in its encrypted key, ciphertext or tag is the one integrity
// refusal, and the right key under another kid is no key at all.
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../../electron/jose/algorithms.js';
import { DECRYPTION_FAILED, JoseRefusal } from '../../electron/jose/errors.js';
import type { JoseKey } from '../../electron/jose/keys.js';
import { decryptJose } from '../../electron/jose/open.js';
import { joseMatrix, type JoseMatrixVector } from '../support/joseVectors.js';
import { RUNTIME_LABEL } from '../support/runtime.js';

const file = joseMatrix();

const keyOf = (v: JoseMatrixVector, kid: string): JoseKey =>
  v.passphrase !== undefined ? { kind: 'passphrase', passphrase: Buffer.from(v.passphrase, 'utf8'), kid } : { kind: 'jwk', jwk: file.keys[v.key!]!, kid };

async function refusal(promise: Promise<unknown>): Promise<JoseRefusal> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(JoseRefusal);
  return error as JoseRefusal;
}

/** The compact JWE with one bit of one byte of a segment (1 encrypted key, 3 ciphertext, 4 tag) flipped. */
function flipped(jwe: string, segment: number): string {
  const parts = jwe.split('.');
  const bytes = Buffer.from(parts[segment]!, 'base64url');
  bytes[bytes.length >> 1]! ^= 0x01;
  parts[segment] = bytes.toString('base64url');
  return parts.join('.');
}

describe(`jose's JWE for every accepted alg and enc, under ${RUNTIME_LABEL}`, () => {
  it('has one JWE for every pair the table accepts, and none it refuses', () => {
    const names = (kind: string) => ALGORITHMS.filter((e) => e.kind === kind && e.accepted).map((e) => e.name);
    const pairs = names('key-management').flatMap((alg) => names('content-encryption').map((enc) => `${alg} ${enc}`));
    expect(file.vectors.map((v) => `${v.alg} ${v.enc}`).sort()).toEqual(pairs.sort());
  });

  for (const v of file.vectors) {
    it(`${v.alg} + ${v.enc}: opens, and a flipped byte or another kid is refused`, async () => {
      const opened = await decryptJose(v.jwe, [keyOf(v, v.kid)]);
      expect(Buffer.from(opened.plaintext).toString('utf8')).toBe(file.plaintext);
      const km = ALGORITHMS.find((e) => e.kind === 'key-management' && e.name === v.alg)!;
      expect(opened).toMatchObject({ alg: v.alg, enc: v.enc, kid: v.kid, skipped: [], warnings: km.warning === undefined ? [] : [km.warning] });

      // dir and ECDH-ES carry no encrypted key to flip.
      const segments = v.jwe.split('.')[1] === '' ? [3, 4] : [1, 3, 4];
      for (const segment of segments) {
        const refused = await refusal(decryptJose(flipped(v.jwe, segment), [keyOf(v, v.kid)]));
        expect({ segment, code: refused.code, message: refused.message }).toEqual({ segment, code: 'INTEGRITY', message: DECRYPTION_FAILED });
      }

      const noKey = await refusal(decryptJose(v.jwe, [keyOf(v, `${v.kid}-other`)]));
      expect(noKey.code).toBe('NO_KEY_FOR_KID');
      expect(noKey.message).toContain(`"${v.kid}"`);
    });
  }
});
