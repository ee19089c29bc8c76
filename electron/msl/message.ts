// A whole MSL message: one header (or error header) object followed by
// payload chunk objects, concatenated (MSL's MessageInputStream and
// MessageOutputStream).
//
// parseMessage is structure only: the splitter (reader.ts) bounds the bytes
// and the nesting, each object is parsed strictly, the header is parsed
// structurally (header.ts) and the chunks are left as parsed JSON. The
// responder then looks up the keys for the header, opens it (openHeader), and
// opens the payloads with the right context (openPayloads). An error header
// carries no payload chunks (MSL's ErrorHeader ends the message).

import { concatBytes, utf8, type Bytes } from '../encoding/bytes.js';
import type { CompressionAlgorithm } from './compression.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { MslError } from './errors.js';
import { parseHeader, type ParsedHeader } from './header.js';
import { openPayloadChunk, PayloadSequence, writePayloadChunk } from './payloadChunk.js';
import { parseObject, splitMessage, type SplitLimits } from './reader.js';

export type Compression = CompressionAlgorithm;

export interface ParsedMessage {
  readonly header: ParsedHeader;
  /** The payload chunk objects, parsed JSON, in order. */
  readonly chunks: readonly Record<string, unknown>[];
}

export function parseMessage(bytes: Uint8Array, limits: Partial<SplitLimits> = {}): ParsedMessage {
  const [headerText, ...chunkTexts] = splitMessage(bytes, limits);
  if (headerText === undefined) throw new MslError('MESSAGE_DATA_MISSING');
  const header = parseHeader(parseObject(headerText));
  if (header.kind === 'error' && chunkTexts.length > 0) throw new MslError('MESSAGE_FORMAT_ERROR', 'payload chunks after an error header');
  return { header, chunks: chunkTexts.map(parseObject) };
}

/** The bytes of a message: the header's JSON text, then each chunk's, with no separator (as MSL writes them). */
export function writeMessage(headerText: string, chunkTexts: readonly string[] = []): Bytes {
  return concatBytes(utf8(headerText), ...chunkTexts.map(utf8));
}

export interface PayloadLimits {
  /** The most bytes one chunk's compressed data may inflate to. */
  readonly maxInflated: number;
  /** The most application bytes all chunks together may carry. */
  readonly maxData: number;
}

export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = { maxInflated: 16 * 1024 * 1024, maxData: 16 * 1024 * 1024 };

export interface OpenedPayloads {
  readonly data: Bytes;
  readonly chunks: number;
  /** Whether any chunk was compressed. */
  readonly compressed: boolean;
}

/**
 * Verifies, decrypts and orders a message's payload chunks under `ctx` (the
 * header's context, or the new session keys when the message carries a key
 * response), all naming `messageId`.
 */
export function openPayloads(chunks: readonly unknown[], ctx: MslCryptoContext, messageId: number, limits: Partial<PayloadLimits> = {}): OpenedPayloads {
  const { maxInflated, maxData } = { ...DEFAULT_PAYLOAD_LIMITS, ...limits };
  const sequence = new PayloadSequence(messageId, maxData);
  let compressed = false;
  for (const json of chunks) {
    const chunk = openPayloadChunk(json, ctx, { maxInflated });
    compressed ||= chunk.compression !== undefined;
    sequence.accept(chunk);
  }
  return { data: sequence.finish(), chunks: sequence.count, compressed };
}

export interface PayloadWriteOptions {
  /** Compress with this algorithm when that is smaller. */
  readonly compression?: Compression;
  /**
   * End the message with an empty chunk of its own, as MSL's client does
   * (vector 001's request), rather than with endofmsg on the data chunk, as
   * MSL's server does (its response).
   */
  readonly separateEnd?: boolean;
}

/** The payload chunks' JSON texts carrying `data` under `ctx`. */
export function payloadChunkTexts(data: Uint8Array, ctx: MslCryptoContext, messageId: number, options: PayloadWriteOptions = {}): string[] {
  const compression = options.compression === undefined ? {} : { compression: options.compression };
  if (options.separateEnd && data.length > 0) {
    return [
      writePayloadChunk({ sequenceNumber: 1, messageId, endOfMessage: false, ...compression, data }, ctx),
      writePayloadChunk({ sequenceNumber: 2, messageId, endOfMessage: true, data: new Uint8Array(0) }, ctx),
    ];
  }
  return [writePayloadChunk({ sequenceNumber: 1, messageId, endOfMessage: true, ...compression, data }, ctx)];
}
