// Reading a bulk import file (CSV with a header row, or JSON) into rows, each
// with its number in the file (NumberedRow), which every report uses.
//
// CSV columns: identity (required), group, kpe, kph, kpw (optional, hex).
// JSON: an array of {identity, group?, kpe?, kph?, kpw?}, or {"devices": [...]}.
// A row with no keys gets generated keys; kpe+kph derive Kpw; kpw alone is
// taken as is; kpe+kph+kpw must agree.

import { parse } from 'csv-parse/sync';
import { ServiceError, ServiceErrorCode } from './errors.js';

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

function csvProblem(e: unknown): string {
  if (e instanceof HeaderError) {
    const delimiter = otherDelimiter(e.names);
    if (delimiter) return `its first line is separated by ${delimiter}; KeyLadder reads comma-separated files only (identity,group,kpe,kph,kpw)`;
    if (!e.names.some((n) => COLUMNS.includes(n))) return `line 1 is no header row (it names none of the columns ${COLUMNS.join(', ')}); add the header row identity,group,kpe,kph,kpw (or the columns you use) as line 1`;
    const named = e.unknown.filter((n) => PLAIN_NAME.test(n));
    const others = e.unknown.length - named.length;
    const listed = [...named, ...(others > 0 ? [`${others} more not shown (is the header row missing?)`] : [])];
    return `columns must be ${COLUMNS.join(', ')}${listed.length ? `; unknown: ${listed.join(', ')}` : ''}`;
  }
  const { code, lines } = (e ?? {}) as { code?: unknown; lines?: unknown };
  const where = typeof lines === 'number' ? ` at line ${lines}` : '';
  return `${typeof code === 'string' ? code : 'malformed CSV'}${where}`;
}

/**
 * A row and where it is in the file: its line in a CSV file (the header is
 * line 1; a quoted field over several lines counts the line the row ends on),
 * or its 1-based position in a JSON array. csv-parse's own errors count lines
 * the same way.
 */
export interface NumberedRow {
  readonly row: ImportRow;
  readonly number: number;
}

export function parseImportFile(text: string, format: 'csv' | 'json'): NumberedRow[] {
  let rows: unknown;
  let numbers: number[] | undefined;
  if (format === 'csv') {
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
        info: true,
      });
    } catch (e) {
      throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, `The CSV file cannot be read: ${csvProblem(e)}. It needs a header row with identity and optionally group, kpe, kph, kpw.`);
    }
    const records = rows as Array<{ record: Record<string, string>; info: { lines: number } }>;
    numbers = records.map((r) => r.info.lines);
    rows = records.map((r) => Object.fromEntries(Object.entries(r.record).filter(([, v]) => v !== '')));
  } else {
    try {
      rows = JSON.parse(text);
    } catch {
      throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, 'The JSON file is not valid JSON.');
    }
    if (rows && typeof rows === 'object' && !Array.isArray(rows) && Array.isArray((rows as { devices?: unknown }).devices)) rows = (rows as { devices: unknown[] }).devices;
    if (!Array.isArray(rows)) throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, 'The JSON file must be an array of devices, or {"devices": [...]}.');
  }
  const list = rows as unknown[];
  if (list.length > MAX_IMPORT_ROWS) throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, `Import at most ${MAX_IMPORT_ROWS} devices per file.`);
  return list.map((r, i) => ({ row: r && typeof r === 'object' && !Array.isArray(r) ? (r as ImportRow) : {}, number: numbers?.[i] ?? i + 1 }));
}
