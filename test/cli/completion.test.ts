// `keyladder completion bash|zsh|fish` (issue 23, item 2): the scripts are run
// in their real shells, and a walk of the command table checks that every
// command, subcommand and option completes, that options with fixed values
// offer exactly those values, that file options offer files, and that nothing
// from the store (device IDs) is offered. The expected answers come from the
// table itself (COMMANDS, OPTIONS), not from the generator's model.
// bash runs its real function with COMP_WORDS/COMP_CWORD; fish runs its own
// `complete -C`; zsh runs the real _keyladder with its two completion builtins
// (compadd, _files) stubbed to print what they were given, since a completion
// widget needs a terminal.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import type { Command } from '../../electron/cli/command.js';
import { completionScript, type Shell } from '../../electron/cli/completion.js';
import { GLOBAL_OPTIONS, OPTIONS, type OptionName } from '../../electron/cli/options.js';
import { cli } from '../support/cli.js';
import { runsHere } from '../support/skips.js';
import { tempDir } from '../support/services.js';

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0;
const ZSH = has('zsh');
const FISH = has('fish');

/** One completion to try: the words typed (the last is the one being completed), and what must come back. */
interface Case {
  readonly words: readonly string[];
  readonly expect: Expected;
}
type Expected =
  | { readonly exactly: readonly string[] }
  | { readonly includes: string }
  | { readonly files: 'file' | 'dir' }
  | { readonly nothing: true };

const dir = tempDir('keyladder-completion-');
const FILE = join(dir, 'keys.json');
const SUB = join(dir, 'sub');

const takesValue = (o: OptionName): boolean => OPTIONS[o].type === 'string';
function valueExpected(c: Command, o: OptionName): Expected {
  const spec: { type: string; choices?: readonly string[]; path?: 'file' | 'dir' } = OPTIONS[o];
  const choices = c.choices?.[o] ?? spec.choices;
  if (choices) return { exactly: choices };
  if (spec.path) return { files: spec.path };
  return { nothing: true };
}

/** The walk of the table. */
function tableCases(): Case[] {
  const cases: Case[] = [];
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    // Each word of its name is offered after the words before it, as is `help`'s.
    words.forEach((w, i) => {
      cases.push({ words: ['keyladder', ...words.slice(0, i), ''], expect: { includes: w } });
      cases.push({ words: ['keyladder', 'help', ...words.slice(0, i), ''], expect: { includes: w } });
    });
    const options = [...c.options, ...GLOBAL_OPTIONS];
    cases.push({ words: ['keyladder', ...words, '--'], expect: { exactly: options.map((o) => `--${o}`) } });
    for (const o of options.filter(takesValue)) {
      const expected = valueExpected(c, o);
      cases.push({ words: ['keyladder', ...words, `--${o}`, 'files' in expected ? `${dir}/` : ''], expect: expected });
    }
    // Its first argument: a file, fixed words, or nothing from the store.
    const first = (c.params ?? '').split(' ')[0]!.replace(/[[\].]/g, '');
    if (c.arity[1] > 0) {
      const alternatives = first.split('|');
      if (alternatives.includes('FILE')) cases.push({ words: ['keyladder', ...words, `${dir}/`], expect: { files: 'file' } });
      else if (alternatives.every((a) => /^[a-z]/.test(a))) cases.push({ words: ['keyladder', ...words, ''], expect: { exactly: alternatives } });
      else if (alternatives.some((a) => /^[a-z]/.test(a))) cases.push({ words: ['keyladder', ...words, ''], expect: { exactly: alternatives.filter((a) => /^[a-z]/.test(a)) } });
      else cases.push({ words: ['keyladder', ...words, ''], expect: { nothing: true } });
    }
  }
  return cases;
}

