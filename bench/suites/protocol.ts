// The protocol core's figures: the responder's full work per exchange (request
// JSON parsing, key lookup, wrapdata, three JWEs, keydata JSON), the Web Crypto
// requestor, the pieces on their own, and jose for comparison.

import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { opensslKeyWrap, portableKeyWrap, keyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { decodeBase64 } from '../../electron/encoding/base64.js';
import { decryptJwe } from '../../electron/ladder/jweDecrypt.js';
import type { JweProfileName } from '../../electron/jwe/keyKinds.js';
import { parseExchangeRequestJson, parseJson } from '../../electron/ladder/messages.js';
import { acceptKeyResponse, importWrappingKey } from '../../electron/ladder/requestor.js';
import { openWrapdata, sealWrapdata } from '../../electron/ladder/wrapdata.js';
import { MemoryKeySource } from '../../test/support/memoryKeySource.js';
import { IDENTITY, responderCase, setup, type Setup } from '../core.js';
import { formatRatio, registerSuite, type BenchCase, type RatioSpec } from '../harness.js';

async function requestorCases(profile: JweProfileName, s: Setup): Promise<BenchCase[]> {
  const result = s.responder.respond(IDENTITY, { mechanism: 'PSK' }, { profile });
  const responseText = `{"keyresponsedata":{"scheme":"JWE_LADDER","keydata":${result.keydataJson}}}`;
  const kprev = await importWrappingKey(Uint8Array.from(s.kpw));
  const wrapkey = decodeBase64(result.keydata.wrapkey)!;
  await acceptKeyResponse(parseJson(responseText), kprev, profile);
  const cases: BenchCase[] = [
    { name: `requestor.${profile}.unwrap`, op: 'response', async: true, run: async () => void (await acceptKeyResponse(parseJson(responseText), kprev, profile)) },
    { name: `requestor.${profile}.jwe`, op: 'jwe', async: true, run: async () => void (await decryptJwe(wrapkey, kprev, profile)) },
  ];
  if (profile === 'rfc7516') {
    const compact = new TextDecoder().decode(wrapkey);
    const kpwBytes = Uint8Array.from(s.kpw);
    await compactDecrypt(compact, kprev);
    cases.push({ name: 'jose.rfc7516.decrypt', op: 'jwe', async: true, run: async () => void (await compactDecrypt(compact, kprev)) });
    const plaintext = new TextEncoder().encode('{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA","alg":"A128CBC","key_ops":["encrypt","decrypt"],"ext":false}');
    cases.push({
      name: 'jose.rfc7516.encrypt',
      op: 'jwe',
      async: true,
      run: async () => void (await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'A128KW', enc: 'A128GCM', cty: 'jwk+json' }).encrypt(kpwBytes)),
    });
  }
  return cases;
}

/**
 * The floor node:crypto sets: only the cipher calls an exchange cannot avoid
 * (per JWE a key wrap and an AES-GCM, one key wrap for the wrapdata, SHA-256
 * for its binding, and for WRAP one unwrap), with no encoding at all. The
 * responder figures are this plus parsing, encodings and the key source.
 */
function floorCases(): BenchCase[] {
  const k = randomBytes(16), iv = randomBytes(12), aad = randomBytes(90), jwk = randomBytes(119), binding = randomBytes(50);
  const kwIv = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
  const wrapped = createCipheriv('id-aes128-wrap', k, kwIv).update(k);
  const ciphers = (unwrap: boolean) => {
    if (unwrap) createDecipheriv('id-aes128-wrap', k, kwIv).update(wrapped);
    for (let i = 0; i < 3; i++) {
      createCipheriv('id-aes128-wrap', k, kwIv).update(k);
      const gcm = createCipheriv('aes-128-gcm', k, iv);
      gcm.setAAD(aad);
      gcm.update(jwk);
      gcm.final();
      gcm.getAuthTag();
    }
    createCipheriv('id-aes128-wrap', k, kwIv).update(k);
    hash('sha256', binding, 'buffer');
  };
  return [
    { name: 'floor.ciphers.psk', op: 'exchange', run: () => ciphers(false) },
    { name: 'floor.ciphers.wrap', op: 'exchange', run: () => ciphers(true) },
  ];
}

