// A passphrase file (--passphrase-file, or systemd's $CREDENTIALS_DIRECTORY/passphrase for serve)
// is read once, into a buffer that is zeroed once its text is taken: no copy of the passphrase's
// bytes is left behind in the heap.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../electron/cli/io.js';
import { tempDir } from '../support/services.js';

/** Every buffer readFileSync handed out, by path, to see what became of it. */
const reads = vi.hoisted(() => [] as Array<{ path: string; bytes: unknown }>);
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const readFileSync = ((path: string, options?: unknown) => {
    const bytes = fs.readFileSync(path, options as never);
    reads.push({ path: String(path), bytes });
    return bytes;
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const { readPassphrase, storePassphrase } = await import('../../electron/cli/passphrase.js');

const dir = tempDir('keyladder-passphrase-file-');

const io: CliIo = {
  stdout: () => {}, stderr: () => {}, readStdin: () => '', isTty: false, env: {},
  askHidden: () => Promise.reject(new Error('no prompt here')),
};

describe('a passphrase file', () => {
  it('is read once, its bytes zeroed once the passphrase is taken', async () => {
    const path = join(dir, 'passphrase');
    writeFileSync(path, 'credential passphrase, read once\n', { mode: 0o400 });
    reads.length = 0;
    expect(await readPassphrase(storePassphrase(path), io)).toBe('credential passphrase, read once');
    const ofFile = reads.filter((r) => r.path === path);
    expect(ofFile).toHaveLength(1);
    const bytes = ofFile[0]!.bytes;
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect((bytes as Buffer).length).toBeGreaterThan(0);
    expect((bytes as Buffer).every((b) => b === 0)).toBe(true);
  });
});
