// electron-builder.yml, read as electron-builder reads it, for what it does to
// the SQLite addon's prebuilds on every platform and architecture, which this
// machine cannot package (asar.test.ts packages linux-x64 only; the real check
// for the others is the hosted workflow's npm run dist on each OS): one
// prebuild, the one lib/binding.js loads, unpacked from the asar; no local
// build; no rebuild for Electron.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimatch } from 'minimatch';
import { describe, expect, it } from 'vitest';
import { CLI_MARKER, LAUNCHER_SWITCHES } from '../../electron/cliDispatch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
// js-yaml is electron-builder's own YAML reader.
const yaml = require('js-yaml') as { load(text: string): unknown };
interface Resource { from: string; to: string }
const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as {
  productName: string;
  files: string[];
  asarUnpack: string[];
  npmRebuild?: boolean;
  buildDependenciesFromSource?: boolean;
  extraResources?: unknown;
  forceCodeSigning?: boolean;
  electronFuses: { runAsNode: boolean };
  linux: { executableName: string; extraResources?: Resource[] };
  mac: { extraResources?: Resource[] };
  win: { extraResources?: Resource[]; azureSignOptions?: unknown; signtoolOptions?: unknown; certificateFile?: unknown };
  deb: { afterInstall?: string; afterRemove?: string };
};
const ADDON_DIR = 'node_modules/better-sqlite3-multiple-ciphers';
const PREBUILDS = readdirSync(path.join(ROOT, ADDON_DIR, 'prebuilds')).filter((f) => f.endsWith('.node')).sort();

/** electron-builder's ${platform} (the building machine's process.platform) and ${arch}, then its minimatch options. */
function kept(platform: string, arch: string): string[] {
  const patterns = config.files.map((p) => p.replaceAll('${platform}', platform).replaceAll('${arch}', arch));
  return PREBUILDS.map((f) => `${ADDON_DIR}/prebuilds/${f}`).filter((file) => {
    let match = true; // node_modules are included by default; only the exclusions apply to them
    for (const p of patterns) if (p.startsWith('!') && minimatch(file, p.slice(1), { dot: true })) match = false;
    return match;
  });
}

describe('electron-builder.yml and the SQLite addon', () => {
  it('the package holds the eight prebuilds this test reasons about', () => {
    expect(PREBUILDS).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'linuxmusl-arm64', 'linuxmusl-x64', 'win32-arm64', 'win32-x64'].map((n) => `${n}.node`));
  });

  for (const platform of ['linux', 'darwin', 'win32']) {
    for (const arch of ['x64', 'arm64']) {
      it(`a ${platform}-${arch} package keeps only prebuilds/${platform}-${arch}.node`, () => {
        expect(kept(platform, arch)).toEqual([`${ADDON_DIR}/prebuilds/${platform}-${arch}.node`]);
      });
    }
  }

  it('unpacks the prebuild from the asar, leaves out any local build and the sources, and rebuilds nothing', () => {
    expect(config.asarUnpack.some((p) => minimatch(`${ADDON_DIR}/prebuilds/linux-x64.node`, p, { dot: true }))).toBe(true);
    const excluded = (file: string) => config.files.some((p) => p.startsWith('!') && minimatch(file, p.slice(1), { dot: true }));
    // Folders are excluded as folders: electron-builder's walker then never enters them.
    for (const f of ['build', 'deps', 'src', 'binding.gyp']) expect(excluded(`${ADDON_DIR}/${f}`), f).toBe(true);
    expect(excluded(`${ADDON_DIR}/lib/binding.js`)).toBe(false);
    expect(config.npmRebuild).toBe(false);
    expect(config.buildDependenciesFromSource).toBeUndefined();
  });
});

describe('electron-builder.yml and the CLI the installers ship', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; main: string };
  const sh = readFileSync(path.join(ROOT, 'packaging', 'cli', 'keyladder'), 'utf8');
  const cmd = readFileSync(path.join(ROOT, 'packaging', 'cli', 'keyladder.cmd'), 'utf8');

  it('the GUI\'s Linux executable is not called keyladder, which is the CLI', () => {
    expect(Object.keys(pkg.bin)).toEqual(['keyladder']);
    expect(config.linux.executableName).toBe('keyladder-app');
  });

  it('every platform ships its launcher as resources/bin/keyladder(.cmd), and only its own', () => {
    expect(config.extraResources).toBeUndefined();
    expect(config.linux.extraResources).toEqual([{ from: 'packaging/cli/keyladder', to: 'bin/keyladder' }]);
    expect(config.mac.extraResources).toEqual([{ from: 'packaging/cli/keyladder', to: 'bin/keyladder' }]);
    expect(config.win.extraResources).toEqual([{ from: 'packaging/cli/keyladder.cmd', to: 'bin/keyladder.cmd' }]);
  });

  it('the launchers start the executables this configuration makes, with the marker and -- the entry expects', () => {
    // runAsNode is fused off: the reason the launcher goes through the marker.
    expect(config.electronFuses.runAsNode).toBe(false);
    expect(pkg.main).toBe('dist/electron/entry.js');
    expect(sh).toContain(`exec "$resources/../${config.linux.executableName}" ${[...LAUNCHER_SWITCHES].join(' ')} ${CLI_MARKER} -- "$@"`);
    expect(sh).toContain(`exec "$resources/../MacOS/${config.productName}" ${CLI_MARKER} -- "$@"`);
    expect(sh.startsWith('#!/bin/sh\n')).toBe(true);
    // resources\bin\ is two levels below the folder that holds KeyLadder.exe.
    expect(cmd).toContain(`"%~dp0..\\..\\${config.productName}.exe" ${CLI_MARKER} -- %*\r\n`);
    expect(cmd).toContain('exit /b %ERRORLEVEL%\r\n');
    // cmd.exe wants CRLF line ends throughout (.gitattributes keeps them).
    expect(cmd.split('\r\n').every((line) => !line.includes('\n'))).toBe(true);
  });

  it('the deb uses the project\'s post-install and post-remove scripts', () => {
    expect(config.deb.afterInstall).toBe('packaging/linux/after-install.tpl');
    expect(config.deb.afterRemove).toBe('packaging/linux/after-remove.tpl');
    for (const f of [config.deb.afterInstall!, config.deb.afterRemove!]) expect(readFileSync(path.join(ROOT, f), 'utf8')).toContain('/resources/bin/keyladder');
  });

  it('Windows signing is never a .pfx in the configuration, and is forced only from the command line (tags)', () => {
    expect(config.win.signtoolOptions).toBeUndefined();
    expect(config.win.certificateFile).toBeUndefined();
    // Added by build/dist.mjs from the environment: written here, every unsigned build would fail.
    expect(config.win.azureSignOptions).toBeUndefined();
    expect(config.forceCodeSigning).toBe(false);
  });
});
