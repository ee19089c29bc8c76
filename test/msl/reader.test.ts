import { describe, expect, it } from 'vitest';
import { utf8 } from '../../electron/encoding/bytes.js';
import { mslRefusal as refusal } from '../support/mslRefusal.js';
import { MessageSplitter, parseObject, splitMessage } from '../../electron/msl/reader.js';
import { EXCHANGES, messageBytes, summaryObjectCount } from '../support/mslVectors.js';

const split = (text: string, limits = {}): string[] => splitMessage(utf8(text), limits);

/** The same message pushed in pieces of `size` bytes. */
function splitInPieces(bytes: Uint8Array, size: number, limits = {}): string[] {
  const splitter = new MessageSplitter(limits);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...splitter.push(bytes.subarray(i, i + size)));
  return [...out, ...splitter.end()];
}

describe('MessageSplitter on MSL\'s captured messages', () => {
  for (const exchange of EXCHANGES) {
    for (const direction of ['request', 'response'] as const) {
      it(`${exchange} ${direction}: as many objects as summary.txt says, each a JSON object, whole or fed byte by byte`, () => {
        const bytes = messageBytes(exchange, direction);
        const objects = splitMessage(bytes);
        expect(objects).toHaveLength(summaryObjectCount(exchange, direction));
        for (const text of objects) expect(typeof parseObject(text)).toBe('object');
        expect(objects.join('')).toBe(Buffer.from(bytes).toString('utf8').trim());
        expect(splitInPieces(bytes, 1)).toEqual(objects);
        expect(splitInPieces(bytes, 7)).toEqual(objects);
      });
    }
  }
});

