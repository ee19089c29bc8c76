// Help, built from the commands' own descriptions: the overview (`keyladder
// --help`), one command (`keyladder help device add`, `device add --help`) or
// a group (`keyladder help device`), and the usage line errors end with.

import type { Command, Section } from './command.js';
import { EXAMPLES } from './examples.js';
import { COMMAND_OPTION_HELP } from './optionHelp.js';
import { GLOBAL_OPTIONS, OPTIONS, optionUsage, type OptionName } from './options.js';

export const SECTIONS: readonly Section[] = ['Store', 'Devices and model groups', 'Kissuer and peers', 'MSL server', 'Keys you share', 'Exchanges', 'JOSE', 'Audit', 'Shell'];

/** What to type: "keyladder device export ID... --out FILE [--recipient PUBLIC_JWK] …". */
export function usageLine(command: Command): string {
  const required = new Set(command.required ?? []);
  const usage = (o: OptionName) => optionUsage(o, command.placeholders?.[o]);
  const options = command.options.map((o) => (required.has(o) ? usage(o) : `[${usage(o)}]`));
  return ['keyladder', command.name, ...(command.params ? [command.params] : []), ...options].join(' ');
}

/** `own`: what each option means to this command (optionHelp.ts), before the shared text. */
const optionLines = (names: readonly OptionName[], placeholders: Command['placeholders'] = {}, own: Partial<Record<OptionName, string>> = {}): string[] => {
  const usage = (n: OptionName) => optionUsage(n, placeholders[n]);
  const width = Math.max(...names.map((n) => usage(n).length)) + 2;
  return names.map((n) => `  ${usage(n).padEnd(width)}${own[n] ?? OPTIONS[n].help}`);
};

export function commandHelp(command: Command): string {
  const own = command.options.filter((o) => !GLOBAL_OPTIONS.includes(o));
  return [
    `Usage: ${usageLine(command)}`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    ...(EXAMPLES[command.name] ? ['', `Example: keyladder ${EXAMPLES[command.name]}`] : []),
    ...(own.length ? ['', 'Options', ...optionLines(own, command.placeholders, COMMAND_OPTION_HELP[command.name])] : []),
    '',
    'Global options',
    ...optionLines(GLOBAL_OPTIONS),
    '',
  ].join('\n');
}

/** The commands of a group ("device"), one usage line and summary each. */
export function groupHelp(group: string, commands: readonly Command[]): string {
  return [`keyladder ${group}: ${commands.length} commands. \`keyladder help ${group} SUBCOMMAND\` tells more.`, '', ...commands.flatMap(listed), ''].join('\n');
}

const listed = (c: Command): string[] => [`  ${usageLine(c).replace(/^keyladder /, '')}`, `      ${c.summary}`];

export function overview(commands: readonly Command[], version: string): string {
  return [
    `keyladder ${version}: the JWE_LADDER responder's key store, from the command line.`,
    '',
    'Usage: keyladder COMMAND [options]',
    '       keyladder help COMMAND        (or COMMAND --help, -h): one command, its options, what they do, an example',
    '       keyladder help concepts       the words: PSK, MGK, WRAP, Kissuer, wrapdata, KCV, master token, ...',
    '       keyladder --version',
    '',
    ...SECTIONS.flatMap((section) => [section, ...commands.filter((c) => c.section === section).flatMap(listed), '']),
    'Global options',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Key material is never taken as an argument (other users can read those): it comes from a JSON',
    'file with hex values, or from stdin as "-". Output files are never replaced without --force.',
    'Errors end with a stable code in brackets ([USAGE_BAD_VALUE], [DEVICE_NOT_FOUND], ...).',
    '',
  ].join('\n');
}
