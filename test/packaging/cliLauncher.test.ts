// The CLI the installers ship (docs/packaging.md, "The CLI"): the launcher
// scripts in packaging/cli/, run the way an installed app runs them, against a
// stand-in for the app's executable. The real executable is Electron, which
// cannot be downloaded here; the stand-in is Node 24 running the built entry
// (dist/electron/entry.js) with `electron` resolved to a stub whose app.exit is
// process.exit, so everything from the launcher to the CLI's exit status is the
// shipped code but Electron itself. What only Electron can show (that Chromium
// stops reading switches at `--`, that Ozone's headless platform needs no
// display, app.exit, signals on the Electron runtime) is not checked here;
// the smoke test does that in the hosted workflow. The dispatch rules alone:
// test/cli/cliDispatch.test.ts.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MARKER } from '../../electron/cliDispatch.js';
import { skipsHere } from '../support/skips.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAUNCHER = path.join(ROOT, 'packaging', 'cli', 'keyladder');
const PASSPHRASE = 'launcher test passphrase, long enough';

const skipReason = process.platform === 'win32' ? 'the launcher under test is the POSIX shell one (the .cmd is checked in builderConfig.test.ts)' : null;

describe.skipIf(skipsHere(skipReason !== null, skipReason ?? ''))('the installed launcher, with a stand-in for the app executable', () => {
  let work: string;
  let argvLog: string;
  /** /opt/KeyLadder as the deb lays it out, and /usr/bin/keyladder linked to the launcher as its post-install does. */
  let linuxApp: string;
  let usrBin: string;

  /** A stand-in app executable: logs its pid and arguments, then runs the built entry as the app would. */
  function standIn(exe: string): void {
    mkdirSync(path.dirname(exe), { recursive: true });
    writeFileSync(
      exe,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$$" "$@" > '${argvLog}'`,
        // exec: the stand-in becomes the runtime, as the real executable is one process.
        `exec '${process.execPath}' --import '${path.join(work, 'electron-stub.mjs')}' '${path.join(ROOT, 'dist', 'electron', 'entry.js')}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(exe, 0o755);
  }

  function installLauncher(at: string): void {
    mkdirSync(path.dirname(at), { recursive: true });
    copyFileSync(LAUNCHER, at);
    chmodSync(at, 0o755);
  }

  function run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
    // The operator's own store and passphrase stay out of it.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['KEYLADDER_PASSPHRASE'];
    delete env['KEYLADDER_STORE'];
    return spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 60_000, ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }) });
  }

  const loggedArgv = () => readFileSync(argvLog, 'utf8').split('\n').slice(0, -1);

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'keyladder-launcher-'));
    argvLog = path.join(work, 'argv.log');
    // The stand-in runtime: `electron` is a stub (app.exit is process.exit, no Dock), and the
    // arguments are shaped as an unpackaged `electron <app>` gives them (process.defaultApp).
    writeFileSync(
      path.join(work, 'electron-stub.mjs'),
      [
        "import { registerHooks } from 'node:module';",
        'process.defaultApp = true;',
        "const stub = 'data:text/javascript,' + encodeURIComponent('export const app = { exit: (code) => process.exit(code), dock: undefined };');",
        "registerHooks({ resolve: (specifier, context, next) => (specifier === 'electron' ? { url: stub, format: 'module', shortCircuit: true } : next(specifier, context)) });",
        '',
      ].join('\n'),
    );
    linuxApp = path.join(work, 'opt', 'KeyLadder');
    standIn(path.join(linuxApp, 'keyladder-app'));
    installLauncher(path.join(linuxApp, 'resources', 'bin', 'keyladder'));
    usrBin = path.join(work, 'usr', 'bin');
    mkdirSync(usrBin, { recursive: true });
    // A relative link, and a link to a link: the launcher must follow both.
    symlinkSync(path.relative(usrBin, path.join(linuxApp, 'resources', 'bin', 'keyladder')), path.join(usrBin, 'keyladder-rel'));
    symlinkSync(path.join(usrBin, 'keyladder-rel'), path.join(usrBin, 'keyladder'));
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs the app executable with the headless switches, the marker, -- and the arguments as given, in the same process', () => {
    const r = run(path.join(usrBin, 'keyladder'), ['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`keyladder ${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    expect(r.status).toBe(0);
    const [pid, ...argv] = loggedArgv();
    expect(argv).toEqual(['--ozone-platform=headless', '--disable-gpu', CLI_MARKER, '--', '--version']);
    // exec all the way: the launcher's process is the app's, so Ctrl-C and kill reach the runtime itself.
    expect(Number(pid)).toBe(r.pid);
  });

  it('passes arguments with spaces, quotes and dashes through unchanged', () => {
    const odd = ['help', 'device list', "it's", '--', '-x', ''];
    run(path.join(usrBin, 'keyladder'), odd);
    expect(loggedArgv().slice(5)).toEqual(odd);
  });

  it('a usage error exits 2 with its code, a service error 1, as under Node', () => {
    const usage = run(path.join(usrBin, 'keyladder'), ['devce', 'list']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/\[USAGE_UNKNOWN_COMMAND\]/);
    const missing = run(path.join(usrBin, 'keyladder'), ['--store', path.join(work, 'nowhere'), 'device', 'list', '--json', '--passphrase-file', '-'], PASSPHRASE);
    expect(missing.status).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'STORE_NOT_FOUND' } });
  });

  it('creates a store with the passphrase on stdin, and reads it back', () => {
    const store = path.join(work, 'store');
    const init = run(path.join(usrBin, 'keyladder'), ['--store', store, '--kdf-log-n', '17', 'init', '--passphrase-file', '-'], `${PASSPHRASE}\n`);
    expect(init.stderr).not.toMatch(/\[[A-Z_]+\]/);
    expect(init.status).toBe(0);
    const list = run(path.join(usrBin, 'keyladder'), ['--store', store, 'device', 'list', '--json', '--passphrase-file', '-'], `${PASSPHRASE}\n`);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(expect.anything());
    // The passphrase is nowhere in what the runtime printed.
    expect(`${init.stdout}${init.stderr}${list.stdout}${list.stderr}`).not.toContain(PASSPHRASE);
  });

  it('refuses serve with its code, before opening anything', () => {
    const r = run(path.join(usrBin, 'keyladder'), ['--store', path.join(work, 'nowhere'), 'serve', '--port', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[BUNDLED_CLI_NO_SERVE\]/);
    const json = run(path.join(usrBin, 'keyladder'), ['serve', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'BUNDLED_CLI_NO_SERVE' } });
  });

  it('the app executable refuses the marker in any other form (exit 2), opening neither window nor CLI', () => {
    const r = run(path.join(linuxApp, 'keyladder-app'), [CLI_MARKER, '--version']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/\[CLI_MARKER_MISUSE\]/);
  });

  it('on macOS runs Contents/MacOS/KeyLadder, without the Linux switches', () => {
    const contents = path.join(work, 'KeyLadder.app', 'Contents');
    standIn(path.join(contents, 'MacOS', 'KeyLadder'));
    installLauncher(path.join(contents, 'Resources', 'bin', 'keyladder'));
    const r = run(path.join(contents, 'Resources', 'bin', 'keyladder'), ['--version']);
    expect(r.status).toBe(0);
    expect(loggedArgv().slice(1)).toEqual([CLI_MARKER, '--', '--version']);
  });

  it('without the app beside it, says so with a code', () => {
    const lone = path.join(work, 'lone', 'resources', 'bin', 'keyladder');
    installLauncher(lone);
    const r = run(lone, ['--version']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[CLI_APP_NOT_FOUND\]/);
  });
});

if (skipReason !== null) describe('the installed launcher', () => it.skip(skipReason, () => {}));
