// Every malformed field of a request, and every refusal of the responder, each
// with its MSL code and KeyLadder reason.
import { describe, expect, it } from 'vitest';
import { MslErrorCode as C } from '../../electron/ladder/errors.js';
import { MAX_IDENTITY_LENGTH, parseExchangeRequestJson, parseKeyRequestData } from '../../electron/ladder/messages.js';
import { LadderResponder } from '../../electron/ladder/responder.js';
import { MemoryKeySource } from '../support/memoryKeySource.js';
import { answer, expectThrows, ladder, requestJson } from './helpers.js';

const WRAPDATA = Buffer.alloc(33, 7).toString('base64');
const request = (keyrequestdata: unknown, identity: unknown = 'ESN-1') => JSON.stringify({ identity, keyrequestdata });
const withKeydata = (keydata: unknown, extra: Record<string, unknown> = {}) => request({ scheme: 'JWE_LADDER', keydata, ...extra });
const parse = (text: string) => () => parseExchangeRequestJson(text);

describe('the request parser refuses every malformed field', () => {
  it('accepts the three well-formed requests (the refusals below are not the parser refusing everything)', () => {
    expect(parseExchangeRequestJson(withKeydata({ mechanism: 'PSK' }))).toEqual({ identity: 'ESN-1', keyRequest: { mechanism: 'PSK' } });
    expect(parseExchangeRequestJson(withKeydata({ mechanism: 'MGK' }))).toEqual({ identity: 'ESN-1', keyRequest: { mechanism: 'MGK' } });
    const wrap = parseExchangeRequestJson(withKeydata({ mechanism: 'WRAP', wrapdata: WRAPDATA }));
    expect(wrap.keyRequest.mechanism).toBe('WRAP');
    expect(Buffer.from(wrap.keyRequest.wrapdata!).equals(Buffer.alloc(33, 7))).toBe(true);
  });

  describe('the envelope', () => {
    it.each([
      ['not JSON', '{"identity":', 'MALFORMED_JSON'],
      ['empty text', '', 'MALFORMED_JSON'],
      ['trailing garbage', `${withKeydata({ mechanism: 'PSK' })}x`, 'MALFORMED_JSON'],
      ['an array', '[]', 'NOT_AN_OBJECT'],
      ['null', 'null', 'NOT_AN_OBJECT'],
      ['a string', '"PSK"', 'NOT_AN_OBJECT'],
      ['a number', '42', 'NOT_AN_OBJECT'],
      ['an unknown member', JSON.stringify({ identity: 'ESN-1', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, extra: 1 }), 'UNKNOWN_MEMBER'],
      ['no keyrequestdata', JSON.stringify({ identity: 'ESN-1' }), 'MISSING_MEMBER'],
      ['keyrequestdata an array', request([]), 'NOT_AN_OBJECT'],
      ['keyrequestdata a string', request('JWE_LADDER'), 'NOT_AN_OBJECT'],
      ['keyrequestdata null', request(null), 'NOT_AN_OBJECT'],
    ])('%s: MSL_PARSE_ERROR %s', (_, text, reason) => expectThrows(parse(text), C.MSL_PARSE_ERROR, reason));
  });

  describe('the identity', () => {
    it.each([
      ['missing', JSON.stringify({ keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }), 'MISSING_IDENTITY'],
      ['a number', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 42), 'WRONG_TYPE'],
      ['null', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, null), 'WRONG_TYPE'],
      ['an array', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, ['ESN-1']), 'WRONG_TYPE'],
      ['empty', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, ''), 'BAD_IDENTITY'],
      ['with a space', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'ESN 1'), 'BAD_IDENTITY'],
      ['with a newline', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'ESN-1\n'), 'BAD_IDENTITY'],
      ['with a NUL', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'ESN\u00001'), 'BAD_IDENTITY'],
      ['non-ASCII', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'ESN-é'), 'BAD_IDENTITY'],
      ['too long', request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'E'.repeat(MAX_IDENTITY_LENGTH + 1)), 'BAD_IDENTITY'],
    ])('%s: MSL_PARSE_ERROR %s', (_, text, reason) => expectThrows(parse(text), C.MSL_PARSE_ERROR, reason));

    it('the longest identity allowed is accepted', () => {
      expect(parseExchangeRequestJson(request({ scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } }, 'E'.repeat(MAX_IDENTITY_LENGTH))).identity).toHaveLength(MAX_IDENTITY_LENGTH);
    });
  });

  describe('keyrequestdata and its scheme', () => {
    it.each([
      ['an unknown member', withKeydata({ mechanism: 'PSK' }, { extra: true }), 'UNKNOWN_MEMBER'],
      ['no scheme', request({ keydata: { mechanism: 'PSK' } }), 'MISSING_MEMBER'],
      ['scheme a number', request({ scheme: 1, keydata: { mechanism: 'PSK' } }), 'WRONG_TYPE'],
      ['no keydata', request({ scheme: 'JWE_LADDER' }), 'MISSING_MEMBER'],
      ['keydata an array', withKeydata([{ mechanism: 'PSK' }]), 'NOT_AN_OBJECT'],
      ['keydata a string', withKeydata('PSK'), 'NOT_AN_OBJECT'],
      ['keydata null', withKeydata(null), 'NOT_AN_OBJECT'],
    ])('%s: MSL_PARSE_ERROR %s', (_, text, reason) => expectThrows(parse(text), C.MSL_PARSE_ERROR, reason));

    it.each(['ASYMMETRIC_WRAPPED', 'jwe_ladder', 'JWK_LADDER', ''])('scheme "%s": UNSUPPORTED_KEYX_MECHANISM UNSUPPORTED_SCHEME', (scheme) =>
      expectThrows(parse(request({ scheme, keydata: { mechanism: 'PSK' } })), C.UNSUPPORTED_KEYX_MECHANISM, 'UNSUPPORTED_SCHEME'));
  });

  describe('the mechanism', () => {
    it.each([
      ['missing', {}, C.MSL_PARSE_ERROR, 'MISSING_MEMBER'],
      ['a number', { mechanism: 1 }, C.MSL_PARSE_ERROR, 'WRONG_TYPE'],
      ['null', { mechanism: null }, C.MSL_PARSE_ERROR, 'WRONG_TYPE'],
    ] as const)('%s: %s %s', (_, keydata, code, reason) => expectThrows(parse(withKeydata(keydata)), code, reason));

    it.each(['psk', 'Wrap', 'ASYMMETRIC', 'PSK ', '', 'MGK\u0000'])('"%s": UNIDENTIFIED_KEYX_MECHANISM UNKNOWN_MECHANISM', (mechanism) =>
      expectThrows(parse(withKeydata({ mechanism })), C.UNIDENTIFIED_KEYX_MECHANISM, 'UNKNOWN_MECHANISM'));

    it.each(['PSK', 'MGK'])('%s with wrapdata, or any other member: MSL_PARSE_ERROR UNKNOWN_MEMBER', (mechanism) => {
      expectThrows(parse(withKeydata({ mechanism, wrapdata: WRAPDATA })), C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER');
      expectThrows(parse(withKeydata({ mechanism, identity: 'x' })), C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER');
    });
  });

  describe('WRAP wrapdata', () => {
    it.each([
      ['missing', { mechanism: 'WRAP' }, C.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_MISSING'],
      ['empty', { mechanism: 'WRAP', wrapdata: '' }, C.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_EMPTY'],
      ['null', { mechanism: 'WRAP', wrapdata: null }, C.MSL_PARSE_ERROR, 'WRONG_TYPE'],
      ['a number', { mechanism: 'WRAP', wrapdata: 12 }, C.MSL_PARSE_ERROR, 'WRONG_TYPE'],
      ['an array of bytes', { mechanism: 'WRAP', wrapdata: [1, 2, 3] }, C.MSL_PARSE_ERROR, 'WRONG_TYPE'],
      ['an unknown member beside it', { mechanism: 'WRAP', wrapdata: WRAPDATA, kid: '1' }, C.MSL_PARSE_ERROR, 'UNKNOWN_MEMBER'],
      // 33 bytes of 0xfb spell "+/v7…" in standard Base64 and "-_v7…" in base64url.
      ['base64url', { mechanism: 'WRAP', wrapdata: Buffer.alloc(33, 0xfb).toString('base64url') }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['unpadded', { mechanism: 'WRAP', wrapdata: Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '') }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['non-canonical (stray bits before the padding)', { mechanism: 'WRAP', wrapdata: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=' }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['non-canonical (stray bits before ==)', { mechanism: 'WRAP', wrapdata: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB==' }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['with a line break', { mechanism: 'WRAP', wrapdata: `${WRAPDATA.slice(0, 20)}\n${WRAPDATA.slice(20)}` }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['with spaces', { mechanism: 'WRAP', wrapdata: ` ${WRAPDATA}` }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['too much padding', { mechanism: 'WRAP', wrapdata: `${WRAPDATA}==` }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['padding only', { mechanism: 'WRAP', wrapdata: '====' }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
      ['not Base64 at all', { mechanism: 'WRAP', wrapdata: 'wrapdata!' }, C.MSL_PARSE_ERROR, 'BAD_BASE64'],
    ] as const)('%s: %s %s', (_, keydata, code, reason) => expectThrows(parse(withKeydata(keydata)), code, reason));

    it('the same bytes spelt canonically are accepted (the refusals are about the spelling)', () => {
      expect(parseExchangeRequestJson(withKeydata({ mechanism: 'WRAP', wrapdata: Buffer.alloc(33, 0xfb).toString('base64') })).keyRequest.wrapdata).toHaveLength(33);
      expect(parseExchangeRequestJson(withKeydata({ mechanism: 'WRAP', wrapdata: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' })).keyRequest.wrapdata).toHaveLength(32);
    });
  });

  it('parseKeyRequestData alone (the keyrequestdata object as MSL carries it) refuses the same way', () => {
    expectThrows(() => parseKeyRequestData({ scheme: 'JWE_LADDER', keydata: { mechanism: 'WRAP' } }), C.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_MISSING');
    expectThrows(() => parseKeyRequestData({ scheme: 'JWE_LADDER', keydata: { mechanism: 'X' } }), C.UNIDENTIFIED_KEYX_MECHANISM, 'UNKNOWN_MECHANISM');
    expectThrows(() => parseKeyRequestData(undefined), C.MSL_PARSE_ERROR, 'NOT_AN_OBJECT');
  });
});

describe('the responder refuses', () => {
  it('unknown devices (PSK and MGK): ENTITY_NOT_FOUND DEVICE_UNKNOWN', () => {
    const l = ladder();
    for (const mechanism of ['PSK', 'MGK']) {
      expectThrows(() => answer(l, requestJson('ESN-NOBODY', { mechanism })), C.ENTITY_NOT_FOUND, 'DEVICE_UNKNOWN');
    }
  });

  it('revoked devices, for every mechanism, WRAP included: ENTITY_REVOKED DEVICE_REVOKED', () => {
    const l = ladder();
    const first = answer(l, requestJson(l.identity, { mechanism: 'PSK' }));
    const wrap = requestJson(l.identity, { mechanism: 'WRAP', wrapdata: first.keydata.wrapdata });
    expect(answer(l, wrap).mechanism).toBe('WRAP');
    l.source.devices.get(l.identity)!.revoked = true;
    for (const mechanism of ['PSK', 'MGK']) expectThrows(() => answer(l, requestJson(l.identity, { mechanism })), C.ENTITY_REVOKED, 'DEVICE_REVOKED');
    // The wrapdata it already holds does not let a revoked device keep climbing.
    expectThrows(() => answer(l, wrap), C.ENTITY_REVOKED, 'DEVICE_REVOKED');
  });

  it('WRAP asks identityStatus when the source has it, instead of unsealing a Kpw', () => {
    const l = ladder();
    const first = answer(l, requestJson(l.identity, { mechanism: 'PSK' }));
    const asked: string[] = [];
    const source = Object.assign(Object.create(l.source) as MemoryKeySource, {
      identityStatus: (identity: string) => (asked.push(identity), 'revoked' as const),
      wrappingKey: () => {
        throw new Error('wrappingKey must not be called for WRAP when identityStatus exists');
      },
    });
    expectThrows(() => new LadderResponder(source).respond(l.identity, { mechanism: 'WRAP', wrapdata: Buffer.from(first.keydata.wrapdata, 'base64') }), C.ENTITY_REVOKED, 'DEVICE_REVOKED');
    expect(asked).toEqual([l.identity]);
  });

  it('WRAP from an identity this responder does not hold is answered (a trusted peer holds only Kissuer), if the wrapdata is bound to it', () => {
    const l = ladder('keyladder-v1');
    const peer = new MemoryKeySource();
    peer.addIssuer(Buffer.from(l.kissuer), 'keyladder-v1');
    const first = answer(l, requestJson(l.identity, { mechanism: 'PSK' }));
    const result = new LadderResponder(peer).respond(l.identity, { mechanism: 'WRAP', wrapdata: Buffer.from(first.keydata.wrapdata, 'base64') });
    expect(result.openedGeneration).toBe(1);
  });

  it('MGK for a device in no model group: UNSUPPORTED_KEYX_MECHANISM NO_MODEL_GROUP', () => {
    const l = ladder();
    l.source.addDevice('ESN-LONER', Buffer.alloc(16, 3));
    expect(answer(l, requestJson('ESN-LONER', { mechanism: 'PSK' })).mechanism).toBe('PSK');
    expectThrows(() => answer(l, requestJson('ESN-LONER', { mechanism: 'MGK' })), C.UNSUPPORTED_KEYX_MECHANISM, 'NO_MODEL_GROUP');
    // A group name that names no group is no group either.
    l.source.addDevice('ESN-ORPHAN', Buffer.alloc(16, 3), 'NO-SUCH-GROUP');
    expectThrows(() => answer(l, requestJson('ESN-ORPHAN', { mechanism: 'MGK' })), C.UNSUPPORTED_KEYX_MECHANISM, 'NO_MODEL_GROUP');
  });

  it('WRAP without wrapdata, or with empty wrapdata, handed to respond() directly: KEYX_WRAPPING_KEY_MISSING', () => {
    const l = ladder();
    expectThrows(() => l.responder.respond(l.identity, { mechanism: 'WRAP' }), C.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_MISSING');
    expectThrows(() => l.responder.respond(l.identity, { mechanism: 'WRAP', wrapdata: new Uint8Array(0) }), C.KEYX_WRAPPING_KEY_MISSING, 'WRAPDATA_EMPTY');
  });

  it('a mechanism outside the three, handed to respond() directly: UNIDENTIFIED_KEYX_MECHANISM', () => {
    const l = ladder();
    expectThrows(() => l.responder.respond(l.identity, { mechanism: 'ASYMMETRIC' as 'PSK' }), C.UNIDENTIFIED_KEYX_MECHANISM, 'UNKNOWN_MECHANISM');
  });

  it('a JWE profile other than msl or rfc7516: UNSUPPORTED_KEYX_MECHANISM UNKNOWN_PROFILE', () => {
    const l = ladder();
    for (const profile of ['jose', 'MSL', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expectThrows(() => l.responder.respond(l.identity, { mechanism: 'PSK' }, { profile: profile as 'msl' }), C.UNSUPPORTED_KEYX_MECHANISM, 'UNKNOWN_PROFILE');
    }
  });

  it('anything, when no Kissuer generation is active: KEYX_RESPONDER_UNAVAILABLE NO_ACTIVE_ISSUER', () => {
    const l = ladder();
    l.source.setStatus(1, 'grace');
    expectThrows(() => answer(l, requestJson(l.identity, { mechanism: 'PSK' })), C.KEYX_RESPONDER_UNAVAILABLE, 'NO_ACTIVE_ISSUER');
  });

  it('keys of the wrong size from the source, instead of using AES-192/256 under an A128KW header', () => {
    const l = ladder();
    l.source.addDevice('ESN-LONGKEY', Buffer.alloc(32, 5));
    expectThrows(() => answer(l, requestJson('ESN-LONGKEY', { mechanism: 'PSK' })), C.KEYX_RESPONDER_UNAVAILABLE, 'WRAPPING_KEY_LENGTH');
    l.source.addIssuer(Buffer.alloc(24, 5));
    expectThrows(() => answer(l, requestJson(l.identity, { mechanism: 'PSK' })), C.KEYX_RESPONDER_UNAVAILABLE, 'ISSUER_KEY_LENGTH');
  });

  it('zeroes every key buffer the source handed it, on success and on failure', () => {
    const l = ladder();
    const handed: Buffer[] = [];
    const keep = <T extends { key?: Buffer } | undefined>(x: T): T => (x?.key && handed.push(x.key), x);
    const source = Object.assign(Object.create(l.source) as MemoryKeySource, {
      wrappingKey: (id: string, m: 'PSK' | 'MGK') => keep(l.source.wrappingKey(id, m) as { key?: Buffer }) as ReturnType<MemoryKeySource['wrappingKey']>,
      activeIssuer: () => keep(l.source.activeIssuer()),
      issuer: (g: number) => keep(l.source.issuer(g)),
    });
    const r = new LadderResponder(source);
    const first = r.respond(l.identity, { mechanism: 'PSK' });
    r.respond(l.identity, { mechanism: 'WRAP', wrapdata: Buffer.from(first.keydata.wrapdata, 'base64') });
    expect(() => r.respond(l.identity, { mechanism: 'WRAP', wrapdata: Buffer.alloc(33, 1) })).toThrow();
    expect(() => r.respond('ESN-NOBODY', { mechanism: 'PSK' })).toThrow();
    expect(handed.length).toBeGreaterThanOrEqual(7);
    for (const key of handed) expect(key.every((b) => b === 0)).toBe(true);
    // …and the source's own copies are untouched.
    expect(l.source.devices.get(l.identity)!.kpw.equals(l.kpw)).toBe(true);
    expect(l.source.generations[0]!.key.equals(l.kissuer)).toBe(true);
  });
});
