#!/usr/bin/env node
// The files a package installs for the shell, written from the compiled CLI's
// command table (npm run build, after build:node):
//   dist/man/keyladder.1                  keyladder(1), as `keyladder man` prints it
//   dist/completion/keyladder.bash        bash completion   (`keyladder completion bash`)
//   dist/completion/_keyladder            zsh completion
//   dist/completion/keyladder.fish        fish completion
// electron-builder.yml's deb.fpm puts them where Debian's man, bash-completion,
// zsh and fish look for them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const { COMMANDS } = await import(new URL('../dist/electron/cli.js', import.meta.url).href);
const { manPage } = await import(new URL('../dist/electron/cli/manPage.js', import.meta.url).href);
const { completionScript } = await import(new URL('../dist/electron/cli/completion.js', import.meta.url).href);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const files = {
  'man/keyladder.1': manPage(COMMANDS, version),
  'completion/keyladder.bash': completionScript('bash', COMMANDS),
  'completion/_keyladder': completionScript('zsh', COMMANDS),
  'completion/keyladder.fish': completionScript('fish', COMMANDS),
};
for (const [name, text] of Object.entries(files)) {
  const path = join(dist, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${join('dist', name)}`);
}
