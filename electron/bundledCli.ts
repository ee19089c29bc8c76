// The CLI run by the installed app's own runtime (cliDispatch.ts says how a
// launch becomes one): in the main process, with no window, no IPC and no
// single-instance lock (the window code is never loaded), then the app exits
// with the CLI's status. stdin, stdout, stderr and the terminal are the
// process's own, as under Node; the CLI's Ctrl-C handling (cli/interrupt.ts)
// is the same code. What touches Electron is passed in (`host`), so this runs
// under plain Node in the tests with a stand-in.

import { bundledRefusal, refusalText } from './cliDispatch.js';
import { wordsOf } from './cli/options.js';

export interface CliHost {
  /** Ends the process with this status (Electron: app.exit). */
  exit(code: number): void;
}

/** Resolves once everything written to the stream so far has been handed to the OS (a pipe on macOS is asynchronous). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

export async function runBundledCli(args: readonly string[], host: CliHost): Promise<void> {
  let code: number;
  const refusal = bundledRefusal(wordsOf(args));
  if (refusal !== undefined) {
    const { stream, text } = refusalText(args, refusal.code, refusal.message);
    process[stream].write(text);
    code = 1;
  } else {
    // Loaded only now: the GUI's start never pays for the CLI's modules, nor the CLI for the GUI's.
    const { main } = await import('./cli.js');
    try {
      code = await main(args);
    } catch (error) {
      // main() reports its own errors; this is a bug's last word, with no detail that could hold a secret.
      process.stderr.write(`keyladder: unexpected ${error instanceof Error ? error.name : 'error'} [INTERNAL]\n`);
      code = 1;
    }
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  host.exit(code);
}
