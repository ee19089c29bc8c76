// Whole messages: split, parse, header parsed structurally; payloads opened
// with the context the header calls for.
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../electron/encoding/bytes.js';
import { parseMessage, writeMessage } from '../../electron/msl/message.js';
import { EXCHANGES, messageBytes, summaryObjectCount } from '../support/mslVectors.js';
import { codeOf } from '../support/mslWire.js';

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
