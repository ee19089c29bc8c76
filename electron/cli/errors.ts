// The CLI's own errors: a mistake in how the command was called, or a file it
// cannot use. Each has a stable code (printed in brackets, or as error.code
// with --json) and exits with status 2; the services' errors exit with 1
// (exitStatus.ts has every status).

import { EXIT } from './exitStatus.js';

export const CliErrorCode = {
  USAGE_UNKNOWN_COMMAND: 'USAGE_UNKNOWN_COMMAND',
  USAGE_UNKNOWN_OPTION: 'USAGE_UNKNOWN_OPTION',
  USAGE_BAD_VALUE: 'USAGE_BAD_VALUE',
  USAGE_MISSING_ARGUMENT: 'USAGE_MISSING_ARGUMENT',
  USAGE_EXTRA_ARGUMENT: 'USAGE_EXTRA_ARGUMENT',
  /** A destructive command without --yes. */
  USAGE_NOT_CONFIRMED: 'USAGE_NOT_CONFIRMED',
  /** A command that reads stdin was run on a terminal with nothing piped in. */
  USAGE_STDIN_IS_TERMINAL: 'USAGE_STDIN_IS_TERMINAL',
  NO_PASSPHRASE: 'NO_PASSPHRASE',
  PASSPHRASES_DIFFER: 'PASSPHRASES_DIFFER',
  /** A named file is missing or cannot be read (the message names its role and path). */
  FILE_UNREADABLE: 'FILE_UNREADABLE',
  /** A named file was read but is not what its role needs (never echoed). */
  FILE_INVALID: 'FILE_INVALID',
  /** A keys file with one key of a pair and not its partner, or members that do not belong. */
  KEYS_INCOMPLETE: 'KEYS_INCOMPLETE',
  /** serve --config FILE: a key that is not one of serve's options (the message names it). */
  CONFIG_UNKNOWN_KEY: 'CONFIG_UNKNOWN_KEY',
  /** serve --config FILE: a key's value of the wrong type ("8420" for port, a string for a list). */
  CONFIG_WRONG_TYPE: 'CONFIG_WRONG_TYPE',
  /** serve --config FILE: a key's value its flag would refuse (port = 70000). */
  CONFIG_BAD_VALUE: 'CONFIG_BAD_VALUE',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/**
 * Codes that exit with status 2: the CLI's own, those serve's settings share (serveSettings.ts),
 * and a bad --reason (checked before the store is opened, like any option's value: services/actor.ts).
 */
const USAGE_CODES: ReadonlySet<string> = new Set([...Object.values(CliErrorCode), 'REASON_INVALID']);
export const exitStatusOf = (code: string): number => (USAGE_CODES.has(code) ? EXIT.USAGE : EXIT.FAILED);

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(readonly code: CliErrorCode, message: string) {
    super(message);
  }
}

/**
 * What to type, for errors whose message (written for every door, the app's
 * included) cannot name a command: the CLI adds it after the message.
 */
const CLI_HINTS: Readonly<Record<string, string>> = {
  STORE_NOT_FOUND: 'Type `keyladder init` to create it, or give --store (or KEYLADDER_STORE) the right folder.',
  BACKUP_OTHER_STORE: 'Add --other-store if you mean to replace this store with that one.',
};
export const withCliHint = (code: string, message: string): string => (CLI_HINTS[code] ? `${message} ${CLI_HINTS[code]}` : message);

/** `role` names what the file is for ("import", "recipient key"): the message says which file of several failed. */
export const unreadable = (role: string, path: string): CliError => new CliError(CliErrorCode.FILE_UNREADABLE, `Cannot read the ${role} file '${path}'.`);

/**
 * The operator pressed Ctrl-C at a prompt: nothing is wrong, nothing was done
 * by this command. main() prints "Cancelled." and exits 130 (128 + SIGINT, as
 * a shell reports a job stopped by Ctrl-C), never INTERNAL_ERROR.
 */
export class Cancelled extends Error {
  override readonly name = 'Cancelled';
  /** `message`: what the interruption left ("Interrupted: nothing was imported."). */
  constructor(message = 'Cancelled.') {
    super(message);
  }
}
export const CANCELLED_EXIT = EXIT.CANCELLED;

/**
 * `respond`'s answer was a refusal (its JSON error is on stdout): a verdict on the request, not a
 * mistake in the command line (2) nor a failure (1), so a script can tell the three apart.
 */
export const REFUSED_EXIT = EXIT.REFUSED;

/** Whether `error` is a prompt's own report of Ctrl-C (@inquirer's ExitPromptError), or ours. */
export const isCancel = (error: unknown): boolean =>
  error instanceof Cancelled || (error instanceof Error && error.name === 'ExitPromptError');
