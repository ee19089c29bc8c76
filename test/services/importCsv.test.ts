// The CSV options device import relies on (csv-parse 7: bom, trim, quotes,
// columns from the header), pinned by what they do to a file: a byte order
// mark, quoted fields, whitespace around fields, and rows that are not CSV.
import { describe, expect, it } from 'vitest';
import { parseImportFile } from '../../electron/services/importRows.js';

const rows = (text: string) => parseImportFile(text, 'csv').map((r) => ({ ...r.row, line: r.number }));
const refusal = (text: string): string => {
  try {
    parseImportFile(text, 'csv');
  } catch (e) {
    expect(e).toMatchObject({ code: 'IMPORT_INVALID' });
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('CSV import: what csv-parse is asked to do', () => {
  it('a byte order mark (Excel\'s "CSV UTF-8") is no part of the first column name, quoted or not', () => {
    expect(rows('\uFEFFidentity,kpw\nESN-1,00aa\n')).toEqual([{ identity: 'ESN-1', kpw: '00aa', line: 2 }]);
    expect(rows('\uFEFF"identity","group"\n"ESN-2","lab"\n')).toEqual([{ identity: 'ESN-2', group: 'lab', line: 2 }]);
  });

  it('quoted fields keep commas, doubled quotes and line breaks; the header is matched without case or spaces', () => {
    expect(rows(' Identity , GROUP \n"ESN,3","a ""b"""\n"ESN\n4",c\n')).toEqual([
      { identity: 'ESN,3', group: 'a "b"', line: 2 },
      { identity: 'ESN\n4', group: 'c', line: 3 },
    ]);
  });

  it('whitespace around a field is trimmed, Unicode spaces too (csv-parse 7: a no-break space a spreadsheet left in is not part of the identity)', () => {
    expect(rows('\u00A0identity\u00A0,kpw\n\u00A0ESN-5\u3000, 00bb\t\n')).toEqual([{ identity: 'ESN-5', kpw: '00bb', line: 2 }]);
    expect(rows('identity,kpw\nESN-6,\u00A0"00cc"\n')).toEqual([{ identity: 'ESN-6', kpw: '00cc', line: 2 }]);
  });

  it('an empty field is an absent column, and empty lines are skipped', () => {
    expect(rows('identity,group,kpw\n\nESN-7,,\n\n')).toEqual([{ identity: 'ESN-7', line: 3 }]);
  });

  it('text after a closing quote names the row and says how to write a quote, never the field or a csv-parse code', () => {
    const key = '00112233445566778899aabbccddeeff';
    for (const text of [`identity,kpw\nA,"${key}" x\n`, `identity,kpw\nA,"${key}"y\n`, `identity,kpw\nA,"${key}"\u00A0\n`]) {
      const message = refusal(text);
      expect(message).toContain('in the row on line 2, a quoted field goes on after its closing quote');
      expect(message).not.toContain(key);
      expect(message).not.toMatch(/CSV_/);
    }
  });

  it('a row with more fields than the header, or a header in another separator, is refused without quoting the file', () => {
    const key = 'ffeeddccbbaa99887766554433221100';
    expect(refusal(`identity,kpw\nA,${key},extra\n`)).toContain('the row on line 2 has another number of fields than the header row');
    expect(refusal(`identity;kpw\nA;${key}\n`)).toContain('its first line is separated by semicolons (;)');
    expect(refusal(`${key},x\nA,B\n`)).not.toContain(key);
  });
});
