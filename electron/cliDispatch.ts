// The installed app is also the `keyladder` CLI. The runAsNode fuse is off
// (electron-builder.yml), so ELECTRON_RUN_AS_NODE cannot turn the app's
// executable into a Node interpreter; instead the installers ship a launcher
// (packaging/cli/) that starts the app's executable as
//
//   <app> [launcher switches] --keyladder-cli -- <the CLI's arguments>
//
// and the app's entry (entry.ts) hands those arguments to the bundled CLI
// (dist/electron/cli.js inside app.asar) before anything of the window code is
// loaded. This module decides which of the two a launch is, from the arguments
// alone: no Electron, so it is tested under plain Node.
//
// Why the marker opens nothing: it selects code that is already in the
// integrity-checked app.asar (the same CLI an npm install runs), never a script
// or module named on the command line; the fuses still apply (no NODE_OPTIONS,
// no --inspect); and the CLI asks for the store's passphrase like any other
// copy of it. What the marker gives is what `keyladder` gives the same user.
// The form is strict, so a stray word cannot switch modes by accident.

/** The argument that asks for the CLI. */
export const CLI_MARKER = '--keyladder-cli';

/**
 * Chromium switches the launchers may put before the marker, and nothing else:
 * on Linux the CLI runs without a display (Ozone's headless platform, no GPU).
 */
export const LAUNCHER_SWITCHES: ReadonlySet<string> = new Set(['--ozone-platform=headless', '--disable-gpu']);

/** Exit status of a launch whose arguments misuse the marker (a usage error, as in the CLI). */
export const MARKER_MISUSE_EXIT = 2;

export type Launch =
  | { readonly kind: 'gui' }
  | { readonly kind: 'cli'; readonly args: readonly string[] }
  /** The marker is there but not in its one form: neither the window nor the CLI starts. */
  | { readonly kind: 'refused'; readonly code: 'CLI_MARKER_MISUSE'; readonly message: string };

/**
 * What a launch is, from the arguments after the executable (and after the app
 * path when Electron runs an unpackaged app: `process.defaultApp`).
 *
 * The CLI's arguments come after a `--`: Chromium stops reading switches there,
 * so an option of the CLI's own (`--store`, `--json`) is never taken for one of
 * Chromium's.
 */
export function launchOf(args: readonly string[]): Launch {
  const at = args.indexOf(CLI_MARKER);
  if (at === -1) return { kind: 'gui' };
  const before = args.slice(0, at);
  const stray = before.find((a) => !LAUNCHER_SWITCHES.has(a));
  if (stray !== undefined || args[at + 1] !== '--') {
    return {
      kind: 'refused',
      code: 'CLI_MARKER_MISUSE',
      message: `${CLI_MARKER} must come first, followed by --, then the command (the installed keyladder launcher does this).`,
    };
  }
  return { kind: 'cli', args: args.slice(at + 2) };
}

/** The arguments after the executable (and after the app path of an unpackaged `electron <app>`). */
export const launchArgs = (argv: readonly string[], defaultApp: boolean): readonly string[] => argv.slice(defaultApp ? 2 : 1);

/**
 * `serve` supervises node:cluster workers, which are forks of the runtime as a
 * Node interpreter: exactly what the runAsNode fuse forbids (a fork would start
 * the app again). So under the app's runtime `serve` is refused up front, with
 * the way to run it; every other command runs in the one process.
 */
export const NEEDS_NODE = new Set(['serve']);

export function bundledRefusal(words: readonly string[]): { code: 'BUNDLED_CLI_NO_SERVE'; message: string } | undefined {
  const command = words[0];
  if (command === undefined || !NEEDS_NODE.has(command)) return undefined;
  return {
    code: 'BUNDLED_CLI_NO_SERVE',
    message: `${command} runs worker processes, which the installed app cannot start (its runAsNode fuse is off). Run it from an npm install of KeyLadder on Node (docs/packaging.md, "The CLI").`,
  };
}

/** A refusal as the CLI prints its errors: JSON on stdout with --json, else one line on stderr. */
export function refusalText(args: readonly string[], code: string, message: string): { stream: 'stdout' | 'stderr'; text: string } {
  return args.includes('--json')
    ? { stream: 'stdout', text: `${JSON.stringify({ error: { code, message } })}\n` }
    : { stream: 'stderr', text: `keyladder: ${message} [${code}]\n` };
}
