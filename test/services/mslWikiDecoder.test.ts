// The independent MSL decoder of the responder's tests (test/support/mslWikiDecoder.ts)
// checked against MSL's own server: it must open every captured response
// the way MSL's client does, or its verdict on ours would mean nothing.
import { describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { decodeResponse } from '../support/mslWikiDecoder.js';
import { client1Psk, decoded, messageBytes, server1Rsa } from '../support/mslVectors.js';

const tokenKeys = { enc: Buffer.from('1d58f3b8f747d16ab1093c4ca624eacf', 'hex'), hmac: Buffer.from('d7aebfd5879bb0e0ad016a4cf3cb3982f5ba260da520245bb42275bd7947370c', 'hex') };

describe('the wiki decoder on MSL\'s own answers', () => {
  it('001: RSA header, key response (session keys in the JWEs = those in the token), the echo under the new keys', () => {
    const psk = client1Psk();
    const r = decodeResponse(messageBytes('001', 'response'), { serverPublicKey: server1Rsa().publicKey, tokenKeys, kprev: deriveWrappingKey(psk.kpe, psk.kph) });
    expect(r.kind).toBe('message');
    expect(r.data['messageid']).toBe(decoded('001', 'request').headerdata.messageid + 1);
    expect(r.keyResponse!.kenc.equals(r.keyResponse!.token.keys.enc)).toBe(true);
    expect(r.keyResponse!.khmac.equals(r.keyResponse!.token.keys.hmac)).toBe(true);
    expect(r.payload!.data.toString()).toBe('run A: hello via PSK handshake');
  });

  it('005: the error header for an unknown entity', () => {
    const r = decodeResponse(messageBytes('005', 'response'), { serverPublicKey: server1Rsa().publicKey, tokenKeys });
    expect(r).toMatchObject({ kind: 'error', data: { errorcode: 1, internalcode: 104005 } });
  });

  it('refuses a response whose RSA signature covers other bytes', () => {
    const bytes = Buffer.from(messageBytes('005', 'response'));
    const text = bytes.toString('utf8').replace(/"errordata":"(.)/, (_, c: string) => `"errordata":"${c === 'A' ? 'B' : 'A'}`);
    expect(() => decodeResponse(Buffer.from(text), { serverPublicKey: server1Rsa().publicKey, tokenKeys })).toThrow(/RSA signature/);
  });
});