/** Some cases by hand: where the walk's rules are not what is checked. */
const HAND_CASES: readonly Case[] = [
  { words: ['keyladder', ''], expect: { includes: 'help' } },
  { words: ['keyladder', 'help', ''], expect: { includes: 'concepts' } },
  { words: ['keyladder', 'dev'], expect: { exactly: ['device'] } },
  { words: ['keyladder', '--st'], expect: { exactly: ['--store'] } },
  { words: ['keyladder', '--store', `${dir}/`], expect: { files: 'dir' } },
  // Options and their values before the command do not hide it.
  { words: ['keyladder', '--store', dir, '--json', 'device', 'import', 'x', '--format', ''], expect: { exactly: ['csv', 'json'] } },
  { words: ['keyladder', 'simulate', 'ESN-1', '--mechanism', ''], expect: { exactly: ['PSK', 'MGK'] } },
  { words: ['keyladder', 'serve', '--log-format', ''], expect: { exactly: ['text', 'json'] } },
  // No device ID is offered, whatever the store holds.
  { words: ['keyladder', 'device', 'show', ''], expect: { nothing: true } },
  { words: ['keyladder', 'simulate', ''], expect: { nothing: true } },
];

/** Runs every case in one shell process; each answer is one line: the case's number, a tab, the candidates. */
function runCases(shell: Shell, cases: readonly Case[]): string[][] {
  const script = join(dir, `keyladder.${shell}`);
  writeFileSync(script, completionScript(shell, COMMANDS));
  const q = (w: string) => `'${w}'`;
  let driver: string;
  if (shell === 'bash') {
    driver = [
      `source ${q(script)}`,
      't() { local id=$1; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _keyladder; local IFS=$\'\\x1f\'; printf \'%s\\t%s\\n\' "$id" "${COMPREPLY[*]}"; }',
      ...cases.map((c, i) => `t ${i} ${c.words.map(q).join(' ')}`),
    ].join('\n');
  } else if (shell === 'zsh') {
    driver = [
      'compdef() { :; }',
      `source ${q(script)}`,
      // The stubs: compadd's candidates (with its -P prefix), and _files as a marker.
      'typeset -a got',
      'compadd() { local pre=; while [[ $1 != -- ]]; do [[ $1 == -P ]] && { pre=$2; shift; }; shift; done; shift; local w; for w in "$@"; do got+=("$pre$w"); done; }',
      '_files() { [[ $1 == -/ ]] && got+=(@dir) || got+=(@file); }',
      't() { local id=$1; shift; got=(); words=("$@"); CURRENT=${#words}; _keyladder; local -a m; local cur=${words[CURRENT]} w; for w in $got; do [[ $w == @* || $w == ${cur}* ]] && m+=($w); done; print -r -- "$id"$\'\\t\'"${(pj:\\x1f:)m}"; }',
      ...cases.map((c, i) => `t ${i} ${c.words.map(q).join(' ')}`),
    ].join('\n');
  } else {
    driver = [
      `source ${q(script)}`,
      ...cases.map((c, i) => `printf '%s\\t%s\\n' ${i} (string join \\x1f -- (complete -C${q(c.words.join(' '))} | string replace -r '\\t.*' ''))`),
    ].join('\n');
  }
  const r = spawnSync(shell, ['-c', driver], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: dir, LANG: 'C.UTF-8' }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const answers: string[][] = cases.map(() => []);
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [id, got = ''] = line.split('\t');
    answers[Number(id)] = got.split('\x1f').filter(Boolean);
  }
  return answers;
}

/** The case's answer against what it must be, as a message naming the case when it is not. */
function problem(shell: Shell, c: Case, got: readonly string[]): string | undefined {
  const sorted = (l: readonly string[]) => [...new Set(l.map((w) => w.replace(/\/$/, '')))].sort();
  const e = c.expect;
  let ok: boolean;
  if ('exactly' in e) ok = JSON.stringify(sorted(got)) === JSON.stringify(sorted(e.exactly));
  else if ('includes' in e) ok = got.includes(e.includes);
  else if ('nothing' in e) ok = got.length === 0;
  else if (shell === 'zsh') ok = JSON.stringify(got) === JSON.stringify([`@${e.files}`]);
  else ok = e.files === 'file' ? sorted(got).includes(FILE) : sorted(got).includes(SUB) && !sorted(got).includes(FILE);
  return ok ? undefined : `[${c.words.join(' ')}] gave [${got.join(' ')}], expected ${JSON.stringify(e)}`;
}

