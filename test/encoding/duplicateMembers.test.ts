// Duplicate member names: JSON.parse keeps the last, MSL's parser (org.json)
// throws, and so do we, for requests, key responses and JWE headers alike.
import { describe, expect, it } from 'vitest';
import { MslErrorCode as C } from '../../electron/ladder/errors.js';
import { parseExchangeRequestJson, parseJson } from '../../electron/ladder/messages.js';
import { duplicateMember, MAX_JSON_DEPTH, nestsDeeperThan, parseStrictJson } from '../../electron/encoding/strictJson.js';
import { expectThrows } from '../ladder/helpers.js';

const PSK = '{"scheme":"JWE_LADDER","keydata":{"mechanism":"PSK"}}';

describe('duplicateMember', () => {
  it.each([
    ['the envelope', `{"identity":"A","keyrequestdata":${PSK},"identity":"B"}`, 'identity'],
    ['keyrequestdata', '{"identity":"A","keyrequestdata":{"scheme":"JWE_LADDER","scheme":"X","keydata":{"mechanism":"PSK"}}}', 'scheme'],
    ['keydata', '{"identity":"A","keyrequestdata":{"scheme":"JWE_LADDER","keydata":{"mechanism":"WRAP","mechanism":"PSK"}}}', 'mechanism'],
    ['a name written with an escape', `{"identity":"A","\\u0069dentity":"B","keyrequestdata":${PSK}}`, 'identity'],
    ['an object inside an array', '[1,{"a":1,"b":[{"c":1,"c":2}]}]', 'c'],
    ['after whitespace and newlines', '{ "a" : 1 ,\n "a" : 2 }', 'a'],
  ])('finds a repeated name in %s', (_, text, name) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(duplicateMember(text)).toBe(name);
  });

  it.each([
    ['the same name in sibling objects', '{"a":{"x":1},"b":{"x":2}}'],
    ['the same name at two depths', '{"x":{"x":{"x":1}}}'],
    ['a value equal to a name', '{"a":"a","b":"a"}'],
    ['names in string values, quotes and backslashes escaped', '{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"\\\\\\""}'],
    ['arrays of strings', '{"a":["a","a"],"b":[["a"],"a"]}'],
    ['empty containers', '{"a":{},"b":[],"c":[{}]}'],
    ['names that differ only by case', '{"a":1,"A":2}'],
  ])('passes %s', (_, text) => {
    expect(duplicateMember(text)).toBeUndefined();
    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('tells malformed text from a duplicate', () => {
    expect(parseStrictJson('{"a":')).toEqual({ ok: false, problem: 'malformed' });
    expect(parseStrictJson('{"a":1,"a":1}')).toEqual({ ok: false, problem: 'duplicate', member: 'a', offset: 7 });
  });
});

describe('requests and responses that name a member twice are MSL_PARSE_ERROR DUPLICATE_MEMBER', () => {
  it('a second identity is refused, not read as the last one (JSON.parse alone would answer for B)', () => {
    const text = `{"identity":"A","keyrequestdata":${PSK},"identity":"B"}`;
    expect((JSON.parse(text) as { identity: string }).identity).toBe('B');
    expectThrows(() => parseExchangeRequestJson(text), C.MSL_PARSE_ERROR, 'DUPLICATE_MEMBER');
  });

  it('a second wrapdata in WRAP keydata is refused', () => {
    const text = '{"identity":"A","keyrequestdata":{"scheme":"JWE_LADDER","keydata":{"mechanism":"WRAP","wrapdata":"AAAA","wrapdata":"BBBB"}}}';
    expectThrows(() => parseExchangeRequestJson(text), C.MSL_PARSE_ERROR, 'DUPLICATE_MEMBER');
  });

  it('a key response parsed by the requestor is held to the same rule', () => {
    expectThrows(() => parseJson('{"keyresponsedata":{"scheme":"JWE_LADDER","scheme":"JWE_LADDER"}}'), C.MSL_PARSE_ERROR, 'DUPLICATE_MEMBER');
  });

  it('the message names the member, printable and bounded, never the values', () => {
    try {
      parseExchangeRequestJson(`{"identity":"SECRET-VALUE","x\\u0000y":1,"x\\u0000y":2}`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe('The message names the member "x?y" twice.');
    }
  });
});

describe('nesting depth (issue 19 item 15)', () => {
  const nested = (depth: number) => `${'[{"a":'.repeat(depth / 2)}1${'}]'.repeat(depth / 2)}`;

  it('reads 64 levels, refuses 66 as too-deep before parsing, and 300,000 as fast', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(parseStrictJson(nested(64)).ok).toBe(true);
    expect(parseStrictJson(nested(66))).toEqual({ ok: false, problem: 'too-deep' });
    expect(parseStrictJson(`${'['.repeat(300_000)}${']'.repeat(300_000)}`)).toEqual({ ok: false, problem: 'too-deep' });
    expect(parseStrictJson(`{"a":${'{"a":'.repeat(300_000)}`)).toEqual({ ok: false, problem: 'too-deep' });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = `{"a":"${'['.repeat(100)}\\"${'{'.repeat(100)}","b":[1]}`;
    expect(JSON.parse(text)).toBeDefined();
    expect(nestsDeeperThan(text)).toBe(false);
    expect(parseStrictJson(text).ok).toBe(true);
  });

  it('many shallow containers are not deep', () => {
    expect(nestsDeeperThan(JSON.stringify(Array.from({ length: 1000 }, () => ({ a: [1] }))))).toBe(false);
  });
});
