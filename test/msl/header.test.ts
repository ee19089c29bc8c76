// Message and error headers: every captured request and response parses,
// verifies and opens with the keys of the sample configurations, and gives the
// header data the independent decoder saw; every malformed or forged header is
// refused with MSL's error.
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../electron/encoding/base64.js';
import { utf8 } from '../../electron/encoding/bytes.js';
import type { MslCryptoContext } from '../../electron/msl/cryptoContext.js';
import { openErrorHeader, writeErrorHeader } from '../../electron/msl/errorHeader.js';
import { MslError } from '../../electron/msl/errors.js';
import { openHeader, parseHeader, writeMessageHeader, type ParsedMessageHeader } from '../../electron/msl/header.js';
import type { HeaderData } from '../../electron/msl/headerData.js';
import { parseKeyResponse, selectKeyRequest } from '../../electron/msl/keyExchange.js';
import { openMasterToken } from '../../electron/msl/masterToken.js';
import { decoded, EXCHANGES, messageObjects, type Direction, type Exchange } from '../support/mslVectors.js';
import { codeOf, contextFor, pskContext, SERVER_ENTITY, serverRsaContext, serverRsaVerifier, tokenContext } from '../support/mslWire.js';

/** Our HeaderData in the shape of *.decoded.json's headerdata (service tokens compared by count). */
function asDecoded(h: HeaderData): Record<string, unknown> {
  const out: Record<string, unknown> = { messageid: h.messageId, renewable: h.renewable, handshake: h.handshake };
  if (h.timestamp !== undefined) out['timestamp'] = h.timestamp;
  if (h.nonReplayable !== undefined) out['nonreplayable'] = h.nonReplayable;
  if (h.nonReplayableId !== undefined) out['nonreplayableid'] = h.nonReplayableId;
  if (h.capabilities) out['capabilities'] = { compressionalgos: h.capabilities.compressionAlgos, languages: h.capabilities.languages, encoderformats: h.capabilities.encoderFormats };
  if (h.keyRequestData.length > 0) out['keyrequestdata'] = h.keyRequestData;
  if (h.sender !== undefined) out['sender'] = h.sender;
  if (h.serviceTokens.length > 0) out['servicetokens'] = h.serviceTokens.length;
  if (h.keyResponseData) out['keyresponsedata'] = 'present';
  return out;
}

function expectedDecoded(n: Exchange, d: Direction): Record<string, unknown> {
  const want = { ...decoded(n, d).headerdata };
  if (want['servicetokens']) want['servicetokens'] = want['servicetokens'].length;
  if (want['keyresponsedata']) want['keyresponsedata'] = 'present';
  // The decoder's own notes (members starting with "_") are not on the wire.
  if (want['keyrequestdata']) want['keyrequestdata'] = JSON.parse(JSON.stringify(want['keyrequestdata']), (k, v) => (k.startsWith('_') ? undefined : v));
  return want;
}

describe('every captured header opens', () => {
  for (const n of EXCHANGES) {
    for (const d of ['request', 'response'] as const) {
      if (n === '005' && d === 'response') continue;
      it(`${n} ${d}`, () => {
        const parsed = parseHeader(messageObjects(n, d)[0]) as ParsedMessageHeader;
        expect(parsed.kind).toBe('message');
        const want = decoded(n, d);
        if (want.entityauthdata) expect(parsed.entityAuth).toEqual({ scheme: want.entityauthdata.scheme, ...want.entityauthdata.authdata });
        else expect(parsed.masterToken!.sequenceNumber).toBe(want.mastertoken.tokendata.sequencenumber);
        const data = openHeader(parsed, contextFor(parsed));
        expect(asDecoded(data)).toEqual(expectedDecoded(n, d));
        if (d === 'request') {
          const request = selectKeyRequest(data.keyRequestData);
          const wantRequest = want.headerdata.keyrequestdata?.[0]?.keydata;
          expect(request?.mechanism).toBe(wantRequest?.mechanism);
          if (wantRequest?.wrapdata) expect(encodeBase64(request!.wrapdata!)).toBe(wantRequest.wrapdata);
        }
        if (data.keyResponseData) {
          // The new token opens with the server's keys and carries the session keys the key response wraps.
          const response = parseKeyResponse(data.keyResponseData);
          const token = openMasterToken(response.masterToken.json, [tokenContext()]);
          const keydata = want.headerdata.keyresponsedata.keydata;
          expect(token.keys.encryptionKey).toEqual(new Uint8Array(Buffer.from(keydata.encryptionkey.jwk.k, 'base64url')));
          expect(token.keys.hmacKey).toEqual(new Uint8Array(Buffer.from(keydata.hmackey.jwk.k, 'base64url')));
          expect(encodeBase64(response.keydata.wrapdata)).toBe(keydata.wrapdata.b64);
        }
      });
    }
  }

  it('005 response: the error header under the server RSA key', () => {
    const parsed = parseHeader(messageObjects('005', 'response')[0]);
    expect(parsed.kind).toBe('error');
    if (parsed.kind !== 'error') return;
    expect(parsed.entityAuth).toEqual(SERVER_ENTITY);
    const want = decoded('005', 'response').errordata;
    expect(openErrorHeader(parsed, serverRsaVerifier())).toEqual({ messageId: want.messageid, errorCode: want.errorcode, internalCode: want.internalcode, errorMsg: want.errormsg, timestamp: want.timestamp });
  });
});

