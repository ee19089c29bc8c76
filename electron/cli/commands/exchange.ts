// Exchanges run from the command line: one request, a simulated device, and
// what superseded wrapdata gets.

import type { JweProfileName } from '../../services/types.js';
import type { Command, Context } from '../command.js';
import { CliError, CliErrorCode, REFUSED_EXIT } from '../errors.js';
import { EXIT } from '../exitStatus.js';
import { readTextFile } from '../inputs.js';
import { rungLine } from '../lines.js';
import { int, oneOf, OPTIONS } from '../options.js';
import { visible } from '../../shared/visibleText.js';

const SECTION = 'Exchanges' as const;
const PROFILES: readonly JweProfileName[] = OPTIONS.profile.choices;

/** Base64 wrapdata from --wrapdata FILE ("-": stdin): key material, so never an argument. */
function wrapdataFrom(path: string, ctx: Context): string {
  const text = readTextFile(path, 'wrapdata', ctx.io).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new CliError(CliErrorCode.FILE_INVALID, `The wrapdata file '${path}' must hold base64 wrapdata (as a response's keydata.wrapdata).`);
  return text;
}

export const exchangeCommands: readonly Command[] = [
  {
    name: 'respond', section: SECTION, arity: [0, 0], options: ['profile'],
    summary: 'answer one request read on stdin, the response on stdout (exit 3 on refusal, 2 on a usage error)',
    details: 'Pipe the request in: keyladder respond < request.json. It reads {"identity","keyrequestdata":{...}} and writes\n' +
      '{"keyresponsedata":{...}}, or {"error":{"code","reason","message"}}.',
    async run(ctx) {
      const profile = oneOf(ctx.values.profile, 'profile', PROFILES) ?? 'msl';
      if (ctx.io.stdinIsTty === true) throw new CliError(CliErrorCode.USAGE_STDIN_IS_TERMINAL, 'respond reads one request on stdin: pipe it in (keyladder respond < request.json).');
      await ctx.unlock();
      const request = readTextFile('-', 'request', ctx.io);
      const result = ctx.services.exchanges.respond(request, profile);
      ctx.io.stdout(`${result.json}\n`);
      return result.ok ? 0 : REFUSED_EXIT;
    },
  },
  {
    name: 'simulate', section: SECTION, params: 'ID', arity: [1, 1], options: ['mechanism', 'rungs', 'profile', 'wrapdata'],
    summary: 'a simulated device climbs the ladder against this store; the KCVs of both sides are compared',
    details: 'With --wrapdata FILE (base64 wrapdata a device holds, as a response\'s keydata.wrapdata; "-" reads stdin)\n' +
      'the first rung is a WRAP with it: wrapdata of a generation in grace is answered, and that of a retired one is\n' +
      'refused with KEYX_WRAPPING_KEY_MISSING, as a returning device would see. Wrapdata is key material: never an argument.',
    async run(ctx) {
      const { values } = ctx;
      const options = {
        mechanism: oneOf(values.mechanism, 'mechanism', OPTIONS.mechanism.choices) ?? 'PSK',
        rungs: int(values.rungs, 'rungs', 3, { min: 1, max: 100 })!,
        profile: oneOf(values.profile, 'profile', PROFILES) ?? 'msl',
        ...(values.wrapdata === undefined ? {} : { wrapdata: wrapdataFrom(values.wrapdata, ctx) }),
      };
      await ctx.unlock();
      const report = await ctx.services.exchanges.simulate(ctx.args[0]!, options);
      ctx.out.print(`${report.rungs.map(rungLine).join('\n')}\n${report.allMatch ? 'Every KCV matches.' : 'KCVs DIFFER: the device and the responder disagree.'}`, report);
      return report.allMatch ? EXIT.OK : EXIT.FAILED;
    },
  },
  {
    name: 'policy clone', section: SECTION, params: '[flag|refuse]', arity: [0, 1], options: [],
    summary: 'show or set what superseded wrapdata gets: answered and the device marked (flag), or refused (refuse)',
    async run(ctx) {
      const policy = ctx.args[0];
      if (policy !== undefined && policy !== 'flag' && policy !== 'refuse') throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `The clone policy is flag or refuse, not "${visible(policy, 20)}".`);
      await ctx.unlock();
      const now = policy === undefined ? ctx.services.exchanges.clonePolicy() : ctx.services.exchanges.setClonePolicy(policy);
      ctx.out.print(`clone policy: ${now}`, { clone: now });
      return 0;
    },
  },
  {
    name: 'policy migration', section: SECTION, params: '[UNTIL|off]', arity: [0, 1], options: [],
    summary: 'show, open until a date (at most 90 days), or close the window in which a device migrating from MSL\'s own responder may climb once with its unknown bare-MSL wrapdata',
    details: 'Off by default: bare-MSL wrapdata this responder does not know is refused (WRAPDATA_UNREGISTERED), since it could be a revoked\n' +
      'device\'s. While the window is open it is answered once per held device that never climbed here, and only if it opens under an\n' +
      'imported-msl Kissuer generation under which this KeyLadder never issued (import-msl, then rotate at once). Audited when set\n' +
      'and at each use (wrapdata: migrated). UNTIL: YYYY-MM-DD or an ISO 8601 time; past it, the window is closed.',
    async run(ctx) {
      const arg = ctx.args[0];
      await ctx.unlock();
      const window = arg === undefined ? ctx.services.exchanges.mslMigration() : ctx.services.exchanges.setMslMigration(arg === 'off' ? null : arg);
      const state = window.open ? `open until ${window.until}` : window.until === null ? 'off' : `off (ended ${window.until})`;
      const generations = window.generations.length === 0 ? 'none (only an imported-msl generation that never issued here qualifies: import the MSL Kissuer, then rotate at once)' : window.generations.join(', ');
      ctx.out.print(`msl migration: ${state}\ngenerations open to it: ${generations}`, { migration: window });
      return 0;
    },
  },
];
