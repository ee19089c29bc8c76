// The msl profile, member for member against what Netflix's MSL wrote in the
// vectors: member names and order, Base64 flavours, lengths, header bytes. The
// vectors fix one exchange byte for byte (mslVectors.test.ts); these tests
// check that every exchange, with fresh random keys, keeps MSL's shape.
import { describe, expect, it } from 'vitest';
import type { WrapdataFormat } from '../../electron/ladder/wrapdata.js';
import { exchange1, exchange2, type ExchangeVector } from '../support/vectors.js';
import { answer, ladder, openMslJwe, requestJson, type Ladder } from './helpers.js';

const JWE_MEMBERS = ['wrapkey', 'encryptionkey', 'hmackey'] as const;
const STANDARD_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_UNPADDED = /^[A-Za-z0-9_-]+$/;

/** The JSON text with every string value emptied and every number zeroed: what is left is names, order, nesting and literals. */
const skeleton = (json: string): string => json.replace(/"((?:[^"\\]|\\.)*)"(?=[,}\]])/g, '""').replace(/:-?\d+/g, ':0');
const vectorJwe = (v: ExchangeVector, member: (typeof JWE_MEMBERS)[number]) => v['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'][member];

interface Exchange {
  readonly keydataJson: string;
  readonly keydata: Record<string, string>;
  readonly keks: Record<(typeof JWE_MEMBERS)[number], Buffer>;
}

function exchanges(format: WrapdataFormat): Exchange[] {
  const l: Ladder = ladder(format, `structure-${format}`);
  const out: Exchange[] = [];
  let wrapdata: string | undefined;
  let kprev = l.kpw;
  for (let rung = 0; rung < 4; rung++) {
    const result = answer(l, requestJson(l.identity, wrapdata ? { mechanism: 'WRAP', wrapdata } : { mechanism: 'PSK' }), { profile: 'msl' });
    const { kwrap } = l.random.lastKeys();
    out.push({ keydataJson: result.keydataJson, keydata: { ...result.keydata }, keks: { wrapkey: Buffer.from(kprev), encryptionkey: kwrap, hmackey: kwrap } });
    wrapdata = result.keydata.wrapdata;
    kprev = kwrap;
  }
  return out;
}

