// The audit log: list, verify, checkpoint, and export signed.

import { AUDIT_ACTIONS } from '../../services/auditActions.js';
import { AUDIT_EXPORT_TYP } from '../../services/audit.js';
import type { AuditAction } from '../../services/types.js';
import type { Command } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { int, oneOf } from '../options.js';
import { count, outDelivery } from '../output.js';
import { visible } from '../../shared/visibleText.js';

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

export const auditCommands: readonly Command[] = [
  {
    name: 'audit list', section: SECTION, arity: [0, 0], options: ['action', 'subject', 'outcome', 'limit', 'include-unlocks'],
    summary: 'the newest entries first; the CLI\'s own unlocks (store.unlock-cli) only with --include-unlocks or --action',
    details: `Actions (--action):\n${wrap(AUDIT_ACTIONS, 96, '  ')}`,
    async run(ctx) {
      const { values } = ctx;
      const only = action(values.action);
      const query = {
        ...(only ? { action: only } : {}),
        ...(only || values['include-unlocks'] === true ? {} : { excludeActions: [CLI_UNLOCK] }),
        ...(values.subject ? { subject: values.subject } : {}),
        ...(values.outcome ? { outcome: oneOf(values.outcome, 'outcome', ['ok', 'refused'] as const)! } : {}),
        limit: int(values.limit, 'limit', 100, { min: 1, max: 10_000 })!,
      };
      await ctx.unlock();
      const entries = ctx.services.audit.list(query);
      ctx.out.print(entries.map((e) => `#${e.seq}  ${e.at}  ${e.action}  ${e.outcome}  ${e.subject ?? '-'}  ${JSON.stringify(e.details)}`).join('\n') || '(no entries)', entries);
      return 0;
    },
  },
  {
    name: 'audit verify', section: SECTION, arity: [0, 0], options: [],
    summary: 'check the hash chain of the whole log',
    async run(ctx) {
      await ctx.unlock();
      const result = ctx.services.audit.verify();
      ctx.out.print(result.ok ? `The audit log verifies: ${count(result.entries, 'entry', 'entries')}.` : `The audit log does NOT verify: ${result.problem}`, result);
      return result.ok ? 0 : 1;
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
