// Reading a bulk import file (CSV with a header row, or JSON) into rows, each
// with its number in the file (NumberedRow), which every report uses.
//
// CSV columns: identity (required), group, kpe, kph, kpw (optional, hex).
// JSON: an array of {identity, group?, kpe?, kph?, kpw?}, or {"devices": [...]}.
// A row with no keys gets generated keys; kpe+kph derive Kpw; kpw alone is
// taken as is; kpe+kph+kpw must agree.

import { parse } from 'csv-parse/sync';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { jsonErrorOffset, lineAndColumn } from './jsonPosition.js';
import { readStrictJson } from './strictJsonInput.js';
import { parseIdentity } from '../ladder/messages.js';

export interface ImportRow {
  readonly identity?: unknown;
  readonly group?: unknown;
  readonly kpe?: unknown;
  readonly kph?: unknown;
  readonly kpw?: unknown;
}

const COLUMNS = ['identity', 'group', 'kpe', 'kph', 'kpw'];
export const MAX_IMPORT_ROWS = 1_000_000;

/**
 * What went wrong in a CSV file, without quoting it: csv-parse's own messages
 * quote the offending field ("value is ..."), which may be a key, and a file
 * without its header row makes the first row's keys the "column names".
 */
class HeaderError extends Error {
  constructor(readonly unknown: string[], readonly names: string[]) {
    super('bad header');
  }
}

/** A header of one column that holds another separator: the file is not comma-separated. */
function otherDelimiter(names: readonly string[]): string | undefined {
  if (names.length !== 1) return undefined;
  if (names[0]!.includes(';')) return 'semicolons (;)';
  if (names[0]!.includes('\t')) return 'tabs';
  if (names[0]!.includes('|')) return 'bars (|)';
  return undefined;
}

const PLAIN_NAME = /^[A-Za-z_]{1,16}$/;

function csvProblem(e: unknown, text: string, last: Last): string {
  if (e instanceof HeaderError) {
    const delimiter = otherDelimiter(e.names);
    if (delimiter) return `its first line is separated by ${delimiter}; KeyLadder reads comma-separated files only (identity,group,kpe,kph,kpw)`;
    if (!e.names.some((n) => COLUMNS.includes(n))) return `line 1 is no header row (it names none of the columns ${COLUMNS.join(', ')}); add the header row identity,group,kpe,kph,kpw (or the columns you use) as line 1`;
    const named = e.unknown.filter((n) => PLAIN_NAME.test(n));
    const others = e.unknown.length - named.length;
    const listed = [...named, ...(others > 0 ? [`${others} more not shown (is the header row missing?)`] : [])];
    return `columns must be ${COLUMNS.join(', ')}${listed.length ? `; unknown: ${listed.join(', ')}` : ''}`;
  }
  const { code, lines, empty_lines: emptyLines } = (e ?? {}) as { code?: unknown; lines?: unknown; empty_lines?: unknown };
  if (code === 'CSV_QUOTE_NOT_CLOSED') {
    const opened = unclosedQuoteLine(text);
    return opened === undefined ? 'a quoted field is never closed' : `the quote opened on line ${opened} is never closed`;
  }
  const row = typeof emptyLines === 'number' ? startLine(last, emptyLines) : typeof lines === 'number' ? lines : undefined;
  const where = row === undefined ? 'a row' : `the row on line ${row}`;
  switch (code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS':
    case 'CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH':
      return `${where} has another number of fields than the header row`;
    case 'CSV_INVALID_CLOSING_QUOTE':
    // csv-parse 7 reports a non-space character right after a closing quote (a no-break space too) so.
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `in ${where}, a quoted field goes on after its closing quote (write a quote inside a quoted field as two: "")`;
    case 'CSV_INVALID_OPENING_QUOTE':
    case 'INVALID_OPENING_QUOTE':
      return `in ${where}, a field that does not start with a quote holds one (put the field in quotes, and write its quote as two: "")`;
    default:
      return `${where} is not well-formed CSV${typeof code === 'string' ? ` (${code})` : ''}`;
  }
}

/** The line of the last quote left open in `text`, if one is (quotes inside a quoted field come in pairs). */
function unclosedQuoteLine(text: string): number | undefined {
  let open = -1;
  for (let k = text.indexOf('"'); k !== -1; k = text.indexOf('"', k + 1)) open = open === -1 ? k : -1;
  if (open === -1) return undefined;
  let line = 1;
  for (let k = text.indexOf('\n'); k !== -1 && k < open; k = text.indexOf('\n', k + 1)) line++;
  return line;
}

