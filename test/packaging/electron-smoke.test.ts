// Smoke test of the packaged Linux app (release/…/linux-unpacked), driven by
// Playwright's `_electron`. CI (.github/workflows/build.yml) runs it under
// xvfb-run after `npm run dist`; here it skips, because the Electron binary
// cannot be downloaded on this machine, so no packaged app exists.
//
//   KEYLADDER_PACKAGED_APP   the executable to launch (default: release-smoke/linux-unpacked/keyladder,
//                            then release/linux-unpacked/keyladder)
//   KEYLADDER_SHIPPED_APP    the shipped build whose fuses and addon ABI are checked
//                            (default: release/linux-unpacked/keyladder)
//   KEYLADDER_SMOKE_REQUIRED=1   fail instead of skipping when an app is missing (CI sets it)
//
// Playwright's `_electron` attaches to the main process through `--inspect`,
// which the shipped build's EnableNodeCliInspectArguments fuse turns off. So CI
// packs a second `--dir` build that differs only in that fuse for this test,
// and checks the shipped build's fuses separately (second test below).

import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUIRED = process.env['KEYLADDER_SMOKE_REQUIRED'] === '1';
const NO_BINARY = 'needs the Electron binary, which cannot be downloaded here';
const ENABLED = '1'.charCodeAt(0);
const DISABLED = '0'.charCodeAt(0);

const smokeApp =
  process.env['KEYLADDER_PACKAGED_APP'] ??
  [path.join(ROOT, 'release-smoke', 'linux-unpacked', 'keyladder'), path.join(ROOT, 'release', 'linux-unpacked', 'keyladder')].find((f) => existsSync(f)) ??
  path.join(ROOT, 'release-smoke', 'linux-unpacked', 'keyladder');
const shippedApp = process.env['KEYLADDER_SHIPPED_APP'] ?? path.join(ROOT, 'release', 'linux-unpacked', 'keyladder');

/** A real Electron executable for Linux (not absent, not a stand-in script): an ELF file of some size. */
function isElectronBinary(file: string): boolean {
  if (process.platform !== 'linux' || !existsSync(file) || statSync(file).size < 10_000_000) return false;
  const fd = openSync(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

async function smokeSkipReason(): Promise<string | null> {
  if (!isElectronBinary(smokeApp)) return `${NO_BINARY} (no packaged app at ${path.relative(ROOT, smokeApp)})`;
  const wire = await getCurrentFuseWire(smokeApp);
  if (wire[FuseV1Options.EnableNodeCliInspectArguments] === DISABLED) {
    return `${path.relative(ROOT, smokeApp)} has the inspect fuse off, as shipped; Playwright's _electron needs it on: pack with -c.electronFuses.enableNodeCliInspectArguments=true (docs/packaging.md)`;
  }
  return null;
}

/** The setuid chrome-sandbox the deb installs; with it Chromium's own sandbox runs, without it Playwright passes --no-sandbox. */
function setuidSandbox(app: string): boolean {
  const helper = path.join(path.dirname(app), 'chrome-sandbox');
  if (!existsSync(helper)) return false;
  const st = statSync(helper);
  return st.uid === 0 && (st.mode & 0o4000) !== 0;
}

const smokeReason = await smokeSkipReason();
const shippedReason = isElectronBinary(shippedApp) ? null : `${NO_BINARY} (no packaged app at ${path.relative(ROOT, shippedApp)})`;

describe('packaged Linux app', () => {
  if (smokeReason !== null && !REQUIRED) {
    it.skip(`smoke test: ${smokeReason}`, () => {});
  } else {
    it('starts, shows the KeyLadder window, and the renderer has the bridge but no Node', async () => {
      if (smokeReason !== null) throw new Error(smokeReason);
      const home = mkdtempSync(path.join(tmpdir(), 'keyladder-smoke-'));
      const app = await electron.launch({
        executablePath: smokeApp,
        args: [],
        // A fresh user-data folder: app.getPath('userData') is $XDG_CONFIG_HOME/KeyLadder on Linux.
        env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config'), HOME: home } as Record<string, string>,
        chromiumSandbox: setuidSandbox(smokeApp),
        timeout: 60_000,
      });
      try {
        const page = await app.firstWindow({ timeout: 60_000 });
        await page.waitForLoadState('domcontentloaded');
        await page.waitForFunction('document.title === "KeyLadder"', undefined, { timeout: 30_000 });
        expect(await page.title()).toBe('KeyLadder');
        expect(page.url()).toMatch(/^app:\/\/keyladder\//);
        const windowTitle = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.getTitle());
        expect(windowTitle).toBe('KeyLadder');

        // Evaluated as text, so nothing from the test's own module system leaks into the page.
        const seen = (await page.evaluate(`({
          bridge: typeof window.keyladder,
          methods: window.keyladder ? Object.keys(window.keyladder) : [],
          require: typeof require,
          process: typeof process,
          module: typeof module,
          buffer: typeof Buffer,
        })`)) as { bridge: string; methods: string[]; require: string; process: string; module: string; buffer: string };
        expect(seen.bridge).toBe('object');
        expect(seen.methods.length).toBeGreaterThan(0);
        expect(seen.methods).not.toContain('ipcRenderer');
        expect(seen.methods).not.toContain('invoke');
        expect(seen.require).toBe('undefined');
        expect(seen.process).toBe('undefined');
        expect(seen.module).toBe('undefined');
        expect(seen.buffer).toBe('undefined');

        const shots = path.join(ROOT, 'test-results', 'packaging');
        mkdirSync(shots, { recursive: true });
        await page.screenshot({ path: path.join(shots, 'packaged-linux-first-window.png') });
      } finally {
        await app.close();
        rmSync(home, { recursive: true, force: true });
      }
    }, 120_000);
  }

  if (shippedReason !== null && !REQUIRED) {
    it.skip(`shipped build: ${shippedReason}`, () => {});
  } else {
    it('the shipped build has its fuses burnt and its SQLite addon built for Electron', async () => {
      if (shippedReason !== null) throw new Error(shippedReason);
      const wire = await getCurrentFuseWire(shippedApp);
      expect(wire[FuseV1Options.RunAsNode]).toBe(DISABLED);
      expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(DISABLED);
      expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(DISABLED);
      expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ENABLED);
      expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ENABLED);
      const unpacked = path.join(path.dirname(shippedApp), 'resources', 'app.asar.unpacked');
      const check = spawnSync(process.execPath, [path.join(ROOT, 'build', 'check-native-abi.mjs'), unpacked], { encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    });
  }
});
