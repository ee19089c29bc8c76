// The `keyladder` command: the command-line door onto the services. It parses
// arguments, finds the command (cli/commands/*.ts, one module per command
// group), checks its arguments and options, and prints the result or the
// error (human text, or JSON with --json). It holds no logic of its own.
//
// Key material is never taken from the command line (other users can read a
// process list): it comes from a JSON file, or from stdin when the file is "-".

import { readFileSync } from 'node:fs';
import { createServices } from './services/index.js';
import { describeError } from './services/errors.js';
import { defaultStoreDir } from './paths.js';
import type { Command, Context } from './cli/command.js';
import { auditCommands } from './cli/commands/audit.js';
import { deviceCommands } from './cli/commands/device.js';
import { exchangeCommands } from './cli/commands/exchange.js';
import { groupCommands } from './cli/commands/group.js';
import { identityCommands, recipientCommands } from './cli/commands/keyring.js';
import { issuerCommands } from './cli/commands/issuer.js';
import { mslCommands } from './cli/commands/msl.js';
import { mslInspectCommands, mslSimulateCommands } from './cli/commands/mslTestTools.js';
import { joseCommands } from './cli/commands/jose.js';
import { revocationCommands } from './cli/commands/revocation.js';
import { serveCommands } from './cli/commands/serve.js';
import { storeCommands } from './cli/commands/store.js';
import { shellCommands } from './cli/commands/shell.js';
import { CANCELLED_EXIT, Cancelled, CliError, CliErrorCode, exitStatusOf, isCancel, withCliHint } from './cli/errors.js';
import { commandHelp, groupHelp, overview, usageLine } from './cli/help.js';
import { CONCEPTS_TOPIC, conceptsHelp } from './cli/concepts.js';
import { processIo, type CliIo } from './cli/io.js';
import { GLOBAL_OPTIONS, int, parseCommandLine, wordsOf, type ParsedArgs } from './cli/options.js';
import { outputFor, terminalSafe } from './cli/output.js';
import { readPassphrase, storePassphrase } from './cli/passphrase.js';
import { disableCoreDumps } from './security/coreDumps.js';
import { visible } from './shared/visibleText.js';
import { didYouMean, nearestWords, sayNearest } from './cli/suggest.js';
import { osActor } from './services/actor.js';

export type { CliIo } from './cli/io.js';

export const COMMANDS: readonly Command[] = [
  ...storeCommands, ...deviceCommands, ...groupCommands, ...issuerCommands, ...revocationCommands, ...recipientCommands, ...identityCommands, ...mslCommands, ...mslInspectCommands, ...mslSimulateCommands, ...exchangeCommands, ...serveCommands, ...joseCommands, ...auditCommands, ...shellCommands,
];

/** package.json's version: one level above electron/cli.ts, two above dist/electron/cli.js. */
function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'keyladder' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}

/** The command that `words` name ("device add ...", "msl identity show ..."), and the words after it. */
function find(words: readonly string[]): { command: Command; args: string[] } | undefined {
  for (let n = 3; n >= 1; n--) {
    if (words.length < n) continue;
    const command = COMMANDS.find((c) => c.name === words.slice(0, n).join(' '));
    if (command) return { command, args: words.slice(n) };
  }
  return undefined;
}

/** The longest leading words that name a group of commands ("msl identity", else "msl"), and its commands. */
function groupOf(words: readonly string[]): { name: string; commands: Command[] } {
  for (let n = Math.min(2, words.length); n >= 1; n--) {
    const name = words.slice(0, n).join(' ');
    const commands = COMMANDS.filter((c) => c.name.startsWith(`${name} `));
    if (commands.length) return { name, commands };
  }
  return { name: words[0] ?? '', commands: [] };
}

/** Every name a command line can start with: the commands, and the groups they are in ("msl identity", "msl"). */
const COMMAND_NAMES: readonly string[] = [...new Set(COMMANDS.flatMap((c) => {
  const words = c.name.split(' ');
  return words.map((_, i) => words.slice(0, i + 1).join(' '));
}))];

/**
 * " Did you mean device list?" for mistyped command words: the longest run of
 * leading words that is a typo of a command's or group's name ("devce lst"),
 * else nothing.
 */
function commandSuggestion(words: readonly string[]): string {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const found = nearestWords(words.slice(0, n), COMMAND_NAMES);
    if (found.length) return sayNearest(found);
  }
  return '';
}

/** `keyladder help WORDS`, or WORDS --help: the command's help, a group's, or the overview. */
function helpFor(words: readonly string[]): string {
  if (words.length === 1 && words[0] === CONCEPTS_TOPIC) return conceptsHelp();
  const found = find(words);
  if (found) return commandHelp(found.command);
  const group = groupOf(words);
  if (group.commands.length) return groupHelp(group.name, group.commands);
  if (words.length) throw new CliError(CliErrorCode.USAGE_UNKNOWN_COMMAND, `There is no command "${visible(words.join(' '), 60)}".${commandSuggestion(words)} Run keyladder --help for the list.`);
  return overview(COMMANDS, version());
}

