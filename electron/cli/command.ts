// What a command is to the dispatcher (../cli.ts): its name, what to type, the
// options it takes, and the handler. Each command group's module
// (commands/*.ts) lists its commands; help and usage errors come from here.

import type { KeyLadderRuntime } from '../services/index.js';
import { checkReason } from '../services/actor.js';
import { CliError, CliErrorCode } from './errors.js';
import type { CliIo } from './io.js';
import type { OptionName, Values } from './options.js';
import type { Output } from './output.js';

export type Section = 'Store' | 'Devices and model groups' | 'Kissuer and peers' | 'MSL server' | 'Keys you share' | 'Exchanges' | 'JOSE' | 'Audit' | 'Shell';

export interface Context {
  readonly args: readonly string[];
  readonly values: Values;
  readonly services: KeyLadderRuntime;
  readonly io: CliIo;
  readonly out: Output;
  readonly storeDir: string;
  /** The command table, for the commands that print what it holds (completion, man). */
  readonly commands: readonly Command[];
  /** package.json's version, for what names it (the man page). */
  readonly version: string;
  /** Unlocks the store with the passphrase from --passphrase-file, the environment or a prompt. */
  unlock(): Promise<string>;
}

export interface Command {
  /** "device add": a group and a subcommand ("msl identity show": a group, a subgroup and a subcommand), or one word. */
  readonly name: string;
  readonly section: Section;
  /** The positional arguments, as usage shows them ("ID...", "FILE", "[flag|refuse]"). */
  readonly params?: string;
  /** How many positional arguments it takes; `max` Infinity for "ID...". */
  readonly arity: readonly [min: number, max: number];
  /** The options it takes, besides the global ones. */
  readonly options: readonly OptionName[];
  /** An option's placeholder where this command reads it otherwise (audit export's --to SEQ). */
  readonly placeholders?: Partial<Record<OptionName, string>>;
  /**
   * An option's values where this command alone fixes them (device import's --format csv|json):
   * its check reads them from here, and shell completion offers them. Options whose values are the
   * same everywhere have them in options.ts.
   */
  readonly choices?: Partial<Record<OptionName, readonly string[]>>;
  /** Options that must be given, such as --out for exports. */
  readonly required?: readonly OptionName[];
  /** One line for the command list. */
  readonly summary: string;
  /** More, for `keyladder help COMMAND`. */
  readonly details?: string;
  run(ctx: Context): Promise<number>;
}

/** A destructive or revealing command goes on only with --yes. */
export function confirmed(ctx: Context, what: string): void {
  if (ctx.values.yes !== true) throw new CliError(CliErrorCode.USAGE_NOT_CONFIRMED, `${what} Add --yes to confirm.`);
}

/**
 * A destructive command's --reason, checked before the store is unlocked (or
 * any prompt): over 1,000 characters or with control characters it is
 * REASON_INVALID, and nothing is changed. Undefined when none was given.
 */
export function reasonOf(ctx: Context): string | undefined {
  return checkReason(ctx.values.reason) ?? undefined;
}
