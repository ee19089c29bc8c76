// What the CLI reads and writes, as one value: the real process, or a test's buffers.

import { readFileSync } from 'node:fs';
import password from '@inquirer/password';
import { inForeground } from './foreground.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => string;
  /** stdin and stderr are a terminal: prompts and progress bars are possible. */
  readonly isTty: boolean;
  /** stdin alone is a terminal: nothing was piped in. */
  readonly stdinIsTty?: boolean;
  /** In the terminal's foreground process group (foreground.ts); a background job (`cmd &`) must not prompt. */
  readonly foreground?: () => boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Asks on the terminal with the input hidden (a passphrase). */
  readonly askHidden: (message: string) => Promise<string>;
}

export const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0, 'utf8'),
  isTty: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  stdinIsTty: Boolean(process.stdin.isTTY),
  foreground: () => inForeground(),
  env: process.env,
  askHidden: (message) => password({ message }),
});
