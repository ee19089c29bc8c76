// No core dumps: a core of a KeyLadder process holds what its memory held. With `ulimit -c
// unlimited`, a SIGABRT on a `serve` worker wrote one holding the passphrase 4 times and the raw
// store key 12 times (issue 19, item 16).
//
// Linux has two switches: RLIMIT_CORE = 0 (the core's size limit, inherited by every child,
// across exec) and prctl(PR_SET_DUMPABLE, 0). Node can call neither: there is no
// process.setrlimit, and a native addon for it would be one more module to rebuild for Electron's
// ABI. util-linux's `prlimit --pid P --core=0:0` sets another process's limit through the
// prlimit(2) system call, which a process may do to itself (util-linux is on most Linux systems;
// Debian and Ubuntu always install it; Alpine's busybox lacks it). So this process
// runs it once on itself, and every worker it starts afterwards inherits 0, soft and hard (the
// hard 0 cannot be raised again without privilege). A soft limit of 0 already (most shells' and
// systemd's default, or LimitCORE=0) needs no call. What stays open: PR_SET_DUMPABLE is untouched,
// so a core_pattern pipe handler that ignores the limit the kernel passes it (%c) could still
// take a core (systemd-coredump and apport honour it), and root can always read the memory.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type CoreDumps =
  /** 'already': the soft limit was 0; 'prlimit': this call set soft and hard to 0. */
  | { readonly disabled: true; readonly how: 'already' | 'prlimit' }
  | { readonly disabled: false; readonly why: string };

export interface CoreDumpDeps {
  readonly platform: NodeJS.Platform;
  readonly pid: number;
  /** /proc/self/limits as text. */
  readonly limits: () => string;
  /** Runs prlimit with these arguments; throws when it cannot. */
  readonly prlimit: (args: readonly string[]) => void;
}

/** Where util-linux installs prlimit; PATH is tried last. */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit', 'prlimit'];

const runPrlimit = (args: readonly string[]): void => {
  let last: unknown;
  for (const file of PRLIMIT) {
    try {
      execFileSync(file, args, { stdio: 'ignore', timeout: 5_000 });
      return;
    } catch (e) {
      last = e;
      // ENOENT: not there, try the next place; any other failure is prlimit's answer.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') break;
    }
  }
  throw last;
};

const SYSTEM: CoreDumpDeps = { platform: process.platform, pid: process.pid, limits: () => readFileSync('/proc/self/limits', 'utf8'), prlimit: runPrlimit };

/** The soft core size limit from /proc/<pid>/limits ("unlimited" or a number of bytes), or undefined. */
export function softCoreLimit(limits: string): string | undefined {
  return /^Max core file size\s+(\S+)\s+\S+/m.exec(limits)?.[1];
}

export const NOT_LINUX = 'core dumps are turned off on Linux only';

/** Sets this process's core size limit to 0 (soft and hard) unless its soft limit is 0 already. */
export function disableCoreDumps(deps: CoreDumpDeps = SYSTEM): CoreDumps {
  if (deps.platform !== 'linux') return { disabled: false, why: NOT_LINUX };
  const soft = (): string | undefined => {
    try {
      return softCoreLimit(deps.limits());
    } catch {
      return undefined;
    }
  };
  if (soft() === '0') return { disabled: true, how: 'already' };
  try {
    deps.prlimit(['--pid', String(deps.pid), '--core=0:0']);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { disabled: false, why: code === 'ENOENT' ? 'prlimit (util-linux) is not installed' : `prlimit failed (${code ?? 'exit status ' + String((e as { status?: unknown }).status ?? '?')})` };
  }
  return soft() === '0' ? { disabled: true, how: 'prlimit' } : { disabled: false, why: 'prlimit ran, but the limit is not 0' };
}
