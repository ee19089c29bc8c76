// `serve` in a script (issue 22, item 5): it never prompts from the background
// (where the terminal would stop it on its prompt, for good), it says how to
// pass the passphrase instead, and it prints one line to wait on with the
// address it bound (--port 0: a free port) and its pid.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { foregroundFromStat, inForeground } from '../../electron/cli/foreground.js';
import { ROOT, cli, testEnv } from '../support/cli.js';
import { childNodeArgs } from '../support/runtime.js';
import { PASSPHRASE, tempDir } from '../support/services.js';
import { skipsHere, NO_PTY } from '../support/skips.js';

const dir = tempDir('keyladder-serve-ready-');
const storeDir = join(dir, 'store');
const noEnv = { KEYLADDER_PASSPHRASE: '' };

beforeAll(async () => {
  expect((await cli(['--store', storeDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});

describe('foreground: /proc/self/stat', () => {
  it('compares the process group (field 5) with the terminal\'s foreground group (field 8)', () => {
    expect(foregroundFromStat('4242 (node) S 100 4242 100 34816 4242 4194304 0 0')).toBe(true);
    expect(foregroundFromStat('4242 (node) T 100 4242 100 34816 100 4194304 0 0')).toBe(false);
    // A command name with spaces and parentheses does not shift the fields.
    expect(foregroundFromStat('4242 (a (b) c) S 100 4242 100 34816 777 0')).toBe(false);
    expect(foregroundFromStat('garbage')).toBeUndefined();
    // Unreadable (no /proc): only stdin.isTTY can be told, so it is not refused here.
    expect(inForeground(() => { throw new Error('ENOENT'); })).toBe(true);
    expect(inForeground(() => '1 (x) S 1 9 1 0 10 0')).toBe(false);
  });
});

describe('no prompt in the background', () => {
  it('serve (and any command) refuses with NO_PASSPHRASE naming --passphrase-file and KEYLADDER_PASSPHRASE, asking nothing', async () => {
    for (const args of [['serve', '--port', '0'], ['device', 'list']]) {
      // `typed` would answer a prompt: the refusal comes first, so nothing is asked.
      const r = await cli(['--store', storeDir, ...args], { env: noEnv, typed: [], background: true });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('[NO_PASSPHRASE]');
      expect(r.stderr).toContain('in the background');
      expect(r.stderr).toContain('--passphrase-file F');
      expect(r.stderr).toContain('KEYLADDER_PASSPHRASE');
    }
    // In the foreground the same terminal is asked.
    expect((await cli(['--store', storeDir, 'device', 'list'], { env: noEnv, typed: [PASSPHRASE] })).code).toBe(0);
  });

  const hasScript = spawnSync('sh', ['-c', 'command -v script && command -v bash']).status === 0;
  it.skipIf(skipsHere(!hasScript, NO_PTY))('a real `keyladder serve &` at a terminal (a pty from script(1)) ends at once with NO_PASSPHRASE, instead of being stopped', () => {
    const keyladder = [process.execPath, ...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js')].map((a) => `'${a}'`).join(' ');
    const job = `${keyladder} --store '${storeDir}' serve --port 0 & wait $!; echo "job exit $?"`;
    const jobFile = join(dir, 'background-job.sh');
    writeFileSync(jobFile, `${job}\n`);
    const r = spawnSync('script', ['-qec', `bash --norc -i '${jobFile}'`, '/dev/null'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, TERM: 'dumb' },
      // Before the fix the job was stopped by SIGTTIN on its prompt and `wait` never returned.
      timeout: 30_000,
    });
    expect(r.error, 'the background serve hung on its prompt').toBeUndefined();
    expect(r.stdout).toContain('[NO_PASSPHRASE]');
    expect(r.stdout).toContain('job exit 2');
  }, 60_000);
});

describe('ready line', () => {
  it('--port 0 binds a free port and prints "Listening on URL pid N" once it answers there; a normal stop exits 0', async () => {
    const passFile = join(dir, 'store.pass');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const child = spawn(process.execPath, [...childNodeArgs(), join(ROOT, 'bin', 'keyladder.js'), '--store', storeDir, 'serve', '--port', '0', '--passphrase-file', passFile], {
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...testEnv(noEnv) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^Listening on (\S+) pid (\d+)$/m.exec(stdout);
        if (m) resolve(m[0]);
      });
      child.on('exit', () => reject(new Error(`serve ended before it listened: ${stderr}`)));
    });
    const [, url, pid] = /^Listening on (\S+) pid (\d+)$/.exec(line)!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe('http://127.0.0.1:0');
    expect(Number(pid)).toBe(child.pid);
    // Answering there already: the line comes after every worker listens.
    const health = await fetch(`${url!}/v1/health`);
    expect(health.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    process.kill(Number(pid), 'SIGTERM');
    expect(await exited).toBe(0);
    // A normal stop is not printed as an error (issue 22, item 8).
    expect(stderr).toMatch(/^Stopped after 0 exchanges \(0 refused\)\.$/m);
    expect(stderr).not.toMatch(/keyladder: stopped/);
  }, 60_000);
});

describe('prompts: the store passphrase first, each named plainly', () => {
  it('device export and group export ask the store passphrase once, before the new bundle passphrase (twice)', async () => {
    const S = ['--store', storeDir];
    expect((await cli([...S, 'group', 'add', 'prompt-order'])).code).toBe(0);
    expect((await cli([...S, 'device', 'add', 'ESN-PROMPT-1', '--group', 'prompt-order'])).code).toBe(0);
    const typed = [PASSPHRASE, 'a bundle passphrase typed', 'a bundle passphrase typed'];
    for (const args of [['device', 'export', 'ESN-PROMPT-1'], ['group', 'export', 'prompt-order']]) {
      const r = await cli([...S, ...args, '--out', join(dir, `${args[0]}.jwe`)], { env: noEnv, typed: [...typed] });
      expect(r.code, r.stderr).toBe(0);
      expect(r.prompts).toEqual(['Store passphrase:', 'New bundle passphrase (whoever opens this bundle needs it):', 'New bundle passphrase (whoever opens this bundle needs it) again:']);
    }
    // A wrong store passphrase stops before the bundle passphrase is asked for.
    const wrong = await cli([...S, 'device', 'export', 'ESN-PROMPT-1', '--out', join(dir, 'never.jwe')], { env: noEnv, typed: ['not the store passphrase', 'x', 'x'] });
    expect(wrong.stderr).toContain('[WRONG_PASSPHRASE]');
    expect(wrong.prompts).toEqual(['Store passphrase:']);
  });
});

describe('--passphrase-file - (issue 22, item 8)', () => {
  it('reads the store passphrase from stdin, as "-" does elsewhere; refused from a terminal', async () => {
    const S = ['--store', storeDir];
    const ok = await cli([...S, 'device', 'list', '--passphrase-file', '-'], { env: noEnv, stdin: `${PASSPHRASE}\n` });
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = await cli([...S, 'device', 'list', '--passphrase-file', '-'], { env: noEnv, stdin: 'not the passphrase\n' });
    expect(wrong.stderr).toContain('[WRONG_PASSPHRASE]');
    const tty = await cli([...S, 'device', 'list', '--passphrase-file', '-'], { env: noEnv, stdinIsTty: true });
    expect([tty.code, tty.stderr]).toEqual([2, expect.stringContaining('[USAGE_STDIN_IS_TERMINAL]')]);
    expect(tty.stderr).toContain('--passphrase-file - reads the store passphrase from stdin');
  });
});

describe('a CSV row with non-hex kpe (issue 22, item 8)', () => {
  it('says that it is not hex; a hex key of the wrong length says only the length', async () => {
    const csv = join(dir, 'nonhex.csv');
    const kph = '93edd1ddb772cfce217931265dbdb39c2bcdeeae1ba45d7972a1ba354e9a38c9';
    writeFileSync(csv, `identity,kpe,kph\nX-NONHEX,zz112233445566778899aabbccddeeff,${kph}\nX-SHORT,00112233,${kph}\n`);
    const r = await cli(['--store', storeDir, 'device', 'import', csv]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('line 2 (X-NONHEX): kpe is not hex: it must be 32 hex digits (16 bytes). [INVALID_KEY]');
    expect(r.stdout + r.stderr).toContain('line 3 (X-SHORT): kpe must be 32 hex digits (16 bytes). [INVALID_KEY]');
  });
});
