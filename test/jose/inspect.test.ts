// The inspector reads every serialization without a key and shows every
// part, each algorithm named with the table's verdict.
import { describe, expect, it } from 'vitest';
import { JoseRefusal } from '../../electron/jose/errors.js';
import { inspectJose } from '../../electron/jose/inspect.js';
import { joseVectors } from '../support/joseVectors.js';

const a = joseVectors('rfc7516-appendix-a.json');
const jws = joseVectors('rfc7520-jws.json');
const find = (file: typeof a, section: string, title = '') => file.vectors.find((v) => v.section === section && v.title.includes(title))!;

describe('inspectJose', () => {
  it('shows a general JWE: protected, shared and per-recipient headers, sizes, IV and tag, and each verdict', () => {
    const view = inspectJose(find(a, 'A.4').jwe!);
    expect(view).toEqual({
      type: 'jwe',
      serialization: 'json-general',
      protectedHeader: { enc: 'A128CBC-HS256' },
      sharedUnprotectedHeader: { jku: 'https://server.example.com/keys.jwks' },
      recipients: [
        { index: 0, header: { alg: 'RSA1_5', kid: '2011-04-29' }, alg: { name: 'RSA1_5', kind: 'key-management', supported: false, produced: false, reason: "PKCS#1 v1.5 padding invites Bleichenbacher's oracle, and jose 6 removed it" }, kid: '2011-04-29', encryptedKeyLength: 256 },
        { index: 1, header: { alg: 'A128KW', kid: '7' }, alg: { name: 'A128KW', kind: 'key-management', supported: true, produced: false }, kid: '7', encryptedKeyLength: 40 },
      ],
      enc: { name: 'A128CBC-HS256', kind: 'content-encryption', supported: true, produced: false },
      iv: { length: 16, hex: Buffer.from('AxY8DCtDaGlsbGljb3RoZQ', 'base64url').toString('hex') },
      ciphertextLength: 32,
      tag: { length: 16, hex: Buffer.from('Mz-VPPyU4RlcuYv1IwIvzw', 'base64url').toString('hex') },
    });
  });

  it('shows compact and flattened JWEs, with RSA-OAEP\'s migration warning', () => {
    const a1 = inspectJose(find(a, 'A.1').jwe!);
    expect(a1).toMatchObject({ type: 'jwe', serialization: 'compact', protectedHeader: { alg: 'RSA-OAEP', enc: 'A256GCM' }, iv: { hex: Buffer.from(find(a, 'A.1').iv_bytes as number[]).toString('hex') } });
    expect(a1.type === 'jwe' && a1.recipients[0]!.alg.warning).toContain('migration');
    expect(inspectJose(find(a, 'A.5').jwe!)).toMatchObject({ type: 'jwe', serialization: 'json-flattened', recipients: [{ kid: '7', alg: { name: 'A128KW' } }] });
  });

  it('shows a JWS payload and each signature\'s header and verdict', () => {
    const view = inspectJose(find(jws, '4.1, 4.3, 4.4').jws!);
    expect(view).toMatchObject({
      type: 'jws',
      serialization: 'json-general',
      payload: { text: find(jws, '4.4').plaintext },
      signatures: [
        { index: 0, protectedHeader: { alg: 'ES512' }, alg: { supported: false, reason: 'P-521 is outside the curves KeyLadder accepts (P-256, P-384)' }, signatureLength: 132 },
        { index: 1, protectedHeader: { alg: 'HS256' }, alg: { supported: true }, kid: '018c0ae5-4d9b-471b-bfd6-eef314bc7037', signatureLength: 32 },
      ],
    });
    expect(inspectJose(find(jws, '4.1', 'compact').jws!)).toMatchObject({ type: 'jws', serialization: 'compact' });
  });

  it('refuses a header naming a parameter twice, and text that is no JOSE object (PARSE)', () => {
    const dup = Buffer.from('{"alg":"A128KW","alg":"dir","enc":"A128GCM"}').toString('base64url');
    for (const input of [`${dup}.AA.AA.AA.AA`, '{"protected":"e30","ciphertext":"AA","iv":"AA","tag":"AA","iv":"AA"}', 'a.b.c.d', '{"neither":1}', new Uint8Array([0xff, 0xfe])]) {
      let error: unknown;
      try {
        inspectJose(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(JoseRefusal);
      expect((error as JoseRefusal).code).toBe('PARSE');
    }
  });
});
