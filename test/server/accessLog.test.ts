// The serve workers' access log: lines gathered and written in batches, all of
// them written by flushSync, and a reader that cannot keep up loses lines
// (counted) instead of growing the worker's memory.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchedAccessLog } from '../../electron/server/accessLog.js';
import { tempDir } from '../support/services.js';
import { rmSync } from 'node:fs';

const dir = tempDir('keyladder-accesslog-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batchedAccessLog', () => {
  it('holds lines below its batch size, and flushSync writes every one, in order', () => {
    const path = join(dir, 'a.log');
    const fd = openSync(path, 'w');
    const log = batchedAccessLog(fd, { minLength: 4096, periodMs: 60_000 });
    for (let i = 0; i < 20; i++) log.write(`line ${i}`);
    // 20 short lines are well under 4 KiB: nothing is written yet, so no system call per line.
    expect(readFileSync(path, 'utf8')).toBe('');
    log.flushSync();
    expect(readFileSync(path, 'utf8')).toBe(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''));
    closeSync(fd);
  });

  it('writes on its own once a batch has gathered', async () => {
    const path = join(dir, 'b.log');
    const fd = openSync(path, 'w');
    const log = batchedAccessLog(fd, { minLength: 1024, periodMs: 60_000 });
    for (let i = 0; i < 200; i++) log.write(`a request line of some forty characters ${i}`);
    await expect.poll(() => readFileSync(path, 'utf8').length, { timeout: 2000 }).toBeGreaterThan(1024);
    log.flushSync();
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(200);
    closeSync(fd);
  });

  it('drops lines past its bound and says how many, once it can write again', () => {
    const path = join(dir, 'c.log');
    const fd = openSync(path, 'w');
    const log = batchedAccessLog(fd, { minLength: 8000, periodMs: 60_000, maxLength: 100 });
    for (let i = 0; i < 10; i++) log.write(`line ${i} of about twenty`);
    log.flushSync();
    // A flush (the worker stopping) says how many were lost, last.
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    const kept = lines.filter((l) => l.startsWith('line '));
    expect(kept.length).toBeLessThan(10);
    expect(lines.at(-1)).toBe(`keyladder: ${10 - kept.length} access log lines were dropped (the log's reader was too slow)`);
    // And the next line that is taken says so first, when lines were lost since.
    for (let i = 0; i < 10; i++) log.write(`again ${i} of about twenty`);
    log.write('x');
    log.flushSync();
    const later = readFileSync(path, 'utf8').trimEnd().split('\n').slice(lines.length);
    expect(later.some((l) => /^keyladder: \d+ access log lines? (was|were) dropped/.test(l))).toBe(true);
    closeSync(fd);
  });
});
