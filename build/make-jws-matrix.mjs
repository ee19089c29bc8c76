// Writes test/vectors/jose/jws-matrix.json: one compact JWS made by jose for
// every signature alg the algorithm table accepts, with the public key (the
// secret, for HS256) that verifies it and a second key of the same kind that
// must not. test/jose/jwsMatrix.test.ts verifies them through KeyLadder's
// verify path under both runtimes (plain Node, and Electron's BoringSSL).
//   node build/make-jws-matrix.mjs
// The keys are test keys, fresh each run (nothing needs them to be
// deterministic), and the private halves are dropped once the JWSs are made:
// run it again only when the table gains a signature alg, and commit the new
// file whole.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose';
import { loadAlgorithmTable } from './loadAlgorithmTable.mjs';

const root = new URL('../', import.meta.url);

const { ALGORITHMS } = await loadAlgorithmTable();
const accepted = ALGORITHMS.filter((e) => e.kind === 'signature' && e.accepted);

const PAYLOAD = 'KeyLadder JWS matrix: every accepted signature alg, made by jose.';

/** A signing key for `alg` and the JWK that verifies with it (public, or the HS256 secret). */
async function keyPair(entry) {
  if (entry.keyType === 'oct') {
    const jwk = { kty: 'oct', k: randomBytes(32).toString('base64url') };
    return { signingKey: await importJWK(jwk, entry.name), verifyJwk: jwk };
  }
  const options = entry.keyType === 'RSA' ? { modulusLength: 2048 } : entry.keyType === 'OKP' ? { crv: 'Ed25519' } : {};
  const { publicKey, privateKey } = await generateKeyPair(entry.name, { extractable: true, ...options });
  return { signingKey: privateKey, verifyJwk: await exportJWK(publicKey) };
}

const keys = {};
const vectors = [];
for (const entry of accepted) {
  const name = `jws-${entry.name.toLowerCase()}`;
  const { signingKey, verifyJwk } = await keyPair(entry);
  const { verifyJwk: otherJwk } = await keyPair(entry);
  keys[name] = verifyJwk;
  keys[`${name}-other`] = otherJwk;
  const jws = await new CompactSign(Buffer.from(PAYLOAD, 'utf8')).setProtectedHeader({ alg: entry.name, kid: name }).sign(signingKey);
  vectors.push({ alg: entry.name, kid: name, key: name, wrongKey: `${name}-other`, jws });
}

const { version } = JSON.parse(readFileSync(new URL('node_modules/jose/package.json', root), 'utf8'));
const file = {
  source: `made by build/make-jws-matrix.mjs with jose ${version} CompactSign under Node ${process.versions.node} (OpenSSL), ${new Date().toISOString().slice(0, 10)}; test keys, random, made once, private halves discarded`,
  payload: PAYLOAD,
  keys,
  vectors,
};
writeFileSync(new URL('test/vectors/jose/jws-matrix.json', root), `${JSON.stringify(file, null, 2)}\n`);
console.log(`wrote ${vectors.length} JWSs`);
