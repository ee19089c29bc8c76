// Kissuer generations: rotate, retire, destroy, and share with peer responders.

import type { Command, Context } from '../command.js';
import { confirmed, reasonOf } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { IMPORT_DETAILS, protection, peerProtection, readExport, readJsonObject, recipientNote } from '../inputs.js';
import { generationLine } from '../lines.js';
import { int, oneOf } from '../options.js';
import { listed, outDelivery } from '../output.js';
import { visible } from '../../shared/visibleText.js';

const SECTION = 'Kissuer and peers' as const;

function generations(ctx: Context): number[] {
  const bad = ctx.args.find((a) => !/^\d{1,9}$/.test(a));
  if (bad !== undefined) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `A generation is a whole number (as issuer list shows), not "${visible(bad, 20)}".`);
  return ctx.args.map(Number);
}

const graceDays = (ctx: Context) => int(ctx.values['grace-days'], 'grace-days', undefined, { min: 0, max: 3650 });

/** issuer rotate --format: how the new generation's wrapdata names it. */
const GENERATION_FORMATS = ['keyladder-v1', 'msl'] as const;

export const issuerCommands: readonly Command[] = [
  {
    name: 'issuer list', section: SECTION, arity: [0, 0], options: [],
    summary: 'the Kissuer generations: active, grace, retired, destroyed',
    async run(ctx) {
      await ctx.unlock();
      const gens = ctx.services.issuers.list();
      ctx.out.print(gens.map(generationLine).join('\n'), listed(gens));
      return 0;
    },
  },
  {
    name: 'issuer rotate', section: SECTION, arity: [0, 0], options: ['grace-days', 'format'], choices: { format: GENERATION_FORMATS },
    summary: 'a new active generation; the one before answers returning wrapdata for --grace-days',
    details: '--format is keyladder-v1 (wrapdata names its generation; the default) or msl (bare MSL wrapdata).',
    async run(ctx) {
      const days = graceDays(ctx);
      const format = oneOf(ctx.values.format, 'format', GENERATION_FORMATS);
      await ctx.unlock();
      const g = ctx.services.issuers.rotate(days, format);
      ctx.out.print(`Rotated: ${generationLine(g)}`, g);
      return 0;
    },
  },
  {
    name: 'issuer retire', section: SECTION, params: 'GEN', arity: [1, 1], options: ['reason'],
    summary: 'end a generation\'s grace: its wrapdata gets KEYX_WRAPPING_KEY_MISSING, and devices fall back to PSK/MGK',
    async run(ctx) {
      const [gen] = generations(ctx);
      const reason = reasonOf(ctx);
      await ctx.unlock();
      const g = ctx.services.issuers.retire(gen!, reason);
      ctx.out.print(`Retired: ${generationLine(g)}`, g);
      return 0;
    },
  },
  {
    name: 'issuer destroy', section: SECTION, params: 'GEN', arity: [1, 1], options: ['yes', 'reason'],
    summary: 'erase a retired generation\'s key for good',
    async run(ctx) {
      const [gen] = generations(ctx);
      const reason = reasonOf(ctx);
      confirmed(ctx, `Destroying erases generation ${gen}'s key for good.`);
      await ctx.unlock();
      const g = ctx.services.issuers.destroy(gen!, reason);
      ctx.out.print(`Destroyed: ${generationLine(g)}`, g);
      return 0;
    },
  },
  {
    name: 'issuer import-msl', section: SECTION, arity: [0, 0], options: ['keys', 'grace-days'], required: ['keys'],
    summary: 'add a Kissuer shared with MSL servers, from {"kissuer": hex}; it becomes active',
    async run(ctx) {
      const days = graceDays(ctx);
      const keys = readJsonObject(ctx.values.keys!, 'keys', ctx.io);
      if (Object.keys(keys).some((k) => k !== 'kissuer') || typeof keys['kissuer'] !== 'string') throw new CliError(CliErrorCode.KEYS_INCOMPLETE, 'The keys file must be {"kissuer":"<32 hex digits>"}.');
      await ctx.unlock();
      const g = ctx.services.issuers.importMsl(keys['kissuer'], days);
      ctx.out.print(`Imported a bare-MSL Kissuer: ${generationLine(g)}`, g);
      return 0;
    },
  },
  {
    name: 'issuer export', section: SECTION, params: 'GEN...', arity: [1, Infinity], options: ['out', 'to', 'recipient', 'bundle-passphrase-file', 'force'], required: ['out'],
    summary: 'a protected export of active and grace generations, for a trusted peer responder',
    async run(ctx) {
      const gens = generations(ctx);
      const out = ctx.values.out!;
      const file = outDelivery(out, ctx.values.force === true);
      const exportProtection = await protection(ctx);
      await ctx.unlock();
      await ctx.services.issuers.exportToPeer(gens, exportProtection, file);
      const note = recipientNote(exportProtection);
      ctx.out.print(`Wrote a protected Kissuer export to ${out}. Hand it only to a trusted peer responder.${note.text}`, { file: out, ...note.machine });
      return 0;
    },
  },
  {
    name: 'issuer import', section: SECTION, params: 'FILE', arity: [1, 1], options: ['private-key', 'bundle-passphrase-file', 'unsigned'],
    summary: 'add a peer\'s generations from its export',
    details: IMPORT_DETAILS,
    async run(ctx) {
      const jwe = readExport(ctx.args[0]!, 'Kissuer export');
      const exportProtection = await peerProtection(ctx, jwe);
      await ctx.unlock();
      const gens = await ctx.services.issuers.importFromPeer(jwe, exportProtection);
      ctx.out.print(gens.length ? `Imported:\n${gens.map(generationLine).join('\n')}` : 'Nothing new: every generation in the export is already here.', gens);
      return 0;
    },
  },
];
