// The deb, as electron-builder would hand it to fpm (which is not on this
// machine): electron-builder 26 runs the project's electron-builder.yml for the
// deb target against a stand-in Electron, and its `effectiveOptionComputed`
// hook (the one electron-builder's own tests use) stops it just before fpm,
// with fpm's arguments, the rendered post-install and post-remove scripts and
// the desktop entry. The scripts then run under bash with stand-ins for the
// commands they call (update-alternatives, ln, chmod, ...), which record what
// would have been done to /usr/bin.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipsHere } from '../support/skips.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASH = ['/bin/bash', '/usr/bin/bash'].find((b) => existsSync(b));
const skipReason = process.platform === 'win32' ? 'the deb target and its bash scripts are Linux-only' : BASH === undefined ? 'bash is not installed: the deb scripts are bash' : null;

interface Deb {
  fpmArgs: string[];
  afterInstall: string;
  afterRemove: string;
  desktop: string;
  appOutDir: string;
}

let deb: Deb;
let work: string;

/** Runs a rendered script with stand-ins for the commands it calls; returns their calls, one line each. */
function runScript(script: string, commands: Record<string, string>): string[] {
  const bin = mkdtempSync(path.join(work, 'bin-'));
  const log = path.join(bin, 'calls.log');
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(path.join(bin, name), `#!${BASH}\necho "\${0##*/} $*" >> '${log}'\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  writeFileSync(path.join(bin, 'script'), script);
  // Only the stand-ins on PATH: a command the script calls that has none fails to run, and shows in stderr.
  const r = spawnSync(BASH!, [path.join(bin, 'script')], { encoding: 'utf8', env: { PATH: bin } });
  expect(r.error).toBeUndefined();
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

/** The commands the scripts may call, all succeeding; apparmor is off, so its part is skipped. */
const withAlternatives = { 'update-alternatives': 'exit 0', ln: 'exit 0', rm: 'exit 0', chmod: 'exit 0', unshare: 'exit 0', readlink: 'exit 0', apparmor_status: 'exit 1' };

describe.skipIf(skipsHere(skipReason !== null, skipReason ?? ''))('the deb: /usr/bin/keyladder is the CLI launcher, the desktop entry the GUI', () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'keyladder-deb-'));
    const electronDist = path.join(work, 'electron-dist');
    mkdirSync(electronDist);
    writeFileSync(path.join(electronDist, 'electron'), '#!/bin/sh\nexit 1\n');
    chmodSync(path.join(electronDist, 'electron'), 0o755);
    const captured = path.join(work, 'captured.json');
    const runner = path.join(work, 'runner.cjs');
    writeFileSync(
      runner,
      `const { build, Platform, Arch } = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'electron-builder'))});
