// Master tokens: vector tokens open with MSL's server keys and carry the keys
// the key response gave; every token a refusal must catch is refused.
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../electron/encoding/base64.js';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';
import { isExpired, isRenewable, issueMasterToken, openMasterToken, readMasterToken, sameMasterToken, sessionContext } from '../../electron/msl/masterToken.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { decoded, messageObjects, type Exchange } from '../support/mslVectors.js';
import { codeOf, tokenContext } from '../support/mslWire.js';

const jwkBytes = (k: string): Uint8Array => new Uint8Array(Buffer.from(k, 'base64url'));

/** The master token of a response's key response, as sent. */
const issuedToken = (n: Exchange): any => JSON.parse(fromUtf8(decodeBase64(messageObjects(n, 'response')[0].headerdata)!)!).keyresponsedata.mastertoken;

describe('master token: the captured exchanges', () => {
  // The responses under the server's RSA key (plaintext header data); 002 and 003 are in header.test.ts.
  for (const n of ['001', '006', '008'] as const) {
    it(`${n}: the issued token opens with msl.key.enc/msl.key.hmac and holds the key response's session keys`, () => {
      const token = openMasterToken(issuedToken(n), [tokenContext()]);
      const want = decoded(n, 'response').headerdata.keyresponsedata;
      expect(token.serialNumber).toBe(want.mastertoken.tokendata.serialnumber);
      expect(token.sequenceNumber).toBe(want.mastertoken.tokendata.sequencenumber);
      expect(token.renewalWindow).toBe(want.mastertoken.tokendata.renewalwindow);
      expect(token.expiration).toBe(want.mastertoken.tokendata.expiration);
      expect(token.identity).toBe(want.mastertoken.tokendata.sessiondata.plaintext.identity);
      expect(token.keys.encryptionKey).toEqual(jwkBytes(want.keydata.encryptionkey.jwk.k));
      expect(token.keys.hmacKey).toEqual(jwkBytes(want.keydata.hmackey.jwk.k));
      expect(token.contextIndex).toBe(0);
      token.destroy();
      expect(token.keys.encryptionKey.every((b) => b === 0) && token.keys.hmacKey.every((b) => b === 0)).toBe(true);
    });
  }

  it('a client reads the numbers without keys', () => {
    const token = readMasterToken(issuedToken('001'));
    expect(token.serialNumber).toBe(2254509952953800);
    expect(token.sequenceNumber).toBe(0);
    expect(token.json).toEqual(issuedToken('001'));
  });

  it('the session context (keyid <identity>_<sequence>) opens the response payload of 001', () => {
    const token = openMasterToken(issuedToken('001'), [tokenContext()]);
    const ctx = sessionContext(token, token.identity, token.keys);
    const chunk = messageObjects('001', 'response')[1];
    const payload = decodeBase64(chunk.payload)!;
    expect(ctx.verify(payload, decodeBase64(chunk.signature)!)).toBe(true);
    expect(JSON.parse(fromUtf8(ctx.decrypt(payload))!).sequencenumber).toBe(1);
  });
});

