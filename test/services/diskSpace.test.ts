// The low-disk warning (issue 19, item 8): below max(1 GiB, 10% of the file
// system) free, the overview and /v1/health say so, and the serve log says it
// once when crossed, long before a full disk makes the audit log refuse every
// exchange.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { diskHealth, diskSpace, watchDiskSpace, type StatFs } from '../../electron/services/diskSpace.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';

const GiB = 1024 ** 3;
/** A file system of `total` bytes with `free` left (4 KiB blocks). */
const fs = (free: number, total: number): StatFs => () => ({ bavail: BigInt(Math.floor(free / 4096)), blocks: BigInt(Math.floor(total / 4096)), bsize: 4096n });

afterEach(() => vi.useRealTimers());

describe('disk space', () => {
  it('is low below 10% of the file system or 1 GiB, whichever is larger', () => {
    expect(diskSpace('/x', fs(3 * GiB, 20 * GiB), {})).toMatchObject({ low: false, thresholdBytes: 2 * GiB });
    expect(diskSpace('/x', fs(1.9 * GiB, 20 * GiB), {})).toMatchObject({ low: true, thresholdBytes: 2 * GiB });
    // A small disk: 1 GiB, not 10%.
    expect(diskSpace('/x', fs(0.9 * GiB, 4 * GiB), {})).toMatchObject({ low: true, thresholdBytes: GiB });
    expect(diskSpace('/x', fs(1.1 * GiB, 4 * GiB), {})).toMatchObject({ low: false });
    // A large one: 10%.
    expect(diskSpace('/x', fs(300 * GiB, 4096 * GiB), {})).toMatchObject({ low: true });
    // The operator's own threshold.
    expect(diskSpace('/x', fs(300 * GiB, 4096 * GiB), { KEYLADDER_LOW_DISK_BYTES: String(100 * GiB) })).toMatchObject({ low: false, thresholdBytes: 100 * GiB });
    // Cannot be read: no warning, no crash.
    expect(diskSpace('/x', () => { throw new Error('ENOSYS'); }, {})).toBeUndefined();
  });

  it('makes health "degraded" with a warning that names the cure and no path', () => {
    const low = diskSpace('/secret/path', fs(0.5 * GiB, 8 * GiB), {})!;
    const h = diskHealth(low);
    expect(h.status).toBe('degraded');
    expect(h.warnings[0]).toMatch(/^Low disk space on the store's file system: 0\.5 GiB free of 8\.0 GiB \(the warning starts below 1\.0 GiB\)\..*archive the audit log and summarise answered exchanges\.$/);
    expect(JSON.stringify(h)).not.toContain('/secret');
    expect(diskHealth(diskSpace('/x', fs(5 * GiB, 8 * GiB), {}))).toMatchObject({ status: 'ok', warnings: [] });
    expect(diskHealth(undefined)).toEqual({ status: 'ok', disk: null, warnings: [] });
  });

  it('is said once when crossed, and once when it is over, not at every look', () => {
    vi.useFakeTimers();
    let free = 5 * GiB;
    const lines: string[] = [];
    const w = watchDiskSpace(() => diskSpace('/x', fs(free, 8 * GiB), {}), (l) => lines.push(l), 1000);
    vi.advanceTimersByTime(3000);
    expect(lines).toEqual([]);
    free = 0.5 * GiB;
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning: Low disk space.*\(keyladder audit archive --before DATE --out FILE; keyladder audit policy --exchanges summary\)$/);
    free = 4 * GiB;
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^Disk space is back above the warning: 4\.0 GiB free/);
    w.stop();
  });

  it('shows in the overview', async () => {
    let free = 5 * GiB;
    const dir = tempDir();
    const services: KeyLadderRuntime = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, statfs: (p) => fs(free, 8 * GiB)(p) });
    try {
      await services.store.create(PASSPHRASE);
      expect(services.overview.get().disk).toMatchObject({ low: false, freeBytes: 5 * GiB });
      expect(services.overview.get().disk).not.toHaveProperty('warning');
      free = 0.25 * GiB;
      expect(services.overview.get().disk).toMatchObject({ low: true, warning: expect.stringMatching(/^Low disk space/) });
    } finally {
      services.close();
    }
  });
});
