// Issue 19, item 16: no core dumps of `keyladder serve`, its primary or its workers, nor of a CLI command. With
// `ulimit -c unlimited`, a SIGABRT on a worker wrote a core holding the passphrase and the store
// key. The responder is started here under `prlimit --core=unlimited` (the operator's unlimited
// shell); its processes must run with a core size limit of 0, and an aborted worker must leave no
// core behind.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { disableCoreDumps, NOT_LINUX, softCoreLimit, type CoreDumpDeps } from '../../electron/security/coreDumps.js';
import { ROOT, cliProcess } from '../support/cli.js';
import { childNodeArgs } from '../support/runtime.js';
import { startServe } from '../support/serveProcess.js';
import { PASSPHRASE, tempDir } from '../support/services.js';
import { runsHere } from '../support/skips.js';

const limitsWith = (soft: string, hard: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax file size             unlimited            unlimited            bytes     \nMax core file size        ${soft.padEnd(20)} ${hard.padEnd(20)} bytes     \n`;

/** A system whose core limit prlimit sets (or fails to), recording each call. */
function fakeSystem(soft: string, prlimit: (args: readonly string[]) => void = () => {}, platform: NodeJS.Platform = 'linux') {
  const calls: string[][] = [];
  let current = soft;
  const deps: CoreDumpDeps = {
    platform,
    pid: 4242,
    limits: () => limitsWith(current, current),
    prlimit: (args) => {
      calls.push([...args]);
      prlimit(args);
      current = '0';
    },
  };
  return { deps, calls };
}

describe('disableCoreDumps', () => {
  it('sets soft and hard to 0 with prlimit on this process when the soft limit is not 0', () => {
    const { deps, calls } = fakeSystem('unlimited');
    expect(disableCoreDumps(deps)).toEqual({ disabled: true, how: 'prlimit' });
    expect(calls).toEqual([['--pid', '4242', '--core=0:0']]);
  });

  it('runs nothing when the soft limit is 0 already (ulimit -c 0, LimitCORE=0)', () => {
    const { deps, calls } = fakeSystem('0');
    expect(disableCoreDumps(deps)).toEqual({ disabled: true, how: 'already' });
    expect(calls).toEqual([]);
  });

  it('says why when it cannot: prlimit missing, or failing; and off Linux it does not try', () => {
    const missing = fakeSystem('unlimited', () => { throw Object.assign(new Error('spawn prlimit ENOENT'), { code: 'ENOENT' }); });
    expect(disableCoreDumps(missing.deps)).toEqual({ disabled: false, why: 'prlimit (util-linux) is not installed' });
    const failing = fakeSystem('1024', () => { throw Object.assign(new Error('Command failed'), { status: 1 }); });
    expect(disableCoreDumps(failing.deps)).toEqual({ disabled: false, why: 'prlimit failed (exit status 1)' });
    const mac = fakeSystem('unlimited', () => {}, 'darwin');
    expect(disableCoreDumps(mac.deps)).toEqual({ disabled: false, why: NOT_LINUX });
    expect(mac.calls).toEqual([]);
  });

  it('reads the soft limit from /proc/<pid>/limits', () => {
    expect(softCoreLimit(limitsWith('unlimited', 'unlimited'))).toBe('unlimited');
    expect(softCoreLimit(limitsWith('0', 'unlimited'))).toBe('0');
    expect(softCoreLimit('Max open files 1024 4096 files\n')).toBeUndefined();
  });
});

const coreLimit = (pid: number): string | undefined => /^Max core file size\s+(\S+\s+\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1]?.replace(/\s+/g, ' ');
/** Linux with prlimit and pgrep, where this user may raise the core limit to unlimited (the operator's shell). */
const canRaise = process.platform === 'linux' && spawnSync('prlimit', ['--core=unlimited:unlimited', 'true']).status === 0 && spawnSync('pgrep', ['--version']).error === undefined;
const corePattern = existsSync('/proc/sys/kernel/core_pattern') ? readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim() : '';

describe.runIf(runsHere(canRaise, 'needs Linux, prlimit (util-linux) and pgrep (procps): the core limit cannot be raised or the workers found'))('serve and the CLI under `ulimit -c unlimited`', () => {
  const dir = tempDir('keyladder-cores-');
  const store = ['--store', join(dir, 'store')];
  const running = new Set<ChildProcessWithoutNullStreams>();
  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs its primary and every worker with a core size limit of 0, soft and hard; an aborted worker leaves no core', async () => {
    expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
    // The control: the launcher does give a child an unlimited core size.
    expect(spawnSync('prlimit', ['--core=unlimited:unlimited', 'grep', 'Max core file size', '/proc/self/limits'], { encoding: 'utf8' }).stdout).toMatch(/unlimited\s+unlimited/);
    const cwd = tempDir('keyladder-cores-cwd-');
    const s = await startServe([...store, 'serve', '--workers', '2'], { launcher: ['prlimit', '--core=unlimited:unlimited'], cwd, started: (c) => running.add(c) });
    const primary = s.child.pid!;
    const workers = spawnSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    expect(workers).toHaveLength(2);
    expect([primary, ...workers].map(coreLimit)).toEqual(['0 0', '0 0', '0 0']);
    expect(s.stderr()).not.toContain('core dumps are not turned off');

    // A core_pattern that is a plain file name writes into the worker's folder: nothing may appear there.
    process.kill(workers[0]!, 'SIGABRT');
    await expect.poll(() => existsSync(`/proc/${workers[0]}`), { timeout: 10_000, interval: 100 }).toBe(false);
    if (corePattern !== '' && !corePattern.startsWith('|') && !corePattern.startsWith('/')) {
      expect(readdirSync(cwd).filter((f) => f.startsWith(corePattern.split('%')[0]!))).toEqual([]);
    }
    s.child.kill('SIGTERM');
    await new Promise((resolve) => s.child.once('exit', resolve));
  }, 60_000);

  it('a CLI command runs at 0 too: seen while it waits for its passphrase from a FIFO', async () => {
    const fifo = join(tempDir('keyladder-cores-fifo-'), 'passphrase');
    expect(spawnSync('mkfifo', ['-m', '600', fifo]).status).toBe(0);
    const child = spawn('prlimit', ['--core=unlimited:unlimited', process.execPath, ...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), ...store, '--passphrase-file', fifo, 'device', 'list'], { env: { PATH: process.env['PATH'] ?? '', KEYLADDER_ALLOW_WEAK_KDF: '1' } });
    running.add(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Opening the FIFO blocks until it is written, so the command waits there; its limit can only
    // reach 0 by its own doing (the launcher made it unlimited).
    await expect.poll(() => coreLimit(child.pid!), { timeout: 20_000, interval: 50 }).toBe('0 0');
    writeFileSync(fifo, `${PASSPHRASE}\n`);
    expect(await exited).toBe(0);
  }, 60_000);
});
