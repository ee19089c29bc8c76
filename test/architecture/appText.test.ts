// The app's words tell the operator what to do in the app: no screen sends
// them to a CLI command, and a store error the app shows names none either
// (the CLI adds its own hint: electron/cli/errors.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RENDERER = join(ROOT, 'renderer', 'src');
/** The JOSE tools withhold key material from the window by design and name the CLI command that writes it to a file. */
const POINTS_TO_CLI_ON_PURPOSE = new Set(['screens/Jose.svelte']);
const NAMES_THE_CLI = /`keyladder\b|\bkeyladder (?:init|device|group|issuer|revocation|audit|serve|backup|restore|verify|rekey|simulate|respond|identity|recipient)\b|\bthrough the command line\b/;

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(svelte|ts)$/.test(e.name) ? [join(dir, e.name)] : []));

/** The text without comments, which speak to developers. */
const withoutComments = (text: string): string => text.replace(/<!--[\s\S]*?-->/g, '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('the app names no CLI command', () => {
  it('in any screen or component', () => {
    const offenders = sources(RENDERER)
      .map((f) => relative(RENDERER, f))
      .filter((f) => !POINTS_TO_CLI_ON_PURPOSE.has(f))
      .filter((f) => NAMES_THE_CLI.test(withoutComments(readFileSync(join(RENDERER, f), 'utf8'))));
    expect(offenders).toEqual([]);
  });

  it('in the store\'s own messages, which the app shows as they are', () => {
    expect(withoutComments(readFileSync(join(ROOT, 'db', 'store.ts'), 'utf8'))).not.toMatch(/new StoreError\([^;]*`keyladder\b/);
  });

  it('(the check sees what it must)', () => {
    expect(NAMES_THE_CLI.test('travel through the command line')).toBe(true);
    expect(NAMES_THE_CLI.test('run `keyladder init`')).toBe(true);
    expect(NAMES_THE_CLI.test('keyladder revocation import FILE')).toBe(true);
    expect(NAMES_THE_CLI.test('KeyLadder keeps the keys')).toBe(false);
  });
});

/** Commands the app has no screen for: a walkthrough step that shows one must not let its "(App: …)" note claim it. */
const CLI_ONLY = ['keyladder group export', 'keyladder revocation export', 'keyladder revocation import', 'keyladder audit checkpoint', 'keyladder audit export'];

describe('README\'s walkthrough', () => {
  it('says "CLI only" in a step whose (App: …) note sits beside a command the app does not have', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- walkthrough -->\s*```sh\n([\s\S]*?)\n```/.exec(readme)![1]!;
    const steps = block.split(/\n(?=# \d+\. )/);
    expect(steps.length).toBeGreaterThan(5);
    const unmarked = steps.flatMap((step) => {
      const lines = step.split('\n');
      const notes = lines.filter((l) => l.startsWith('#')).join(' ');
      if (!notes.includes('(App:')) return [];
      return CLI_ONLY.filter((c) => lines.some((l) => l.startsWith(c)) && !new RegExp(`${c.split(' ')[1]} \\w+ are CLI only`, 'i').test(notes));
    });
    expect(unmarked).toEqual([]);
  });
});
