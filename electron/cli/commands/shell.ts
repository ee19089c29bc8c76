// What the shell needs to know about keyladder, printed from the command table:
// a completion script and the man page. Neither opens the store.

import type { Command } from '../command.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { CliError, CliErrorCode } from '../errors.js';
import { manPage } from '../manPage.js';
import { visible } from '../../shared/visibleText.js';

const SECTION = 'Shell' as const;

export const shellCommands: readonly Command[] = [
  {
    name: 'completion', section: SECTION, params: SHELLS.join('|'), arity: [1, 1], options: [],
    summary: 'print the shell completion script for bash, zsh or fish (commands, options, option values, file names; never device IDs)',
    details: 'bash: keyladder completion bash > ~/.local/share/bash-completion/completions/keyladder\n' +
      'zsh:  keyladder completion zsh > ~/.zfunc/_keyladder (a folder on $fpath, before compinit)\n' +
      'fish: keyladder completion fish > ~/.config/fish/completions/keyladder.fish',
    async run(ctx) {
      const shell = ctx.args[0]!;
      if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `completion is for ${SHELLS.join(', ')}, not "${visible(shell, 20)}".`);
      ctx.io.stdout(completionScript(shell as Shell, ctx.commands));
      return 0;
    },
  },
  {
    name: 'man', section: SECTION, arity: [0, 0], options: [],
    summary: 'print the manual page keyladder(1), in roff: keyladder man | man -l -',
    async run(ctx) {
      ctx.io.stdout(manPage(ctx.commands, ctx.version));
      return 0;
    },
  },
];
