// Every signature alg the table accepts, as jose signs it
// (test/vectors/jose/jws-matrix.json, made by build/make-jws-matrix.mjs):
// each verifies through KeyLadder's verify path under both runtimes, one
// flipped byte in its payload or its signature is the one integrity refusal, a
// key of the same kind that did not sign it is that refusal too, and the right
// key under another kid is no key at all.
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../../electron/jose/algorithms.js';
import { JoseRefusal, VERIFICATION_FAILED } from '../../electron/jose/errors.js';
import type { JoseKey } from '../../electron/jose/keys.js';
import { verifyJose } from '../../electron/jose/open.js';
import { jwsMatrix } from '../support/joseVectors.js';
import { RUNTIME_LABEL } from '../support/runtime.js';

const file = jwsMatrix();

const keyOf = (name: string, kid: string): JoseKey => ({ kind: 'jwk', jwk: file.keys[name]!, kid });

async function refusal(promise: Promise<unknown>): Promise<JoseRefusal> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(JoseRefusal);
  return error as JoseRefusal;
}

/** The compact JWS with one bit of one byte of a segment (1 payload, 2 signature) flipped. */
function flipped(jws: string, segment: number): string {
  const parts = jws.split('.');
  const bytes = Buffer.from(parts[segment]!, 'base64url');
  bytes[bytes.length >> 1]! ^= 0x01;
  parts[segment] = bytes.toString('base64url');
  return parts.join('.');
}

describe(`jose's JWS for every accepted signature alg, under ${RUNTIME_LABEL}`, () => {
  it('has one JWS for every signature alg the table accepts (ES256, ES384, EdDSA, RS256, PS256, HS256), and none it refuses', () => {
    const accepted = ALGORITHMS.filter((e) => e.kind === 'signature' && e.accepted).map((e) => e.name);
    expect(file.vectors.map((v) => v.alg).sort()).toEqual([...accepted].sort());
    expect([...accepted].sort()).toEqual(['ES256', 'ES384', 'EdDSA', 'HS256', 'PS256', 'RS256']);
    // Public keys only, but the HS256 secret: nothing here could sign a new JWS but HS256.
    for (const [name, jwk] of Object.entries(file.keys)) expect(jwk.kty === 'oct' || !('d' in jwk), name).toBe(true);
  });

  for (const v of file.vectors) {
    it(`${v.alg}: verifies; a flipped byte, a wrong key or another kid is refused`, async () => {
      const verified = await verifyJose(v.jws, [keyOf(v.key, v.kid)]);
      expect(Buffer.from(verified.payload).toString('utf8')).toBe(file.payload);
      expect(verified).toMatchObject({ index: 0, alg: v.alg, kid: v.kid, skipped: [] });

      for (const segment of [1, 2]) {
        const refused = await refusal(verifyJose(flipped(v.jws, segment), [keyOf(v.key, v.kid)]));
        expect({ segment, code: refused.code, message: refused.message }).toEqual({ segment, code: 'INTEGRITY', message: VERIFICATION_FAILED });
      }

      const wrong = await refusal(verifyJose(v.jws, [keyOf(v.wrongKey, v.kid)]));
      expect({ code: wrong.code, message: wrong.message }).toEqual({ code: 'INTEGRITY', message: VERIFICATION_FAILED });

      const noKey = await refusal(verifyJose(v.jws, [keyOf(v.key, `${v.kid}-other`)]));
      expect(noKey.code).toBe('NO_KEY_FOR_KID');
      expect(noKey.message).toContain(`"${v.kid}"`);
    });
  }
});
