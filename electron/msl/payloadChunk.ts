// MSL payload chunks (msg/PayloadChunk.java) and the order they must come in
// (msg/MessageInputStream.java).
//
//   {"payload": b64(v1 ciphertext envelope), "signature": b64(MAC over the envelope bytes)}
//   envelope plaintext: {"sequencenumber", "messageid", "endofmsg"?, "compressionalgo"?, "data": b64}
//
// The signature is checked over the decoded payload bytes before anything is
// decrypted or parsed (PAYLOAD_VERIFICATION_FAILED), as MSL does, so nothing
// unauthenticated reaches the cipher or the JSON parser. Compressed data is
// inflated under a cap (compression.ts).
//
// Integers are safe integers, 0 ≤ n ≤ 2^53 − 1. MSL allows 2^53 itself, but a
// JSON number above 2^53 − 1 is rounded by JSON.parse, so 2^53 and 2^53 + 1
// would read alike; one spelling per value matters more than that one value.

import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import { type Bytes, concatBytes, fromUtf8, utf8 } from '../encoding/bytes.js';
import { parseStrictJson } from '../encoding/strictJson.js';
import { type CompressionAlgorithm, compressIfSmaller, isCompressionAlgorithm, uncompress } from './compression.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { MslError, type MslErrorName } from './errors.js';

export interface PayloadChunk {
  readonly sequenceNumber: number;
  readonly messageId: number;
  readonly endOfMessage: boolean;
  /** The algorithm the sender compressed `data` with (already inflated here). */
  readonly compression?: CompressionAlgorithm;
  readonly data: Bytes;
}

