// Model groups: the shared keys (Kde, Kdh, Kdw) of a device model, for MGK.

import type { Command } from '../command.js';
import { groupKeys, protection, recipientNote } from '../inputs.js';
import { count, listed, outDelivery } from '../output.js';

const SECTION = 'Devices and model groups' as const;

export const groupCommands: readonly Command[] = [
  {
    name: 'group add', section: SECTION, params: 'NAME', arity: [1, 1], options: ['keys'],
    summary: 'add a model group: generated keys, or {"kde","kdh"} (Kdw derived) or {"kdw"} from --keys',
    async run(ctx) {
      const keys = groupKeys(ctx);
      await ctx.unlock();
      const g = ctx.services.groups.add(ctx.args[0]!, keys);
      ctx.out.print(`Added model group ${g.name}  KCV kdw=${g.kcv.kdw}${g.kcv.kde ? ` kde=${g.kcv.kde} kdh=${g.kcv.kdh}` : ''}`, g);
      return 0;
    },
  },
  {
    name: 'group list', section: SECTION, arity: [0, 0], options: [],
    summary: 'the model groups, their device counts and KCVs',
    async run(ctx) {
      await ctx.unlock();
      const groups = ctx.services.groups.list();
      ctx.out.print(groups.map((g) => `${g.name}  ${count(g.deviceCount, 'device')}  KCV kdw=${g.kcv.kdw}${g.kcv.kde ? ` kde=${g.kcv.kde} kdh=${g.kcv.kdh}` : ''}`).join('\n') || '(no model groups)', listed(groups));
      return 0;
    },
  },
  {
    name: 'group export', section: SECTION, params: 'NAME...', arity: [1, Infinity], options: ['out', 'to', 'recipient', 'bundle-passphrase-file', 'force'], required: ['out'],
    summary: 'a protected bundle of the groups\' keys for a factory, which puts them into each device of the model (MGK)',
    details: 'The same protection as device bundles: a passphrase (PBES2-HS512+A256KW), or --recipient\'s public RSA JWK\n' +
      '(RSA-OAEP-256). The plaintext is {"format":"keyladder-group-bundle","version":1,"createdAt",\n' +
      '"payload":{"groups":[{"name","origin","kdw","kde","kdh","kcv"}]}}, keys in hex, origin generated, imported-kde-kdh\n' +
      'or imported-kdw (kde and kdh only when the group has them: a group imported from {"kdw"} has Kdw alone).',
    async run(ctx) {
      const out = ctx.values.out!;
      const file = outDelivery(out, ctx.values.force === true);
      const bundleProtection = await protection(ctx);
      await ctx.unlock();
      await ctx.services.groups.exportBundle(ctx.args, bundleProtection, file);
      const note = recipientNote(bundleProtection);
      ctx.out.print(`Wrote a protected bundle of ${count(ctx.args.length, 'model group')} to ${out}. Hand it only to the factory that makes the model's devices.${note.text}`, { file: out, groups: ctx.args.length, ...note.machine });
      return 0;
    },
  },
];
