import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../electron/encoding/base64.js';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';
import { MslError } from '../../electron/msl/errors.js';
import { RsaCryptoContext } from '../../electron/msl/rsaContext.js';
import { decoded, messageObjects, server1Rsa } from '../support/mslVectors.js';

const b64 = (text: string): Uint8Array => decodeBase64(text)!;

describe('RsaCryptoContext', () => {
  it.each(['001', '006', '008'] as const)('%s: verifies the RSA-signed response header of MSL\'s server (server1, rsakeyid1) with its public key', (exchange) => {
    const [header] = messageObjects(exchange, 'response');
    expect(header.entityauthdata).toEqual({ scheme: 'RSA', authdata: { identity: 'server1', pubkeyid: 'rsakeyid1' } });
    const ctx = new RsaCryptoContext({ publicKey: server1Rsa().publicKey });
    const headerdata = b64(header.headerdata);
    expect(ctx.verify(headerdata, b64(header.signature))).toBe(true);
    // RSA entity authentication does not encrypt: headerdata is the plaintext JSON.
    expect(JSON.parse(fromUtf8(ctx.decrypt(headerdata))!).messageid).toBe(decoded(exchange, 'response').headerdata.messageid);
  });

  it('005: verifies the error header too', () => {
    const [error] = messageObjects('005', 'response');
    const ctx = new RsaCryptoContext({ publicKey: server1Rsa().publicKey });
    expect(ctx.verify(b64(error.errordata), b64(error.signature))).toBe(true);
  });

  it('signs SHA256withRSA with the private key so that MSL\'s verification (the same public key) accepts it; deterministic as PKCS#1 v1.5 is', () => {
    const { publicKey, privateKey } = server1Rsa();
    const [header] = messageObjects('001', 'response');
    const ctx = new RsaCryptoContext({ publicKey, privateKey });
    // PKCS#1 v1.5 is deterministic: our signature over MSL's headerdata is MSL's signature.
    expect(Buffer.from(ctx.sign(b64(header.headerdata))).toString('base64')).toBe(header.signature);
  });

  it('verify is false (never throws) for a flipped byte, other data, garbage, an empty signature, another key', () => {
    const { publicKey, privateKey } = server1Rsa();
    const ctx = new RsaCryptoContext({ publicKey, privateKey });
    const sig = ctx.sign(utf8('data'));
    const flipped = Uint8Array.from(sig);
    flipped[100]! ^= 0x10;
    expect(ctx.verify(utf8('data'), sig)).toBe(true);
    expect(ctx.verify(utf8('data'), flipped)).toBe(false);
    expect(ctx.verify(utf8('datA'), sig)).toBe(false);
    expect(ctx.verify(utf8('data'), new Uint8Array(3))).toBe(false);
    expect(ctx.verify(utf8('data'), new Uint8Array(0))).toBe(false);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(new RsaCryptoContext({ publicKey: other.publicKey }).verify(utf8('data'), sig)).toBe(false);
  });

  it('without a private key, sign throws SIGN_NOT_SUPPORTED', () => {
    const ctx = new RsaCryptoContext({ publicKey: server1Rsa().publicKey });
    expect(() => ctx.sign(utf8('x'))).toThrow(MslError);
    try {
      ctx.sign(utf8('x'));
    } catch (e) {
      expect((e as MslError).code).toBe('SIGN_NOT_SUPPORTED');
    }
  });

  it('encrypt and decrypt hand back a copy of the bytes', () => {
    const ctx = new RsaCryptoContext({ publicKey: server1Rsa().publicKey });
    const data = utf8('{"a":1}');
    const out = ctx.encrypt(data);
    expect([...out]).toEqual([...data]);
    expect(out).not.toBe(data);
    expect([...ctx.decrypt(data)]).toEqual([...data]);
  });

  it('refuses a key that is not an RSA public key (or a private key passed as public)', () => {
    const { privateKey, publicKey } = server1Rsa();
    expect(() => new RsaCryptoContext({ publicKey: privateKey })).toThrow(MslError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => new RsaCryptoContext({ publicKey: ec.publicKey })).toThrow(MslError);
    expect(() => new RsaCryptoContext({ publicKey, privateKey: publicKey })).toThrow(MslError);
  });
});
