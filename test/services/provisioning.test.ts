// Provisioning devices and model groups, bulk import (CSV and JSON, atomic per
// file, with a row-by-row report and progress), revocation. Every refusal has
// its code and leaves the store as it was.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import type { Progress } from '../../electron/services/types.js';
import { PASSPHRASE, openTestServices, type TestServices } from '../support/services.js';
import { dumpStore, keyTables, keysIn, type Dump } from '../support/storeFiles.js';
import { deriveVector } from '../support/vectors.js';

let t: TestServices;
beforeEach(async () => {
  t = await openTestServices();
});
afterEach(() => t.cleanup());

const v = deriveVector();
const hex = (n: number, seed: number): string => Buffer.from(Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff)).toString('hex');

/** What a refused call must leave: the key tables as they were, and the audit log with nothing but refusals. */
async function expectUnchanged(before: Dump, allowRefusals = false): Promise<void> {
  const after = await dumpStore(t.dir, PASSPHRASE);
  expect(keyTables(after)).toEqual(keyTables(before));
  const added = after['audit_log']!.slice(before['audit_log']!.length);
  if (!allowRefusals) expect(added).toEqual([]);
  else for (const row of added) expect(row['outcome']).toBe('refused');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('provisioning one device', () => {
  it('generates Kpe, Kph and Kpw (derived), and shows only their KCVs', () => {
    const d = t.services.devices.provision({ identity: 'ESN-GEN-1', keys: { kind: 'generate' } });
    expect(d).toMatchObject({ identity: 'ESN-GEN-1', group: null, status: 'active', origin: 'generated', exchangeCount: 0, lastExchangeAt: null, revokedAt: null });
    expect(d.kcv).toEqual({ kpw: expect.stringMatching(/^[0-9A-F]{6}$/), kpe: expect.stringMatching(/^[0-9A-F]{6}$/), kph: expect.stringMatching(/^[0-9A-F]{6}$/) });
    expect(Object.keys(d)).not.toContain('kpw');
    const other = t.services.devices.provision({ identity: 'ESN-GEN-2', keys: { kind: 'generate' } });
    expect(other.kcv.kpw).not.toBe(d.kcv.kpw);
    expect(d.createdAt).toBe(t.clock.now.toISOString());
  });

  it('imports MSL\'s PSK-ESN Kpe+Kph: Kpw is derived the MSL way and its KCV is kcv(kpw_hex)', () => {
    const d = t.services.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    expect(deriveWrappingKey(Buffer.from(v.kpe_hex, 'hex'), Buffer.from(v.kph_hex, 'hex')).toString('hex')).toBe(v.kpw_hex);
    expect(d.origin).toBe('imported-kpe-kph');
    expect(d.kcv).toEqual({ kpw: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes'), kpe: kcv(Buffer.from(v.kpe_hex, 'hex'), 'aes'), kph: kcv(Buffer.from(v.kph_hex, 'hex'), 'hmac') });
    // Upper-case hex is the same key.
    const upper = t.services.devices.provision({ identity: `${v.identity}-UPPER`, keys: { kind: 'kpe-kph', kpe: v.kpe_hex.toUpperCase(), kph: v.kph_hex.toUpperCase() } });
    expect(upper.kcv).toEqual(d.kcv);
  });

  it('imports a Kpw alone: no Kpe/Kph, KCV of that Kpw', () => {
    const d = t.services.devices.provision({ identity: 'ESN-KPW', keys: { kind: 'kpw', kpw: v.kpw_hex } });
    expect(d.origin).toBe('imported-kpw');
    expect(d.kcv).toEqual({ kpw: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes') });
  });

  it('puts a device in a model group', () => {
    t.services.groups.add('model-x', { kind: 'generate' });
    const d = t.services.devices.provision({ identity: 'ESN-G', group: 'model-x', keys: { kind: 'generate' } });
    expect(d.group).toBe('model-x');
    expect(t.services.groups.list()).toEqual([expect.objectContaining({ name: 'model-x', deviceCount: 1, origin: 'generated' })]);
  });

  it('refuses bad input with a stable code and leaves the store unchanged', async () => {
    const s = t.services;
    s.groups.add('model-x', { kind: 'generate' });
    s.devices.provision({ identity: 'ESN-EXISTS', keys: { kind: 'generate' } });
    const before = await dumpStore(t.dir, PASSPHRASE);
    const k16 = hex(16, 1);
    const k32 = hex(32, 2);
    const cases: Array<[string, string, () => unknown]> = [
      ['empty identity', 'INVALID_IDENTITY', () => s.devices.provision({ identity: '', keys: { kind: 'generate' } })],
      ['identity with a space', 'INVALID_IDENTITY', () => s.devices.provision({ identity: 'ESN 1', keys: { kind: 'generate' } })],
      ['identity too long', 'INVALID_IDENTITY', () => s.devices.provision({ identity: 'E'.repeat(257), keys: { kind: 'generate' } })],
      ['identity not ASCII', 'INVALID_IDENTITY', () => s.devices.provision({ identity: 'ESN-é', keys: { kind: 'generate' } })],
      ['identity not a string', 'INVALID_IDENTITY', () => s.devices.provision({ identity: 42 as unknown as string, keys: { kind: 'generate' } })],
      ['kpw not hex', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: 'zz'.repeat(16) } })],
      ['kpw too short', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: k16.slice(2) } })],
      ['kpw too long', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: k32 } })],
      ['kpw odd length', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: `${k16}0` } })],
      ['kpw with 0x', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpw', kpw: `0x${k16.slice(2)}` } })],
      ['kpe the wrong length', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpe-kph', kpe: k32, kph: k32 } })],
      ['kph the wrong length', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpe-kph', kpe: k16, kph: k16 } })],
      ['kpe without kph', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpe-kph', kpe: k16 } as never })],
      ['kph without kpe', 'INVALID_KEY', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kpe-kph', kph: k32 } as never })],
      ['unknown key kind', 'INVALID_ARGUMENT', () => s.devices.provision({ identity: 'ESN-1', keys: { kind: 'kissuer' } as never })],
      ['no keys at all', 'INVALID_ARGUMENT', () => s.devices.provision({ identity: 'ESN-1' } as never)],
      ['duplicate', 'DEVICE_EXISTS', () => s.devices.provision({ identity: 'ESN-EXISTS', keys: { kind: 'generate' } })],
      ['duplicate with other keys', 'DEVICE_EXISTS', () => s.devices.provision({ identity: 'ESN-EXISTS', keys: { kind: 'kpw', kpw: k16 } })],
      ['unknown group', 'GROUP_NOT_FOUND', () => s.devices.provision({ identity: 'ESN-1', group: 'model-y', keys: { kind: 'generate' } })],
      ['bad group name', 'INVALID_ARGUMENT', () => s.devices.provision({ identity: 'ESN-1', group: '../etc', keys: { kind: 'generate' } })],
      ['group exists', 'GROUP_EXISTS', () => s.groups.add('model-x', { kind: 'generate' })],
      ['group keys bad', 'INVALID_KEY', () => s.groups.add('model-z', { kind: 'kdw', kdw: 'abc' })],
      ['group kde without kdh', 'INVALID_KEY', () => s.groups.add('model-z', { kind: 'kde-kdh', kde: k16 } as never)],
      ['group key kind', 'INVALID_ARGUMENT', () => s.groups.add('model-z', { kind: 'kpw' } as never)],
      ['get unknown', 'DEVICE_NOT_FOUND', () => s.devices.get('ESN-NOPE')],
      ['revoke unknown', 'DEVICE_NOT_FOUND', () => s.devices.revoke('ESN-NOPE')],
      ['revoke bad identity', 'INVALID_IDENTITY', () => s.devices.revoke('')],
      ['list limit', 'INVALID_ARGUMENT', () => s.devices.list({ limit: 0 })],
      ['list offset', 'INVALID_ARGUMENT', () => s.devices.list({ offset: -1 })],
    ];
    for (const [label, code, call] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string } | undefined)?.code, label).toBe(code);
      // The message says what to do and never echoes a key.
      expect(keysIn((error as Error).message, new Map([['k16', Buffer.from(k16, 'hex')], ['k32', Buffer.from(k32, 'hex')]])), label).toEqual([]);
    }
    await expectUnchanged(before);
  });

  it('revokes a device once, and refuses a second revoke without changing it', async () => {
    const s = t.services;
    s.devices.provision({ identity: 'ESN-R', keys: { kind: 'generate' } });
    t.clock.advanceDays(1);
    const r = s.devices.revoke('ESN-R');
    expect(r).toMatchObject({ status: 'revoked', revokedAt: t.clock.now.toISOString() });
    const before = await dumpStore(t.dir, PASSPHRASE);
    t.clock.advanceDays(1);
    expect(codeOf(() => s.devices.revoke('ESN-R'))).toBe('DEVICE_ALREADY_REVOKED');
    await expectUnchanged(before);
    expect(s.audit.list({ action: 'device.revoke' })).toEqual([expect.objectContaining({ subject: 'ESN-R', outcome: 'ok' })]);
  });

  it('lists by prefix, in pages', () => {
    for (let i = 0; i < 25; i++) t.services.devices.provision({ identity: `LIST-${String(i).padStart(2, '0')}`, keys: { kind: 'generate' } });
    t.services.devices.provision({ identity: 'OTHER-1', keys: { kind: 'generate' } });
    const page = t.services.devices.list({ prefix: 'LIST-', offset: 20, limit: 10 });
    expect(page.total).toBe(25);
    expect(page.items.map((d) => d.identity)).toEqual(['LIST-20', 'LIST-21', 'LIST-22', 'LIST-23', 'LIST-24']);
    expect(t.services.devices.list().total).toBe(26);
  });
});

