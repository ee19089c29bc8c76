// The man page and the completion scripts in the deb (issue 23, item 2): npm run build:shell
// writes them from the compiled CLI's table, and electron-builder.yml's deb.fpm maps each to the
// folder Debian's man-db, bash-completion, zsh and fish read. electron-builder cannot package here
// (no Electron binary): the mapping is checked as fpm takes it (SOURCE=DEST, relative to the
// project folder), and the hosted workflow's npm run dist builds the deb.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { completionScript } from '../../electron/cli/completion.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };
const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as { deb?: { fpm?: string[] } };

describe('the shell files in the deb', () => {
  it('build:shell writes the man page and the three completion scripts from the compiled table', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'build', 'shell-files.mjs')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(readFileSync(path.join(ROOT, 'dist/man/keyladder.1'), 'utf8')).toContain(`"keyladder ${version}"`);
    expect(readFileSync(path.join(ROOT, 'dist/completion/keyladder.bash'), 'utf8')).toBe(completionScript('bash', COMMANDS));
    expect(readFileSync(path.join(ROOT, 'dist/completion/_keyladder'), 'utf8')).toBe(completionScript('zsh', COMMANDS));
    expect(readFileSync(path.join(ROOT, 'dist/completion/keyladder.fish'), 'utf8')).toBe(completionScript('fish', COMMANDS));
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['build']).toContain('npm run build:node && npm run build:shell');
  });

  it('deb.fpm maps each to where Debian looks, from a file build:shell writes', () => {
    const mappings = Object.fromEntries((config.deb?.fpm ?? []).map((arg) => arg.split('=') as [string, string]));
    expect(mappings).toEqual({
      'dist/man/keyladder.1': '/usr/share/man/man1/keyladder.1',
      'dist/completion/keyladder.bash': '/usr/share/bash-completion/completions/keyladder',
      'dist/completion/_keyladder': '/usr/share/zsh/vendor-completions/_keyladder',
      'dist/completion/keyladder.fish': '/usr/share/fish/vendor_completions.d/keyladder.fish',
    });
    for (const source of Object.keys(mappings)) expect(existsSync(path.join(ROOT, source)), source).toBe(true);
  });
});