/** The command and its checked arguments, or a usage error that says what to type. */
function resolve(parsed: ParsedArgs): { command: Command; args: string[] } {
  const words = parsed.positionals;
  const found = find(words);
  if (!found) {
    const { name, commands } = groupOf(words);
    if (commands.length) {
      const next = words[name.split(' ').length];
      const what = next === undefined ? `${name} needs a subcommand` : `${name} has no subcommand "${visible(next, 40)}"`;
      const subcommands = [...new Set(commands.map((c) => c.name.slice(name.length + 1).split(' ')[0]))];
      throw new CliError(next === undefined ? CliErrorCode.USAGE_MISSING_ARGUMENT : CliErrorCode.USAGE_UNKNOWN_COMMAND, `${what}: ${subcommands.join(', ')}.${next === undefined ? '' : commandSuggestion(words)} keyladder help ${name} tells more.`);
    }
    // The glossary is a help topic, not a command: say how to reach it.
    if (words[0] === CONCEPTS_TOPIC) throw new CliError(CliErrorCode.USAGE_UNKNOWN_COMMAND, `concepts is a help topic: keyladder help ${CONCEPTS_TOPIC}.`);
    throw new CliError(CliErrorCode.USAGE_UNKNOWN_COMMAND, `Unknown command "${visible(words[0]!, 40)}".${commandSuggestion(words)} Run keyladder --help for the list.`);
  }
  const { command, args } = found;
  const takes = new Set([...GLOBAL_OPTIONS, ...command.options]);
  const foreign = parsed.given.find((o) => !takes.has(o));
  if (foreign !== undefined) throw new CliError(CliErrorCode.USAGE_UNKNOWN_OPTION, `${command.name} takes no --${foreign}.${didYouMean(foreign, takes, (o) => `--${o}`)}`);
  const [min, max] = command.arity;
  const params = command.params ?? 'no arguments';
  if (args.length < min) throw new CliError(CliErrorCode.USAGE_MISSING_ARGUMENT, `${command.name} needs ${params}.`);
  if (args.length > max) throw new CliError(CliErrorCode.USAGE_EXTRA_ARGUMENT, `${command.name} takes ${max === 0 ? 'no arguments' : params}; "${visible(args[max]!, 40)}" is one too many.`);
  const missing = (command.required ?? []).find((o) => parsed.values[o] === undefined);
  if (missing !== undefined) throw new CliError(CliErrorCode.USAGE_MISSING_ARGUMENT, `${command.name} needs --${missing}.`);
  return found;
}

/** The command an argument list names, checked as main() checks it (its options, arguments, required options): for help's examples' test. */
export const commandOf = (argv: readonly string[]): Command => resolve(parseCommandLine(argv)).command;

export async function main(argv: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  const io = terminalSafe(rawIo);
  // --json decides how even a parse error is printed, so it is looked for before parsing.
  let json = argv.includes('--json');
  let command: Command | undefined;
  let args: string[] = [];
  const fail = (error: unknown): number => {
    if (isCancel(error)) {
      const message = error instanceof Cancelled ? error.message : 'Cancelled.';
      if (json) io.stdout(`${JSON.stringify({ error: { code: 'CANCELLED', message } })}\n`);
      else io.stderr(`${message}\n`);
      return CANCELLED_EXIT;
    }
    const plain = describeError(error);
    const described = { ...plain, message: withCliHint(plain.code, plain.message) };
    const usage = command && described.code.startsWith('USAGE_') ? usageLine(command) : undefined;
    if (json) io.stdout(`${JSON.stringify({ error: { ...described, ...(usage ? { usage } : {}) } })}\n`);
    // The code alone in brackets, as documented and as scripts grep it; a reason is its own field (issue 22, item 8).
    else io.stderr(`keyladder: ${described.message} [${described.code}]${described.reason ? ` (reason: ${described.reason})` : ''}\n${usage ? `Usage: ${usage}\n` : ''}`);
    return exitStatusOf(described.code);
  };
  let parsed: ParsedArgs;
  try {
    parsed = parseCommandLine(argv);
    json = parsed.values.json === true;
    const words = parsed.positionals;
    if (parsed.values.version === true) {
      io.stdout(json ? `${JSON.stringify({ version: version() })}\n` : `keyladder ${version()}\n`);
      return 0;
    }
    if (words[0] === 'help' || words.length === 0 || parsed.values.help === true) {
      io.stdout(helpFor(words[0] === 'help' ? words.slice(1) : words));
      return 0;
    }
    ({ command, args } = resolve(parsed));
  } catch (error) {
    command ??= find(wordsOf(argv))?.command;
    return fail(error);
  }
  // Every command may hold the passphrase or keys: no core dump of this process (security/coreDumps.ts).
  disableCoreDumps();
  const { values } = parsed;
  const storeDir = values.store ?? io.env['KEYLADDER_STORE'] ?? defaultStoreDir();
  let services;
  try {
    services = createServices({
      storeDir,
      ...(values['kdf-log-n'] !== undefined ? { kdfLogN: int(values['kdf-log-n'], 'kdf-log-n')! } : {}),
      // A one-shot command writes its records before it exits anyway, and needs no checkpointing
      // thread. (`serve` runs its responders in worker processes, which open the store themselves.)
      batchExchangeRecords: false,
      backgroundCheckpoints: false,
      // Every command unlocks once: audited as the CLI's own action, which `audit list` leaves out.
      door: 'cli',
      // Who acted, in every record this command writes: the OS user and host (services/actor.ts).
      actor: osActor(),
    });
  } catch (error) {
    return fail(error);
  }
  const runtime = services;
  // Once per command: an export unlocks before it asks for the new bundle passphrase (the store's
  // is asked first, issue 22 item 5), and the command's own unlock() after that is the same one.
  let unlocked: Promise<string> | undefined;
  const ctx: Context = {
    args, values, services: runtime, io, out: outputFor(io, json), storeDir, commands: COMMANDS, version: version(),
    unlock() {
      unlocked ??= (async () => {
        const passphrase = await readPassphrase(storePassphrase(values['passphrase-file']), io);
        await runtime.store.unlock(passphrase);
        return passphrase;
      })();
      return unlocked;
    },
  };
  try {
    return await command.run(ctx);
  } catch (error) {
    return fail(error);
  } finally {
    runtime.close();
  }
}
