// Whole messages: split, parse, header parsed structurally; payloads opened
// with the context the header calls for.
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../electron/encoding/bytes.js';
import { openHeader } from '../../electron/msl/header.js';
import { openPayloads, parseMessage, payloadChunkTexts, writeMessage } from '../../electron/msl/message.js';
import { decoded, EXCHANGES, messageBytes, summaryObjectCount } from '../support/mslVectors.js';
import { codeOf, contextFor, pskContext } from '../support/mslWire.js';

describe('parseMessage', () => {
  for (const n of EXCHANGES) {
    for (const d of ['request', 'response'] as const) {
      it(`${n} ${d}: one header and the captured number of chunks`, () => {
        const message = parseMessage(messageBytes(n, d));
        expect(message.header.kind).toBe(n === '005' && d === 'response' ? 'error' : 'message');
        expect(1 + message.chunks.length).toBe(summaryObjectCount(n, d));
      });
    }
  }

  it('refuses a header naming a member twice, an empty message, chunks after an error header, a header that is no header', () => {
    const text = Buffer.from(messageBytes('001', 'request')).toString('utf8');
    expect(codeOf(() => parseMessage(utf8(text.replace('{"headerdata"', '{"signature":"AAAA","headerdata"'))))).toBe('MSL_PARSE_ERROR');
    expect(codeOf(() => parseMessage(new Uint8Array(0)))).toBe('MESSAGE_DATA_MISSING');
    const error = Buffer.from(messageBytes('005', 'response')).toString('utf8').trim();
    expect(codeOf(() => parseMessage(utf8(`${error}{"payload":"AAAA","signature":"AAAA"}`)))).toBe('MESSAGE_FORMAT_ERROR');
    expect(codeOf(() => parseMessage(utf8('{"payload":"AAAA","signature":"AAAA"}')))).toBe('MSL_PARSE_ERROR');
  });

  it('writeMessage concatenates without separators', () => {
    expect(Buffer.from(writeMessage('{"a":1}', ['{"b":2}', '{"c":3}'])).toString()).toBe('{"a":1}{"b":2}{"c":3}');
  });
});

describe('openPayloads', () => {
  for (const n of EXCHANGES) {
    it(`${n} request: the payload chunks open under the header's context and carry the captured data`, () => {
      const { header, chunks } = parseMessage(messageBytes(n, 'request'));
      if (header.kind !== 'message') throw new Error('not a message header');
      const ctx = contextFor(header);
      const { messageId } = openHeader(header, ctx);
      const opened = openPayloads(chunks, ctx, messageId);
      const want = decoded(n, 'request').payload_chunks as Array<{ payload: { data: { len: number; text: string }; compressionalgo?: string } }>;
      expect(opened.chunks).toBe(want.length);
      expect(opened.compressed).toBe(want.some((c) => c.payload.compressionalgo !== undefined));
      expect(opened.data.length).toBe(want.reduce((sum, c) => sum + c.payload.data.len, 0));
      if (!opened.compressed) expect(Buffer.from(opened.data).toString()).toBe(want.map((c) => c.payload.data.text).join(''));
    });
  }

  it('refuses chunks naming another message, out of order, or under other keys', () => {
    const { header, chunks } = parseMessage(messageBytes('001', 'request'));
    if (header.kind !== 'message') throw new Error('not a message header');
    const ctx = contextFor(header);
    const { messageId } = openHeader(header, ctx);
    expect(codeOf(() => openPayloads(chunks, ctx, messageId + 1))).toBe('PAYLOAD_MESSAGE_ID_MISMATCH');
    expect(codeOf(() => openPayloads([...chunks].reverse(), ctx, messageId))).toBe('PAYLOAD_SEQUENCE_NUMBER_MISMATCH');
    expect(codeOf(() => openPayloads(chunks, pskContext('client2'), messageId))).toBe('PAYLOAD_VERIFICATION_FAILED');
  });

  it('payloadChunkTexts: one chunk ending the message (server style) or data then an empty end chunk (client style)', () => {
    const ctx = pskContext('client1');
    const one = payloadChunkTexts(utf8('hi'), ctx, 9);
    const two = payloadChunkTexts(utf8('hi'), ctx, 9, { separateEnd: true });
    expect([one.length, two.length]).toEqual([1, 2]);
    for (const texts of [one, two]) expect(openPayloads(texts.map((t) => JSON.parse(t)), ctx, 9)).toMatchObject({ data: utf8('hi'), chunks: texts.length });
  });
});
