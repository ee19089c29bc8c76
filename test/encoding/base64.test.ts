// The strict Base64 codecs: each accepts exactly its own flavour, and only the
// canonical spelling, checked exhaustively on every tail against Node's Buffer
// (decode, then re-encode and compare) as the reference.
import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from '../../electron/encoding/base64.js';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function reference(text: string, flavour: 'base64' | 'base64url'): Buffer | undefined {
  const bytes = Buffer.from(text, flavour);
  return bytes.toString(flavour) === text ? bytes : undefined;
}

function tails(alphabet: string, length: number): string[] {
  if (length === 0) return [''];
  return tails(alphabet, length - 1).flatMap((s) => [...alphabet].map((c) => s + c));
}

describe('strict Base64', () => {
  it('standard padded: agrees with the reference on every 2- and 3-character tail, padded or not, after a full quantum', () => {
    let accepted = 0;
    const disagreements: string[] = [];
    for (const prefix of ['', 'QUJD']) {
      for (const body of [...tails(ALPHABET, 2).flatMap((t) => [`${t}==`, t]), ...tails(ALPHABET, 3).flatMap((t) => [`${t}=`, t])]) {
        const text = prefix + body;
        const ours = decodeBase64(text);
        const ref = /=$|^(?:.{4})*$/.test(text) ? reference(text, 'base64') : undefined;
        if ((ours === undefined) !== (ref === undefined) || (ours && ref && !Buffer.from(ours).equals(ref))) disagreements.push(text);
        if (ours) accepted++;
      }
    }
    expect(disagreements).toEqual([]);
    // Per prefix: 64 x 4 canonical two-character tails ("==") and 64 x 64 x 16 three-character ones ("=").
    expect(accepted).toBe(2 * (64 * 4 + 64 * 64 * 16));
  });

  it('base64url unpadded: agrees with the reference on every 2- and 3-character tail', () => {
    let accepted = 0;
    const disagreements: string[] = [];
    for (const prefix of ['', 'QUJD']) {
      for (const text of [...tails(URL_ALPHABET, 2), ...tails(URL_ALPHABET, 3)].map((t) => prefix + t)) {
        const ours = decodeBase64Url(text);
        const ref = reference(text, 'base64url');
        if ((ours === undefined) !== (ref === undefined) || (ours && ref && !Buffer.from(ours).equals(ref))) disagreements.push(text);
        if (ours) accepted++;
      }
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBe(2 * (64 * 4 + 64 * 64 * 16));
  });

  it.each([
    ['base64url in standard', decodeBase64, '-_-_'],
    ['unpadded standard', decodeBase64, 'QQ'],
    ['padding in the middle', decodeBase64, 'QQ==QUJD'],
    ['whitespace', decodeBase64, 'QUJD\n'],
    ['a lone character', decodeBase64, 'Q'],
    ['three pads', decodeBase64, 'Q==='],
    ['standard in base64url', decodeBase64Url, '+/+/'],
    ['padded base64url', decodeBase64Url, 'QQ=='],
    ['length 4n+1', decodeBase64Url, 'QUJDR'],
    ['whitespace in base64url', decodeBase64Url, 'QU JD'],
  ])('refuses %s', (_, decode, text) => {
    expect(decode(text)).toBeUndefined();
  });

  it('round-trips every length from 0 to 64 bytes, both flavours', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n * 7) & 0xff);
      expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(encodeBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
      expect(decodeBase64Url(encodeBase64Url(bytes))).toEqual(bytes);
    }
  });

  it('decodes (and refuses) 12 million characters without a RangeError: the length of one chunk of a 16 MiB MSL message', () => {
    const bytes = Buffer.alloc(9 * 1024 * 1024, 0xa5);
    const text = bytes.toString('base64');
    expect(text.length).toBeGreaterThan(12_000_000);
    expect(Buffer.from(decodeBase64(text)!).equals(bytes)).toBe(true);
    expect(decodeBase64(`${text.slice(0, -4)}Q===`)).toBeUndefined();
    expect(decodeBase64(`${text}QUJ`)).toBeUndefined();
    expect(decodeBase64(`${text.slice(0, 6_000_000)}-${text.slice(6_000_001)}`)).toBeUndefined();
  });

  it('UTF-8 decoding refuses invalid sequences instead of replacing them', () => {
    expect(fromUtf8(utf8('ESN-é'))).toBe('ESN-é');
    expect(fromUtf8(Uint8Array.from([0x7b, 0xff]))).toBeUndefined();
    expect(fromUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBeUndefined();
  });
});