describe.each(['keyladder-v1', 'msl'] as const)('msl profile output (wrapdata %s) has MSL\'s structure', (format) => {
  const all = exchanges(format);
  const v1 = exchange1();

  it('keydata: the same members in the same order as MSL\'s JsonMslObject, no whitespace', () => {
    const vectorJson = v1['response_keydata_json_exact (MSL JsonMslObject encoding)'];
    for (const x of all) {
      expect(Object.keys(JSON.parse(x.keydataJson))).toEqual(Object.keys(JSON.parse(vectorJson)));
      expect(Object.keys(JSON.parse(x.keydataJson))).toEqual(['wrapdata', 'hmackey', 'encryptionkey', 'wrapkey']);
      expect(skeleton(x.keydataJson)).toBe(skeleton(vectorJson));
      expect(JSON.stringify(JSON.parse(x.keydataJson))).toBe(x.keydataJson);
    }
  });

  it('keydata values are standard Base64 with padding, canonical', () => {
    for (const x of all) {
      for (const [name, value] of Object.entries(x.keydata)) {
        expect(value, name).toMatch(STANDARD_PADDED);
        expect(Buffer.from(value, 'base64').toString('base64'), name).toBe(value);
      }
      expect(Buffer.from(x.keydata['wrapdata']!, 'base64')).toHaveLength(format === 'msl' ? 24 : 33);
    }
    // The vectors' JWEs happen to need padding; ours must pad the same way when the length calls for it.
    expect(all.some((x) => JWE_MEMBERS.some((m) => x.keydata[m]!.endsWith('=')))).toBe(true);
  });

  it('each JWE: MSL\'s JSON serialization, members and order, one recipient, unpadded base64url parts', () => {
    for (const x of all) {
      for (const member of JWE_MEMBERS) {
        const ours = Buffer.from(x.keydata[member]!, 'base64').toString('latin1');
        const msl = vectorJwe(v1, member).jwe_exact;
        expect(skeleton(ours)).toBe(skeleton(msl));
        const json = JSON.parse(ours) as Record<string, unknown>;
        expect(Object.keys(json)).toEqual(Object.keys(JSON.parse(msl)));
        expect(Object.keys(json)).toEqual(['ciphertext', 'recipients', 'initialization_vector']);
        const recipients = json['recipients'] as Record<string, string>[];
        expect(recipients).toHaveLength(1);
        expect(Object.keys(recipients[0]!)).toEqual(['integrity_value', 'encrypted_key', 'header']);
        for (const value of [json['ciphertext'], json['initialization_vector'], ...Object.values(recipients[0]!)]) {
          expect(value).toMatch(BASE64URL_UNPADDED);
        }
      }
    }
  });

  it('each JWE: header bytes identical to MSL\'s, 24-byte encrypted key, 12-byte IV, 16-byte tag, ciphertext as long as the plaintext', () => {
    for (const v of [exchange1(), exchange2()]) {
      for (const member of JWE_MEMBERS) {
        expect(vectorJwe(v, member).header_decoded).toBe('{"enc":"A128GCM","alg":"A128KW"}');
      }
    }
    const mslHeaderB64 = (JSON.parse(vectorJwe(v1, 'wrapkey').jwe_exact) as { recipients: { header: string }[] }).recipients[0]!.header;
    for (const x of all) {
      for (const member of JWE_MEMBERS) {
        const text = Buffer.from(x.keydata[member]!, 'base64').toString('latin1');
        const parts = openMslJwe(text, x.keks[member]);
        expect(parts.recipient['header']).toBe(mslHeaderB64);
        expect(parts.header).toBe(vectorJwe(v1, member).header_decoded);
        expect(parts.encryptedKey).toHaveLength(24);
        expect(parts.iv).toHaveLength(12);
        expect(parts.tag).toHaveLength(16);
        expect(parts.ciphertext).toHaveLength(parts.plaintext.length);
      }
    }
  });

  it('each plaintext: a JWK as MSL writes it (kty, use, extractable, kid on wrap only, k, alg)', () => {
    const expected = { wrapkey: ['wrap', 'A128KW', 16], encryptionkey: ['enc', 'A128CBC', 16], hmackey: ['sig', 'HS256', 32] } as const;
    for (const x of all) {
      for (const member of JWE_MEMBERS) {
        const plaintext = openMslJwe(Buffer.from(x.keydata[member]!, 'base64').toString('latin1'), x.keks[member]).plaintext.toString('latin1');
        const msl = vectorJwe(v1, member).plaintext_jwk_exact;
        expect(skeleton(plaintext)).toBe(skeleton(msl));
        const jwk = JSON.parse(plaintext) as Record<string, unknown>;
        expect(Object.keys(jwk)).toEqual(Object.keys(JSON.parse(msl)));
        expect(Object.keys(jwk)).toEqual(member === 'wrapkey' ? ['kty', 'use', 'extractable', 'kid', 'k', 'alg'] : ['kty', 'use', 'extractable', 'k', 'alg']);
        const [use, alg, length] = expected[member];
        expect(jwk).toMatchObject({ kty: 'oct', use, extractable: false, alg });
        expect(jwk['k']).toMatch(BASE64URL_UNPADDED);
        expect(Buffer.from(jwk['k'] as string, 'base64url')).toHaveLength(length);
        if (member === 'wrapkey') {
          // A Java long, in decimal, as MSL's kid.
          expect(jwk['kid']).toMatch(/^-?[1-9]\d*$|^0$/);
          const kid = BigInt(jwk['kid'] as string);
          expect(kid >= -(2n ** 63n) && kid < 2n ** 63n).toBe(true);
        }
      }
    }
  });

  it('each plaintext is the key the responder issued, under the key the device holds', () => {
    // The wrapkey JWE is sealed under the previous rung's key, the other two under the new Kwrap.
    for (let i = 1; i < all.length; i++) {
      const kwrapJwk = JSON.parse(openMslJwe(Buffer.from(all[i - 1]!.keydata['wrapkey']!, 'base64').toString('latin1'), all[i - 1]!.keks.wrapkey).plaintext.toString()) as { k: string };
      expect(Buffer.from(kwrapJwk.k, 'base64url').equals(all[i]!.keks.wrapkey)).toBe(true);
      // …and under no other key (here: the rung before's).
      expect(() => openMslJwe(Buffer.from(all[i]!.keydata['wrapkey']!, 'base64').toString('latin1'), all[i - 1]!.keks.wrapkey)).toThrow();
    }
  });
});
