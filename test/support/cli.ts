// Runs the `keyladder` CLI: in-process through main() (fast), or as the real
// binary in a child process (exit codes, stdin, the bin shim).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../electron/cli.js';
import { PASSPHRASE } from './services.js';
import { childNodeArgs } from './runtime.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The hidden prompts asked, in order (in-process runs only). */
  readonly prompts?: readonly string[];
}

export const testEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  KEYLADDER_PASSPHRASE: PASSPHRASE,
  KEYLADDER_ALLOW_WEAK_KDF: '1',
  ...extra,
});

/**
 * `typed`: a terminal on which the operator types these answers, in order, at
 * the hidden prompts and questions (without it, the CLI runs with no terminal).
 */
export async function cli(args: string[], options: { stdin?: string; env?: Record<string, string>; stdinIsTty?: boolean; typed?: string[]; background?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const typed = options.typed === undefined ? undefined : [...options.typed];
  const prompts: string[] = [];
  const code = await main(args, {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    readStdin: () => options.stdin ?? '',
    isTty: typed !== undefined,
    stdinIsTty: options.stdinIsTty ?? false,
    // `background`: a job started with `&` at that terminal (foreground.ts).
    foreground: () => options.background !== true,
    env: testEnv(options.env),
    askHidden: async (message) => {
      prompts.push(message);
      const answer = typed?.shift();
      if (answer === undefined) throw new Error(`the test typed nothing at the prompt "${message}"`);
      return answer;
    },
    askLine: async (message) => {
      const answer = typed?.shift();
      if (answer === undefined) throw new Error(`the test typed nothing at the question "${message}"`);
      return answer;
    },
  });
  // prompts only where a terminal was given (`typed`), so that results compare as before elsewhere.
  return { code, stdout, stderr, ...(typed !== undefined ? { prompts } : {}) };
}

export function cliProcess(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): CliResult {
  const result = spawnSync(process.execPath, [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...args], {
    input: options.stdin ?? '',
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...testEnv(options.env) },
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The real binary in a child process, not waited for: to run two commands at once (a backup racing a restore). */
export function cliProcessAsync(args: string[], options: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...testEnv(options.env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`keyladder ${args.join(' ')} ran over 60 s`)); }, 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

