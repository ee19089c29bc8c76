// Bulk-import files name their places the way an editor shows them: a CSV row
// by the line it starts on, a broken quote by the line it opened on, a JSON
// syntax error by line and column; and a row's identity is echoed escaped.
import { afterEach, describe, expect, it } from 'vitest';
import { parseImportFile, reportedIdentity } from '../../electron/services/importRows.js';
import { jsonErrorOffset } from '../../electron/services/jsonPosition.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const numbers = (text: string) => parseImportFile(text, 'csv').map((r) => [r.row.identity, r.number]);
const refusal = (text: string, format: 'csv' | 'json' = 'csv'): string => {
  try {
    parseImportFile(text, format);
  } catch (e) {
    expect(e).toMatchObject({ code: 'IMPORT_INVALID' });
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('CSV rows are numbered by the line they start on', () => {
  it('a quoted field over lines 3 and 4 is the row on line 3; the rows after it, and past empty lines, keep their own lines', () => {
    expect(numbers('identity,kpw\nA,\n"B\nC",x\n\nD,\n')).toEqual([['A', 2], ['B\nC', 3], ['D', 6]]);
    expect(numbers('identity\n"X\n\nY"\n\n\nZ\n')).toEqual([['X\n\nY', 2], ['Z', 7]]);
    expect(numbers('\n\nidentity\nA\n')).toEqual([['A', 4]]);
    expect(numbers('identity\r\nA\r\n\r\n"B"\r\nD')).toEqual([['A', 2], ['B', 4], ['D', 5]]);
  });
});

describe('a file that is not CSV or not JSON says where, in a sentence, quoting nothing', () => {
  it('a quote never closed names the line it opened on', () => {
    expect(refusal('identity\nA\n"B,\nC\n')).toBe('The CSV file cannot be read: the quote opened on line 3 is never closed. It needs a header row with identity and optionally group, kpe, kph, kpw.');
    expect(refusal('identity,kpw\nA,1\nB,"x\nC,2\n\n')).toContain('the quote opened on line 3 is never closed');
  });

  it('a row with too many fields, or a stray quote, names the line the row starts on, and no code', () => {
    const length = refusal('identity,kpw\nA,1\n\nB,2,3\n');
    expect(length).toContain('the row on line 4 has another number of fields than the header row');
    expect(refusal('identity,kpw\nA,1\nB"x,2\n')).toContain('in the row on line 3, a field that does not start with a quote holds one');
    for (const m of [length]) expect(m).not.toMatch(/CSV_/);
  });

  it('a JSON syntax error gives its line and column, or says the file ends too early; never the text', () => {
    const secret = '00112233445566778899aabbccddeeff';
    expect(refusal(`[{"identity":"A","kpw":"${secret}"},\n{"identity" "B"}]`, 'json')).toBe('The JSON file is not valid JSON: line 2, column 13 cannot continue it.');
    expect(refusal(`[1,2,]`, 'json')).toBe('The JSON file is not valid JSON: line 1, column 6 cannot continue it.');
    expect(refusal(`[{"kpw":"${secret}"}`, 'json')).toBe('The JSON file is not valid JSON: it ends too early.');
    expect(refusal('', 'json')).toBe('The JSON file is not valid JSON: it ends too early.');
  });

  it('a JSON file that starts with a byte order mark (as Windows editors save UTF-8) is read; a broken one is placed past the mark', () => {
    const rows = parseImportFile('\uFEFF[{"identity":"BOM-1"},{"identity":"BOM-2"}]', 'json');
    expect(rows.map((r) => [r.row.identity, r.number])).toEqual([['BOM-1', 1], ['BOM-2', 2]]);
    expect(parseImportFile('\uFEFF{"devices":[{"identity":"BOM-3"}]}', 'json').map((r) => r.row.identity)).toEqual(['BOM-3']);
    expect(refusal('\uFEFF[1,2,]', 'json')).toBe('The JSON file is not valid JSON: line 1, column 6 cannot continue it.');
    expect(refusal('\uFEFF[1,', 'json')).toBe('The JSON file is not valid JSON: it ends too early.');
    // Only a leading mark is a byte order mark.
    expect(refusal('[\uFEFF1]', 'json')).toBe('The JSON file is not valid JSON: line 1, column 2 cannot continue it.');
  });

  it('the JSON locator agrees with JSON.parse on what is valid', () => {
    for (const ok of ['{}', '[]', ' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]} ', '"x"', '0']) {
      expect(() => JSON.parse(ok)).not.toThrow();
      expect(jsonErrorOffset(ok), ok).toBe(ok.length);
    }
    expect(jsonErrorOffset('[' .repeat(100_000))).toBeUndefined();
  });
});

describe('identities in a report', () => {
  it('are escaped outside printable ASCII, and what is no identity is cut at 80 characters', () => {
    expect(reportedIdentity('A\nB\u001b[31mC\t')).toBe('A\\nB\\u001b[31mC\\t');
    expect(reportedIdentity('ESN-0001')).toBe('ESN-0001');
    expect(reportedIdentity('x'.repeat(300))).toBe(`${'x'.repeat(79)}…`);
    expect(reportedIdentity(`${'x'.repeat(100)} y`)).toBe(`${'x'.repeat(79)}…`);
    expect(reportedIdentity(42)).toBeNull();
  });

  it('a valid identity is shown whole, up to 256 characters, so a refused row names the device it collides with', async () => {
    expect(reportedIdentity('x'.repeat(100))).toBe('x'.repeat(100));
    expect(reportedIdentity('y'.repeat(256))).toBe('y'.repeat(256));
    t = await openTestServices();
    const long = `ESN-${'L'.repeat(252)}`;
    t.services.devices.provision({ identity: long, keys: { kind: 'generate' } });
    const report = await t.services.devices.import(JSON.stringify([{ identity: 'ESN-NEW' }, { identity: long }, { identity: `${'z'.repeat(300)}` }]), 'json');
    expect(report).toMatchObject({ total: 3, imported: 0 });
    expect(report.failed).toEqual([
      { row: 2, identity: long, code: 'DEVICE_EXISTS', message: expect.any(String) },
      { row: 3, identity: `${'z'.repeat(79)}…`, code: 'INVALID_IDENTITY', message: expect.any(String) },
    ]);
  });
});