const CASES = [...tableCases(), ...HAND_CASES];

beforeAll(() => {
  mkdirSync(SUB);
  writeFileSync(FILE, '{}');
});

describe('shell completion, generated from the command table', () => {
  it('the walk covers every command of the table, and each of its options', () => {
    expect(CASES.length).toBeGreaterThan(COMMANDS.length * 3);
    for (const c of COMMANDS) expect(CASES.some((k) => k.words.slice(1).join(' ').startsWith(`${c.name} --`))).toBe(true);
  });

  it('`keyladder completion SHELL` prints the script; another shell is a usage error (exit 2)', async () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const r = await cli(['--store', join(dir, 'no-store'), 'completion', shell]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(completionScript(shell, COMMANDS));
    }
    const bad = await cli(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[USAGE_BAD_VALUE]');
  });

  it('bash: the script sources cleanly and completes every case of the walk', () => {
    const r = spawnSync('bash', ['-n'], { input: completionScript('bash', COMMANDS), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const answers = runCases('bash', CASES);
    expect(CASES.map((c, i) => problem('bash', c, answers[i]!)).filter(Boolean)).toEqual([]);
  });

  it.runIf(runsHere(ZSH, 'zsh is not installed (Debian: apt-get install zsh): the zsh completion script is not checked'))('zsh: zsh -n passes and _keyladder completes every case of the walk', () => {
    const r = spawnSync('zsh', ['-n'], { input: completionScript('zsh', COMMANDS), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const answers = runCases('zsh', CASES);
    expect(CASES.map((c, i) => problem('zsh', c, answers[i]!)).filter(Boolean)).toEqual([]);
  });

  it.runIf(runsHere(ZSH, 'zsh is not installed (Debian: apt-get install zsh): the zsh completion script is not checked'))('zsh: installed on $fpath and loaded by compinit, Tab in an interactive zsh lists subcommands and values', () => {
    // A real completion widget, in a zsh on a pseudo-terminal (zsh/zpty); each read waits for its words.
    const fpathDir = join(dir, 'zfunc');
    mkdirSync(fpathDir, { recursive: true });
    writeFileSync(join(fpathDir, '_keyladder'), completionScript('zsh', COMMANDS));
    const driver = [
      'zmodload zsh/zpty',
      `zpty -b z 'ZDOTDIR=${dir} zsh -f -i'`,
      `zpty -w z 'PS1="%% "; fpath=(${fpathDir} $fpath); autoload -U compinit; compinit -u -D; LISTMAX=1000'`,
      "zpty -w -n z $'keyladder device \t'",
      'zpty -r z out \'*clear-clone*\'; print -r -- "$out"',
      "zpty -w -n z $'\\C-u'",
      "zpty -w -n z $'keyladder device import --format \t'",
      'zpty -r z out \'*json*\'; print -r -- "$out"',
      'zpty -d z',
    ].join('\n');
    const r = spawnSync('zsh', ['-f', '-c', driver], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: dir, TERM: 'dumb' }, timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const text = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' ');
    for (const w of ['add', 'import', 'clear-clone', 'export', 'revoke']) expect(text).toMatch(new RegExp(`\\b${w}\\b`));
    expect(text).toMatch(/\bcsv\b[\s\S]*\bjson\b/);
  });

  it.runIf(runsHere(FISH, 'fish is not installed (Debian: apt-get install fish): the fish completion script is not checked'))('fish: fish -n passes and complete -C answers every case of the walk', () => {
    const script = join(dir, 'syntax.fish');
    writeFileSync(script, completionScript('fish', COMMANDS));
    const r = spawnSync('fish', ['-n', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const answers = runCases('fish', CASES);
    expect(CASES.map((c, i) => problem('fish', c, answers[i]!)).filter(Boolean)).toEqual([]);
  });
});
