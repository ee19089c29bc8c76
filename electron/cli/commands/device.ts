// Devices: provision one, import many, look, revoke, export for a factory.

import { extname } from 'node:path';
import type { Command } from '../command.js';
import { deviceKeys, protection, readTextFile, recipientNote } from '../inputs.js';
import { deviceLine } from '../lines.js';
import { int, oneOf } from '../options.js';
import { count, outDelivery } from '../output.js';
import { progressBar } from '../progress.js';
import { watchInterrupt } from '../interrupt.js';

const SECTION = 'Devices and model groups' as const;

export const deviceCommands: readonly Command[] = [
  {
    name: 'device add', section: SECTION, params: 'ID', arity: [1, 1], options: ['keys', 'group'],
    summary: 'provision a device: generated keys, or {"kpe","kph"} (Kpw derived) or {"kpw"} from --keys',
    async run(ctx) {
      const keys = deviceKeys(ctx);
      await ctx.unlock();
      const device = ctx.services.devices.provision({ identity: ctx.args[0]!, group: ctx.values.group ?? null, keys });
      ctx.out.print(`Provisioned ${deviceLine(device)}`, device);
      return 0;
    },
  },
  {
    name: 'device import', section: SECTION, params: 'FILE', arity: [1, 1], options: ['format'],
    summary: 'bulk import from CSV or JSON ("-": stdin); all rows or none',
    details: 'CSV: a header row of identity (required) and group, kpe, kph, kpw (optional), separated by commas.\n' +
      'JSON: an array of {"identity", "group"?, "kpe"?, "kph"?, "kpw"?}, or {"devices": [...]}.\n' +
      'A bad row is reported by its line in a CSV file (the header is line 1), and by its position\n' +
      'in the array (the first device is entry 1) in a JSON file. --format is csv or json (default: from the file name).',
    async run(ctx) {
      const file = ctx.args[0]!;
      const format = oneOf(ctx.values.format, 'format', ['csv', 'json'] as const) ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'csv');
      const text = readTextFile(file, 'import', ctx.io);
      await ctx.unlock();
      const bar = progressBar(ctx.io, 'Importing');
      const ctrlC = watchInterrupt();
      let report;
      try {
        // Checked at each progress step before the write: the last one comes just before its transaction.
        report = await ctx.services.devices.import(text, format, (p) => {
          if (p.phase !== 'writing') ctrlC.check('Interrupted: nothing was imported.');
          bar.update(p.done, p.total, p.phase);
        });
      } finally {
        bar.stop();
        ctrlC.stop();
      }
      if (ctrlC.interrupted && report.imported > 0) {
        // Ctrl-C came during the write transaction, which committed before the signal could be handled.
        ctx.out.print(`The import had completed: ${count(report.imported, 'device')}.`, { ...report, interrupted: true });
        return 130;
      }
      const where = format === 'csv' ? 'line' : 'entry';
      const failures = report.failed.map((f) => `  ${where} ${f.row}${f.identity ? ` (${f.identity})` : ''}: ${f.message} [${f.code}]`).join('\n');
      ctx.out.print(report.failed.length
        ? `Nothing was imported: ${count(report.failed.length, 'row')} of ${report.total} ${report.failed.length === 1 ? 'is' : 'are'} bad. Fix them and import the file again.\n${failures}`
        : `Imported ${count(report.imported, 'device')}.`, report);
      return report.failed.length ? 1 : 0;
    },
  },
  {
    name: 'device list', section: SECTION, arity: [0, 0], options: ['prefix', 'offset', 'limit'],
    summary: 'devices in identity order, a page at a time',
    async run(ctx) {
      const query = { prefix: ctx.values.prefix ?? '', offset: int(ctx.values.offset, 'offset', 0)!, limit: int(ctx.values.limit, 'limit', 100, { min: 1, max: 1000 })! };
      await ctx.unlock();
      const page = ctx.services.devices.list(query);
      ctx.out.print(`${page.items.map(deviceLine).join('\n') || '(no devices)'}\n${page.offset + page.items.length} of ${page.total}`, page);
      return 0;
    },
  },
  {
    name: 'device show', section: SECTION, params: 'ID', arity: [1, 1], options: [],
    summary: 'one device: status, group, KCVs, exchanges',
    async run(ctx) {
      await ctx.unlock();
      const d = ctx.services.devices.get(ctx.args[0]!);
      ctx.out.print(deviceLine(d), d);
      return 0;
    },
  },
  {
    name: 'device revoke', section: SECTION, params: 'ID', arity: [1, 1], options: [],
    summary: 'refuse the device from now on (PSK, MGK and its wrapdata)',
    async run(ctx) {
      await ctx.unlock();
      const d = ctx.services.devices.revoke(ctx.args[0]!);
      ctx.out.print(`Revoked ${d.identity}.`, d);
      return 0;
    },
  },
  {
    name: 'device clear-clone', section: SECTION, params: 'ID', arity: [1, 1], options: [],
    summary: 'clear a "possible clone" mark once looked into',
    async run(ctx) {
      await ctx.unlock();
      const d = ctx.services.devices.clearPossibleClone(ctx.args[0]!);
      ctx.out.print(`Cleared the "possible clone" mark of ${d.identity}.`, d);
      return 0;
    },
  },
  {
    name: 'device export', section: SECTION, params: 'ID...', arity: [1, Infinity], options: ['out', 'to', 'recipient', 'bundle-passphrase-file', 'force'], required: ['out'],
    summary: 'a protected bundle of the devices\' keys for a factory (JWE: to a passphrase, or to --recipient)',
    details: 'A revoked device is exported with its status "revoked", and named in a warning (stderr; "warnings" with --json).',
    async run(ctx) {
      const out = ctx.values.out!;
      const file = outDelivery(out, ctx.values.force === true);
      const bundleProtection = await protection(ctx);
      await ctx.unlock();
      const revoked = ctx.args.filter((id) => ctx.services.devices.get(id).status === 'revoked');
      await ctx.services.devices.exportBundle(ctx.args, bundleProtection, file);
      const warnings = revoked.length ? [`${count(revoked.length, 'device')} in the bundle ${revoked.length === 1 ? 'is' : 'are'} revoked (${revoked.slice(0, 10).join(', ')}${revoked.length > 10 ? ', ...' : ''}): this responder refuses ${revoked.length === 1 ? 'it' : 'them'}.`] : [];
      for (const w of warnings) ctx.out.warn(w);
      const note = recipientNote(bundleProtection);
      ctx.out.print(`Wrote a protected bundle of ${count(ctx.args.length, 'device')} to ${out}.${note.text}`, { file: out, devices: ctx.args.length, ...note.machine, ...(warnings.length ? { warnings } : {}) });
      return 0;
    },
  },
];
