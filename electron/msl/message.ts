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
import { MslError } from './errors.js';
import { parseHeader, type ParsedHeader } from './header.js';
import { parseObject, splitMessage, type SplitLimits } from './reader.js';

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
