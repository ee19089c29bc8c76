// Devices: provision one, import many, look, revoke, export for a factory.

import { extname } from 'node:path';
import { confirmed, reasonOf, type Command, type Context } from '../command.js';
import { MAX_SELECTION } from '../../services/provisioning.js';
import type { DeviceSelector, DeviceSummary } from '../../services/types.js';
import { deviceSelection, isSingleDevice, SELECTOR_OPTIONS } from '../selection.js';
import { deviceKeys, protection, readTextFile, recipientNote } from '../inputs.js';
import { deviceLine } from '../lines.js';
import { int, oneOf } from '../options.js';
import { count, outDelivery } from '../output.js';
import { CliError, CliErrorCode } from '../errors.js';
import { EXIT } from '../exitStatus.js';
import { progressBar } from '../progress.js';
import { watchInterrupt } from '../interrupt.js';

const SECTION = 'Devices and model groups' as const;

/** A batch's size in words, for the confirmation: "3 devices (1 of them revoked)". */
function selectionSize(ctx: Context, selector: DeviceSelector): { size: number; text: string } {
  // Resolved as the change will be: a list naming an unknown identity, or a rule matching nothing, is refused here.
  const size = ctx.services.devices.select(selector, MAX_SELECTION).length;
  const { revoked } = ctx.services.devices.countSelection(selector);
  return { size, text: `${count(size, 'device')}${revoked > 0 ? ` (${revoked} of them revoked)` : ''}` };
}

const SELECTION_DETAILS = 'Name the devices by IDs, --group NAME, --prefix P, --all, or --ids-from FILE (one identity a line; - reads stdin).\n' +
  'A list with a blank line, an identity twice or an identity not provisioned is refused whole: nothing is done.';

/** device import --format: the file's format (else by its extension). */
const IMPORT_FORMATS = ['csv', 'json'] as const;

