// The exit statuses come from one table (electron/cli/exitStatus.ts, issue 23 item 2): the commands
// return its values, README's "Exit codes" line lists the same statuses, and the values an option
// takes are the ones its check accepts (the table that shell completion and the man page print).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { EXIT, EXIT_MEANINGS } from '../../electron/cli/exitStatus.js';
import { EXAMPLES, exampleWords } from '../../electron/cli/examples.js';
import { OPTIONS, type OptionName } from '../../electron/cli/options.js';
import { cli, cliProcess, ROOT } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-exit-status-');

describe('exit statuses, from one table', () => {
  it('README\'s "Exit codes" line lists exactly the statuses of the table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const line = /^- \*\*Exit codes:\*\*([\s\S]*?)(?=\n- |\n\n)/m.exec(readme)?.[1];
    expect(line, 'README has no "- **Exit codes:**" item').toBeDefined();
    const listed = [...line!.matchAll(/(?:^|;)\s*(\d+) /g)].map((m) => Number(m[1]));
    expect(listed).toEqual(EXIT_MEANINGS.map(([status]) => status));
    expect(EXIT_MEANINGS.map(([status]) => status)).toEqual(Object.values(EXIT));
  });

  it('no command returns a bare non-zero number: each goes through the table', () => {
    const sources = [join(ROOT, 'electron', 'cli.ts'), ...readdirSync(join(ROOT, 'electron', 'cli', 'commands')).map((f) => join(ROOT, 'electron', 'cli', 'commands', f))];
    // A non-zero number as what is returned: `return 2;`, `return ok ? 0 : 1;` (not `slice(1)` nor `[1]`).
    const STATUS = /\breturn\s+(?:[\w.!&|=<> ]+\?\s*)?([\w.]+)(?:\s*:\s*([\w.]+))?\s*;/;
    const bareNumber = (line: string): boolean => {
      const m = STATUS.exec(line);
      return m !== null && [m[1], m[2]].some((operand) => operand !== undefined && /^[1-9]\d*$/.test(operand));
    };
    const bare = sources.flatMap((file) => readFileSync(file, 'utf8').split('\n').flatMap((l, i) => (bareNumber(l) ? [`${file}:${i + 1}: ${l.trim()}`] : [])));
    expect(['return 2;', 'return r.ok ? 0 : 1;', 'return report.failed.length ? 1 : 0;', 'return 130;'].filter((l) => !bareNumber(l))).toEqual([]);
    expect(['return 0;', 'return EXIT.FAILED;', 'return words.slice(1);', 'return list[1];'].filter((l) => bareNumber(l))).toEqual([]);
    expect(bare).toEqual([]);
  });
});

describe('fixed option values: the table is what the checks accept', () => {
  /** Each command's example, with the option's value replaced by `value`; files named exist (an empty JSON object). */
  function withValue(command: string, option: OptionName, value: string): string[] {
    const words = exampleWords(EXAMPLES[command]!);
    // The option's own value goes, and the example's passphrase file (the test's comes from the environment).
    for (const drop of [`--${option}`, '--passphrase-file']) {
      const at = words.indexOf(drop);
      if (at >= 0) words.splice(at, 2);
    }
    const file = join(dir, 'x.json');
    writeFileSync(file, '{}');
    // The example's arguments: a file that exists where the command reads one.
    return ['--store', join(dir, 'no-store'), ...words.map((w) => (/\.(json|csv|jwk|jwe|bin|b64)$/.test(w) ? file : w)), `--${option}`, value];
  }

  const cases = COMMANDS.flatMap((c) => c.options.flatMap((o) => {
    const spec: { type: string; choices?: readonly string[] } = OPTIONS[o];
    const choices = c.choices?.[o] ?? spec.choices;
    return choices ? [{ command: c.name, option: o, choices }] : [];
  }));

  it('covers every option with fixed values', () => {
    expect(cases.map((k) => `${k.command} --${k.option}`)).toEqual(expect.arrayContaining(['device import --format', 'issuer rotate --format', 'simulate --mechanism', 'msl simulate --mechanism', 'serve --log-format', 'serve --profile', 'respond --profile', 'recipient add --role', 'recipient add --use', 'audit list --outcome', 'audit policy --exchanges']));
  });

  it('a value outside the table is USAGE_BAD_VALUE (exit 2) before the store is looked for; each value in it passes that check', async () => {
    for (const { command, option, choices } of cases) {
      const bad = await cli(withValue(command, option, 'not-a-choice'));
      expect(bad.code, `${command} --${option} not-a-choice: ${bad.stderr}`).toBe(EXIT.USAGE);
      expect(bad.stderr).toContain(`--${option}`);
      expect(bad.stderr).toContain('[USAGE_BAD_VALUE]');
      for (const value of choices) {
        // serve as the real binary: in process it would fork its workers from these sources, which are not compiled.
        const good = command === 'serve' ? cliProcess(withValue(command, option, value)) : await cli(withValue(command, option, value));
        expect(good.stderr, `${command} --${option} ${value}`).not.toContain('[USAGE_BAD_VALUE]');
        // Past every check of the command line: only then is the store found missing.
        expect(good.stderr, `${command} --${option} ${value}`).toContain('[STORE_NOT_FOUND]');
      }
    }
  });
});
