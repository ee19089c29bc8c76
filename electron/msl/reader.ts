// The bounded, streaming splitter of an MSL message into its top-level JSON
// objects: one header (or error header) and then payload chunks, concatenated
// with no separator (MSL's MessageInputStream reads them one after the other
// with its JSON tokenizer). Whitespace between and after the objects is
// allowed, as MSL's tokenizer skips it.
//
// It works on bytes as they arrive, so a responder can refuse a message the
// moment it goes over a cap instead of after buffering it: every JSON
// structural character is ASCII, and no byte of a multi-byte UTF-8 sequence
// is below 0x80, so scanning bytes finds the same boundaries as scanning
// characters. Each finished object is then decoded as strict UTF-8.
//
// It tracks strings and escapes, so a brace or bracket inside a string does
// not count, and keeps the stack of open brackets, so an object ends exactly
// where its own closing brace is. Nesting deeper than MAX_JSON_DEPTH (the
// limit parseStrictJson applies to every JSON text of ours) is refused while
// scanning, so the depth bomb never reaches a parser.
//
// Refusals (all MslError, one per message: a failed splitter stays failed):
// - nothing but whitespace, or nothing at all: MESSAGE_DATA_MISSING;
// - a top-level value that is not an object, bytes between or after the
//   objects that are not whitespace, a bracket closed by the other kind, a
//   truncated last object, invalid UTF-8, too deep: MESSAGE_FORMAT_ERROR with
//   a detail naming which;
// - over a cap: MESSAGE_FORMAT_ERROR with detail MESSAGE_TOO_LARGE,
//   OBJECT_TOO_LARGE or TOO_MANY_OBJECTS. MSL has no error of its own for an
//   oversized message (its reader has no cap); the client acts on the response
//   code, which is FAIL either way, and the detail says which cap it was.

import { concatBytes, fromUtf8 } from '../encoding/bytes.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';
import { MslError } from './errors.js';

export interface SplitLimits {
  /** All bytes of the message, whitespace included. */
  readonly maxMessageBytes: number;
  /** One object's bytes, from its `{` to its `}`. */
  readonly maxObjectBytes: number;
  /** The header plus payload chunks. */
  readonly maxObjects: number;
}

export const DEFAULT_SPLIT_LIMITS: SplitLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxObjectBytes: 16 * 1024 * 1024,
  maxObjects: 4096,
};

const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const QUOTE = 0x22, BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;

/** Where `byte` next occurs in `chunk` from `from`, or the chunk's length. */
function indexOrEnd(chunk: Uint8Array, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
}

const isWhitespace = (b: number): boolean => b === SPACE || b === LF || b === CR || b === TAB;

const formatError = (detail: string): MslError => new MslError('MESSAGE_FORMAT_ERROR', detail);

export class MessageSplitter {
  private readonly limits: SplitLimits;
  private total = 0;
  private objects = 0;
  /** Open brackets of the current object (its own `{` at index 0); empty between objects. */
  private readonly open = new Uint8Array(MAX_JSON_DEPTH + 1);
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The current object's bytes from earlier chunks (copied: the caller may reuse its buffers). */
  private pieces: Uint8Array[] = [];
  private objectBytes = 0;
  private failure: MslError | undefined;
  private ended = false;

  constructor(limits: Partial<SplitLimits> = {}) {
    this.limits = { ...DEFAULT_SPLIT_LIMITS, ...limits };
  }

  /** Scans `chunk`; returns the text of each object it completes. */
  push(chunk: Uint8Array): string[] {
    this.usable();
    try {
      return this.scan(chunk);
    } catch (e) {
      this.pieces = [];
      if (e instanceof MslError) this.failure = e;
      throw e;
    }
  }

  /** The message is complete: refuses a truncated object or an empty message. */
  end(): string[] {
    this.usable();
    this.ended = true;
    this.pieces = [];
    if (this.depth > 0) throw (this.failure = formatError('TRUNCATED'));
    if (this.objects === 0) throw (this.failure = new MslError('MESSAGE_DATA_MISSING'));
    return [];
  }

  private usable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error('MessageSplitter: used after end()');
  }

  private scan(chunk: Uint8Array): string[] {
    this.total += chunk.length;
    if (this.total > this.limits.maxMessageBytes) throw formatError('MESSAGE_TOO_LARGE');
    const done: string[] = [];
    /** Where the current object starts in this chunk (0 when it began in an earlier one). */
    let start = 0;
    let nextQuote = -1;
    let nextBackslash = -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (isWhitespace(b)) continue;
        if (b !== OPEN_OBJECT) throw formatError(this.objects === 0 ? 'NOT_AN_OBJECT' : 'GARBAGE_BETWEEN_OBJECTS');
        if (this.objects === this.limits.maxObjects) throw formatError('TOO_MANY_OBJECTS');
        this.open[0] = OPEN_OBJECT;
        this.depth = 1;
        start = i;
        this.objectBytes = 0;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        else {
          // Inside a string only a quote or a backslash matters: jump to the
          // next one (native indexOf; each is searched again only once passed,
          // so a chunk costs one search per quote and per backslash).
          if (nextQuote < i) nextQuote = indexOrEnd(chunk, QUOTE, i);
          if (nextBackslash < i) nextBackslash = indexOrEnd(chunk, BACKSLASH, i);
          i = Math.min(nextQuote, nextBackslash) - 1;
        }
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (this.depth === MAX_JSON_DEPTH) throw formatError('TOO_DEEP');
        this.open[this.depth++] = b;
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.open[--this.depth] !== (b === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY)) throw formatError('MISMATCHED_BRACKET');
        if (this.depth === 0) {
          if (this.objectBytes + (i + 1 - start) > this.limits.maxObjectBytes) throw formatError('OBJECT_TOO_LARGE');
          done.push(this.finish(chunk.subarray(start, i + 1)));
        }
      }
    }
    if (this.depth > 0) {
      // The object goes on in the next chunk: keep what this one holds of it.
      const tail = chunk.slice(start);
      this.objectBytes += tail.length;
      if (this.objectBytes > this.limits.maxObjectBytes) throw formatError('OBJECT_TOO_LARGE');
      this.pieces.push(tail);
    }
    return done;
  }

  private finish(last: Uint8Array): string {
    const bytes = this.pieces.length === 0 ? last : concatBytes(...this.pieces, last);
    this.pieces = [];
    this.objectBytes = 0;
    this.objects++;
    const text = fromUtf8(bytes);
    if (text === undefined) throw formatError('NOT_UTF8');
    return text;
  }
}

/** The top-level objects of a whole message, as text. */
export function splitMessage(bytes: Uint8Array, limits: Partial<SplitLimits> = {}): string[] {
  const splitter = new MessageSplitter(limits);
  return [...splitter.push(bytes), ...splitter.end()];
}

/**
 * Parses one object's text strictly (parseStrictJson: duplicate members and
 * depth bombs refused); anything that is not a JSON object is MSL_PARSE_ERROR.
 */
export function parseObject(text: string): Record<string, unknown> {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw new MslError('MSL_PARSE_ERROR', parsed.problem === 'duplicate' ? 'DUPLICATE_MEMBER' : parsed.problem === 'too-deep' ? 'TOO_DEEP' : 'NOT_JSON');
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MslError('MSL_PARSE_ERROR', 'NOT_AN_OBJECT');
  return value as Record<string, unknown>;
}