describe('model groups', () => {
  it('take generated keys, Kde+Kdh (Kdw derived), or Kdw alone', () => {
    const kde = v.kpe_hex;
    const kdh = v.kph_hex;
    expect(t.services.groups.add('g-gen', { kind: 'generate' })).toMatchObject({ origin: 'generated', deviceCount: 0 });
    expect(t.services.groups.add('g-pair', { kind: 'kde-kdh', kde, kdh })).toMatchObject({
      origin: 'imported-kpe-kph',
      kcv: { kdw: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes'), kde: kcv(Buffer.from(kde, 'hex'), 'aes'), kdh: kcv(Buffer.from(kdh, 'hex'), 'hmac') },
    });
    expect(t.services.groups.add('g-kdw', { kind: 'kdw', kdw: v.kpw_hex })).toMatchObject({ origin: 'imported-kpw', kcv: { kdw: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes') } });
    expect(t.services.groups.list().map((g) => g.name)).toEqual(['g-gen', 'g-kdw', 'g-pair']);
  });
});

/** A good import file of `n` rows mixing every kind of key input and a group. */
function goodRows(n: number, prefix: string): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (let i = 0; i < n; i++) {
    const identity = `${prefix}-${String(i).padStart(6, '0')}`;
    switch (i % 4) {
      case 0: rows.push({ identity }); break;
      case 1: rows.push({ identity, group: 'model-a' }); break;
      case 2: rows.push({ identity, kpe: hex(16, i), kph: hex(32, i) }); break;
      default: rows.push({ identity, kpw: hex(16, i) });
    }
  }
  return rows;
}

function toCsv(rows: Array<Record<string, string>>): string {
  const cols = ['identity', 'group', 'kpe', 'kph', 'kpw'];
  return [cols.join(','), ...rows.map((r) => cols.map((c) => r[c] ?? '').join(','))].join('\n');
}

describe('bulk import', () => {
  beforeEach(() => {
    t.services.groups.add('model-a', { kind: 'generate' });
  });

  it.each(['csv', 'json'] as const)('imports a good %s file of 1,000 rows, every key input honoured', async (format) => {
    const rows = goodRows(1000, `IMP-${format}`);
    const text = format === 'csv' ? toCsv(rows) : JSON.stringify(rows);
    const progress: Progress[] = [];
    const report = await t.services.devices.import(text, format, (p) => progress.push(p));
    expect(report).toEqual({ total: 1000, imported: 1000, failed: [] });
    expect(t.services.devices.list({ prefix: `IMP-${format}` }).total).toBe(1000);
    const derived = t.services.devices.get(`IMP-${format}-000002`);
    expect(derived).toMatchObject({ origin: 'imported-kpe-kph', kcv: { kpw: kcv(deriveWrappingKey(Buffer.from(hex(16, 2), 'hex'), Buffer.from(hex(32, 2), 'hex')), 'aes') } });
    expect(t.services.devices.get(`IMP-${format}-000003`)).toMatchObject({ origin: 'imported-kpw', kcv: { kpw: kcv(Buffer.from(hex(16, 3), 'hex'), 'aes') } });
    expect(t.services.devices.get(`IMP-${format}-000001`)).toMatchObject({ origin: 'generated', group: 'model-a' });
    expect(t.services.devices.get(`IMP-${format}-000000`)).toMatchObject({ origin: 'generated', group: null });
    expect(progress.at(-1)).toMatchObject({ done: 1000, total: 1000 });
    const audit = t.services.audit.list({ action: 'device.import' });
    expect(audit).toEqual([expect.objectContaining({ outcome: 'ok', details: expect.objectContaining({ format, rows: 1000, imported: 1000 }) })]);
  });

  it('takes JSON as {"devices": [...]}, and kpe+kph+kpw that agree', async () => {
    const report = await t.services.devices.import(JSON.stringify({ devices: [{ identity: 'J-1', kpe: v.kpe_hex, kph: v.kph_hex, kpw: v.kpw_hex }] }), 'json');
    expect(report.imported).toBe(1);
  });

  it('reports progress with increasing counts, checking then writing, ending at the total', async () => {
    const rows = goodRows(5000, 'PROG');
    const progress: Progress[] = [];
    await t.services.devices.import(toCsv(rows), 'csv', (p) => progress.push({ ...p }));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    const phases = progress.map((p) => p.phase);
    expect(phases.indexOf('writing')).toBeGreaterThan(phases.lastIndexOf('checking'));
    for (const phase of ['checking', 'writing'] as const) {
      const done = progress.filter((p) => p.phase === phase).map((p) => p.done);
      expect(done.length, phase).toBeGreaterThan(0);
      for (let i = 1; i < done.length; i++) expect(done[i]!, phase).toBeGreaterThanOrEqual(done[i - 1]!);
      expect(done.at(-1), phase).toBe(5000);
    }
    const checking = progress.filter((p) => p.phase === 'checking').map((p) => p.done);
    expect(new Set(checking).size).toBeGreaterThanOrEqual(5);
    for (const p of progress) expect(p.total).toBe(5000);
  });

  it.each(['csv', 'json'] as const)('refuses a %s file with some bad rows as a whole: nothing imported, each bad row reported', async (format) => {
    t.services.devices.provision({ identity: 'ALREADY-THERE', keys: { kind: 'generate' } });
    const rows = goodRows(1000, `BAD-${format}`);
    const bad: Array<[number, Record<string, string>, string]> = [
      [5, { identity: 'BAD-ROW-5', kpw: 'not-hex-at-all' }, 'INVALID_KEY'],
      [10, { identity: `BAD-${format}-000003` }, 'DEVICE_EXISTS'], // the same identity as row 4
      [20, { identity: 'BAD-ROW-20', group: 'model-nope' }, 'GROUP_NOT_FOUND'],
      [30, { identity: 'ALREADY-THERE' }, 'DEVICE_EXISTS'],
      [40, { identity: 'BAD-ROW-40', kpe: hex(16, 40) }, 'INVALID_KEY'],
      [50, { identity: 'bad row 50' }, 'INVALID_IDENTITY'],
      [60, { identity: 'BAD-ROW-60', kpw: hex(15, 60) }, 'INVALID_KEY'],
      [70, { identity: 'BAD-ROW-70', kpe: hex(16, 70), kph: hex(32, 70), kpw: hex(16, 71) }, 'INVALID_KEY'],
      [999, { identity: 'BAD-ROW-999', kph: hex(32, 999) }, 'INVALID_KEY'],
    ];
    for (const [row, content] of bad) rows[row - 1] = content;
    const before = await dumpStore(t.dir, PASSPHRASE);
    const report = await t.services.devices.import(format === 'csv' ? toCsv(rows) : JSON.stringify(rows), format);
    expect(report.total).toBe(1000);
    expect(report.imported).toBe(0);
    // A CSV row is numbered by its line in the file (the header is line 1), a JSON one by its place in the array.
    const numbered = (row: number) => (format === 'csv' ? row + 1 : row);
    expect(report.failed.map((f) => [f.row, f.code])).toEqual(bad.map(([row, , code]) => [numbered(row), code]));
    expect(report.failed[0]).toMatchObject({ row: numbered(5), identity: 'BAD-ROW-5', message: expect.stringMatching(/kpw/) });
    await expectUnchanged(before, true);
    expect(t.services.audit.list({ action: 'device.import' })).toEqual([expect.objectContaining({ outcome: 'refused', details: expect.objectContaining({ rows: 1000, badRows: bad.length }) })]);
    // Key material of the rows never reaches the report.
    const keys = new Map(rows.flatMap((r, i) => ['kpe', 'kph', 'kpw'].filter((k) => r[k] && r[k]!.length >= 32).map((k) => [`${k}@${i + 1}`, Buffer.from(r[k]!, 'hex')] as [string, Buffer])));
    expect(keysIn(JSON.stringify(report), keys)).toEqual([]);
  });

  it('says when a CSV file has no header row or another separator, and numbers malformed lines as the rows are', async () => {
    const key = hex(16, 9);
    const messageOf = async (text: string) => {
      try {
        await t.services.devices.import(text, 'csv');
      } catch (e) {
        expect((e as { code?: string }).code).toBe('IMPORT_INVALID');
        return (e as Error).message;
      }
      throw new Error('imported');
    };
    const noHeader = await messageOf(`X-1,${key}\nX-2,\n`);
    expect(noHeader).toContain('line 1 is no header row');
    expect(noHeader).not.toContain(key);
    expect(await messageOf(`identity;kpw\nX-1;${key}\n`)).toContain('separated by semicolons (;)');
    expect(await messageOf(`identity\tkpw\nX-1\t${key}\n`)).toContain('separated by tabs');
    // The same numbering as a report's rows: line 4 is the third device, after the header and an empty line.
    expect(await messageOf('identity,kpw\nX-1,\n\nX-2,,extra\n')).toContain('the row on line 4');
    const report = await t.services.devices.import('identity,kpw\nNUM-1,\n\nNUM-2,zz\n', 'csv');
    expect(report.failed.map((f) => f.row)).toEqual([4]);
  });

  it('refuses files it cannot read with IMPORT_INVALID, without quoting key material', async () => {
    const key = hex(16, 9);
    const before = await dumpStore(t.dir, PASSPHRASE);
    const files: Array<[string, 'csv' | 'json']> = [
      [`identity,kpw\nX-1,${key}"x\n`, 'csv'],
      [`identity,kpw\nX-1,"${key}\n`, 'csv'],
      [`identity,kpw\nX-1,${key},extra\n`, 'csv'],
      [`X-1,${key}\n`, 'csv'], // no header row: the first row's key would be a "column name"
      ['identity,kpw,colour\nX-1,,red\n', 'csv'],
      ['kpw\nabc\n', 'csv'],
      [`[{"identity":"X-1","kpw":"${key}"`, 'json'],
      [`{"identity":"X-1","kpw":"${key}"}`, 'json'],
      ['"just a string"', 'json'],
    ];
    for (const [text, format] of files) {
      let error: Error | undefined;
      try {
        await t.services.devices.import(text, format);
      } catch (e) {
        error = e as Error;
      }
      expect((error as { code?: string } | undefined)?.code, text).toBe('IMPORT_INVALID');
      expect(keysIn(error!.message, new Map([['key', Buffer.from(key, 'hex')]])), error!.message).toEqual([]);
    }
    expect(await asyncCodeOf(() => t.services.devices.import('identity\nX\n', 'xml' as never))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(() => t.services.devices.import(42 as never, 'csv'))).toBe('INVALID_ARGUMENT');
    await expectUnchanged(before);
  });

  it('is all-or-nothing per file: the same identities can be imported once the file is fixed', async () => {
    const rows = goodRows(200, 'FIX');
    rows[100] = { identity: 'FIX-BROKEN', kpw: 'xx' };
    expect((await t.services.devices.import(toCsv(rows), 'csv')).imported).toBe(0);
    rows[100] = { identity: 'FIX-MENDED' };
    expect(await t.services.devices.import(toCsv(rows), 'csv')).toEqual({ total: 200, imported: 200, failed: [] });
    expect(t.services.devices.list({ prefix: 'FIX-' }).total).toBe(200);
  });
});
