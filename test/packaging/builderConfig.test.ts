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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
// js-yaml is electron-builder's own YAML reader.
const yaml = require('js-yaml') as { load(text: string): unknown };
const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as {
  files: string[];
  asarUnpack: string[];
  npmRebuild?: boolean;
  buildDependenciesFromSource?: boolean;
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