describe('master token: issue, then open', () => {
  const numbers = { renewalWindow: 1000, expiration: 2000, sequenceNumber: 3, serialNumber: 42 };
  const keys = () => ({ encryptionKey: new Uint8Array(16).fill(7), hmacKey: new Uint8Array(32).fill(9) });

  it('round-trips numbers, identity and keys; the older key still opens it; renewable and expired follow the server clock', () => {
    const older = new SymmetricCryptoContext('server1', new Uint8Array(16).fill(1), new Uint8Array(32).fill(2));
    const issued = issueMasterToken(numbers, 'device-1', keys(), older);
    const opened = openMasterToken(JSON.parse(issued.text), [tokenContext(), older]);
    expect(opened).toMatchObject({ ...numbers, identity: 'device-1', contextIndex: 1 });
    expect(opened.keys).toEqual(keys());
    expect([isRenewable(opened, 999), isRenewable(opened, 1000), isExpired(opened, 1999), isExpired(opened, 2000)]).toEqual([false, true, false, true]);
    expect(sameMasterToken(opened, readMasterToken(issued.json))).toBe(true);
  });

  it('a token from another server (foreign keys) is MASTERTOKEN_UNTRUSTED', () => {
    const foreign = new SymmetricCryptoContext('server1', new Uint8Array(16).fill(5), new Uint8Array(32).fill(6));
    const issued = issueMasterToken(numbers, 'device-1', keys(), foreign);
    expect(codeOf(() => openMasterToken(issued.json, [tokenContext()]))).toBe('MASTERTOKEN_UNTRUSTED');
  });

  it('an altered token (one number changed, signature kept) is MASTERTOKEN_UNTRUSTED', () => {
    const issued = issueMasterToken(numbers, 'device-1', keys(), tokenContext());
    const data = JSON.parse(fromUtf8(decodeBase64(issued.json.tokendata)!)!);
    data.expiration = 99999;
    const altered = { tokendata: encodeBase64(utf8(JSON.stringify(data))), signature: issued.json.signature };
    expect(codeOf(() => openMasterToken(altered, [tokenContext()]))).toBe('MASTERTOKEN_UNTRUSTED');
  });

  it('MSL range checks: expiration before renewal window, out-of-range numbers, empty session data, empty tokendata', () => {
    const ctx = tokenContext();
    const signed = (data: object) => {
      const bytes = utf8(JSON.stringify(data));
      return { tokendata: encodeBase64(bytes), signature: encodeBase64(ctx.sign(bytes)) };
    };
    const good = { renewalwindow: 10, expiration: 20, sequencenumber: 0, serialnumber: 1, sessiondata: 'AAAA' };
    expect(codeOf(() => openMasterToken(signed({ ...good, expiration: 9 }), [ctx]))).toBe('MASTERTOKEN_EXPIRES_BEFORE_RENEWAL');
    expect(codeOf(() => openMasterToken(signed({ ...good, sequencenumber: -1 }), [ctx]))).toBe('MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_RANGE');
    expect(codeOf(() => openMasterToken(signed({ ...good, serialnumber: 2 ** 53 }), [ctx]))).toBe('MASTERTOKEN_SERIAL_NUMBER_OUT_OF_RANGE');
    expect(codeOf(() => openMasterToken(signed({ ...good, sessiondata: '' }), [ctx]))).toBe('MASTERTOKEN_SESSIONDATA_MISSING');
    expect(codeOf(() => openMasterToken(signed({ ...good, serialnumber: '1' }), [ctx]))).toBe('MASTERTOKEN_TOKENDATA_PARSE_ERROR');
    expect(codeOf(() => openMasterToken({ tokendata: '', signature: 'AAAA' }, [ctx]))).toBe('MASTERTOKEN_TOKENDATA_MISSING');
    // Signed by us but the session data is not ours to decrypt.
    expect(codeOf(() => openMasterToken(signed(good), [ctx]))).toBe('MASTERTOKEN_SESSIONDATA_INVALID');
  });

  it('refuses duplicate members and Base64 variants in the token', () => {
    const issued = issueMasterToken(numbers, 'device-1', keys(), tokenContext());
    const tokendata = fromUtf8(decodeBase64(issued.json.tokendata)!)!;
    const dup = utf8(tokendata.replace('{', '{"serialnumber":43,'));
    expect(codeOf(() => readMasterToken({ tokendata: encodeBase64(dup), signature: issued.json.signature }))).toBe('MASTERTOKEN_TOKENDATA_PARSE_ERROR');
    // Unpadded, and padded once too often: both refused (signature is 32 bytes, so its Base64 ends in one "=").
    expect(issued.json.signature.endsWith('=')).toBe(true);
    expect(codeOf(() => readMasterToken({ ...issued.json, signature: issued.json.signature.slice(0, -1) }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => readMasterToken({ ...issued.json, signature: `${issued.json.signature}=` }))).toBe('MSL_PARSE_ERROR');
    const urlSafe = issued.json.signature.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== issued.json.signature) expect(codeOf(() => readMasterToken({ ...issued.json, signature: urlSafe }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => readMasterToken({ ...issued.json, extra: 1 }))).toBe('MSL_PARSE_ERROR');
  });

  it('session data with keys of the wrong length is MASTERTOKEN_KEY_CREATION_ERROR, other algorithms UNIDENTIFIED_ALGORITHM', () => {
    const ctx = tokenContext();
    const token = (session: object) => {
      const tokendata = utf8(JSON.stringify({ renewalwindow: 1, expiration: 2, sequencenumber: 0, serialnumber: 1, sessiondata: encodeBase64(ctx.encrypt(utf8(JSON.stringify(session)))) }));
      return { tokendata: encodeBase64(tokendata), signature: encodeBase64(ctx.sign(tokendata)) };
    };
    const session = { identity: 'd', encryptionkey: encodeBase64(new Uint8Array(16)), hmackey: encodeBase64(new Uint8Array(32)) };
    expect(openMasterToken(token(session), [ctx]).identity).toBe('d');
    expect(codeOf(() => openMasterToken(token({ ...session, encryptionkey: encodeBase64(new Uint8Array(24)) }), [ctx]))).toBe('MASTERTOKEN_KEY_CREATION_ERROR');
    expect(codeOf(() => openMasterToken(token({ ...session, encryptionalgorithm: 'DESede' }), [ctx]))).toBe('UNIDENTIFIED_ALGORITHM');
    expect(codeOf(() => openMasterToken(token({ ...session, signaturekey: encodeBase64(new Uint8Array(32).fill(1)) }), [ctx]))).toBe('MASTERTOKEN_SESSIONDATA_PARSE_ERROR');
  });
});
