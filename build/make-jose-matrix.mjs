// Writes test/vectors/jose/jose-matrix.json: one compact JWE made by jose for
// every key management the algorithm table accepts with every content cipher
// it accepts, with the keys that open them. jose needs Web Crypto AES-KW to
// make the A*KW, ECDH-ES+A*KW and PBES2 ones, which Electron's main process
// lacks, so they are made once here, on plain Node 20 (OpenSSL), and
// committed; test/jose/matrix.test.ts opens them under both runtimes.
//   node build/make-jose-matrix.mjs
// The keys are fresh each run (nothing needs them to be deterministic): run it
// again only when the table gains an entry, and commit the new file whole.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { CompactEncrypt, exportJWK, generateKeyPair, importJWK } from 'jose';
import { loadAlgorithmTable } from './loadAlgorithmTable.mjs';

const root = new URL('../', import.meta.url);

const { ALGORITHMS } = await loadAlgorithmTable();
const accepted = (kind) => ALGORITHMS.filter((e) => e.kind === kind && e.accepted);

const PASSPHRASE = 'matrix passphrase: correct horse battery staple';
const P2C = 1000; // the least electron/jwe/pbes2.ts accepts (MIN_PBES2_COUNT), to keep the tests quick
const PLAINTEXT = 'KeyLadder JOSE matrix: every accepted alg with every accepted enc.';

async function privateJwk(alg, options) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return exportJWK(privateKey);
}

const keys = {
  'matrix-rsa': await privateJwk('RSA-OAEP-256', { modulusLength: 2048 }),
  'matrix-p256': await privateJwk('ECDH-ES', { crv: 'P-256' }),
};
for (const bytes of [16, 24, 32, 64]) keys[`matrix-oct${bytes}`] = { kty: 'oct', k: randomBytes(bytes).toString('base64url') };

/** The key's name in `keys` (also the header's kid), or the passphrase. */
function keyFor(km, enc) {
  if (km.keyType === 'RSA') return 'matrix-rsa';
  if (km.keyType === 'EC') return 'matrix-p256';
  if (km.keyType === 'oct') return `matrix-oct${km.direct ? enc.cekBytes : km.keyBytes}`;
  return undefined;
}

const vectors = [];
for (const km of accepted('key-management')) {
  for (const enc of accepted('content-encryption')) {
    const name = keyFor(km, enc);
    const kid = name ?? 'matrix-passphrase';
    let encryptionKey;
    if (name === undefined) encryptionKey = Buffer.from(PASSPHRASE, 'utf8');
    else {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = keys[name];
      encryptionKey = await importJWK(keys[name].kty === 'oct' ? keys[name] : pub, km.name);
    }
    const jwe = await new CompactEncrypt(Buffer.from(PLAINTEXT, 'utf8'))
      .setProtectedHeader({ alg: km.name, enc: enc.name, kid })
      .setKeyManagementParameters(km.keyType === 'passphrase' ? { p2c: P2C } : {})
      .encrypt(encryptionKey);
    vectors.push({ alg: km.name, enc: enc.name, kid, ...(name === undefined ? { passphrase: PASSPHRASE } : { key: name }), jwe });
  }
}

const { version } = JSON.parse(readFileSync(new URL('node_modules/jose/package.json', root), 'utf8'));
const file = {
  source: `made by build/make-jose-matrix.mjs with jose ${version} CompactEncrypt under Node ${process.versions.node} (OpenSSL), ${new Date().toISOString().slice(0, 10)}; keys are random, made once`,
  plaintext: PLAINTEXT,
  keys,
  vectors,
};
writeFileSync(new URL('test/vectors/jose/jose-matrix.json', root), `${JSON.stringify(file, null, 2)}\n`);
console.log(`wrote ${vectors.length} JWEs`);
