// Smoke test of the packaged Linux app (release-smoke/…/linux-unpacked), driven
// by Playwright's `_electron` as an operator would drive it on first use:
// create a store, provision a device, run a 3-rung test exchange (every KCV
// must match), switch the in-app HTTP responder on and answer a real
// POST /v1/keyx from this process, answer a simulated MSL device's handshake
// and a message under its new master token at POST /msl, export a passphrase bundle (main's save
// dialog is stubbed in main to answer a temporary file), and lock. The steps
// are in operatorSession.ts; operator-session.test.ts runs the same steps in
// Chromium on every `npm test`, since this test cannot run here.
//
// CI (.github/workflows/build.yml) runs it under xvfb-run after `npm run dist`;
// here it skips, because the Electron binary cannot be downloaded on this
// machine, so no packaged app exists.
//
//   KEYLADDER_PACKAGED_APP   the executable to launch (default: release-smoke/linux-unpacked/keyladder-app,
//                            then release/linux-unpacked/keyladder-app)
//   KEYLADDER_SHIPPED_APP    the shipped build whose fuses and addon ABI are checked
//                            (default: release/linux-unpacked/keyladder-app)
//   KEYLADDER_SMOKE_REQUIRED=1   fail instead of skipping when an app is missing (CI sets it)
//
// The app's user data (and so its store: main opens it in app.getPath('userData'))
// goes to a temporary folder through Chromium's --user-data-dir switch, which
// Electron honours for app.getPath('userData'); HOME and XDG_CONFIG_HOME point
// into the same folder, so nothing is written to the runner's home.
//
// Playwright's `_electron` attaches to the main process through `--inspect`,
// which the shipped build's EnableNodeCliInspectArguments fuse turns off. So CI
// packs a second `--dir` build that differs only in that fuse for this test,
// and checks the shipped build's fuses separately (last test below).
//
// Nothing here loads the SQLite addon: after `npm run dist` it is built for
// Electron's ABI, which this (plain Node) process cannot load.

import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inOrder, operatorSession, secretsOf } from './operatorSession.js';
import { skipsHere } from '../support/skips.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUIRED = process.env['KEYLADDER_SMOKE_REQUIRED'] === '1';
const NO_BINARY = 'needs the Electron binary, which cannot be downloaded here';
const ENABLED = '1'.charCodeAt(0);
const DISABLED = '0'.charCodeAt(0);

const smokeApp =
  process.env['KEYLADDER_PACKAGED_APP'] ??
  [path.join(ROOT, 'release-smoke', 'linux-unpacked', 'keyladder-app'), path.join(ROOT, 'release', 'linux-unpacked', 'keyladder-app')].find((f) => existsSync(f)) ??
  path.join(ROOT, 'release-smoke', 'linux-unpacked', 'keyladder-app');
const shippedApp = process.env['KEYLADDER_SHIPPED_APP'] ?? path.join(ROOT, 'release', 'linux-unpacked', 'keyladder-app');

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

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const SHOTS = path.join(ROOT, 'test-results', 'packaging');

