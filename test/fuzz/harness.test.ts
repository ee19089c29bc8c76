// The fuzz harness's own checks: its oracle flags what it must, and its
// mutations really mutate (so a quiet fuzz run means something).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LadderError, MslErrorCode } from '../../electron/ladder/errors.js';
import { ENCODERS } from '../../electron/jwe/encrypt.js';
import { applyByteOp, applyJsonOp, applyJweOp, applyReseal, applyTextOp, buildWorld, classify, FuzzViolation, jweTarget, responderTarget, responseTarget } from './harness.js';

describe('the oracle', () => {
  it('accepts LadderErrors with an MSL code and a stable reason, as CODE/REASON', () => {
    expect(classify(new LadderError(MslErrorCode.MSL_PARSE_ERROR, 'BAD_BASE64', 'x'))).toBe('MSL_PARSE_ERROR/BAD_BASE64');
  });

  it.each([
    ['a TypeError', new TypeError('cannot read properties of undefined')],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['a DOMException', new DOMException('bad', 'OperationError')],
    ['a string', 'oops'],
    ['undefined', undefined],
    ['a LadderError with an unknown code', new LadderError('NOT_A_CODE' as MslErrorCode, 'X', 'x')],
    ['a LadderError with an empty reason', new LadderError(MslErrorCode.MSL_PARSE_ERROR, '', 'x')],
    ['a LadderError with a lower-case reason', new LadderError(MslErrorCode.MSL_PARSE_ERROR, 'bad base64', 'x')],
    ['a LadderError with no message', new LadderError(MslErrorCode.MSL_PARSE_ERROR, 'X', '')],
  ])('flags %s as a violation', (_, thrown) => {
    expect(() => classify(thrown)).toThrow(FuzzViolation);
  });

  it('flags a responder that changes the key source, and a JWE target fed a forged success', async () => {
    const world = await buildWorld();
    const target = responderTarget(world);
    world.source.devices.get('FUZZ-ESN-1')!.kpw[0]! ^= 1;
    await expect(target.run({ text: '{}', profile: 'msl' })).rejects.toThrow(/key source changed/);
    world.source.devices.get('FUZZ-ESN-1')!.kpw[0]! ^= 1;
    await expect(target.run({ text: '{}', profile: 'msl' })).resolves.toBe('MSL_PARSE_ERROR/MISSING_IDENTITY');
    // A JWE genuinely sealed under a seed's key but holding a plaintext no seed holds: the oracle must call it out.
    const seed = world.jweSeeds[0]!;
    const kek = world.responseSeeds[0]!.members.wrapkey.kek;
    const forged = Buffer.from(ENCODERS[seed.profile].encrypt(kek, Buffer.from('{"not":"a seed"}'), randomBytes(16), randomBytes(12)), 'latin1');
    await expect(jweTarget(world).run({ bytes: forged, kekId: seed.kekId, profile: seed.profile })).rejects.toThrow(FuzzViolation);
  });

  it('flags a response whose resealed JWK the requestor should not have accepted (checked by an independent oracle)', async () => {
    const world = await buildWorld();
    const target = responseTarget(world);
    const seed = world.responseSeeds.findIndex((s) => s.profile === 'rfc7516');
    // A valid reseal (whitespace only) is fine…
    const ok = applyReseal(world.responseSeeds[seed]!.text, { k: 'reseal', member: 1, ops: [{ k: 'text', op: { k: 'ins', at: 1, text: ' ' } }], salt: 1 }, world.responseSeeds[seed]!);
    await expect(target.run({ seed, text: ok.text, resealed: { [ok.member!]: ok.plaintext! } })).resolves.toBe('ok-resealed');
    // …but claiming it held an extractable key must be caught, since the requestor accepted it.
    await expect(target.run({ seed, text: ok.text, resealed: { encryptionkey: ok.plaintext!.replace('"ext":false', '"ext":true') } })).rejects.toThrow(/extractable/);
  });
});

describe('the mutations', () => {
  it('byte ops flip, cut, delete, insert and set', () => {
    const b = Uint8Array.from([1, 2, 3, 4]);
    expect([...applyByteOp(b, { k: 'flip', at: 1, bit: 7 })]).toEqual([1, 130, 3, 4]);
    expect([...applyByteOp(b, { k: 'cut', at: 2 })]).toEqual([1, 2]);
    expect([...applyByteOp(b, { k: 'del', at: 1, len: 2 })]).toEqual([1, 4]);
    expect([...applyByteOp(b, { k: 'ins', at: 4, bytes: Uint8Array.from([9]) })]).toEqual([1, 2, 3, 4, 9]);
    expect([...applyByteOp(b, { k: 'set', at: 7, byte: 0 })]).toEqual([1, 2, 0, 4]);
  });

  it('text ops flip, cut, delete, insert and duplicate', () => {
    expect(applyTextOp('abcd', { k: 'flip', at: 0, bit: 0 })).toBe('`bcd');
    expect(applyTextOp('abcd', { k: 'cut', at: 3 })).toBe('abc');
    expect(applyTextOp('abcd', { k: 'del', at: 1, len: 1 })).toBe('acd');
    expect(applyTextOp('abcd', { k: 'ins', at: 2, text: 'XY' })).toBe('abXYcd');
    expect(applyTextOp('abcd', { k: 'dup', at: 1, len: 2 })).toBe('abcbcd');
  });

  it('JSON ops delete, set, add (even __proto__ as an own member), change strings and wrap values, at a path', () => {
    const text = JSON.stringify({ identity: 'E', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    expect(JSON.parse(applyJsonOp(text, { k: 'json', path: [0], action: { a: 'delete' } }))).toEqual({ keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    expect(JSON.parse(applyJsonOp(text, { k: 'json', path: [1, 1, 0], action: { a: 'set', value: 7 } })).keyrequestdata.keydata.mechanism).toBe(7);
    const polluted = applyJsonOp(text, { k: 'json', path: [1], action: { a: 'add', key: '__proto__', value: { scheme: 'X' } } });
    expect(polluted).toContain('"__proto__":{"scheme":"X"}');
    expect(Object.keys(JSON.parse(polluted).keyrequestdata)).toContain('__proto__');
    expect(JSON.parse(applyJsonOp(text, { k: 'json', path: [0], action: { a: 'string', ops: [{ k: 'ins', at: 0, text: 'Z' }] } })).identity).toBe('ZE');
    expect(JSON.parse(applyJsonOp(text, { k: 'json', path: [0], action: { a: 'wrap' } })).identity).toEqual(['E']);
    expect(applyJsonOp('not json', { k: 'json', path: [], action: { a: 'delete' } })).toBe('not json');
  });

  it('JWE ops reach inside a part (still canonical base64url) and graft parts between seeds, in both serializations', async () => {
    const world = await buildWorld();
    for (const seed of world.jweSeeds.slice(0, 1).concat(world.jweSeeds.filter((s) => s.profile === 'rfc7516').slice(0, 1))) {
      const inner = applyJweOp(seed.bytes, { k: 'inner', index: 4, ops: [{ k: 'flip', at: 0, bit: 0 }] }, world.jweSeeds);
      expect(Buffer.from(inner).equals(Buffer.from(seed.bytes))).toBe(false);
      expect(Buffer.from(inner)).toHaveLength(seed.bytes.length);
      const grafted = applyJweOp(seed.bytes, { k: 'graft', part: 3, from: 5 }, world.jweSeeds);
      expect(Buffer.from(grafted).equals(Buffer.from(seed.bytes))).toBe(false);
    }
  });
});
