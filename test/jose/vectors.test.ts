// The RFC vectors (test/vectors/jose), opened byte-exactly under whichever
// runtime this project models: plain Node, or Electron's BoringSSL (no AES key
// wrap ciphers, no Web Crypto AES-KW). A mistyped vector fails here.
import { describe, expect, it } from 'vitest';
import { decryptJose, verifyJose } from '../../electron/jose/open.js';
import { JoseRefusal } from '../../electron/jose/errors.js';
import type { JoseKey } from '../../electron/jose/keys.js';
import { joseVectors, type JoseVector, type JoseVectorFile } from '../support/joseVectors.js';
import { RUNTIME_LABEL } from '../support/runtime.js';

const FILES = ['rfc7516-appendix-a.json', 'rfc7520-jwe.json', 'rfc7520-jws.json', 'rfc8037-appendix-a.json'];

function keysFor(file: JoseVectorFile, v: JoseVector): JoseKey[] {
  if (v.passphrase !== undefined) return [{ kind: 'passphrase', passphrase: Buffer.from(v.passphrase, 'utf8') }];
  // A refused vector is tried with every key in its file: the refusal is the algorithm's, not a missing key's.
  const names = v.key !== undefined ? [v.key] : Object.keys(file.keys);
  return names.map((name) => ({ kind: 'jwk', jwk: file.keys[name]!, ...(v.kid === undefined ? {} : { kid: v.kid }) }));
}

const open = (file: JoseVectorFile, v: JoseVector) => (v.jwe !== undefined ? decryptJose(v.jwe, keysFor(file, v)) : verifyJose(v.jws!, keysFor(file, v)));

for (const name of FILES) {
  const file = joseVectors(name);
  describe(`${name} under ${RUNTIME_LABEL}`, () => {
    for (const v of file.vectors) {
      it(`${v.section} ${v.title}: ${v.expect}${v.code === undefined ? '' : ` (${v.code})`}`, async () => {
        if (v.expect === 'refused') {
          const error = await open(file, v).then(() => undefined, (e: unknown) => e);
          expect(error).toBeInstanceOf(JoseRefusal);
          expect((error as JoseRefusal).code).toBe(v.code);
          return;
        }
        const opened = await open(file, v);
        const bytes = 'plaintext' in opened ? opened.plaintext : opened.payload;
        expect(Buffer.from(bytes).toString('utf8')).toBe(v.plaintext);
        expect(opened.index).toBe(v.recipient ?? 0);
        expect(opened.skipped.map((s) => ({ index: s.index, alg: s.alg }))).toEqual(v.skips ?? []);
      });
    }
  });
}
