// The audit log: list, verify, checkpoint, export signed, archive (retention) and the exchange policy.

import { AUDIT_ACTIONS } from '../../services/auditActions.js';
import { AUDIT_EXPORT_TYP, MAX_ARCHIVE_ENTRIES, checkDate } from '../../services/audit.js';
import type { AuditAction, AuditEntry } from '../../services/types.js';
import type { Command } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { EXIT } from '../exitStatus.js';
import { int, oneOf, OPTIONS } from '../options.js';
import { checkNewOutFile, count, listed, outDelivery } from '../output.js';
import { visible } from '../../shared/visibleText.js';
import { checkReadableFile } from '../inputs.js';

const SECTION = 'Audit' as const;

/** Each CLI command unlocks the store, and says so in the log: most rows of a short session. Left out unless asked for. */
const CLI_UNLOCK: AuditAction = 'store.unlock-cli';

function action(value: string | undefined): AuditAction | undefined {
  if (value === undefined) return undefined;
  if (!(AUDIT_ACTIONS as readonly string[]).includes(value)) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `--action "${visible(value, 40)}" is none of the audit actions: ${AUDIT_ACTIONS.join(', ')}.`);
  return value as AuditAction;
}

const wrap = (words: readonly string[], width: number, indent: string): string => {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 2 > width) { lines.push(line); line = ''; }
    line = line ? `${line}, ${w}` : w;
  }
  return [...lines, line].map((l) => indent + l).join(',\n');
};

/**
 * One entry on one line: who acted (\`-\` for none: a device's exchange, or an
 * entry from before actors were recorded) after the outcome, the reason quoted
 * at the end. Both are shown escaped, as the subject is.
 */
const auditLine = (e: AuditEntry): string =>
  `#${e.seq}  ${e.at}  ${e.action}  ${e.outcome}  by ${e.actor == null ? '-' : visible(e.actor, 140)}  ${e.subject ?? '-'}  ${JSON.stringify(e.details)}${e.reason ? `  reason "${visible(e.reason, 1000)}"` : ''}`;

