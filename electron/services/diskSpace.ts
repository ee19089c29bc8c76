// Free space on the store's file system, and the low-disk warning (issue 19,
// item 8). The audit log fails closed on a full disk: every exchange is
// refused until it can be written again. The warning comes long before that:
// when free space falls below 10% of the file system or below 1 GiB, whichever
// is larger (a 20 GB disk warns at 2 GB free; a 4 TB disk at 400 GB, some 20
// days of the worst audit flood seen, 20 GB a day). It shows on /v1/health
// (status "degraded", a warning), in the app's overview, and once in the
// serve log each time it is crossed. KEYLADDER_LOW_DISK_BYTES sets another
// threshold in bytes (tests; or an operator who knows their disk).

import { statfsSync } from 'node:fs';

export const LOW_DISK_FRACTION = 0.1;
export const LOW_DISK_MIN_BYTES = 1024 ** 3;

export interface DiskSpace {
  /** Bytes this user may still write, and the file system's size. */
  readonly freeBytes: number;
  readonly totalBytes: number;
  /** Below this many free bytes the disk is low. */
  readonly thresholdBytes: number;
  readonly low: boolean;
}

/** What statfs reports that we use (node:fs statfsSync, or a test's). */
export type StatFs = (path: string) => { readonly bavail: number | bigint; readonly blocks: number | bigint; readonly bsize: number | bigint };

function thresholdFor(totalBytes: number, env: NodeJS.ProcessEnv): number {
  const set = env['KEYLADDER_LOW_DISK_BYTES'];
  if (set !== undefined && /^\d{1,16}$/.test(set)) return Number(set);
  return Math.max(LOW_DISK_MIN_BYTES, Math.floor(totalBytes * LOW_DISK_FRACTION));
}

/** The space left on the file system holding `dir`, or undefined where it cannot be read (the warning is then not given). */
export function diskSpace(dir: string, statfs: StatFs = statfsSync, env: NodeJS.ProcessEnv = process.env): DiskSpace | undefined {
  let s: ReturnType<StatFs>;
  try {
    s = statfs(dir);
  } catch {
    return undefined;
  }
  const freeBytes = Number(s.bavail) * Number(s.bsize);
  const totalBytes = Number(s.blocks) * Number(s.bsize);
  const thresholdBytes = thresholdFor(totalBytes, env);
  return { freeBytes, totalBytes, thresholdBytes, low: freeBytes < thresholdBytes };
}

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/**
 * The operator's sentence for a low disk: no path (/v1/health may be read by
 * callers) and no command (the app shows it too; the serve log adds them).
 */
export function lowDiskWarning(d: DiskSpace): string {
  return `Low disk space on the store's file system: ${gib(d.freeBytes)} free of ${gib(d.totalBytes)} (the warning starts below ${gib(d.thresholdBytes)}). When the disk is full, the audit log cannot be written and every exchange is refused: free space, or archive the audit log and summarise answered exchanges.`;
}

/** What the serve log adds: the commands that free the space the log takes. */
const CLI_CURE = ' (keyladder audit archive --before DATE --out FILE; keyladder audit policy --exchanges summary)';

/** The fields GET /v1/health adds: the disk, and status "degraded" with the warning while it is low. */
export function diskHealth(d: DiskSpace | undefined): { status: 'ok' | 'degraded'; disk: DiskSpace | null; warnings: string[] } {
  if (d === undefined) return { status: 'ok', disk: null, warnings: [] };
  return { status: d.low ? 'degraded' : 'ok', disk: d, warnings: d.low ? [lowDiskWarning(d)] : [] };
}

/**
 * Calls `notice` once when the disk becomes low, and once when it is no
 * longer low: a log line at the crossing, not one a second. `check` is
 * called at once and then every `everyMs`; stop() ends it.
 */
export function watchDiskSpace(check: () => DiskSpace | undefined, notice: (line: string) => void, everyMs = 10_000): { stop(): void } {
  let low = false;
  const look = () => {
    const d = check();
    if (d === undefined || d.low === low) return;
    low = d.low;
    notice(low ? `warning: ${lowDiskWarning(d)}${CLI_CURE}` : `Disk space is back above the warning: ${gib(d.freeBytes)} free.`);
  };
  look();
  const timer = setInterval(look, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
