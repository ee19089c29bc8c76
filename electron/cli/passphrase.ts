// Where passphrases come from: a file named by a flag, the environment, or a
// prompt on a terminal (hidden input). Never an argument, which the process
// list would show. An explicit flag wins over the environment, and a flag
// naming a file that cannot be read is an error, never a fall-back.

import { readFileSync } from 'node:fs';
import { CliError, CliErrorCode, unreadable } from './errors.js';
import type { CliIo } from './io.js';

export interface PassphraseSources {
  /** Flags in order of precedence: the first one given is read. */
  readonly files: ReadonlyArray<{ readonly flag: string; readonly path: string | undefined }>;
  /** Then these variables, in order. */
  readonly env: readonly string[];
  /** What it is for: "store passphrase", "new store passphrase", "bundle passphrase". */
  readonly what: string;
}

/**
 * The file's text, read once into a buffer that is zeroed before returning: the string that is
 * returned cannot be wiped, but no second copy of the passphrase's bytes (a systemd credential's,
 * say) is left in the heap for a crash dump or a swap to find.
 */
function readZeroed(path: string): string {
  const bytes = readFileSync(path);
  try {
    return bytes.toString('utf8');
  } finally {
    bytes.fill(0);
  }
}

function fromFile(path: string, flag: string, what: string, io: CliIo): string {
  // "-" is stdin, as for every other file the CLI reads (issue 22, item 8): `pass show x | keyladder … --passphrase-file -`.
  // Not from a terminal: it would be typed visibly and echoed; the prompt is for that.
  if (path === '-' && io.stdinIsTty === true) throw new CliError(CliErrorCode.USAGE_STDIN_IS_TERMINAL, `--${flag} - reads the ${what} from stdin: pipe it in, or leave the flag out to be asked.`);
  try {
    // One trailing newline is the file's, not the passphrase's.
    return (path === '-' ? io.readStdin() : readZeroed(path)).replace(/\r?\n$/, '');
  } catch {
    // The file's role without the prompt's aside: "the new bundle passphrase file", not "… (whoever opens …) file".
    throw unreadable(what.replace(/ \(.*\)$/, ''), path === '-' ? 'stdin' : path);
  }
}

async function read(sources: PassphraseSources, io: CliIo, confirm: boolean): Promise<string> {
  for (const f of sources.files) if (f.path !== undefined) return fromFile(f.path, f.flag, sources.what, io);
  for (const name of sources.env) {
    const value = io.env[name];
    if (value !== undefined && value !== '') return value;
  }
  const flags = sources.files.map((f) => `--${f.flag} F`).join(' or ');
  if (!io.isTty) {
    throw new CliError(CliErrorCode.NO_PASSPHRASE, `No ${sources.what}: pass ${flags}, or set ${sources.env.join(' or ')}, or run on a terminal to be asked.`);
  }
  // A background job (`keyladder serve … &`) would be stopped by the terminal at its prompt, for good.
  if (io.foreground && !io.foreground()) {
    throw new CliError(CliErrorCode.NO_PASSPHRASE, `No ${sources.what}, and this process runs in the background, where it cannot ask: pass ${flags} (an owner-only file), or set ${sources.env.join(' or ')}, or run it in the foreground.`);
  }
  const prompt = sources.what[0]!.toUpperCase() + sources.what.slice(1);
  const first = await io.askHidden(`${prompt}:`);
  if (!confirm) return first;
  const second = await io.askHidden(`${prompt} again:`);
  if (first !== second) throw new CliError(CliErrorCode.PASSPHRASES_DIFFER, 'The two passphrases differ. Nothing was changed.');
  return first;
}

/** A passphrase that opens something. */
export const readPassphrase = (sources: PassphraseSources, io: CliIo): Promise<string> => read(sources, io, false);

/** A new passphrase: from the same kinds of sources, and typed twice when prompted. */
export const readNewPassphrase = (sources: PassphraseSources, io: CliIo): Promise<string> => read(sources, io, true);

/** The store's passphrase, as every command that unlocks reads it. */
export const storePassphrase = (file: string | undefined): PassphraseSources => ({ files: [{ flag: 'passphrase-file', path: file }], env: ['KEYLADDER_PASSPHRASE'], what: 'store passphrase' });
