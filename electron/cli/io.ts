// What the CLI reads and writes, as one value: the real process, or a test's buffers.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import password from '@inquirer/password';
import { Cancelled, isCancel } from './errors.js';
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
  /** Asks on the terminal for a line (a yes or no); Ctrl-C rejects with Cancelled. Absent: nothing can be asked. */
  readonly askLine?: (message: string) => Promise<string>;
}

/** A question on stderr, answered on stdin's terminal; Ctrl-C is Cancelled, as at the passphrase prompts. */
function askLine(message: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    rl.on('SIGINT', () => { settled = true; rl.close(); process.stderr.write('\n'); reject(new Cancelled()); });
    rl.on('close', () => { if (!settled) reject(new Cancelled()); });
    rl.question(`${message} `, (answer) => { settled = true; rl.close(); resolve(answer); });
  });
}

export const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0, 'utf8'),
  isTty: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  stdinIsTty: Boolean(process.stdin.isTTY),
  foreground: () => inForeground(),
  env: process.env,
  // Ctrl-C at the prompt (and, since @inquirer/password 5, Ctrl-D on an empty line) rejects with
  // @inquirer's ExitPromptError: it becomes our Cancelled. Version 5 also shows the typed text on
  // Ctrl-T by default (toggleMask): a passphrase is never shown, so that is switched off.
  askHidden: async (message) => {
    try {
      return await password({ message, toggleMask: false });
    } catch (e) {
      throw isCancel(e) ? new Cancelled() : e;
    }
  },
  askLine,
});