describe('packaged Linux app', () => {
  if (smokeReason !== null && !REQUIRED) {
    console.warn(`electron-smoke: skipped, ${smokeReason}. KEYLADDER_SMOKE_REQUIRED=1 makes this a failure (CI sets it).`);
    it.skip(`smoke test: ${smokeReason}`, () => {});
  } else if (smokeReason !== null) {
    it('smoke test: the packaged app is there to launch', () => {
      throw new Error(`KEYLADDER_SMOKE_REQUIRED=1, but the smoke test cannot run: ${smokeReason}`);
    });
  } else {
    describe('an operator’s first session in the packaged app', () => {
      let app: ElectronApplication;
      let page: Page;
      let work = '';
      let userData = '';
      /** What main wrote to stdout and stderr (its console: the responder's access log goes there). */
      const mainOutput: string[] = [];
      /** Console errors, page errors and CSP violations in the renderer. */
      const problems: string[] = [];
      let shot = 0;
      const screenshot = async (name: string) => {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `packaged-linux-${String(++shot).padStart(2, '0')}-${name}.png`) });
      };

      const { state, steps } = operatorSession({
        get page() {
          return page;
        },
        get workDir() {
          return work;
        },
        // The native save dialog cannot be clicked: main's dialog.showSaveDialog answers the file, once, as the operator would.
        async chooseSaveFile(file) {
          const stubbed = await app.evaluate(({ dialog }, chosen) => {
            const g = globalThis as unknown as { __keyladderSmokeSaves?: unknown[] };
            const calls = (g.__keyladderSmokeSaves ??= []);
            let answered = false;
            const stub = async (...args: unknown[]) => {
              const options = args[args.length - 1] as { title?: string; defaultPath?: string };
              calls.push({ title: options?.title, defaultPath: options?.defaultPath });
              if (answered) return { canceled: true, filePath: '' };
              answered = true;
              return { canceled: false, filePath: chosen };
            };
            dialog.showSaveDialog = stub as unknown as typeof dialog.showSaveDialog;
            return dialog.showSaveDialog === (stub as unknown);
          }, file);
          if (!stubbed) throw new Error('dialog.showSaveDialog could not be replaced in main');
        },
        screenshot,
        // The store's MSL server key, as the app shows it (the mslServer.identities channel of the MSL server screen).
        async mslServerKey() {
          const reply = (await page.evaluate(`window.keyladder.mslServer && window.keyladder.mslServer.identities ? window.keyladder.mslServer.identities() : null`)) as
            | { ok: true; value: Array<{ keyId: string; pem: string; status: string }> }
            | { ok: false; error: { code: string; message: string } }
            | null;
          if (reply === null) throw new Error('the app has no mslServer.identities channel: the MSL server screen (issue 21 item 4) is not in this build');
          if (!reply.ok) throw new Error(`mslServer.identities: ${reply.error.code} ${reply.error.message}`);
          const active = reply.value.find((i) => i.status === 'active');
          if (active === undefined) throw new Error('the store has no active MSL server identity');
          return { keyId: active.keyId, pem: active.pem };
        },
      });
      const order = inOrder(() => screenshot('failed'));

      beforeAll(async () => {
        work = mkdtempSync(path.join(tmpdir(), 'keyladder-smoke-'));
        userData = path.join(work, 'user-data');
        const home = path.join(work, 'home');
        mkdirSync(userData, { recursive: true });
        mkdirSync(home, { recursive: true });
        app = await electron.launch({
          executablePath: smokeApp,
          args: [`--user-data-dir=${userData}`],
          env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') } as Record<string, string>,
          chromiumSandbox: setuidSandbox(smokeApp),
          timeout: 60_000,
        });
        const child = app.process();
        child.stdout?.on('data', (chunk: Buffer) => mainOutput.push(chunk.toString('utf8')));
        child.stderr?.on('data', (chunk: Buffer) => mainOutput.push(chunk.toString('utf8')));
        page = await app.firstWindow({ timeout: 60_000 });
        page.setDefaultTimeout(15_000);
        page.on('console', (m) => {
          if (m.type() === 'error' || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`[console] ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`[pageerror] ${e.message}`));
      }, 120_000);

      afterAll(async () => {
        await app?.close().catch(() => undefined);
        if (order.firstFailure !== null) console.error(`electron-smoke: main's output, last 60 lines:\n${mainOutput.join('').split('\n').slice(-60).join('\n')}`);
        if (work !== '') rmSync(work, { recursive: true, force: true });
      }, 60_000);

      const step = (name: string, run: () => Promise<void>, timeout = 120_000) => it(name, order.step(name, run), timeout);

      step('starts, shows the KeyLadder window, and the renderer has the bridge but no Node', async () => {
        await page.waitForLoadState('domcontentloaded');
        await page.waitForFunction('document.title === "KeyLadder"', undefined, { timeout: 30_000 });
        expect(await page.title()).toBe('KeyLadder');
        expect(page.url()).toMatch(/^app:\/\/keyladder\//);
        const windowTitle = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.getTitle());
        expect(windowTitle).toBe('KeyLadder');
        // The store goes where this test said: Chromium's --user-data-dir is app.getPath('userData').
        expect(await app.evaluate(({ app: a }) => ({ packaged: a.isPackaged, userData: a.getPath('userData') }))).toEqual({ packaged: true, userData });

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
        await screenshot('first-window');
      });

      for (const [name, run] of steps) step(name, run);

      step('kept the store in the temporary user-data folder, and asked main’s save dialog for the bundle', async () => {
        const files = filesUnder(userData);
        expect(files.some((f) => path.basename(f) === 'keyladder.db'), files.join(', ')).toBe(true);
        expect(files.some((f) => path.basename(f) === 'keyladder.key.json'), files.join(', ')).toBe(true);
        expect(filesUnder(path.join(work, 'home')).filter((f) => /keyladder\.(db|key\.json)$/.test(f))).toEqual([]);
        expect(state.bundleFile).toBe(path.join(work, 'keyladder-bundle.jwe'));
        const saves = await app.evaluate(() => (globalThis as unknown as { __keyladderSmokeSaves?: unknown[] }).__keyladderSmokeSaves ?? []);
        expect(saves).toHaveLength(1);
        expect(saves[0]).toMatchObject({ title: 'Save the provisioning bundle', defaultPath: expect.stringMatching(/keyladder-bundle\.jwe$/) });
      });

      step('the app log file has the two exchanges and the refusal, and no key or passphrase is in it or in main’s output', async () => {
        // Main writes its responder's requests to <userData>/logs/keyladder.log (appLog.ts), as JSON
        // lines; a packaged app has no console. Its stdout keeps only the responder's start and stop.
        const logFile = path.join(userData, 'logs', 'keyladder.log');
        const requests = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').split('\n').filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; method?: string; url?: string; status?: number; detail?: string })
          .filter((e) => e.msg === 'request');
        await expect.poll(() => requests().filter((e) => e.method === 'POST' && e.url === '/v1/keyx' && e.status === 200 && (e.detail ?? '').endsWith(`ok ${state.device.identity}`)).length, { timeout: 10_000 }).toBe(2);
        expect(requests().some((e) => e.status === 403 && (e.detail ?? '').includes('ESN-NOT-PROVISIONED'))).toBe(true);
        // The simulated MSL device's handshake and its message under the new master token.
        expect(requests().filter((e) => e.method === 'POST' && e.url === '/msl' && e.status === 200 && (e.detail ?? '').endsWith(`msl ok ${state.mslDevice.identity}`))).toHaveLength(2);
        expect((statSync(logFile).mode & 0o777).toString(8)).toBe('600');
        const written = readFileSync(logFile, 'utf8') + mainOutput.join('');
        for (const secret of secretsOf(state)) expect(written.includes(secret), `${secret.slice(0, 4)}… is in the app log or main's output`).toBe(false);
      });

      step('raised no console error, page error or CSP violation in the renderer', async () => {
        expect(problems).toEqual([]);
      });
    });
  }

  if (shippedReason !== null && !REQUIRED) {
    skipsHere(true, `shipped build: ${shippedReason}. KEYLADDER_SMOKE_REQUIRED=1 makes this a failure (CI sets it).`);
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
      expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(DISABLED);
      const unpacked = path.join(path.dirname(shippedApp), 'resources', 'app.asar.unpacked');
      const check = spawnSync(process.execPath, [path.join(ROOT, 'build', 'check-native-abi.mjs'), unpacked], { encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    });

    it('the installed CLI runs on the app\'s own runtime, with no display (docs/packaging.md, "The CLI")', () => {
      if (shippedReason !== null) throw new Error(shippedReason);
      // The smoke build when there is one: CI makes its chrome-sandbox setuid, as the deb does where
      // user namespaces are restricted (GitHub's Ubuntu runners); it differs from the shipped one only
      // in the inspect fuse.
      const app = smokeReason === null ? smokeApp : shippedApp;
      const launcher = path.join(path.dirname(app), 'resources', 'bin', 'keyladder');
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'KEYLADDER_STORE', 'KEYLADDER_PASSPHRASE']) delete env[name];
      const run = (args: string[]) => spawnSync(launcher, args, { encoding: 'utf8', env, timeout: 60_000 });
      const version = run(['--version']);
      expect(version.stdout, version.stderr).toMatch(/^keyladder \d+\.\d+\.\d+\n$/);
      expect(version.status).toBe(0);
      const usage = run(['devce', 'list']);
      expect(usage.status, usage.stderr).toBe(2);
      expect(usage.stderr).toMatch(/\[USAGE_UNKNOWN_COMMAND\]/);
      const work = mkdtempSync(path.join(tmpdir(), 'keyladder-cli-'));
      try {
        const missing = run(['--store', path.join(work, 'none'), 'device', 'list', '--json', '--passphrase-file', '/dev/null']);
        expect(missing.status, missing.stderr).toBe(1);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  }
});