export const auditCommands: readonly Command[] = [
  {
    name: 'audit list', section: SECTION, arity: [0, 0], options: ['action', 'subject', 'actor', 'outcome', 'limit', 'include-unlocks'],
    summary: 'the newest entries first; the CLI\'s own unlocks (store.unlock-cli) only with --include-unlocks or --action',
    details: `Actions (--action):\n${wrap(AUDIT_ACTIONS, 96, '  ')}`,
    async run(ctx) {
      const { values } = ctx;
      const only = action(values.action);
      const query = {
        ...(only ? { action: only } : {}),
        ...(only || values['include-unlocks'] === true ? {} : { excludeActions: [CLI_UNLOCK] }),
        ...(values.subject ? { subject: values.subject } : {}),
        ...(values.actor !== undefined ? { actor: values.actor } : {}),
        ...(values.outcome ? { outcome: oneOf(values.outcome, 'outcome', OPTIONS.outcome.choices)! } : {}),
        limit: int(values.limit, 'limit', 100, { min: 1, max: 10_000 })!,
      };
      await ctx.unlock();
      const entries = ctx.services.audit.list(query);
      ctx.out.print(entries.map(auditLine).join('\n') || '(no entries)', listed(entries));
      return 0;
    },
  },
  {
    name: 'audit verify', section: SECTION, arity: [0, 0], options: ['archive'],
    summary: 'check the hash chain of the whole log (kept since the last archive); --archive FILE: check an archive file',
    details: 'A trimmed log starts after its archive cut: a checkpoint of the last archived entry, which the first kept\n' +
      'entry chains from, and an audit.archive record naming the archive file\'s SHA-256. With --archive, the file\'s\n' +
      'entries and MACs are checked under the store\'s key (after a rekey: its SHA-256, which the chain names).',
    async run(ctx) {
      const archive = ctx.values.archive;
      if (archive !== undefined) checkReadableFile(archive, 'archive');
      await ctx.unlock();
      if (archive !== undefined) {
        const r = ctx.services.audit.verifyArchive(archive);
        const how = r.macsChecked ? 'every MAC checked' : 'its SHA-256 is the one the log recorded (MACed under the key before a rekey)';
        const tail = `${r.recorded ? 'The log records this archive.' : 'The log does not record this archive (an archive whose trim never ran, or whose record was archived since).'}${r.continuesInStore ? ' The kept log starts right after it.' : ''}`;
        ctx.out.print(r.ok ? `The archive verifies: entries ${r.from} to ${r.to} (${count(r.entries, 'entry', 'entries')}), ${how}. ${tail}` : `The archive does NOT verify: ${r.problem}`, r);
        return r.ok ? EXIT.OK : EXIT.FAILED;
      }
      const result = ctx.services.audit.verify();
      const archived = result.archivedThrough ? ` (entries 1 to ${result.archivedThrough} are in archive files; check them with --archive)` : '';
      ctx.out.print(result.ok ? `The audit log verifies: ${count(result.entries, 'entry', 'entries')}${archived}.` : `The audit log does NOT verify: ${result.problem}`, result);
      return result.ok ? EXIT.OK : EXIT.FAILED;
    },
  },
  {
    name: 'audit archive', section: SECTION, arity: [0, 0], options: ['before', 'out'], required: ['before', 'out'],
    summary: 'move the entries older than --before DATE to a new archive file, then trim them from the store',
    details: 'The file (JSON Lines: a header, the entries with their chain MACs, a last line) is written and fsynced, and its\n' +
      'audit.archive record (range, last MAC, SHA-256) committed, before one transaction trims the entries and leaves\n' +
      'a MACed checkpoint of the last one, which the kept log chains from. An existing file is never replaced.\n' +
      'Keep the archives: `audit verify --archive FILE` checks each against the store.',
    async run(ctx) {
      const out = ctx.values.out!;
      // A bad date or a file in the way is refused before the unlock: nothing changes.
      checkDate(ctx.values.before!);
      checkNewOutFile(out);
      await ctx.unlock();
      const r = ctx.services.audit.archive(ctx.values.before!, out);
      const more = r.more ? ` Older entries remain (at most ${MAX_ARCHIVE_ENTRIES.toLocaleString('en-US')} a file): run it again with another --out.` : '';
      ctx.out.print(`Archived entries ${r.from} to ${r.to} (${count(r.entries, 'entry', 'entries')}) to ${out} (SHA-256 ${r.sha256}) and trimmed them from the store. Keep the file: \`keyladder audit verify --archive ${out}\` checks it.${more}`, r);
      return 0;
    },
  },
  {
    name: 'audit policy', section: SECTION, arity: [0, 0], options: ['exchanges'],
    summary: 'what the log keeps of answered exchanges: a row each (full, the default) or one per device per hour (summary)',
    details: 'Under summary, answered exchanges are counted per device per UTC hour and, once the hour is past, written as\n' +
      'one exchange.summary entry (count, first, last). Refusals, test exchanges and possible clones stay one entry each;\n' +
      'device counters (exchanges, last exchange) are kept as under full.',
    async run(ctx) {
      // Checked before the unlock, as every option's value (a typo asks for no passphrase).
      const value = oneOf(ctx.values.exchanges, 'exchanges', OPTIONS.exchanges.choices);
      await ctx.unlock();
      if (value === undefined) {
        const policy = ctx.services.audit.exchangePolicy();
        ctx.out.print(`Answered exchanges are audited: ${policy}.`, { exchanges: policy });
        return 0;
      }
      const policy = ctx.services.audit.setExchangePolicy(value);
      ctx.out.print(`Answered exchanges are now audited: ${policy}.`, { exchanges: policy });
      return 0;
    },
  },
  {
    name: 'audit checkpoint', section: SECTION, arity: [0, 0], options: ['out', 'force'], required: ['out'],
    summary: 'a MACed record of the chain\'s head, to keep away from the store',
    async run(ctx) {
      const out = ctx.values.out!;
      const file = outDelivery(out, ctx.values.force === true);
      await ctx.unlock();
      const { seq } = ctx.services.audit.checkpoint(file);
      ctx.out.print(`Wrote a checkpoint of the audit log at entry ${seq} to ${out}. Keep it away from the store; \`keyladder verify --checkpoint ${out}\` tells whether the store went back behind it.`, { file: out, seq });
      return 0;
    },
  },
  {
    name: 'audit export', section: SECTION, arity: [0, 0], options: ['out', 'from', 'to', 'force'], required: ['out'], placeholders: { to: 'SEQ' },
    summary: 'a signed JWS of the log (or --from/--to a range), which anyone with identity jwks can verify without the store',
    details: `A compact JWS: ES256 by this KeyLadder's signing key, its kid in the header, typ "${AUDIT_EXPORT_TYP}". The payload is\n` +
      '{"format":"keyladder-audit-export","version":1,"storeId","exportedAt","from","to","head":{"seq","mac"},"entries":[...]}:\n' +
      'the entries (seq, at, action, outcome, subject, details) and the chain\'s MAC (hex) at the range\'s end.\n' +
      'The export\'s own record (audit.export) is the last entry of a whole-log export.',
    async run(ctx) {
      const out = ctx.values.out!;
      const range = { ...(ctx.values.from !== undefined ? { from: int(ctx.values.from, 'from', undefined, { min: 1 })! } : {}), ...(ctx.values.to !== undefined ? { to: int(ctx.values.to, 'to', undefined, { min: 1 })! } : {}) };
      const file = outDelivery(out, ctx.values.force === true);
      await ctx.unlock();
      // The export's record is inside what it signs, so it is written first;
      // checkOutput above refused a file that cannot be written before that,
      // and a write that fails after it is recorded as refused by the service.
      const { jws: _jws, ...made } = await ctx.services.audit.exportSigned(range, file);
      ctx.out.print(`Wrote entries ${made.from} to ${made.to} of the audit log, signed by ${made.signer}, to ${out}. Verify it with this KeyLadder's public key (keyladder identity jwks).`, { file: out, ...made });
      return 0;
    },
  },
];