const yaml = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'js-yaml'))});
const fs = require('node:fs');
const config = {
  ...yaml.load(fs.readFileSync(${JSON.stringify(path.join(ROOT, 'electron-builder.yml'))}, 'utf8')),
  electronDist: ${JSON.stringify(electronDist)},
  // The fuses are asar.test.ts's business (its stand-in carries the sentinel); this one does not.
  electronFuses: null,
  // fpm needs a homepage; CI's checkout gives electron-builder the repository's, this copy has none.
  extraMetadata: { homepage: 'https://keyladder.example.invalid' },
  directories: { output: ${JSON.stringify(path.join(work, 'out'))}, buildResources: 'build' },
};
build({
  projectDir: ${JSON.stringify(ROOT)},
  config,
  targets: Platform.LINUX.createTarget(['deb'], Arch.x64),
  publish: 'never',
  effectiveOptionComputed: async (options) => {
    if (!Array.isArray(options) || !Array.isArray(options[0])) return false;
    const [args, desktopFile] = options;
    const read = (flag) => fs.readFileSync(args[args.indexOf(flag) + 1], 'utf8');
    fs.writeFileSync(${JSON.stringify(captured)}, JSON.stringify({ fpmArgs: args, afterInstall: read('--after-install'), afterRemove: read('--after-remove'), desktop: fs.readFileSync(desktopFile, 'utf8') }));
    return true; // stop before fpm
  },
}).catch((e) => { console.error(e.message); process.exit(1); });
`,
    );
    const machineTmp = process.env['KEYLADDER_MACHINE_TMPDIR'];
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...(machineTmp === undefined ? {} : { TMPDIR: machineTmp }) };
    // Under VITEST electron-builder hard-links instead of copying (builder-util's fs.js), which
    // failed here with EEXIST on the launcher; a real build copies, as it does without it.
    delete env['VITEST'];
    const r = spawnSync(process.execPath, [runner], { cwd: work, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0 || !existsSync(captured)) throw new Error(`electron-builder (deb, stopped before fpm) failed (${r.status}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-30).join('\n')}`);
    deb = { ...(JSON.parse(readFileSync(captured, 'utf8')) as Omit<Deb, 'appOutDir'>), appOutDir: path.join(work, 'out', 'linux-unpacked') };
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs the unpacked app as /opt/KeyLadder, with the GUI as keyladder-app and the CLI launcher in resources/bin', () => {
    expect(deb.fpmArgs).toContain(`${deb.appOutDir}/=/opt/KeyLadder`);
    expect(statSync(path.join(deb.appOutDir, 'keyladder-app')).isFile()).toBe(true);
    expect(existsSync(path.join(deb.appOutDir, 'keyladder'))).toBe(false);
    const launcher = path.join(deb.appOutDir, 'resources', 'bin', 'keyladder');
    expect(readFileSync(launcher, 'utf8')).toBe(readFileSync(path.join(ROOT, 'packaging', 'cli', 'keyladder'), 'utf8'));
    expect(statSync(launcher).mode & 0o111).toBe(0o111);
    // Not the Windows one.
    expect(existsSync(path.join(deb.appOutDir, 'resources', 'bin', 'keyladder.cmd'))).toBe(false);
  });

  it('the desktop entry runs the GUI by its full path', () => {
    expect(deb.desktop).toMatch(/^Exec=\/opt\/KeyLadder\/keyladder-app %U$/m);
    expect(deb.fpmArgs.some((a) => a.endsWith('=/usr/share/applications/keyladder-app.desktop'))).toBe(true);
  });

  it('the post-install links /usr/bin/keyladder to the CLI launcher and /usr/bin/keyladder-app to the GUI', () => {
    const calls = runScript(deb.afterInstall, withAlternatives);
    expect(calls).toContain('update-alternatives --install /usr/bin/keyladder keyladder /opt/KeyLadder/resources/bin/keyladder 100');
    expect(calls).toContain('update-alternatives --install /usr/bin/keyladder-app keyladder-app /opt/KeyLadder/keyladder-app 100');
    // The 0.1.0 deb's alternative (keyladder -> the GUI) is taken away first.
    expect(calls).toContain('update-alternatives --remove keyladder /opt/KeyLadder/keyladder');
    expect(calls.filter((c) => /\/usr\/bin\/keyladder .*\/opt\/KeyLadder\/keyladder-app/.test(c))).toEqual([]);
    // The sandbox is still seen to.
    expect(calls.some((c) => /^chmod (4755|0755) \/opt\/KeyLadder\/chrome-sandbox$/.test(c))).toBe(true);
  });

  it('without update-alternatives it links with ln, the same two ways', () => {
    const { 'update-alternatives': _, ...plain } = withAlternatives;
    const calls = runScript(deb.afterInstall, plain);
    expect(calls).toContain('ln -sf /opt/KeyLadder/resources/bin/keyladder /usr/bin/keyladder');
    expect(calls).toContain('ln -sf /opt/KeyLadder/keyladder-app /usr/bin/keyladder-app');
    expect(calls.filter((c) => c.startsWith('ln ')).length).toBe(2);
  });

  it('the post-remove takes both away', () => {
    const calls = runScript(deb.afterRemove, withAlternatives);
    expect(calls).toContain('update-alternatives --remove keyladder /opt/KeyLadder/resources/bin/keyladder');
    expect(calls).toContain('update-alternatives --remove keyladder-app /opt/KeyLadder/keyladder-app');
  });
});

if (skipReason !== null) describe('the deb', () => it.skip(skipReason, () => {}));
