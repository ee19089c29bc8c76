// The serve workers' access log: lines gathered and written in batches, all of
// them written by flushSync, and a reader that cannot keep up loses lines
// (counted) instead of growing the worker's memory. flush(), which a stopping worker
// awaits before process.exit, lands a write that was already in flight.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { batchedAccessLog } from '../../electron/server/accessLog.js';
import { ROOT } from '../support/cli.js';
import { childNodeArgs } from '../support/runtime.js';
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

  it('flush() waits for a write already in flight before the process exits; flushSync alone writes past it', () => {
    // A child process with one thread in libuv's pool, kept busy by an scrypt: the first line's
    // write is handed to the pool and waits there (in flight), the second is queued behind it.
    // Then the child ends its log the way named, and exits at once, as a stopping worker does.
    const end = (how: 'flush' | 'flushSync'): string => {
      const file = join(dir, `inflight-${how}.log`);
      const script = `
        import { scrypt } from 'node:crypto';
        import { openSync } from 'node:fs';
        const { batchedAccessLog } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/electron/server/accessLog.js')).href)});
        const log = batchedAccessLog(openSync(process.argv[1], 'w'), { minLength: 0, periodMs: 60000 });
        scrypt('p', 's', 32, { N: 2 ** 16, r: 8, p: 1, maxmem: 128 * 1024 * 1024 }, () => {});
        log.write('first');
        log.write('last');
        await log.${how}();
        process.exit(0);
      `;
      const run = spawnSync(process.execPath, [...childNodeArgs(), '--input-type=module', '-e', script, file], { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return readFileSync(file, 'utf8');
    };
    // The premise: this set-up does put the first line in flight, and flushSync does not wait for
    // it: the queued line goes out first, and the first one only if the pool gets to it at exit
    // (here it does; on a full pipe or a closed fd it is lost).
    expect(end('flushSync')).not.toBe('first\nlast\n');
    expect(end('flush')).toBe('first\nlast\n');
  });
});
