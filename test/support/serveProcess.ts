// `keyladder serve` as the real binary, for tests: started with the test environment (the
// passphrase in KEYLADDER_PASSPHRASE) and resolved with its address once it says it listens.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ROOT, testEnv } from './cli.js';
import { childNodeArgs } from './runtime.js';

export interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
}

export interface ServeOptions {
  readonly env?: Record<string, string>;
  /** Sees the child at once, before it listens (to kill it whatever happens). */
  readonly started?: (child: ChildProcessWithoutNullStreams) => void;
  /** A command that runs node for it (`prlimit --core=unlimited`), before node's own arguments. */
  readonly launcher?: readonly string[];
  readonly cwd?: string;
}

/** `args`: the global options and `serve`'s own (`--port 0 --json` is added). */
export async function startServe(args: string[], options: ServeOptions = {}): Promise<Served> {
  const node = [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...args, '--port', '0', '--json'];
  const [command, ...before] = options.launcher ?? [];
  const child = spawn(command ?? process.execPath, command === undefined ? node : [...before, process.execPath, ...node], {
    env: { PATH: process.env['PATH'] ?? '', ...testEnv(options.env) },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  options.started?.(child);
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('listening'));
      if (line) resolve(JSON.parse(line).listening);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

/**
 * startServe for one test file, each responder killed (SIGKILL) after its test whatever happened:
 * a failed expectation or a skip must not leave a responder (and its workers) running.
 */
export function servesKilledAfterEach(): (args: string[], options?: ServeOptions) => Promise<Served> {
  const running = new Set<ChildProcessWithoutNullStreams>();
  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });
  return (args, options = {}) => startServe(args, {
    ...options,
    started: (child) => {
      running.add(child);
      child.once('exit', () => running.delete(child));
      options.started?.(child);
    },
  });
}

/** SIGTERM (serve drains and ends), resolved with its exit code. */
export function stopServe(s: Served): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}