export interface PayloadChunkLimits {
  /** The most bytes one chunk's compressed data may inflate to. */
  readonly maxInflated: number;
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const parseError = (detail: string): MslError => new MslError('MSL_PARSE_ERROR', detail);

function base64Member(obj: JsonObject, name: string): Bytes {
  const text = obj[name];
  const bytes = typeof text === 'string' ? decodeBase64(text) : undefined;
  if (bytes === undefined) throw parseError(`PAYLOAD_CHUNK_${name.toUpperCase()}`);
  return bytes;
}

const isMslInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function integerMember(obj: JsonObject, name: string, rangeCode: MslErrorName): number {
  const value = obj[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw parseError(`PAYLOAD_${name.toUpperCase()}`);
  if (!isMslInteger(value)) throw new MslError(rangeCode);
  return value;
}

/**
 * Verifies, decrypts and reads one payload chunk object (already parsed from
 * the message, reader.ts). Throws MslError: MSL_PARSE_ERROR (structure),
 * PAYLOAD_VERIFICATION_FAILED, the context's envelope and decryption errors,
 * PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE, PAYLOAD_MESSAGE_ID_OUT_OF_RANGE,
 * UNIDENTIFIED_COMPRESSION, PAYLOAD_DATA_MISSING, UNCOMPRESSION_ERROR.
 */
export function openPayloadChunk(json: unknown, ctx: MslCryptoContext, limits: PayloadChunkLimits): PayloadChunk {
  if (!isObject(json)) throw parseError('PAYLOAD_CHUNK_NOT_AN_OBJECT');
  const envelope = base64Member(json, 'payload');
  const signature = base64Member(json, 'signature');
  if (!ctx.verify(envelope, signature)) throw new MslError('PAYLOAD_VERIFICATION_FAILED');

  const plaintext = ctx.decrypt(envelope);
  const text = fromUtf8(plaintext);
  plaintext.fill(0);
  if (text === undefined) throw parseError('PAYLOAD_NOT_UTF8');
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw parseError(parsed.problem === 'duplicate' ? 'PAYLOAD_DUPLICATE_MEMBER' : 'PAYLOAD_NOT_JSON');
  const payload = parsed.value;
  if (!isObject(payload)) throw parseError('PAYLOAD_NOT_AN_OBJECT');

  const sequenceNumber = integerMember(payload, 'sequencenumber', 'PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE');
  const messageId = integerMember(payload, 'messageid', 'PAYLOAD_MESSAGE_ID_OUT_OF_RANGE');
  const endofmsg = payload.endofmsg ?? false;
  if (typeof endofmsg !== 'boolean') throw parseError('PAYLOAD_ENDOFMSG');
  const algo = payload.compressionalgo;
  if (algo !== undefined && typeof algo !== 'string') throw parseError('PAYLOAD_COMPRESSIONALGO');
  if (algo !== undefined && !isCompressionAlgorithm(algo)) throw new MslError('UNIDENTIFIED_COMPRESSION');
  const stored = base64Member(payload, 'data');
  if (stored.length === 0 && !endofmsg) throw new MslError('PAYLOAD_DATA_MISSING');

  const data = algo === undefined || stored.length === 0 ? stored : uncompress(algo, stored, limits.maxInflated);
  return { sequenceNumber, messageId, endOfMessage: endofmsg, ...(algo === undefined ? {} : { compression: algo }), data };
}

/**
 * The JSON text of one payload chunk, protected by `ctx`. With `compression`,
 * the data is compressed only when that is smaller (MSL's PayloadChunk rule),
 * and `compressionalgo` is written only then; `endofmsg` only when true, as
 * MSL writes it.
 */
export function writePayloadChunk(chunk: Omit<PayloadChunk, 'data'> & { readonly data: Uint8Array }, ctx: MslCryptoContext): string {
  // Our own numbers out of range are a bug of ours, never the peer's (MSL: MslInternalException).
  if (!isMslInteger(chunk.sequenceNumber)) throw new MslError('INTERNAL_EXCEPTION', 'PAYLOAD_SEQUENCE_NUMBER_OUT_OF_RANGE');
  if (!isMslInteger(chunk.messageId)) throw new MslError('INTERNAL_EXCEPTION', 'PAYLOAD_MESSAGE_ID_OUT_OF_RANGE');
  const compressed = chunk.compression === undefined ? undefined : compressIfSmaller(chunk.compression, chunk.data);
  const plaintext = utf8(
    JSON.stringify({
      sequencenumber: chunk.sequenceNumber,
      messageid: chunk.messageId,
      ...(chunk.endOfMessage ? { endofmsg: true } : {}),
      ...(compressed === undefined ? {} : { compressionalgo: chunk.compression }),
      data: encodeBase64(compressed ?? chunk.data),
    }),
  );
  const envelope = ctx.encrypt(plaintext);
  plaintext.fill(0);
  return JSON.stringify({ payload: encodeBase64(envelope), signature: encodeBase64(ctx.sign(envelope)) });
}

/**
 * The order of one message's payload chunks, as MSL's MessageInputStream
 * checks it: every chunk names the header's message id
 * (PAYLOAD_MESSAGE_ID_MISMATCH), sequence numbers run 1, 2, 3, …
 * (PAYLOAD_SEQUENCE_NUMBER_MISMATCH), data is empty only with endofmsg
 * (PAYLOAD_DATA_MISSING). MSL stops reading at endofmsg and ignores what
 * follows; we refuse a chunk after it (MESSAGE_FORMAT_ERROR,
 * CHUNK_AFTER_END_OF_MESSAGE), since an honest sender never writes one.
 * A message whose chunks never say endofmsg ends where its bytes end, as in
 * MSL (its reader treats the end of the stream as the end of the message),
 * and so does one with no chunks at all (a handshake).
 */
export class PayloadSequence {
  private next = 1;
  private ended = false;
  private readonly parts: Uint8Array[] = [];
  private total = 0;

  /** `maxData`: the most application bytes all chunks together may carry (MESSAGE_FORMAT_ERROR, PAYLOAD_TOO_LARGE). */
  constructor(
    readonly messageId: number,
    private readonly maxData: number = Number.MAX_SAFE_INTEGER,
  ) {}

  accept(chunk: PayloadChunk): void {
    if (this.ended) throw new MslError('MESSAGE_FORMAT_ERROR', 'CHUNK_AFTER_END_OF_MESSAGE');
    if (chunk.messageId !== this.messageId) throw new MslError('PAYLOAD_MESSAGE_ID_MISMATCH');
    if (chunk.sequenceNumber !== this.next) throw new MslError('PAYLOAD_SEQUENCE_NUMBER_MISMATCH');
    if (chunk.data.length === 0 && !chunk.endOfMessage) throw new MslError('PAYLOAD_DATA_MISSING');
    this.total += chunk.data.length;
    if (this.total > this.maxData) throw new MslError('MESSAGE_FORMAT_ERROR', 'PAYLOAD_TOO_LARGE');
    this.next++;
    this.ended = chunk.endOfMessage;
    this.parts.push(chunk.data);
  }

  /** Whether a chunk has said endofmsg (the message is complete either way at the end of its bytes). */
  get endOfMessage(): boolean {
    return this.ended;
  }

  /** The chunks accepted so far. */
  get count(): number {
    return this.next - 1;
  }

  /** The application data: every accepted chunk's data, in order. */
  finish(): Bytes {
    return concatBytes(...this.parts);
  }
}
