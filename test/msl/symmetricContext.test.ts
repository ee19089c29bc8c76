import { createDecipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../electron/encoding/base64.js';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';
import { encodeEnvelopeV1, parseEnvelope } from '../../electron/msl/envelope.js';
import { MslError } from '../../electron/msl/errors.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { mslRefusal } from '../support/mslRefusal.js';
import { client1Psk, decoded, messageObjects, pskOf } from '../support/mslVectors.js';

const b64 = (text: string): Uint8Array => {
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw new Error('not Base64');
  return bytes;
};

function client1(): SymmetricCryptoContext {
  const { identity, kpe, kph } = client1Psk();
  return new SymmetricCryptoContext(identity, kpe, kph);
}

const codeOf = (f: () => unknown): string => mslRefusal(f).code;

describe('SymmetricCryptoContext against MSL\'s captured PSK messages', () => {
  it.each(['001', '008'] as const)('%s: the request header verifies under Kph and decrypts under Kpe to the decoded headerdata', (exchange) => {
    const ctx = client1();
    const [header] = messageObjects(exchange, 'request');
    const headerdata = b64(header.headerdata);
    expect(ctx.verify(headerdata, b64(header.signature))).toBe(true);
    const plain = JSON.parse(fromUtf8(ctx.decrypt(headerdata))!);
    expect(plain).toEqual(decoded(exchange, 'request').headerdata);
  });

  it('005: client9\'s header (an identity the server does not know) does not verify under client1\'s Kph', () => {
    const [header] = messageObjects('005', 'request');
    expect(client1().verify(b64(header.headerdata), b64(header.signature))).toBe(false);
    expect(codeOf(() => client1().decrypt(b64(header.headerdata)))).toBe('ENVELOPE_KEY_ID_MISMATCH');
  });

  it('006: client2\'s handshake header (no payload) verifies and decrypts under client2\'s keys', () => {
    const [header] = messageObjects('006', 'request');
    const { identity, kpe, kph } = pskOf('client2');
    const ctx = new SymmetricCryptoContext(identity, kpe, kph);
    expect(client1().verify(b64(header.headerdata), b64(header.signature))).toBe(false);
    expect(ctx.verify(b64(header.headerdata), b64(header.signature))).toBe(true);
    expect(JSON.parse(fromUtf8(ctx.decrypt(b64(header.headerdata)))!).handshake).toBe(true);
  });
});

describe('SymmetricCryptoContext', () => {
  const kpe = new Uint8Array(16).fill(1);
  const kph = new Uint8Array(32).fill(2);

  it('encrypts as MSL does: AES-128-CBC/PKCS#5 under the encryption key, fresh IV, v1 envelope with its key id', () => {
    const ctx = new SymmetricCryptoContext('dev_3', kpe, kph);
    const one = ctx.encrypt(utf8('hello'));
    const two = ctx.encrypt(utf8('hello'));
    const envelope = parseEnvelope(one);
    expect(envelope.keyId).toBe('dev_3');
    expect(Buffer.from(envelope.iv).equals(Buffer.from(parseEnvelope(two).iv))).toBe(false);
    const d = createDecipheriv('aes-128-cbc', kpe, envelope.iv);
    expect(Buffer.concat([d.update(envelope.ciphertext), d.final()]).toString()).toBe('hello');
    expect(fromUtf8(ctx.decrypt(one))).toBe('hello');
    expect(ctx.decrypt(ctx.encrypt(new Uint8Array(0))).length).toBe(0);
  });

  it('signs with the raw HMAC-SHA256 under the HMAC key and verifies it', () => {
    const ctx = new SymmetricCryptoContext('k', kpe, kph);
    const sig = ctx.sign(utf8('data'));
    expect(Buffer.from(sig).equals(createHmac('sha256', kph).update('data').digest())).toBe(true);
    expect(ctx.verify(utf8('data'), sig)).toBe(true);
  });

  it('verify is false for a flipped byte, other data, a truncated or an over-long signature; it never throws', () => {
    const ctx = new SymmetricCryptoContext('k', kpe, kph);
    const sig = ctx.sign(utf8('data'));
    const flipped = Uint8Array.from(sig);
    flipped[31]! ^= 1;
    expect(ctx.verify(utf8('data'), flipped)).toBe(false);
    expect(ctx.verify(utf8('datA'), sig)).toBe(false);
    expect(ctx.verify(utf8('data'), sig.subarray(0, 31))).toBe(false);
    expect(ctx.verify(utf8('data'), new Uint8Array([...sig, 0]))).toBe(false);
    expect(ctx.verify(utf8('data'), new Uint8Array(0))).toBe(false);
  });

  it('refuses an envelope naming another key id (ENVELOPE_KEY_ID_MISMATCH), even one that would decrypt', () => {
    const a = new SymmetricCryptoContext('client1', kpe, kph);
    const b = new SymmetricCryptoContext('client2', kpe, kph);
    expect(codeOf(() => b.decrypt(a.encrypt(utf8('x'))))).toBe('ENVELOPE_KEY_ID_MISMATCH');
  });

  it('maps every cipher failure to one DECRYPT_ERROR with no detail (no padding oracle)', () => {
    const ctx = new SymmetricCryptoContext('k', kpe, kph);
    const other = new SymmetricCryptoContext('k', new Uint8Array(16).fill(3), kph);
    const errors: MslError[] = [];
    // Under the wrong key almost every ciphertext has bad padding; collect a few.
    for (let i = 0; i < 20; i++) {
      try {
        other.decrypt(ctx.encrypt(utf8(`message ${i}`)));
      } catch (e) {
        errors.push(e as MslError);
      }
    }
    expect(errors.length).toBeGreaterThan(10);
    for (const e of errors) {
      expect(e.code).toBe('DECRYPT_ERROR');
      expect(e.detail).toBeUndefined();
    }
  });

  it('refuses a malformed envelope before any cipher runs', () => {
    const ctx = new SymmetricCryptoContext('k', kpe, kph);
    expect(codeOf(() => ctx.decrypt(utf8('{"keyid":"k"}')))).toBe('CIPHERTEXT_ENVELOPE_PARSE_ERROR');
    expect(codeOf(() => ctx.decrypt(encodeEnvelopeV1({ keyId: 'k', iv: new Uint8Array(16), ciphertext: new Uint8Array(15) })))).toBe('CIPHERTEXT_ENVELOPE_PARSE_ERROR');
  });

  it('copies the keys: zeroing the caller\'s buffers afterwards changes nothing, and the context zeroes nothing of the caller\'s', () => {
    const enc = Uint8Array.from(kpe);
    const mac = Uint8Array.from(kph);
    const ctx = new SymmetricCryptoContext('k', enc, mac);
    expect([...enc]).toEqual([...kpe]);
    const envelope = ctx.encrypt(utf8('kept'));
    const sig = ctx.sign(utf8('kept'));
    enc.fill(0);
    mac.fill(0);
    expect(fromUtf8(ctx.decrypt(envelope))).toBe('kept');
    expect(ctx.verify(utf8('kept'), sig)).toBe(true);
  });

  it('refuses keys of the wrong length (an internal error, never the peer\'s)', () => {
    expect(codeOf(() => new SymmetricCryptoContext('k', new Uint8Array(32), kph))).toBe('INTERNAL_EXCEPTION');
    expect(codeOf(() => new SymmetricCryptoContext('k', kpe, new Uint8Array(16)))).toBe('INTERNAL_EXCEPTION');
  });
});
