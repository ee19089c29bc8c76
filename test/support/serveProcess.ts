// `keyladder serve` as the real binary, for tests: started with the test environment (the
// passphrase in KEYLADDER_PASSPHRASE) and resolved with its address once it says it listens.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, testEnv } from './cli.js';
import { childNodeArgs } from './runtime.js';

export interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
}

/** `args`: the global options and `serve`'s own (`--port 0 --json` is added); `started` sees the child at once, before it listens. */
export async function startServe(args: string[], env: Record<string, string> = {}, started: (child: ChildProcessWithoutNullStreams) => void = () => {}): Promise<Served> {
  const child = spawn(process.execPath, [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...args, '--port', '0', '--json'], { env: { PATH: process.env['PATH'] ?? '', ...testEnv(env) } });
  started(child);
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