describe('MessageSplitter', () => {
  it('splits concatenated objects, with or without whitespace between and after them', () => {
    expect(split('{"a":1}{"b":2}')).toEqual(['{"a":1}', '{"b":2}']);
    expect(split(' \r\n\t{"a":1}  \n{"b":[{},[]]}\n ')).toEqual(['{"a":1}', '{"b":[{},[]]}']);
  });

  it('does not count braces and brackets inside strings, nor escaped quotes', () => {
    const tricky = '{"a":"}{","b":"\\"}","c":"[[[","d":"\\\\"}';
    expect(split(tricky + '{"e":"]"}')).toEqual([tricky, '{"e":"]"}']);
    expect(JSON.parse(tricky)).toEqual({ a: '}{', b: '"}', c: '[[[', d: '\\' });
    // The same with every chunk boundary (an escape split from what it escapes, a quote first in a chunk).
    for (const size of [1, 2, 3, 4, 5, 6]) expect(splitInPieces(utf8(tricky + '{"e":"]"}'), size)).toEqual([tricky, '{"e":"]"}']);
  });

  it('keeps multi-byte UTF-8 split across chunks whole', () => {
    const bytes = utf8('{"name":"Zoë ✓ 🔑"}');
    expect(splitInPieces(bytes, 1)).toEqual(['{"name":"Zoë ✓ 🔑"}']);
  });

  it('refuses an empty or whitespace-only message as MESSAGE_DATA_MISSING', () => {
    expect(refusal(() => split('')).code).toBe('MESSAGE_DATA_MISSING');
    expect(refusal(() => split(' \n ')).code).toBe('MESSAGE_DATA_MISSING');
  });

  it.each([
    ['a top-level array', '[{"a":1}]', 'NOT_AN_OBJECT'],
    ['a top-level string', '"x"', 'NOT_AN_OBJECT'],
    ['a top-level number', '12', 'NOT_AN_OBJECT'],
    ['a byte-order mark', '\ufeff{"a":1}', 'NOT_AN_OBJECT'],
    ['garbage between objects', '{"a":1},{"b":2}', 'GARBAGE_BETWEEN_OBJECTS'],
    ['garbage appended', '{"a":1}x', 'GARBAGE_BETWEEN_OBJECTS'],
    ['a value appended', '{"a":1} 1', 'GARBAGE_BETWEEN_OBJECTS'],
    ['a truncated object', '{"a":1}{"b":', 'TRUNCATED'],
    ['a truncated string', '{"a":"}', 'TRUNCATED'],
    ['an object closed by a bracket', '{"a":1]', 'MISMATCHED_BRACKET'],
    ['an array closed by a brace', '{"a":[1}}', 'MISMATCHED_BRACKET'],
  ])('refuses %s as MESSAGE_FORMAT_ERROR', (_, text, detail) => {
    expect(refusal(() => split(text))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail });
  });

  it('refuses a truncated capture (the last chunk cut short) and one with garbage appended', () => {
    const bytes = messageBytes('001', 'request');
    expect(refusal(() => splitMessage(bytes.subarray(0, bytes.length - 10)))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'TRUNCATED' });
    expect(refusal(() => splitMessage(new Uint8Array([...bytes, 0x7d])))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'GARBAGE_BETWEEN_OBJECTS' });
  });

  it('refuses invalid UTF-8 inside an object', () => {
    expect(refusal(() => splitMessage(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'NOT_UTF8' });
  });

  it('accepts 64 levels of nesting and refuses 65 while scanning, arrays or objects (depth bombs)', () => {
    const nested = (levels: number): string => '{"a":' + '['.repeat(levels - 1) + ']'.repeat(levels - 1) + '}';
    expect(split(nested(64))).toHaveLength(1);
    expect(parseObject(split(nested(64))[0]!)).toBeTypeOf('object');
    expect(refusal(() => split(nested(65)))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'TOO_DEEP' });
    // A million open brackets, never closed: refused at the 65th, without buffering them all.
    const splitter = new MessageSplitter();
    expect(refusal(() => splitter.push(utf8('{' + '"a":{'.repeat(1_000_000))))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'TOO_DEEP' });
    // Brackets inside strings do not nest.
    expect(split('{"a":"' + '['.repeat(1000) + '"}')).toHaveLength(1);
  });

  it('refuses a 10 MB message over a 1 MiB cap as soon as the cap is crossed, before the end', () => {
    const splitter = new MessageSplitter({ maxMessageBytes: 1024 * 1024 });
    const piece = utf8('{"data":"' + 'A'.repeat(64 * 1024 - 12) + '"}');
    let pushed = 0;
    const error = refusal(() => {
      for (; pushed < 10 * 1024 * 1024; pushed += piece.length) splitter.push(piece);
    });
    expect(error).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'MESSAGE_TOO_LARGE' });
    expect(pushed).toBeLessThanOrEqual(1024 * 1024);
    // A failed splitter stays failed.
    expect(refusal(() => splitter.push(utf8(' ')))).toEqual(error);
    expect(refusal(() => splitter.end())).toEqual(error);
  });

  it('the default cap is 16 MiB', () => {
    expect(refusal(() => splitMessage(new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'MESSAGE_TOO_LARGE' });
  });

  it('refuses an object over maxObjectBytes, whole or across chunks, and more objects than maxObjects', () => {
    expect(split('{"a":"12345"}', { maxObjectBytes: 13 })).toHaveLength(1);
    expect(refusal(() => split('{"a":"123456"}', { maxObjectBytes: 13 }))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'OBJECT_TOO_LARGE' });
    expect(refusal(() => splitInPieces(utf8('{"a":"123456"}'), 3, { maxObjectBytes: 13 }))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'OBJECT_TOO_LARGE' });
    expect(refusal(() => splitInPieces(utf8('{"a":"' + 'x'.repeat(100)), 10, { maxObjectBytes: 50 }))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'OBJECT_TOO_LARGE' });
    expect(split('{}{}{}', { maxObjects: 3 })).toHaveLength(3);
    expect(refusal(() => split('{}{}{}{}', { maxObjects: 3 }))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'TOO_MANY_OBJECTS' });
  });

  it('returns each object as soon as its closing brace arrives', () => {
    const splitter = new MessageSplitter();
    expect(splitter.push(utf8('{"a":1}{"b"'))).toEqual(['{"a":1}']);
    expect(splitter.push(utf8(':2}'))).toEqual(['{"b":2}']);
    expect(splitter.end()).toEqual([]);
  });

  it('copies what it keeps: a caller reusing its buffer does not change an object in progress', () => {
    const splitter = new MessageSplitter();
    const buffer = utf8('{"a":"xy');
    splitter.push(buffer);
    buffer.fill(0x20);
    expect(splitter.push(utf8('z"}'))).toEqual(['{"a":"xyz"}']);
  });
});

describe('parseObject', () => {
  it('parses an object and refuses duplicates, non-objects and malformed text as MSL_PARSE_ERROR', () => {
    expect(parseObject('{"a":{"b":1}}')).toEqual({ a: { b: 1 } });
    expect(refusal(() => parseObject('{"a":1,"a":2}'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'DUPLICATE_MEMBER' });
    expect(refusal(() => parseObject('{"a":{"b":1,"\\u0062":2}}'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'DUPLICATE_MEMBER' });
    expect(refusal(() => parseObject('[1]'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'NOT_AN_OBJECT' });
    expect(refusal(() => parseObject('null'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'NOT_AN_OBJECT' });
    expect(refusal(() => parseObject('{"a":}'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'NOT_JSON' });
    expect(refusal(() => parseObject('{"a":"\u0001"}'))).toEqual({ code: 'MSL_PARSE_ERROR', detail: 'NOT_JSON' });
  });
});
