// Where passphrases come from: the environment, a file, or a prompt on a TTY
// (hidden input). Never an argument, which the process list would show.

import { readFileSync } from 'node:fs';
import password from '@inquirer/password';
import { CliUsageError } from './output.js';
import type { CliIo } from '../cli.js';

function fromFile(file: string): string {
  try {
    // One trailing newline is the file's, not the passphrase's.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new CliUsageError(`Cannot read the passphrase file ${file}.`);
  }
}

export async function readPassphrase(file: string | undefined, io: CliIo, envName = 'KEYLADDER_PASSPHRASE', prompt = 'Store passphrase'): Promise<string> {
  const fromEnv = io.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (file !== undefined) return fromFile(file);
  if (!io.isTty) throw new CliUsageError(`No passphrase: set ${envName}, or pass a passphrase file, or run on a terminal to be asked.`);
  return password({ message: `${prompt}:` });
}

/** A new passphrase: from the same sources, and typed twice when prompted. */
export async function readNewPassphrase(file: string | undefined, io: CliIo, envName: string, prompt: string): Promise<string> {
  const fromEnv = io.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (file !== undefined) return fromFile(file);
  if (!io.isTty) throw new CliUsageError(`No passphrase: set ${envName}, or pass a passphrase file, or run on a terminal to be asked.`);
  const first = await password({ message: `${prompt}:` });
  const second = await password({ message: `${prompt} again:` });
  if (first !== second) throw new CliUsageError('The two passphrases differ. Nothing was changed.');
  return first;
}
