// A sample fuzz of electron/msl's header layer: header objects, header data,
// error data, master token data and session data, key request and key
// response data, each built from arbitrary JSON values in the members MSL
// defines (plus strangers), and for the protected ones encrypted and signed
// with the right keys so they reach the parsers behind the signature. The only
// acceptable failure is an MslError whose code is in MSL's catalogue.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../electron/encoding/base64.js';
import { utf8 } from '../../electron/encoding/bytes.js';
import { openErrorHeader } from '../../electron/msl/errorHeader.js';
import { MSL_ERRORS, MslError } from '../../electron/msl/errors.js';
import { openHeader, parseHeader, type ParsedMessageHeader } from '../../electron/msl/header.js';
import { parseKeyResponse, selectKeyRequest } from '../../electron/msl/keyExchange.js';
import { openMasterToken } from '../../electron/msl/masterToken.js';
import { FUZZ_SEED, scaled } from '../fuzz/fuzzSample.js';
import { messageObjects } from '../support/mslVectors.js';
import { pskContext, tokenContext } from '../support/mslWire.js';

function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof MslError) || !(e.code in MSL_ERRORS)) throw new Error(`not an MslError of the catalogue: ${String(e)}`);
    return e.code;
  }
}

/** An object whose members are some of `names` (and maybe a stranger), each any JSON value or one of `likely`. */
const objectOf = (names: readonly string[], likely: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> =>
  fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 6 })), fc.oneof(likely, fc.jsonValue({ maxDepth: 3 })), { maxKeys: names.length + 1 });

const likelyValue = fc.oneof(fc.boolean(), fc.integer({ min: -2, max: 2 ** 53 + 2 }), fc.constantFrom('AAAA', 'AA==', '', 'client1', 'JWE_LADDER', 'PSK', 'WRAP', 'GZIP'), fc.constant(2 ** 53 - 1));

const HEADER_DATA = ['messageid', 'timestamp', 'renewable', 'handshake', 'nonreplayableid', 'nonreplayable', 'capabilities', 'keyrequestdata', 'keyresponsedata', 'servicetokens', 'sender', 'userauthdata', 'useridtoken'];
const TOKEN_DATA = ['renewalwindow', 'expiration', 'sequencenumber', 'serialnumber', 'sessiondata'];
const SESSION_DATA = ['identity', 'encryptionkey', 'hmackey', 'signaturekey', 'encryptionalgorithm', 'signaturealgorithm', 'issuerdata'];
const ERROR_DATA = ['messageid', 'errorcode', 'internalcode', 'errormsg', 'usermsg', 'timestamp'];

const seenAll = (seen: Map<string, number>, codes: string[]): void => {
  for (const code of codes) expect(seen.get(code) ?? 0, code).toBeGreaterThan(0);
};

describe(`MSL header fuzz sample (seed ${FUZZ_SEED})`, () => {
  const psk = pskContext('client1');
  const tokenCtx = tokenContext();
  const pskHeader = (plaintext: string) => {
    const bytes = psk.encrypt(utf8(plaintext));
    return parseHeader({ entityauthdata: { scheme: 'PSK', authdata: { identity: 'client1' } }, headerdata: encodeBase64(bytes), signature: encodeBase64(psk.sign(bytes)) }) as ParsedMessageHeader;
  };

  it('header data behind a valid signature', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(objectOf(HEADER_DATA, likelyValue), (data) => {
        const result = outcome(() => openHeader(pskHeader(JSON.stringify(data)), psk));
        seen.set(result, (seen.get(result) ?? 0) + 1);
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1500) },
    );
    seenAll(seen, ['MSL_PARSE_ERROR', 'HEADER_DATA_INVALID']);
  });

  it('header objects', () => {
    const real = messageObjects('002', 'request')[0];
    const memberValue = fc.oneof(fc.constantFrom(real.headerdata, real.signature, real.mastertoken, { scheme: 'PSK', authdata: { identity: 'a' } }), likelyValue);
    fc.assert(
      fc.property(objectOf(['entityauthdata', 'mastertoken', 'headerdata', 'errordata', 'signature'], memberValue), (obj) => {
        outcome(() => parseHeader(obj));
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1500) },
    );
  });

  it('master token data and session data behind a valid signature', () => {
    const seen = new Map<string, number>();
    const sessionValue = fc.oneof(likelyValue, fc.constantFrom(encodeBase64(new Uint8Array(16)), encodeBase64(new Uint8Array(32)), 'AES', 'HmacSHA256'));
    fc.assert(
      fc.property(objectOf(TOKEN_DATA, likelyValue), objectOf(SESSION_DATA, sessionValue), fc.boolean(), (tokendata, session, realSession) => {
        if (realSession) tokendata['sessiondata'] = encodeBase64(tokenCtx.encrypt(utf8(JSON.stringify(session))));
        const bytes = utf8(JSON.stringify(tokendata));
        const result = outcome(() => openMasterToken({ tokendata: encodeBase64(bytes), signature: encodeBase64(tokenCtx.sign(bytes)) }, [tokenCtx]));
        seen.set(result, (seen.get(result) ?? 0) + 1);
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1500) },
    );
    seenAll(seen, ['MASTERTOKEN_TOKENDATA_PARSE_ERROR']);
  });

  it('error data behind a valid signature', () => {
    fc.assert(
      fc.property(objectOf(ERROR_DATA, likelyValue), (data) => {
        const bytes = psk.encrypt(utf8(JSON.stringify(data)));
        const parsed = parseHeader({ entityauthdata: { scheme: 'PSK', authdata: { identity: 'client1' } }, errordata: encodeBase64(bytes), signature: encodeBase64(psk.sign(bytes)) });
        if (parsed.kind !== 'error') throw new Error('not an error header');
        outcome(() => openErrorHeader(parsed, psk));
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1000) },
    );
  });

  it('key request and key response data', () => {
    const keydata = objectOf(['mechanism', 'wrapdata', 'wrapkey', 'encryptionkey', 'hmackey'], likelyValue);
    const entry = fc.record({ scheme: fc.oneof(fc.constantFrom('JWE_LADDER', 'DIFFIE_HELLMAN', 'X'), likelyValue), keydata: fc.oneof(keydata, likelyValue) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(fc.oneof(entry, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), fc.oneof(entry, fc.jsonValue({ maxDepth: 2 })), (requests, response) => {
        outcome(() => selectKeyRequest(requests));
        outcome(() => parseKeyResponse({ ...(typeof response === 'object' && response !== null ? response : {}), mastertoken: messageObjects('002', 'request')[0].mastertoken }));
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1500) },
    );
  });
});
