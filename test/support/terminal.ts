// Runs the built `keyladder` binary on a real pseudo-terminal (util-linux
// `script`), so that its prompts are the real ones, and types into it: bytes
// such as "\x03" (Ctrl-C, which a prompt in raw mode reads as a key) at the
// moment the output shows a given text.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, testEnv } from './cli.js';
import { childNodeArgs } from './runtime.js';

/** Whether this machine has `script` to make a terminal (Debian's util-linux, macOS's differs). */
export const hasScript = (): boolean => spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' }).status === 0;

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export interface TerminalStep {
  /** Wait until the output so far contains this. */
  readonly when: string;
  /** Then type this. */
  readonly type: string;
}

export interface TerminalResult {
  readonly code: number;
  /** What the terminal showed (stdout and stderr together, with the terminal's \r\n). */
  readonly output: string;
}

export function onTerminal(args: string[], steps: TerminalStep[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<TerminalResult> {
  const command = [process.execPath, ...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...args].map(quote).join(' ');
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', TERM: 'xterm', ...testEnv(), ...env })) if (v !== undefined) merged[k] = v;
  // -e: script exits with the command's status (for a signal, 128 + its number).
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: merged, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const pending = [...steps];
  const step = () => {
    while (pending.length > 0 && output.includes(pending[0]!.when)) child.stdin.write(pending.shift()!.type);
  };
  child.stdout.on('data', (d: Buffer) => { output += d.toString('utf8'); step(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString('utf8'); step(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out on a terminal; it showed: ${output}`)); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, output }); });
  });
}
