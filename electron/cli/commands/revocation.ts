// Revocation lists between peer responders.

import { visible } from '../../shared/visibleText.js';
import type { Command } from '../command.js';
import { IMPORT_DETAILS, peerProtection, protection, readExport, recipientNote } from '../inputs.js';
import { count, listed, outDelivery } from '../output.js';

const SECTION = 'Kissuer and peers' as const;

export const revocationCommands: readonly Command[] = [
  {
    name: 'revocation export', section: SECTION, arity: [0, 0], options: ['out', 'to', 'recipient', 'bundle-passphrase-file', 'force'], required: ['out'],
    summary: 'this store\'s revoked devices (and those it heard of), for every peer',
    async run(ctx) {
      const out = ctx.values.out!;
      const file = outDelivery(out, ctx.values.force === true);
      const listProtection = await protection(ctx);
      await ctx.unlock();
      const { entries, source } = await ctx.services.revocations.exportList(listProtection, file);
      const note = recipientNote(listProtection);
      ctx.out.print(`Wrote a revocation list of ${count(entries, 'device')} to ${out}, source ${source} (this store's id: peers pin this KeyLadder's signing key with recipient add --source ${source}). Import it on every peer responder: keyladder revocation import FILE.${note.text}`, { file: out, entries, source, ...note.machine });
      return 0;
    },
  },
  {
    name: 'revocation import', section: SECTION, params: 'FILE', arity: [1, 1], options: ['private-key', 'bundle-passphrase-file', 'unsigned', 'bind-source'],
    summary: 'revoke the list\'s devices held here; refuse the rest on WRAP',
    details: IMPORT_DETAILS,
    async run(ctx) {
      const jwe = readExport(ctx.args[0]!, 'revocation list');
      const listProtection = await peerProtection(ctx, jwe);
      await ctx.unlock();
      const result = await ctx.services.revocations.importList(jwe, listProtection, { bindSource: ctx.values['bind-source'] === true });
      ctx.out.print(`Imported the revocation list of ${visible(result.source)} (${result.signer ? `signed by ${visible(String(result.signer))}` : 'unsigned'}, ${count(result.entries, 'entry', 'entries')}): revoked here ${result.revokedHere.length ? result.revokedHere.map((id) => visible(id)).join(', ') : 'none'}; ${count(result.heard, 'more identity', 'more identities')} now refused on WRAP.`, result);
      return 0;
    },
  },
  {
    name: 'revocation peers', section: SECTION, arity: [0, 0], options: [],
    summary: 'when each peer\'s list was last received',
    async run(ctx) {
      await ctx.unlock();
      const lists = ctx.services.revocations.peerLists();
      ctx.out.print(lists.map((l) => `${visible(l.source)}  list of ${l.listAt}  received ${l.receivedAt}  ${count(l.entries, 'entry', 'entries')}`).join('\n') || '(no revocation list received from a peer)', listed(lists));
      return 0;
    },
  },
];
