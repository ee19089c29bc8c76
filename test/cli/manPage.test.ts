// keyladder(1) (issue 23, item 2): printed from the command table, so every command and each of its
// options is on it; its EXIT STATUS is exitStatus.ts's table; its ENVIRONMENT names every variable
// the code reads; and groff and man render it without a warning.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { EXIT_MEANINGS } from '../../electron/cli/exitStatus.js';
import { usageLine } from '../../electron/cli/help.js';
import { ENVIRONMENT, manPage, roffText } from '../../electron/cli/manPage.js';
import { GLOBAL_OPTIONS, optionUsage } from '../../electron/cli/options.js';
import { cli, ROOT } from '../support/cli.js';
import { runsHere } from '../support/skips.js';
import { tempDir } from '../support/services.js';

const page = manPage(COMMANDS, '0.0.0-test');
const section = (name: string): string => {
  const start = page.indexOf(`\n.SH ${name}\n`);
  expect(start, `no ${name} section`).toBeGreaterThan(0);
  const end = page.indexOf('\n.SH ', start + 1);
  return page.slice(start, end < 0 ? undefined : end);
};
const has = (tool: string): boolean => spawnSync(tool, ['--version']).status === 0;

describe('keyladder(1)', () => {
  it('has the sections a man page has, in order', () => {
    const order = [...page.matchAll(/^\.SH (.+)$/gm)].map((m) => m[1]);
    expect(order).toEqual(['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO']);
    expect(page).toMatch(/^\.TH KEYLADDER 1 /m);
  });

  it('COMMANDS has every command of the table with its usage line and each of its options', () => {
    const commands = section('COMMANDS');
    for (const c of COMMANDS) {
      expect(commands, c.name).toContain(`\\fB${roffText(usageLine(c))}\\fR`);
      for (const o of c.options) expect(commands, `${c.name} --${o}`).toContain(`\\fB${roffText(optionUsage(o, c.placeholders?.[o]))}\\fR`);
    }
    for (const o of GLOBAL_OPTIONS) expect(section('OPTIONS')).toContain(roffText(`--${o}`));
  });

  it('EXIT STATUS lists the table\'s statuses, and ENVIRONMENT every variable the code reads', () => {
    const statuses = [...section('EXIT STATUS').matchAll(/^\\fB(\d+)\\fR$/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual(EXIT_MEANINGS.map(([s]) => s));
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/\benv\[['"]((?:KEYLADDER_|CREDENTIALS_)[A-Z_]+)['"]\]/g)) read.add(m[1]!);
      }
    };
    walk(join(ROOT, 'electron'));
    walk(join(ROOT, 'db'));
    expect(read.size).toBeGreaterThan(3);
    const listed = ENVIRONMENT.map(([name]) => name);
    expect([...read].filter((v) => !listed.includes(v))).toEqual([]);
    for (const name of listed) expect(section('ENVIRONMENT')).toContain(`\\fB${roffText(name)}\\fR`);
  });

  it('keyladder man prints it, without a store', async () => {
    const r = await cli(['--store', join(tempDir('keyladder-man-'), 'none'), 'man']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\.\\" keyladder\(1\)/);
    expect(r.stdout).toContain('.SH EXIT STATUS');
  });

  it('roff text: a leading dot or quote is guarded, backslashes escaped, non-ASCII as glyphs', () => {
    expect(roffText('.x\n\'y\na\\b')).toBe('\\&.x\n\\&\'y\na\\eb');
    expect(roffText('--all … — “x”')).toBe('\\-\\-all \\[u2026] \\[u2014] \\[u201C]x\\[u201D]');
    expect(page).not.toMatch(/[^\x20-\x7e\n]/);
  });

  it.runIf(runsHere(has('groff'), 'groff is not installed (Debian: groff-base): the man page is not rendered'))('groff -man -ww renders it with no warning', () => {
    const r = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8'], { input: page, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it.runIf(runsHere(has('man'), 'man is not installed (Debian: man-db): the man page is not rendered by man'))('man --warnings -l renders it with no warning, at 80 and 60 columns', () => {
    const file = join(tempDir('keyladder-man-'), 'keyladder.1');
    writeFileSync(file, page);
    for (const width of ['80', '60']) {
      const r = spawnSync('man', ['--warnings', '-l', file], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', MANWIDTH: width, MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr, `at ${width} columns`).toBe('');
      expect(r.stdout).toContain('EXIT STATUS');
      expect(r.stdout).toContain('keyladder device add ID');
    }
  });
});