function pieceCases(): BenchCase[] {
  const kek = randomBytes(16), cek = randomBytes(16), iv = randomBytes(12), key = randomBytes(16);
  const cases: BenchCase[] = [];
  for (const kw of [opensslKeyWrap, portableKeyWrap]) {
    const wrapped = kw.wrap(kek, cek);
    cases.push({ name: `keywrap.${kw.name}.wrap`, op: 'wrap', run: () => void kw.wrap(kek, cek) });
    cases.push({ name: `keywrap.${kw.name}.unwrap`, op: 'unwrap', run: () => void kw.unwrap(kek, wrapped)!.fill(0) });
  }
  for (const profile of ['msl', 'rfc7516'] as const) {
    const encoder = ENCODERS[profile];
    cases.push({ name: `jwe.${profile}.encrypt`, op: 'jwe', run: () => void encoder.encrypt(kek, encoder.jwk('enc', key), cek, iv) });
  }
  for (const format of ['keyladder-v1', 'msl'] as const) {
    const source = new MemoryKeySource();
    source.addIssuer(randomBytes(16), format);
    const wrapdata = sealWrapdata(source.activeIssuer()!, IDENTITY, key);
    cases.push({ name: `wrapdata.${format}.seal`, op: 'wrapdata', run: () => void sealWrapdata(source.activeIssuer()!, IDENTITY, key) });
    cases.push({ name: `wrapdata.${format}.open`, op: 'wrapdata', run: () => void openWrapdata(source, IDENTITY, wrapdata).kwrap.fill(0) });
  }
  return cases;
}

registerSuite({
  name: 'protocol',
  interleave: true,
  description: 'JWE_LADDER core: responder exchanges (parse + respond + keydata JSON), Web Crypto requestor, pieces, jose for comparison',
  async cases() {
    const v1 = setup('keyladder-v1');
    const bare = setup('msl');
    const cases: BenchCase[] = [];
    for (const profile of ['msl', 'rfc7516'] as const) {
      cases.push(responderCase(`responder.${profile}.psk`, v1, v1.pskRequest, profile));
      cases.push(responderCase(`responder.${profile}.wrap`, v1, v1.wrapRequest, profile));
    }
    // Electron's path (the portable key wrap), taken in turns with the one above.
    for (const profile of ['msl', 'rfc7516'] as const) cases.push(responderCase(`responder.${profile}.psk.portable`, v1, v1.pskRequest, profile, v1.portable));
    cases.push(responderCase('responder.msl.wrap.portable', v1, v1.wrapRequest, 'msl', v1.portable));
    cases.push(responderCase('responder.msl.mgk', v1, v1.mgkRequest, 'msl'));
    cases.push(responderCase('responder.msl.psk.wrapdata-msl', bare, bare.pskRequest, 'msl'));
    cases.push(responderCase('responder.msl.wrap.wrapdata-msl', bare, bare.wrapRequest, 'msl'));
    cases.push({ name: 'request.parse.wrap', op: 'request', run: () => void parseExchangeRequestJson(v1.wrapRequest) });
    cases.push(...(await requestorCases('msl', v1)), ...(await requestorCases('rfc7516', v1)));
    cases.push(...floorCases(), ...pieceCases());
    return cases;
  },
  summarize(figures) {
    // Issue 14: what the core adds to the cipher calls it cannot avoid. The floor's rate over the
    // responder's is the responder's cost over the floor's (1.0 would be no overhead at all).
    const core: RatioSpec[] = (['msl', 'rfc7516'] as const).map((p) => ({
      name: `ratio.core-vs-floor.${p}.psk`, numerator: 'floor.ciphers.psk', denominator: `responder.${p}.psk`, target: { atMost: 1.2 },
      describe: `the cost of responder.${p}.psk over the cost of floor.ciphers.psk (the floor's rate over the responder's)`,
    }));
    const lines = core.map((r) => formatRatio(r, figures));
    if (keyWrap.name !== 'openssl') return [...lines, '# ratio.portable-vs-fast: not measured (this runtime has no id-aes*-wrap, so there is no fast path to compare with)'];
    const ratios: RatioSpec[] = [
      ...(['msl', 'rfc7516'] as const).map((p) => ({ name: `ratio.portable-vs-fast.${p}.psk`, numerator: `responder.${p}.psk.portable`, denominator: `responder.${p}.psk`, target: { atLeast: 0.6 }, describe: 'the responder on the portable key wrap over OpenSSL\'s id-aes128-wrap' })),
      { name: 'ratio.portable-vs-fast.msl.wrap', numerator: 'responder.msl.wrap.portable', denominator: 'responder.msl.wrap', target: { atLeast: 0.6 }, describe: 'the same, for WRAP' },
      { name: 'ratio.portable-vs-fast.keywrap.wrap', numerator: 'keywrap.portable.wrap', denominator: 'keywrap.openssl.wrap', target: { atLeast: 0 }, describe: 'one key wrap on its own, for the record' },
    ];
    return [...lines, ...ratios.map((r) => formatRatio(r, figures))];
  },
});
