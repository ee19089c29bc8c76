// Each command's help describes its own options (issue 22, item 7): an option
// several commands share is not described with another command's use of it.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { COMMAND_OPTION_HELP } from '../../electron/cli/optionHelp.js';
import { cli } from '../support/cli.js';

const optionLine = (help: string, option: string): string => help.split('\n').find((l) => l.startsWith(`  --${option} `)) ?? '';

describe('per-command option help', () => {
  it('the issue\'s three examples: --group for device add, --to for device export, --format for issuer rotate', async () => {
    const add = (await cli(['help', 'device', 'add'])).stdout;
    expect(optionLine(add, 'group')).toContain('model group, for MGK');
    expect(add).not.toContain('jose decrypt');
    const exp = (await cli(['help', 'device', 'export'])).stdout;
    expect(optionLine(exp, 'to')).toContain('keyring recipient KID');
    expect(exp).not.toContain('audit export');
    expect(exp).not.toContain('the last entry');
    const rotate = (await cli(['issuer', 'rotate', '--help'])).stdout;
    expect(optionLine(rotate, 'format')).toContain('keyladder-v1 (the default) or msl');
    expect(optionLine(rotate, 'format')).not.toMatch(/csv|json/);
    expect(optionLine(rotate, 'grace-days')).toContain('default 30');
    expect(optionLine((await cli(['help', 'audit', 'export'])).stdout, 'to')).toContain('the last entry');
    expect(optionLine((await cli(['help', 'jose', 'decrypt'])).stdout, 'group')).toContain('Kdw');
  });

  it('no option line names another command, and every per-command entry is a real command\'s own option', async () => {
    const names = COMMANDS.map((c) => c.name);
    for (const [name, own] of Object.entries(COMMAND_OPTION_HELP)) {
      const command = COMMANDS.find((c) => c.name === name);
      expect(command, `optionHelp.ts names "${name}", which is no command`).toBeDefined();
      for (const o of Object.keys(own)) expect(command!.options, `${name} does not take --${o}`).toContain(o);
    }
    for (const c of COMMANDS) {
      const help = (await cli(['help', ...c.name.split(' ')])).stdout;
      const lines = help.slice(help.indexOf('\nOptions\n'), help.indexOf('\nGlobal options\n'));
      if (!help.includes('\nOptions\n')) continue;
      for (const other of names.filter((n) => n !== c.name && n.includes(' '))) {
        expect(lines, `help ${c.name}'s options mention ${other}`).not.toContain(`${other}:`);
        expect(lines, `help ${c.name}'s options mention ${other}`).not.toContain(`for ${other}`);
      }
    }
  });
});

describe('help points the right way (issue 22, item 7: "listed below" while the list is above)', () => {
  it('audit list --help lists the actions before --action, and says "above"', async () => {
    const help = (await cli(['audit', 'list', '--help'])).stdout;
    const line = optionLine(help, 'action');
    expect(line).toContain('listed above');
    expect(help.indexOf('Actions (--action):')).toBeGreaterThan(-1);
    expect(help.indexOf('Actions (--action):')).toBeLessThan(help.indexOf(line));
  });

  it('no command\'s help points below: details come before the options, and nothing follows them but the global options', async () => {
    for (const c of COMMANDS) {
      const help = (await cli(['help', ...c.name.split(' ')])).stdout;
      expect(help, `help ${c.name}`).not.toMatch(/\b(listed|see|shown) below\b/);
      if (/listed above/.test(help)) expect(help.indexOf('Options\n')).toBeGreaterThan(help.indexOf(c.details ?? '\0'));
    }
  });
});

describe('README on npx (issue 22, item 8)', () => {
  it('does not suggest npx keyladder, and says why (outside the checkout npx asks the registry)', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { ROOT } = await import('../support/cli.js');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.match(/`npx keyladder[^`]*`/g) ?? []).toEqual(['`npx keyladder`']);
    expect(readme).toMatch(/Not `npx keyladder`: [^.]*registry/);
    expect(readme).toContain('npm link');
  });
});
