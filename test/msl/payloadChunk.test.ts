import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../electron/encoding/base64.js';
import { fromUtf8, utf8 } from '../../electron/encoding/bytes.js';
import type { MslCryptoContext } from '../../electron/msl/cryptoContext.js';
import { mslRefusal as refusal } from '../support/mslRefusal.js';
import { openPayloadChunk, type PayloadChunk, PayloadSequence, writePayloadChunk } from '../../electron/msl/payloadChunk.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { chunkKeys, decoded, type Direction, EXCHANGES, type Exchange, messageObjects, pskOf } from '../support/mslVectors.js';

const LIMITS = { maxInflated: 1024 * 1024 };
const b64 = (text: string): Uint8Array => decodeBase64(text)!;

/** The context MSL protected the captured message's chunks with (PSK or a master token's session keys). */
function contextFor(exchange: Exchange, direction: Direction): SymmetricCryptoContext {
  const { keyId, kpe, kph } = chunkKeys(exchange, direction);
  return new SymmetricCryptoContext(keyId, kpe, kph);
}

/** The decoded view's text, without its "...(N chars)" elision. */
const shownText = (text: string): string => text.replace(/\.\.\.\(\d+ chars\)$/, '');

const envelopeKeyId = (chunk: { payload: string }): string => JSON.parse(Buffer.from(chunk.payload, 'base64').toString()).keyid;

/** Opens and sequences a captured message's chunks; returns them and the sequence. */
function openCaptured(exchange: Exchange, direction: Direction): { chunks: PayloadChunk[]; sequence: PayloadSequence } {
  const [, ...chunkObjects] = messageObjects(exchange, direction);
  const sequence = new PayloadSequence(decoded(exchange, direction).headerdata?.messageid);
  const chunks = chunkObjects.map((json) => openPayloadChunk(json, contextFor(exchange, direction), LIMITS));
  for (const chunk of chunks) sequence.accept(chunk);
  return { chunks, sequence };
}

describe('payload chunks of MSL\'s captured messages', () => {
  it.each(['001', '005', '006', '008'] as const)('%s request (PSK-protected): every chunk verifies, decrypts and sequences to the decoded view', (exchange) => {
    const view = decoded(exchange, 'request');
    const { chunks, sequence } = openCaptured(exchange, 'request');
    expect(chunks).toHaveLength(view.payload_chunks?.length ?? 0);
    chunks.forEach((chunk, i) => {
      const want = view.payload_chunks[i];
      expect(envelopeKeyId(messageObjects(exchange, 'request')[i + 1])).toBe(view.entityauthdata.authdata.identity);
      expect(chunk.sequenceNumber).toBe(want.payload.sequencenumber);
      expect(chunk.messageId).toBe(want.payload.messageid);
      expect(chunk.endOfMessage).toBe(want.payload.endofmsg ?? false);
      expect(chunk.data.length).toBe(want.payload.data.len);
      expect(fromUtf8(chunk.data)!.startsWith(shownText(want.payload.data.text))).toBe(true);
    });
    expect(fromUtf8(sequence.finish())).toBe(chunks.map((c) => fromUtf8(c.data)).join(''));
    if (exchange === '006') {
      // The handshake: no payload chunk at all, an empty message body.
      expect(sequence.count).toBe(0);
      expect(sequence.finish().length).toBe(0);
    } else expect(sequence.endOfMessage).toBe(true);
  });

  it('008 request: the GZIP payload of MSL\'s client inflates to the 55,844-byte text, the same text MSL\'s LZW vector holds', () => {
    const { chunks } = openCaptured('008', 'request');
    expect(chunks[0]!.compression).toBe('GZIP');
    expect(chunks[0]!.data.length).toBe(55844);
    const text = fromUtf8(chunks[0]!.data)!;
    expect(text.startsWith(shownText(decoded('008', 'request').payload_chunks[0].payload.data.text))).toBe(true);
    expect(text.split(' ').every((w) => ['alpha', 'beta', 'gamma', 'delta', 'token', 'chunk', 'msl', ''].includes(w.trim()))).toBe(true);
  });

  for (const exchange of EXCHANGES) {
    for (const direction of ['request', 'response'] as const) {
      it(`${exchange} ${direction}: chunks open with the keys their envelopes name (PSK or a master token's session keys) and carry the decoded data`, () => {
        const view = decoded(exchange, direction);
        const { chunks } = openCaptured(exchange, direction);
        expect(chunks.map((c) => c.data.length)).toEqual((view.payload_chunks ?? []).map((c: any) => c.payload.data.len));
        expect(chunks.map((c) => fromUtf8(c.data)!.slice(0, 200))).toEqual((view.payload_chunks ?? []).map((c: any) => shownText(c.payload.data.text).slice(0, 200)));
        (view.payload_chunks ?? []).forEach((c: any, i: number) => expect(envelopeKeyId(messageObjects(exchange, direction)[i + 1])).toBe(c.envelope_keyid));
      });
    }
  }
});

