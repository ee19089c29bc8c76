import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../electron/encoding/base64.js';
import { utf8 } from '../../electron/encoding/bytes.js';
import { encodeEnvelopeV1, parseEnvelope } from '../../electron/msl/envelope.js';
import { mslRefusal } from '../support/mslRefusal.js';

const IV = new Uint8Array(16).fill(7);
const CT = new Uint8Array(32).fill(9);
const GOOD = { ciphertext: encodeBase64(CT), sha256: 'AA==', keyid: 'client1', iv: encodeBase64(IV) };
const bytesOf = (o: unknown): Uint8Array => utf8(typeof o === 'string' ? o : JSON.stringify(o));

const refusal = (bytes: Uint8Array): { code: string; detail?: string } => mslRefusal(() => parseEnvelope(bytes));

describe('MSL v1 ciphertext envelope', () => {
  it('writes the members MSL writes, in its order, with the constant sha256', () => {
    const text = new TextDecoder().decode(encodeEnvelopeV1({ keyId: 'client1', iv: IV, ciphertext: CT }));
    expect(text).toBe(JSON.stringify(GOOD));
  });

  it('parses what it writes', () => {
    const parsed = parseEnvelope(encodeEnvelopeV1({ keyId: 'k', iv: IV, ciphertext: CT }));
    expect(parsed.keyId).toBe('k');
    expect([...parsed.iv]).toEqual([...IV]);
    expect([...parsed.ciphertext]).toEqual([...CT]);
  });

  it('does not trust sha256: any Base64 value is accepted and ignored', () => {
    expect(parseEnvelope(bytesOf({ ...GOOD, sha256: encodeBase64(new Uint8Array(32)) })).keyId).toBe('client1');
  });

  it.each([
    ['not JSON', '{"keyid":'],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['an array', [GOOD]],
    ['null', 'null'],
    ['a duplicate member', `{"keyid":"a","keyid":"client1","iv":"${GOOD.iv}","ciphertext":"${GOOD.ciphertext}","sha256":"AA=="}`],
    ['no keyid', { ...GOOD, keyid: undefined }],
    ['a numeric keyid', { ...GOOD, keyid: 1 }],
    ['no iv', { ...GOOD, iv: undefined }],
    ['a 12-byte iv', { ...GOOD, iv: encodeBase64(new Uint8Array(12)) }],
    ['a 17-byte iv', { ...GOOD, iv: encodeBase64(new Uint8Array(17)) }],
    ['no ciphertext', { ...GOOD, ciphertext: undefined }],
    ['an empty ciphertext', { ...GOOD, ciphertext: '' }],
    ['a ciphertext of 31 bytes', { ...GOOD, ciphertext: encodeBase64(new Uint8Array(31)) }],
    ['no sha256', { ...GOOD, sha256: undefined }],
    ['a url-safe iv', { ...GOOD, iv: encodeBase64(new Uint8Array(16).fill(0xfb)).replace(/\+/g, '-').replace(/\//g, '_') }],
    ['an unpadded ciphertext', { ...GOOD, ciphertext: encodeBase64(new Uint8Array(32)).replace(/=+$/, '') }],
    ['a ciphertext with whitespace', { ...GOOD, ciphertext: ` ${GOOD.ciphertext}` }],
  ])('refuses %s as CIPHERTEXT_ENVELOPE_PARSE_ERROR', (_, input) => {
    expect(refusal(input instanceof Uint8Array ? input : bytesOf(input)).code).toBe('CIPHERTEXT_ENVELOPE_PARSE_ERROR');
  });

  it('refuses a version 2 envelope (and any versioned one) as UNIDENTIFIED_CIPHERTEXT_ENVELOPE', () => {
    const v2 = { version: 2, cipherspec: 'AES/CBC/PKCS5Padding', iv: GOOD.iv, ciphertext: GOOD.ciphertext };
    expect(refusal(bytesOf(v2)).code).toBe('UNIDENTIFIED_CIPHERTEXT_ENVELOPE');
    expect(refusal(bytesOf({ ...GOOD, version: 1 })).code).toBe('UNIDENTIFIED_CIPHERTEXT_ENVELOPE');
  });

  it('never puts a member value into the error', () => {
    const secretish = 'client1-SECRET';
    const e = (() => {
      try {
        parseEnvelope(bytesOf({ ...GOOD, keyid: secretish, iv: 'nope' }));
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e?.message).not.toContain(secretish);
    expect(e?.message).not.toContain('nope');
  });
});