/** Where the previous record ended (csv-parse's line count) and how many empty lines it had skipped by then. */
interface Last {
  lines: number;
  emptyLines: number;
}

/**
 * The line a record starts on. csv-parse counts the line a record ends on,
 * and the empty lines it skipped: the record starts on the line after the
 * previous one ended, past the empty lines skipped since. Before the first
 * record, the header row is line 1.
 */
const startLine = (last: Last, emptyLines: number): number => last.lines + 1 + emptyLines - last.emptyLines;

/**
 * A row and where it is in the file: its line in a CSV file (the header is
 * line 1; a row with a quoted field over several lines is on the line it
 * starts on), or its 1-based position in a JSON array. Errors in the file
 * itself name lines the same way.
 */
export interface NumberedRow {
  readonly row: ImportRow;
  readonly number: number;
}

export function parseImportFile(text: string, format: 'csv' | 'json'): NumberedRow[] {
  let rows: unknown;
  let numbers: number[] | undefined;
  if (format === 'csv') {
    // The header row is line 1 (a file that starts with empty lines shifts it; csv-parse counts them at the first record).
    const last: Last = { lines: 1, emptyLines: 0 };
    try {
      rows = parse(text, {
        columns: (header: string[]) => {
          const names = header.map((h) => h.trim().toLowerCase());
          const unknown = names.filter((n) => !COLUMNS.includes(n));
          if (!names.includes('identity') || unknown.length > 0) throw new HeaderError(unknown, names);
          return names;
        },
        skip_empty_lines: true,
        trim: true,
        bom: true,
        on_record: (record: Record<string, string>, context: { lines: number; empty_lines: number }) => {
          const number = startLine(last, context.empty_lines);
          last.lines = context.lines;
          last.emptyLines = context.empty_lines;
          return { record, number };
        },
      });
    } catch (e) {
      throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, `The CSV file cannot be read: ${csvProblem(e, text, last)}. It needs a header row with identity and optionally group, kpe, kph, kpw.`);
    }
    const records = rows as Array<{ record: Record<string, string>; number: number }>;
    numbers = records.map((r) => r.number);
    rows = records.map((r) => Object.fromEntries(Object.entries(r.record).filter(([, v]) => v !== '')));
  } else {
    // A byte order mark, as editors on Windows save UTF-8, is no part of the JSON: JSON.parse refuses
    // it, and the error locator skips it and would say a valid file "ends too early". (CSV: bom above.)
    const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
    // Strictly, as requests are read: a member named twice is refused (DUPLICATE_MEMBER, with where), not
    // resolved to the last one; nesting beyond MAX_JSON_DEPTH is refused before the locator's recursion meets it.
    rows = readStrictJson(json, 'JSON file', () => {
      const at = jsonErrorOffset(json);
      const where = at === undefined ? '' : at >= json.length ? ': it ends too early' : (({ line, column }) => `: line ${line}, column ${column} cannot continue it`)(lineAndColumn(json, at));
      return new ServiceError(ServiceErrorCode.IMPORT_INVALID, `The JSON file is not valid JSON${where}.`);
    });
    if (rows && typeof rows === 'object' && !Array.isArray(rows) && Array.isArray((rows as { devices?: unknown }).devices)) rows = (rows as { devices: unknown[] }).devices;
    if (!Array.isArray(rows)) throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, 'The JSON file must be an array of devices, or {"devices": [...]}.');
  }
  const list = rows as unknown[];
  if (list.length > MAX_IMPORT_ROWS) throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, `Import at most ${MAX_IMPORT_ROWS} devices per file.`);
  return list.map((r, i) => ({ row: r && typeof r === 'object' && !Array.isArray(r) ? (r as ImportRow) : {}, number: numbers?.[i] ?? i + 1 }));
}

/**
 * An identity as a report shows it. A valid identity (1 to 256 printable
 * ASCII characters) is shown whole, as the store holds it, so that a row
 * refused as DEVICE_EXISTS names the device it collides with. Anything else
 * may hold a newline or a terminal escape that would break or forge the
 * report's lines: characters outside printable ASCII are escaped (\n,
 * \u001b), and a long one is cut at 80 characters.
 */
export function reportedIdentity(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    return parseIdentity(value);
  } catch {
    // Not an identity: escaped and cut below.
  }
  const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  const escaped = value.replace(/[^\x20-\x7e]/gu, (c) => NAMED[c] ?? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
  return escaped.length > 80 ? `${escaped.slice(0, 79)}…` : escaped;
}