describe('openPayloadChunk', () => {
  const ctx = new SymmetricCryptoContext('dev_0', new Uint8Array(16).fill(1), new Uint8Array(32).fill(2));
  const write = (over: Partial<PayloadChunk> = {}, context: MslCryptoContext = ctx): any =>
    JSON.parse(writePayloadChunk({ sequenceNumber: 1, messageId: 42, endOfMessage: false, data: utf8('hello'), ...over }, context));
  /** A chunk whose envelope plaintext is exactly `plaintext`, correctly encrypted and signed. */
  const withPlaintext = (plaintext: string): any => {
    const envelope = ctx.encrypt(utf8(plaintext));
    return { payload: encodeBase64(envelope), signature: encodeBase64(ctx.sign(envelope)) };
  };

  it('round-trips what writePayloadChunk writes, in MSL\'s shape (endofmsg only when true)', () => {
    const json = write({ endOfMessage: true });
    expect(Object.keys(json)).toEqual(['payload', 'signature']);
    const plain = JSON.parse(fromUtf8(ctx.decrypt(b64(json.payload)))!);
    expect(plain).toEqual({ sequencenumber: 1, messageid: 42, endofmsg: true, data: encodeBase64(utf8('hello')) });
    expect(JSON.parse(fromUtf8(ctx.decrypt(b64(write().payload)))!)).not.toHaveProperty('endofmsg');
    const chunk = openPayloadChunk(json, ctx, LIMITS);
    expect(chunk).toEqual({ sequenceNumber: 1, messageId: 42, endOfMessage: true, data: utf8('hello') });
  });

  it('compresses only when asked and smaller, and names the algorithm only then (MSL\'s rule)', () => {
    const big = utf8('token alpha beta '.repeat(500));
    for (const algo of ['GZIP', 'LZW'] as const) {
      const json = write({ data: big, compression: algo });
      const plain = JSON.parse(fromUtf8(ctx.decrypt(b64(json.payload)))!);
      expect(plain.compressionalgo).toBe(algo);
      expect(b64(plain.data).length).toBeLessThan(big.length);
      const chunk = openPayloadChunk(json, ctx, LIMITS);
      expect(chunk.compression).toBe(algo);
      expect(Buffer.from(chunk.data).equals(Buffer.from(big))).toBe(true);
    }
    const small = JSON.parse(fromUtf8(ctx.decrypt(b64(write({ data: utf8('hi'), compression: 'GZIP' }).payload)))!);
    expect(small).not.toHaveProperty('compressionalgo');
    expect(small.data).toBe(encodeBase64(utf8('hi')));
  });

  it('verifies the signature over the envelope bytes BEFORE decrypting: a flipped signature byte is PAYLOAD_VERIFICATION_FAILED and decrypt never runs', () => {
    const json = write();
    const sig = b64(json.signature);
    sig[5]! ^= 1;
    let decrypts = 0;
    const spy: MslCryptoContext = { encrypt: (p) => ctx.encrypt(p), sign: (d) => ctx.sign(d), verify: (d, s) => ctx.verify(d, s), decrypt: (e) => (decrypts++, ctx.decrypt(e)) };
    expect(refusal(() => openPayloadChunk({ ...json, signature: encodeBase64(sig) }, spy, LIMITS)).code).toBe('PAYLOAD_VERIFICATION_FAILED');
    // Garbage under a wrong signature: still the signature that is refused, not the envelope.
    expect(refusal(() => openPayloadChunk({ payload: encodeBase64(utf8('not an envelope')), signature: json.signature }, spy, LIMITS)).code).toBe('PAYLOAD_VERIFICATION_FAILED');
    expect(decrypts).toBe(0);
    // A flipped payload byte fails the signature too.
    const payload = b64(json.payload);
    payload[20]! ^= 1;
    expect(refusal(() => openPayloadChunk({ ...json, payload: encodeBase64(payload) }, ctx, LIMITS)).code).toBe('PAYLOAD_VERIFICATION_FAILED');
  });

  it('refuses a captured chunk under another entity\'s keys (client2\'s keys for client1\'s chunk)', () => {
    const [, chunk] = messageObjects('001', 'request');
    const { kpe, kph } = pskOf('client2');
    expect(refusal(() => openPayloadChunk(chunk, new SymmetricCryptoContext('client1', kpe, kph), LIMITS)).code).toBe('PAYLOAD_VERIFICATION_FAILED');
  });

  it('refuses an envelope naming another key id, even under the right keys (ENVELOPE_KEY_ID_MISMATCH)', () => {
    const other = new SymmetricCryptoContext('dev_1', new Uint8Array(16).fill(1), new Uint8Array(32).fill(2));
    expect(refusal(() => openPayloadChunk(write({}, other), ctx, LIMITS)).code).toBe('ENVELOPE_KEY_ID_MISMATCH');
  });

  it.each([
    ['url-safe Base64', (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_')],
    ['unpadded Base64', (s: string) => s.replace(/=+$/, '')],
    ['Base64 with a line break', (s: string) => `${s.slice(0, 8)}\n${s.slice(8)}`],
  ])('refuses %s in payload or signature as MSL_PARSE_ERROR', (_, mangle) => {
    // Find a chunk whose Base64 actually changes under the mangling.
    for (let i = 0; i < 64; i++) {
      const json = write({ sequenceNumber: i + 1 });
      for (const member of ['payload', 'signature'] as const) {
        if (mangle(json[member]) === json[member]) continue;
        expect(refusal(() => openPayloadChunk({ ...json, [member]: mangle(json[member]) }, ctx, LIMITS)).code).toBe('MSL_PARSE_ERROR');
        return;
      }
    }
    throw new Error('no chunk changed');
  });

  it.each([
    ['not an object', '[1]'],
    ['no payload', { signature: 'AA==' }],
    ['a numeric signature', { payload: 'AA==', signature: 1 }],
  ])('refuses a chunk object that is %s as MSL_PARSE_ERROR', (_, json) => {
    expect(refusal(() => openPayloadChunk(typeof json === 'string' ? JSON.parse(json) : json, ctx, LIMITS)).code).toBe('MSL_PARSE_ERROR');
  });

  it.each([
    ['not JSON', 'hello', 'MSL_PARSE_ERROR'],
    ['an array', '[]', 'MSL_PARSE_ERROR'],
    ['a duplicate member', '{"sequencenumber":1,"messageid":42,"data":"aGk=","data":"aGk="}', 'MSL_PARSE_ERROR'],
    ['no sequence number', '{"messageid":42,"data":"aGk="}', 'MSL_PARSE_ERROR'],
    ['a string sequence number', '{"sequencenumber":"1","messageid":42,"data":"aGk="}', 'MSL_PARSE_ERROR'],
    ['a fractional message id', '{"sequencenumber":1,"messageid":4.5,"data":"aGk="}', 'MSL_PARSE_ERROR'],
    ['a negative sequence number', '{"sequencenumber":-1,"messageid":42,"data":"aGk="}', 'PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE'],
    ['a sequence number over 2^53 - 1', '{"sequencenumber":9007199254740993,"messageid":42,"data":"aGk="}', 'PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE'],
    ['a message id over 2^53 - 1', '{"sequencenumber":1,"messageid":9007199254740992,"data":"aGk="}', 'PAYLOAD_MESSAGE_ID_OUT_OF_RANGE'],
    ['a string endofmsg', '{"sequencenumber":1,"messageid":42,"endofmsg":"true","data":"aGk="}', 'MSL_PARSE_ERROR'],
    ['an unknown compression', '{"sequencenumber":1,"messageid":42,"compressionalgo":"ZSTD","data":"aGk="}', 'UNIDENTIFIED_COMPRESSION'],
    ['a lowercase compression', '{"sequencenumber":1,"messageid":42,"compressionalgo":"gzip","data":"aGk="}', 'UNIDENTIFIED_COMPRESSION'],
    ['empty data without endofmsg', '{"sequencenumber":1,"messageid":42,"data":""}', 'PAYLOAD_DATA_MISSING'],
    ['no data', '{"sequencenumber":1,"messageid":42,"endofmsg":true}', 'MSL_PARSE_ERROR'],
    ['url-safe data', '{"sequencenumber":1,"messageid":42,"data":"-_8="}', 'MSL_PARSE_ERROR'],
    ['LZW garbage', '{"sequencenumber":1,"messageid":42,"compressionalgo":"LZW","data":"Qf+A"}', 'UNCOMPRESSION_ERROR'],
    ['GZIP garbage', '{"sequencenumber":1,"messageid":42,"compressionalgo":"GZIP","data":"H4sIAAAAAAAA"}', 'UNCOMPRESSION_ERROR'],
  ])('refuses a payload with %s (%s)', (_, plaintext, code) => {
    expect(refusal(() => openPayloadChunk(withPlaintext(plaintext), ctx, LIMITS)).code).toBe(code);
  });

  it('accepts empty data with endofmsg and the largest safe integers', () => {
    const chunk = openPayloadChunk(withPlaintext('{"sequencenumber":9007199254740991,"messageid":9007199254740991,"endofmsg":true,"data":""}'), ctx, LIMITS);
    expect(chunk).toEqual({ sequenceNumber: 2 ** 53 - 1, messageId: 2 ** 53 - 1, endOfMessage: true, data: new Uint8Array(0) });
  });

  it('inflates under maxInflated: a GZIP bomb in a chunk is UNCOMPRESSION_ERROR', () => {
    const bomb = encodeBase64(gzipSync(new Uint8Array(64 * 1024 * 1024)));
    expect(refusal(() => openPayloadChunk(withPlaintext(`{"sequencenumber":1,"messageid":42,"compressionalgo":"GZIP","data":"${bomb}"}`), ctx, LIMITS)).code).toBe('UNCOMPRESSION_ERROR');
    const json = write({ data: utf8('a'.repeat(5000)), compression: 'GZIP' });
    expect(openPayloadChunk(json, ctx, { maxInflated: 5000 }).data.length).toBe(5000);
    expect(refusal(() => openPayloadChunk(json, ctx, { maxInflated: 4999 })).code).toBe('UNCOMPRESSION_ERROR');
  });

  it('writePayloadChunk refuses our own out-of-range numbers as an internal error', () => {
    expect(refusal(() => write({ sequenceNumber: -1 })).code).toBe('INTERNAL_EXCEPTION');
    expect(refusal(() => write({ messageId: 2 ** 53 })).code).toBe('INTERNAL_EXCEPTION');
  });
});

describe('PayloadSequence', () => {
  const chunk = (sequenceNumber: number, over: Partial<PayloadChunk> = {}): PayloadChunk => ({ sequenceNumber, messageId: 7, endOfMessage: false, data: utf8(`part${sequenceNumber}`), ...over });

  it('accepts 1, 2, 3 … of its message and joins their data', () => {
    const s = new PayloadSequence(7);
    s.accept(chunk(1));
    s.accept(chunk(2));
    s.accept(chunk(3, { endOfMessage: true, data: new Uint8Array(0) }));
    expect(s.endOfMessage).toBe(true);
    expect(s.count).toBe(3);
    expect(fromUtf8(s.finish())).toBe('part1part2');
  });

  it('refuses a chunk out of sequence (PAYLOAD_SEQUENCE_NUMBER_MISMATCH): a gap, a repeat, a start at 0 or 2', () => {
    for (const order of [[1, 3], [1, 1], [0], [2], [1, 2, 2]]) {
      const s = new PayloadSequence(7);
      const last = order.pop()!;
      for (const n of order) s.accept(chunk(n));
      expect(refusal(() => s.accept(chunk(last))).code).toBe('PAYLOAD_SEQUENCE_NUMBER_MISMATCH');
    }
  });

  it('refuses a chunk naming another message id (PAYLOAD_MESSAGE_ID_MISMATCH)', () => {
    const s = new PayloadSequence(7);
    s.accept(chunk(1));
    expect(refusal(() => s.accept(chunk(2, { messageId: 8 }))).code).toBe('PAYLOAD_MESSAGE_ID_MISMATCH');
  });

  it('refuses anything after endofmsg (MESSAGE_FORMAT_ERROR, CHUNK_AFTER_END_OF_MESSAGE)', () => {
    const s = new PayloadSequence(7);
    s.accept(chunk(1, { endOfMessage: true }));
    expect(refusal(() => s.accept(chunk(2)))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'CHUNK_AFTER_END_OF_MESSAGE' });
    expect(refusal(() => s.accept(chunk(2, { endOfMessage: true, data: new Uint8Array(0) }))).code).toBe('MESSAGE_FORMAT_ERROR');
  });

  it('refuses empty data without endofmsg (PAYLOAD_DATA_MISSING)', () => {
    expect(refusal(() => new PayloadSequence(7).accept(chunk(1, { data: new Uint8Array(0) }))).code).toBe('PAYLOAD_DATA_MISSING');
  });

  it('a message whose chunks never say endofmsg ends at the end of its bytes, as in MSL\'s MessageInputStream', () => {
    const s = new PayloadSequence(7);
    s.accept(chunk(1));
    s.accept(chunk(2));
    expect(s.endOfMessage).toBe(false);
    expect(fromUtf8(s.finish())).toBe('part1part2');
  });

  it('a captured message cut after its first chunk (endofmsg never seen) still yields the first chunk\'s data', () => {
    const [, first] = messageObjects('001', 'request');
    const s = new PayloadSequence(decoded('001', 'request').headerdata.messageid);
    s.accept(openPayloadChunk(first, contextFor('001', 'request'), LIMITS));
    expect(fromUtf8(s.finish())).toBe('run A: hello via PSK handshake');
  });

  it('caps the total application data (MESSAGE_FORMAT_ERROR, PAYLOAD_TOO_LARGE)', () => {
    const s = new PayloadSequence(7, 12);
    s.accept(chunk(1));
    s.accept(chunk(2, { data: utf8('1234567') }));
    expect(refusal(() => s.accept(chunk(3)))).toEqual({ code: 'MESSAGE_FORMAT_ERROR', detail: 'PAYLOAD_TOO_LARGE' });
  });
});