describe('header refusals', () => {
  const request = (n: Exchange = '001'): any => messageObjects(n, 'request')[0];
  const token = (): any => messageObjects('002', 'request')[0].mastertoken;

  it('both entityauthdata and mastertoken, neither, or both headerdata and errordata', () => {
    expect(codeOf(() => parseHeader({ ...request(), mastertoken: token() }))).toBe('MESSAGE_FORMAT_ERROR');
    const { entityauthdata: _, ...neither } = request();
    expect(codeOf(() => parseHeader(neither))).toBe('MESSAGE_ENTITY_NOT_FOUND');
    expect(codeOf(() => parseHeader({ ...request(), errordata: request().headerdata }))).toBe('MESSAGE_FORMAT_ERROR');
    const { headerdata: __, ...noData } = request();
    expect(codeOf(() => parseHeader(noData))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseHeader({ ...request(), headerdata: '' }))).toBe('HEADER_DATA_MISSING');
    expect(codeOf(() => parseHeader({ ...request(), extra: true }))).toBe('MSL_PARSE_ERROR');
  });

  it('a signature over other bytes: entity-based and token-based verification failures', () => {
    const other = request('008');
    const swapped = parseHeader({ ...request(), signature: other.signature }) as ParsedMessageHeader;
    expect(codeOf(() => openHeader(swapped, pskContext('client1')))).toBe('MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED');
    const tokenHeader = request('002');
    const forged = parseHeader({ ...tokenHeader, signature: request('003').signature }) as ParsedMessageHeader;
    expect(codeOf(() => openHeader(forged, contextFor(forged)))).toBe('MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED');
    // A header under client1's keys does not open with client2's.
    expect(codeOf(() => openHeader(parseHeader(request()) as ParsedMessageHeader, pskContext('client2')))).toBe('MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED');
  });

  it('verifies before it decrypts: a bad signature never reaches decrypt (header and master token)', () => {
    const calls: string[] = [];
    const spy: MslCryptoContext = {
      encrypt: () => new Uint8Array(0),
      decrypt: () => {
        calls.push('decrypt');
        return new Uint8Array(0);
      },
      sign: () => new Uint8Array(0),
      verify: () => {
        calls.push('verify');
        return false;
      },
    };
    const garbage = { ...request(), headerdata: 'AAAA' };
    expect(codeOf(() => openHeader(parseHeader(garbage) as ParsedMessageHeader, spy))).toBe('MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED');
    expect(codeOf(() => openMasterToken(token(), [spy, spy]))).toBe('MASTERTOKEN_UNTRUSTED');
    expect(calls).toEqual(['verify', 'verify', 'verify']);
  });

  it('Base64 variants of headerdata and signature', () => {
    const r = request();
    const sig: string = r.signature;
    expect(sig.endsWith('=')).toBe(true);
    expect(codeOf(() => parseHeader({ ...r, signature: sig.replace(/=+$/, '') }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseHeader({ ...r, headerdata: ` ${r.headerdata}` }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseHeader({ ...r, signature: sig.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') }))).toBe('MSL_PARSE_ERROR');
  });

  it('entity authentication schemes: unknown, known but unsupported, malformed identity', () => {
    const r = request();
    expect(codeOf(() => parseHeader({ ...r, entityauthdata: { scheme: 'PSK2', authdata: { identity: 'a' } } }))).toBe('UNIDENTIFIED_ENTITYAUTH_SCHEME');
    for (const scheme of ['NONE', 'X509', 'NONE_SUFFIXED', 'MT_PROTECTED', 'PROVISIONED', 'ECC', 'PSK_PROFILE']) {
      expect(codeOf(() => parseHeader({ ...r, entityauthdata: { scheme, authdata: { identity: 'a' } } }))).toBe('ENTITYAUTH_FACTORY_NOT_FOUND');
    }
    expect(parseHeader({ ...r, entityauthdata: { scheme: 'MGK', authdata: { identity: 'group-7' } } }).entityAuth).toEqual({ scheme: 'MGK', identity: 'group-7' });
    expect(codeOf(() => parseHeader({ ...r, entityauthdata: { scheme: 'PSK', authdata: { identity: 'two words' } } }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseHeader({ ...r, entityauthdata: { scheme: 'PSK', authdata: { identity: 'a', pubkeyid: 'x' } } }))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseHeader({ ...r, entityauthdata: { scheme: 'RSA', authdata: { identity: 'a' } } }))).toBe('MSL_PARSE_ERROR');
  });
});

describe('header data: written, then read', () => {
  const psk = pskContext('client1');
  const open = (text: string, ctx: MslCryptoContext = psk): HeaderData => openHeader(parseHeader(JSON.parse(text)) as ParsedMessageHeader, ctx);
  /** A header whose header data is `json`, encrypted and signed under client1's PSK. */
  const withData = (json: string): string => {
    const bytes = psk.encrypt(utf8(json));
    return JSON.stringify({ entityauthdata: { scheme: 'PSK', authdata: { identity: 'client1' } }, headerdata: encodeBase64(bytes), signature: encodeBase64(psk.sign(bytes)) });
  };

  it('round-trips every member under PSK, and under the server RSA key in plaintext', () => {
    const data = { messageId: 2 ** 53 - 1, timestamp: 1796626903, renewable: true, handshake: false, nonReplayableId: 7, capabilities: { compressionAlgos: ['GZIP'], languages: ['en-US'], encoderFormats: ['JSON'] }, keyRequestData: [{ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }], sender: 'client1' };
    const text = writeMessageHeader({ entityAuth: { scheme: 'PSK', identity: 'client1' } }, data, psk);
    expect(open(text)).toEqual({ ...data, serviceTokens: [] });
    const rsa = writeMessageHeader({ entityAuth: SERVER_ENTITY }, { messageId: 1, renewable: false, handshake: false }, serverRsaContext());
    expect(JSON.parse(Buffer.from(decodeBase64(JSON.parse(rsa).headerdata)!).toString())).toEqual({ messageid: 1, renewable: false, handshake: false });
    expect(open(rsa, serverRsaVerifier()).messageId).toBe(1);
  });

  it('refuses duplicate members, unknown members, user authentication, bad types and out-of-range ids (carrying the message id when known)', () => {
    expect(codeOf(() => open(withData('{"messageid":1,"renewable":true,"renewable":false}')))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => open(withData('{"messageid":1,"renewable":true,"surprise":1}')))).toBe('HEADER_DATA_INVALID');
    expect(codeOf(() => open(withData('{"messageid":1,"renewable":true,"userauthdata":{"scheme":"EMAIL_PASSWORD","authdata":{}}}')))).toBe('USERAUTH_FACTORY_NOT_FOUND');
    expect(codeOf(() => open(withData('{"messageid":1,"renewable":true,"useridtoken":{}}')))).toBe('USERAUTH_FACTORY_NOT_FOUND');
    expect(codeOf(() => open(withData('{"messageid":1}')))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => open(withData('{"messageid":"1","renewable":true}')))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => open(withData('{"messageid":9007199254740992,"renewable":true}')))).toBe('MESSAGE_ID_OUT_OF_RANGE');
    expect(codeOf(() => open(withData('{"messageid":-1,"renewable":true}')))).toBe('MESSAGE_ID_OUT_OF_RANGE');
    expect(codeOf(() => open(withData('{"messageid":1,"renewable":true,"nonreplayableid":-5}')))).toBe('NONREPLAYABLE_ID_OUT_OF_RANGE');
    expect(codeOf(() => open(withData('[1]')))).toBe('MSL_PARSE_ERROR');
    const carried = (() => {
      try {
        open(withData('{"messageid":41,"renewable":"yes"}'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(carried).toBeInstanceOf(MslError);
    expect((carried as MslError).messageId).toBe(41);
  });

  it('writes an error header from an MslError and reads it back (MSL message only, never the detail)', () => {
    const text = writeErrorHeader(SERVER_ENTITY, new MslError('ENTITY_NOT_FOUND', 'client9 secret-ish detail'), 12, 1796626920, serverRsaContext());
    expect(text).not.toContain('secret');
    const parsed = parseHeader(JSON.parse(text));
    if (parsed.kind !== 'error') throw new Error('not an error header');
    expect(Buffer.from(parsed.errordata).toString()).not.toContain('detail');
    expect(openErrorHeader(parsed, serverRsaVerifier())).toEqual({ messageId: 12, errorCode: 1, internalCode: 104005, errorMsg: 'Entity not recognized.', timestamp: 1796626920 });
    // Under PSK the error data is encrypted too.
    const sealed = parseHeader(JSON.parse(writeErrorHeader({ scheme: 'PSK', identity: 'client1' }, new MslError('MESSAGE_REPLAYED'), 3, 5, psk)));
    if (sealed.kind !== 'error') throw new Error('not an error header');
    expect(openErrorHeader(sealed, psk)).toMatchObject({ errorCode: 9, internalCode: 106021 });
    expect(codeOf(() => openErrorHeader({ ...sealed, signature: new Uint8Array(32) }, psk))).toBe('MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED');
  });
});

describe('key response', () => {
  it('the writer puts the new token and the ladder keydata verbatim; the client parser reads them back', async () => {
    const { issueMasterToken } = await import('../../electron/msl/masterToken.js');
    const { keyResponseDataJson } = await import('../../electron/msl/keyExchange.js');
    const token = issueMasterToken({ renewalWindow: 10, expiration: 20, sequenceNumber: 0, serialNumber: 5 }, 'client1', { encryptionKey: new Uint8Array(16), hmacKey: new Uint8Array(32) }, tokenContext());
    const keydata = decoded('001', 'response').headerdata.keyresponsedata.keydata;
    const keydataJson = JSON.stringify({ wrapdata: keydata.wrapdata.b64, hmackey: 'AQ==', encryptionkey: 'Ag==', wrapkey: 'Aw==' });
    const text = keyResponseDataJson(token.text, keydataJson);
    const parsed = parseKeyResponse(JSON.parse(text));
    expect(parsed.masterToken.json).toEqual(token.json);
    expect(parsed.masterToken.serialNumber).toBe(5);
    expect(encodeBase64(parsed.keydata.wrapdata)).toBe(keydata.wrapdata.b64);
    expect(codeOf(() => parseKeyResponse({ ...JSON.parse(text), scheme: 'JWK_LADDER' }))).toBe('KEYX_RESPONSE_REQUEST_MISMATCH');
    expect(codeOf(() => parseKeyResponse({ ...JSON.parse(text), keydata: { wrapdata: 'AA==' } }))).toBe('MSL_PARSE_ERROR');
  });
});

describe('key request selection', () => {
  it('takes the first JWE_LADDER request, passes over MSL schemes it does not serve, refuses unknown ones', () => {
    const wrap = { scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: 'AAECAw==' } };
    expect(selectKeyRequest([{ scheme: 'DIFFIE_HELLMAN', keydata: {} }, wrap, { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }])).toEqual({ mechanism: 'WRAP', wrapdata: new Uint8Array([0, 1, 2, 3]) });
    expect(selectKeyRequest([])).toBeUndefined();
    expect(codeOf(() => selectKeyRequest([{ scheme: 'SYMMETRIC_WRAPPED', keydata: {} }]))).toBe('KEYX_FACTORY_NOT_FOUND');
    expect(codeOf(() => selectKeyRequest([{ scheme: 'JWE_LADDER2', keydata: {} }]))).toBe('UNIDENTIFIED_KEYX_SCHEME');
    expect(codeOf(() => selectKeyRequest([{ scheme: 'JWE_LADDER', keydata: { mechanism: 'RSA' } }]))).toBe('UNIDENTIFIED_KEYX_MECHANISM');
    expect(codeOf(() => selectKeyRequest([{ scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP' } }]))).toBe('KEYX_WRAPPING_KEY_MISSING');
    expect(codeOf(() => selectKeyRequest([{ scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP', wrapdata: 'AAECAw' } }]))).toBe('MSL_PARSE_ERROR');
  });
});

describe('error header message ids', () => {
  it('answer the request id + 1 when known, else a random id below 2^53', async () => {
    const { errorMessageId } = await import('../../electron/msl/errorHeader.js');
    expect(errorMessageId(new MslError('MESSAGE_REPLAYED', undefined, 41))).toBe(42);
    expect(errorMessageId(new MslError('MESSAGE_REPLAYED', undefined, 2 ** 53 - 1))).toBe(0);
    const ids = Array.from({ length: 64 }, () => errorMessageId(new MslError('ENTITY_NOT_FOUND')));
    expect(ids.every((id) => Number.isSafeInteger(id) && id >= 0)).toBe(true);
    expect(new Set(ids).size).toBeGreaterThan(60);
    expect(ids.some((id) => id > 2 ** 52)).toBe(true);
  });
});
