// Reading a bulk import file (CSV with a header row, or JSON) into rows.
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
  constructor(readonly unknown: string[]) {
    super('bad header');
  }
}

const PLAIN_NAME = /^[A-Za-z_]{1,16}$/;

function csvProblem(e: unknown): string {
  if (e instanceof HeaderError) {
    const named = e.unknown.filter((n) => PLAIN_NAME.test(n));
    const others = e.unknown.length - named.length;
    const listed = [...named, ...(others > 0 ? [`${others} more not shown (is the header row missing?)`] : [])];
    return `columns must be ${COLUMNS.join(', ')}${listed.length ? `; unknown: ${listed.join(', ')}` : ''}`;
  }
  const { code, lines } = (e ?? {}) as { code?: unknown; lines?: unknown };
  const where = typeof lines === 'number' ? ` at line ${lines}` : '';
  return `${typeof code === 'string' ? code : 'malformed CSV'}${where}`;
}

export function parseImportFile(text: string, format: 'csv' | 'json'): ImportRow[] {
  let rows: unknown;
  if (format === 'csv') {
    try {
      rows = parse(text, {
        columns: (header: string[]) => {
          const names = header.map((h) => h.trim().toLowerCase());
          const unknown = names.filter((n) => !COLUMNS.includes(n));
          if (!names.includes('identity') || unknown.length > 0) throw new HeaderError(unknown);
          return names;
        },
        skip_empty_lines: true,
        trim: true,
        bom: true,
      });
    } catch (e) {
      throw new ServiceError(ServiceErrorCode.IMPORT_INVALID, `The CSV file cannot be read: ${csvProblem(e)}. It needs a header row with identity and optionally group, kpe, kph, kpw.`);
    }
    rows = (rows as Array<Record<string, string>>).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '')));
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
  return list.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as ImportRow) : {}));
}