export const deviceCommands: readonly Command[] = [
  {
    name: 'device add', section: SECTION, params: 'ID', arity: [1, 1], options: ['keys', 'group', 'reuse-identity'],
    summary: 'provision a device: generated keys, or {"kpe","kph"} (Kpw derived) or {"kpw"} from --keys',
    async run(ctx) {
      const keys = deviceKeys(ctx);
      await ctx.unlock();
      const device = ctx.services.devices.provision({ identity: ctx.args[0]!, group: ctx.values.group ?? null, keys, reuseIdentity: ctx.values['reuse-identity'] === true });
      ctx.out.print(`Provisioned ${deviceLine(device)}`, device);
      return 0;
    },
  },
  {
    name: 'device import', section: SECTION, params: 'FILE', arity: [1, 1], options: ['format', 'reuse-identity'], choices: { format: IMPORT_FORMATS },
    summary: 'bulk import from CSV or JSON ("-": stdin); all rows or none',
    details: 'CSV: a header row of identity (required) and group, kpe, kph, kpw (optional), separated by commas.\n' +
      'JSON: an array of {"identity", "group"?, "kpe"?, "kph"?, "kpw"?}, or {"devices": [...]}.\n' +
      'A bad row is reported by its line in a CSV file (the header is line 1), and by its position\n' +
      'in the array (the first device is entry 1) in a JSON file. --format is csv or json (default: from the file name).\n' +
      'A row naming a deleted device\'s identity is refused (DEVICE_DELETED) unless --reuse-identity.',
    async run(ctx) {
      const file = ctx.args[0]!;
      const format = oneOf(ctx.values.format, 'format', IMPORT_FORMATS) ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'csv');
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
        }, { reuseIdentity: ctx.values['reuse-identity'] === true });
        // A Ctrl-C during the write transaction is handled only now (interrupt.ts).
        await ctrlC.settle();
      } finally {
        bar.stop();
        ctrlC.stop();
      }
      if (ctrlC.interrupted && report.imported > 0) {
        // Ctrl-C came during the write transaction, which committed before the signal could be handled.
        ctx.out.print(`The import had completed: ${count(report.imported, 'device')}.`, { ...report, interrupted: true });
        return EXIT.CANCELLED;
      }
      const where = format === 'csv' ? 'line' : 'entry';
      const failures = report.failed.map((f) => `  ${where} ${f.row}${f.identity ? ` (${f.identity})` : ''}: ${f.message} [${f.code}]`).join('\n');
      ctx.out.print(report.failed.length
        ? `Nothing was imported: ${count(report.failed.length, 'row')} of ${report.total} ${report.failed.length === 1 ? 'is' : 'are'} bad. Fix them and import the file again.\n${failures}`
        : `Imported ${count(report.imported, 'device')}.`, report);
      return report.failed.length ? EXIT.FAILED : EXIT.OK;
    },
  },
  {
    name: 'device list', section: SECTION, arity: [0, 0], options: ['prefix', 'group', 'offset', 'limit', 'after', 'all'],
    summary: 'devices in identity order, a page at a time (--after: by cursor), or --all of them',
    details: '--all writes every device (of --prefix or --group, if given) in one run, page after page as read: with --json, one JSON object a line.\n' +
      '--after ID pages by cursor: the page after identity ID; its "next" (or the line "next: ID") is the cursor of the following page.',
    async run(ctx) {
      const limit = int(ctx.values.limit, 'limit', 100, { min: 1, max: 1000 })!;
      const cursorMode = ctx.values.all === true || ctx.values.after !== undefined || ctx.values.group !== undefined;
      if (cursorMode && ctx.values.offset !== undefined) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, '--offset pages by number; --after, --all and --group page by cursor: use one or the other.');
      if (ctx.values.all === true && (ctx.values.after !== undefined || ctx.values.limit !== undefined)) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, '--all lists every device: it takes no --after or --limit.');
      if (ctx.values.group !== undefined && ctx.values.prefix !== undefined) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, 'Name the devices one way only: --group NAME or --prefix P.');
      if (!cursorMode) {
        const query = { prefix: ctx.values.prefix ?? '', offset: int(ctx.values.offset, 'offset', 0)!, limit };
        await ctx.unlock();
        const page = ctx.services.devices.list(query);
        ctx.out.print(`${page.items.map(deviceLine).join('\n') || '(no devices)'}\n${page.offset + page.items.length} of ${page.total}`, page);
        return 0;
      }
      const selector: DeviceSelector = ctx.values.group !== undefined ? { kind: 'group', group: ctx.values.group } : ctx.values.prefix !== undefined ? { kind: 'prefix', prefix: ctx.values.prefix } : { kind: 'all' };
      await ctx.unlock();
      if (ctx.values.all !== true) {
        const page = ctx.services.devices.pageAfter({ selector, after: ctx.values.after ?? null, limit });
        ctx.out.print(`${page.items.map(deviceLine).join('\n') || '(no devices)'}${page.next === null ? '' : `\nnext: ${page.next}`}`, page);
        return 0;
      }
      // Every device, a page at a time: what is printed is never the whole fleet in memory.
      const json = ctx.values.json === true;
      const line = (d: DeviceSummary) => (json ? JSON.stringify(d) : deviceLine(d));
      let after: string | null = null;
      let listed = 0;
      do {
        const page = ctx.services.devices.pageAfter({ selector, after, limit: 1000 });
        if (page.items.length > 0) ctx.io.stdout(`${page.items.map(line).join('\n')}\n`);
        listed += page.items.length;
        after = page.next;
      } while (after !== null);
      if (!json) ctx.io.stdout(listed === 0 ? '(no devices)\n' : `${count(listed, 'device')}\n`);
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
    name: 'device revoke', section: SECTION, params: '[ID...]', arity: [0, Infinity], options: [...SELECTOR_OPTIONS, 'yes', 'reason'],
    summary: 'refuse devices from now on (PSK, MGK and their wrapdata); a batch needs --yes',
    details: `${SELECTION_DETAILS}\nOne device named by its ID is revoked at once; a batch prints its count and needs --yes (no prompt: scripts have no terminal).`,
    async run(ctx) {
      const selector = deviceSelection(ctx);
      const reason = reasonOf(ctx);
      await ctx.unlock();
      if (selector.kind === 'identities' && isSingleDevice(selector) && ctx.values.yes !== true) {
        const d = ctx.services.devices.revoke(selector.identities[0]!, reason);
        ctx.out.print(`Revoked ${d.identity}.`, d);
        return 0;
      }
      const { text } = selectionSize(ctx, selector);
      confirmed(ctx, `This revokes ${text}: they are refused from then on.`);
      const done = ctx.services.devices.revokeSelected(selector, reason);
      ctx.out.print(`Revoked ${count(done.revoked, 'device')}${done.alreadyRevoked > 0 ? ` (${done.alreadyRevoked} already revoked)` : ''}.`, done);
      return 0;
    },
  },
  {
    name: 'device delete', section: SECTION, params: '[ID...]', arity: [0, Infinity], options: [...SELECTOR_OPTIONS, 'yes', 'reason'],
    summary: 'delete devices: their keys destroyed, their wrapdata refused from now on; needs --yes',
    details: `${SELECTION_DETAILS}\nPrints the count and needs --yes (no prompt: scripts have no terminal). The audit log keeps each deleted device's identity and KCVs;\n` +
      'the identity is provisioned again only with --reuse-identity (device add, device import).',
    async run(ctx) {
      const selector = deviceSelection(ctx);
      // Checked before the store is opened: a bad reason changes nothing.
      const reason = reasonOf(ctx);
      await ctx.unlock();
      const { size, text } = selectionSize(ctx, selector);
      confirmed(ctx, `This deletes ${text}: ${size === 1 ? 'its' : 'their'} keys are destroyed, for good.`);
      const done = ctx.services.devices.deleteSelected(selector, reason);
      const [its, it] = done.deleted === 1 ? ['its', 'it was'] : ['their', 'they were'];
      ctx.out.print(`Deleted ${count(done.deleted, 'device')}: ${its} keys are destroyed${done.wrapdataRefused > 0 ? `, and ${count(done.wrapdataRefused, 'wrapdata')} ${it} issued refused from now on` : ''}.`, done);
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
    name: 'device export', section: SECTION, params: '[ID...]', arity: [0, Infinity], options: [...SELECTOR_OPTIONS, 'out', 'to', 'recipient', 'bundle-passphrase-file', 'force'], required: ['out'],
    summary: 'a protected bundle of the devices\' keys for a factory (JWE: to a passphrase, or to --recipient)',
    details: `${SELECTION_DETAILS}\nA revoked device is exported with its status "revoked", and named in a warning (stderr; "warnings" with --json).`,
    async run(ctx) {
      const out = ctx.values.out!;
      const selector = deviceSelection(ctx);
      const file = outDelivery(out, ctx.values.force === true);
      const bundleProtection = await protection(ctx);
      await ctx.unlock();
      // A passphrase bundle is written as it is made: up to a million devices (the others are made whole: 100,000).
      const identities = ctx.services.devices.select(selector, bundleProtection.kind === 'passphrase' ? MAX_SELECTION : undefined);
      const revoked = identities.filter((id) => ctx.services.devices.get(id).status === 'revoked');
      await ctx.services.devices.exportBundle(identities, bundleProtection, file);
      const warnings = revoked.length ? [`${count(revoked.length, 'device')} in the bundle ${revoked.length === 1 ? 'is' : 'are'} revoked (${revoked.slice(0, 10).join(', ')}${revoked.length > 10 ? ', ...' : ''}): this responder refuses ${revoked.length === 1 ? 'it' : 'them'}.`] : [];
      for (const w of warnings) ctx.out.warn(w);
      const note = recipientNote(bundleProtection);
      ctx.out.print(`Wrote a protected bundle of ${count(identities.length, 'device')} to ${out}.${note.text}`, { file: out, devices: identities.length, ...note.machine, ...(warnings.length ? { warnings } : {}) });
      return 0;
    },
  },
];
