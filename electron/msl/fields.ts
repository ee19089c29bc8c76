// Reading MSL's JSON objects member by member, each failure an MslError with
// the code the calling structure gives (HEADER_DATA_INVALID for header data,
// MASTERTOKEN_TOKENDATA_PARSE_ERROR for token data, …) and a detail naming the
// member, never its value: values may be key material.
//
// Integers are safe integers (0 ≤ n ≤ 2^53 - 1). MSL allows 2^53 itself, but a
// JSON number above 2^53 - 1 is rounded by JSON.parse, so 2^53 and 2^53 + 1
// would read alike: one spelling per value matters more than one value.

import { decodeBase64 } from '../encoding/base64.js';
import { fromUtf8, type Bytes } from '../encoding/bytes.js';
import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';
import { MslError, type MslErrorName } from './errors.js';

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Echoes caller text into a detail only in a bounded, printable form. */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** Strict JSON text (no duplicate members, bounded depth) that must be an object. */
export function parseObjectText(text: string, code: MslErrorName, what: string): JsonObject {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) {
    const why = parsed.problem === 'duplicate' ? `names "${printable(parsed.member)}" twice` : parsed.problem === 'too-deep' ? `nests deeper than ${MAX_JSON_DEPTH}` : 'is not JSON';
    throw new MslError(code, `${what} ${why}`);
  }
  if (!isObject(parsed.value)) throw new MslError(code, `${what} is not a JSON object`);
  return parsed.value;
}

/** UTF-8 bytes holding a strict JSON object. */
export function parseObjectBytes(bytes: Uint8Array, code: MslErrorName, what: string): JsonObject {
  const text = fromUtf8(bytes);
  if (text === undefined) throw new MslError(code, `${what} is not UTF-8`);
  return parseObjectText(text, code, what);
}

/** Reads the members of one object, all failures under one code. */
export class Fields {
  constructor(
    readonly obj: JsonObject,
    readonly code: MslErrorName,
    readonly what: string,
  ) {}

  static of(value: unknown, code: MslErrorName, what: string): Fields {
    if (!isObject(value)) throw new MslError(code, `${what} is not a JSON object`);
    return new Fields(value, code, what);
  }

  fail(detail: string, code: MslErrorName = this.code): MslError {
    return new MslError(code, `${this.what}: ${detail}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  /** Refuses members outside `allowed` (names bounded in the detail). */
  only(allowed: readonly string[]): this {
    for (const key of Object.keys(this.obj)) if (!allowed.includes(key)) throw this.fail(`unknown member "${printable(key)}"`);
    return this;
  }

  private present(key: string): unknown {
    const value = this.obj[key];
    if (value === undefined) throw this.fail(`"${key}" is missing`);
    return value;
  }

  string(key: string): string {
    const value = this.present(key);
    if (typeof value !== 'string') throw this.fail(`"${key}" must be a string`);
    return value;
  }

  optString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  boolean(key: string): boolean {
    const value = this.present(key);
    if (typeof value !== 'boolean') throw this.fail(`"${key}" must be true or false`);
    return value;
  }

  optBoolean(key: string): boolean | undefined {
    return this.has(key) ? this.boolean(key) : undefined;
  }

  /** A safe integer ≥ 0; out of range is `rangeCode` (MSL has a code per field) or this code. */
  integer(key: string, rangeCode: MslErrorName = this.code): number {
    const value = this.present(key);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.fail(`"${key}" must be an integer`);
    if (value < 0 || !Number.isSafeInteger(value)) throw this.fail(`"${key}" is out of range`, rangeCode);
    return value;
  }

  optInteger(key: string, rangeCode?: MslErrorName): number | undefined {
    return this.has(key) ? this.integer(key, rangeCode) : undefined;
  }

  object(key: string): JsonObject {
    const value = this.present(key);
    if (!isObject(value)) throw this.fail(`"${key}" must be an object`);
    return value;
  }

  optObject(key: string): JsonObject | undefined {
    return this.has(key) ? this.object(key) : undefined;
  }

  array(key: string): unknown[] {
    const value = this.present(key);
    if (!Array.isArray(value)) throw this.fail(`"${key}" must be an array`);
    return value;
  }

  optArray(key: string): unknown[] | undefined {
    return this.has(key) ? this.array(key) : undefined;
  }

  /** Standard padded Base64, canonical only; `nonEmpty` refuses "" with `emptyCode`. */
  bytes(key: string, emptyCode?: MslErrorName): Bytes {
    const bytes = decodeBase64(this.string(key));
    if (bytes === undefined) throw this.fail(`"${key}" is not standard padded Base64`);
    if (emptyCode !== undefined && bytes.length === 0) throw this.fail(`"${key}" is empty`, emptyCode);
    return bytes;
  }

  /** An array of strings. */
  strings(key: string): string[] {
    const list = this.array(key);
    if (!list.every((s): s is string => typeof s === 'string')) throw this.fail(`"${key}" must hold strings only`);
    return list;
  }
}
