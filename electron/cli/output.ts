// How the CLI prints: human text, or one line of JSON with --json; warnings go
// to stderr (and into the JSON result, by the command that has them).

import { checkOutput } from '../../db/files.js';
import { fileDelivery, type Delivery } from '../services/delivery.js';
import { visibleLines } from '../shared/visibleText.js';
import type { CliIo } from './io.js';

export interface Output {
  readonly json: boolean;
  /** Prints `human` as text, or `machine` as one line of JSON with --json. */
  print(human: string, machine: unknown): void;
  /** A warning the operator must see, on stderr whatever the output mode. */
  warn(text: string): void;
}

/**
 * The CLI's last guard: everything it writes to stdout and stderr (results,
 * warnings, errors, help) goes through here, so no control or invisible format
 * character reaches the terminal raw, whatever a message forgot to escape
 * where the untrusted text entered it (shared/visibleText.ts). The newlines
 * and tabs the lines are laid out with stay; JSON stays valid JSON with the
 * same values (the escapes are JSON's own).
 */
export const terminalSafe = (io: CliIo): CliIo => ({
  ...io,
  stdout: (text) => io.stdout(visibleLines(text)),
  stderr: (text) => io.stderr(visibleLines(text)),
});

export const outputFor = (io: CliIo, json: boolean): Output => ({
  json,
  print: (human, machine) => io.stdout(json ? `${JSON.stringify(machine)}\n` : `${human}\n`),
  warn: (text) => io.stderr(`keyladder: warning: ${text}\n`),
});

export { count, plural } from '../shared/plural.js';

/**
 * Every list command's --json has one shape (issue 22, item 8: `audit list`
 * printed a bare array, `device list` an object): {"items": [...]}, and the
 * members a paged list adds (device list's "total" and "offset", or "next").
 * `device list --all --json` alone writes JSON lines, one device a line.
 */
export const listed = <T>(items: readonly T[], more: Record<string, unknown> = {}): { items: readonly T[] } => ({ items, ...more });

/**
 * Checks an output file now, before the store is unlocked (so a refusal
 * changes nothing, and costs no export nor its audit record), and returns how
 * to write it once made: a new file, unless `force`, and never through a link.
 */
export function outFile(path: string, force: boolean): (make: () => Promise<string> | string) => Promise<void> {
  const file = outDelivery(path, force);
  return async (make) => {
    file.write(await make());
    // Nothing is audited after it: the write stands at once.
    file.done();
  };
}

/** An output file the service writes itself (audit archive): checked before the unlock, as outFile's. */
export function checkNewOutFile(path: string): void {
  checkOutput(path, false);
}

/**
 * outFile as an export's Delivery: handed to the service, so that the export
 * is audited only once its file is in place.
 */
export function outDelivery(path: string, force: boolean): Delivery {
  checkOutput(path, force);
  return fileDelivery(path, force, '\n');
}
