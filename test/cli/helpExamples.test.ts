// Every command's help has one example, and the example is valid usage of
// that command: it parses, names only options the command takes, gives its
// required options and its arguments (issue 22, item 7).
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandOf } from '../../electron/cli.js';
import { EXAMPLES, exampleWords } from '../../electron/cli/examples.js';
import { cli } from '../support/cli.js';

describe('help examples', () => {
  it('each command in the table has an Example line that parses as that command\'s valid usage', async () => {
    for (const c of COMMANDS) {
      const help = (await cli(['help', ...c.name.split(' ')])).stdout;
      const line = help.split('\n').find((l) => l.startsWith('Example: keyladder '));
      expect(line, `help ${c.name} has no Example line`).toBeDefined();
      const words = exampleWords(line!.slice('Example: keyladder '.length));
      expect(() => commandOf(words), `help ${c.name}: ${line}`).not.toThrow();
      expect(commandOf(words).name, line).toBe(c.name);
    }
  });

  it('names no command that is not in the table', () => {
    const names = new Set(COMMANDS.map((c) => c.name));
    expect(Object.keys(EXAMPLES).filter((n) => !names.has(n))).toEqual([]);
  });

  it('the check refuses what is not valid usage (so that the walk above can fail)', () => {
    expect(() => commandOf(['device', 'export', 'ESN-1'])).toThrow('needs --out');
    expect(() => commandOf(['device', 'add'])).toThrow('needs ID');
    expect(() => commandOf(['device', 'add', 'A', '--out', 'f'])).toThrow('takes no --out');
    expect(() => commandOf(['status', 'extra'])).toThrow('one too many');
    expect(exampleWords('device revoke --reason "stolen shipment" --yes  # a comment')).toEqual(['device', 'revoke', '--reason', 'stolen shipment', '--yes']);
    expect(exampleWords('respond < request.json > response.json')).toEqual(['respond']);
  });
});
