// The e2e harness: the built renderer in Debian's headless Chromium, served
// from a local HTTP server with the app's CSP header, and — where Electron's
// preload would be — the REAL built preload (dist preload.cjs), run against a
// stand-in for `electron` whose ipcRenderer forwards over a Playwright binding
// to the REAL IPC wrapper (register.ts: sender check, zod validation, reply
// shape) and the REAL services on a temporary store, with the REAL in-app HTTP
// responder (appResponder.ts) over them, wired as main wires it. Every reply
// and event is recorded, so a test can check that no key ever crosses.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { EVENTS, type Channel } from '../../electron/ipc/contract.js';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { wrapAll, type IpcEventLike } from '../../electron/ipc/register.js';
import { SECURITY_HEADERS } from '../../electron/security/csp.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { fileSettings } from '../../electron/appServices.js';
import { AppResponder } from '../../electron/appResponder.js';

/** Debian's chromium; KEYLADDER_E2E_CHROMIUM points elsewhere (a path that does not exist shows the skip message). */
export const CHROMIUM = process.env['KEYLADDER_E2E_CHROMIUM'] ?? '/usr/bin/chromium';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');
export const chromiumMissing = !existsSync(CHROMIUM);
export const SKIP_MESSAGE = `${CHROMIUM} is missing: the e2e tests need Debian's chromium (apt-get install chromium; .ci/run installs it).`;
/** The version the sidebar shows: package.json's, as Electron's app.getVersion() gives main. */
export const APP_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** Every temporary folder a harness made, so a test can check that none outlives its run. */
export const TEMP_PREFIX = 'keyladder-e2e-';
export const madeDirs: string[] = [];

/** Says, in the test output itself, why the e2e tests do not run here. */
export function announceSkip(): void {
  if (chromiumMissing) console.warn(`[e2e skipped] ${SKIP_MESSAGE}`);
}

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** Builds the renderer and the preload into `outDir` (not dist/, so a parallel `npm run build` cannot race us). */
export function buildApp(outDir: string): { renderer: string; preload: string } {
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const renderer = path.join(outDir, 'renderer');
  const preloadDir = path.join(outDir, 'electron');
  for (const args of [
    ['build', '--outDir', renderer, '--emptyOutDir', '--logLevel', 'warn'],
    ['build', '--config', 'vite.preload.config.ts', '--outDir', preloadDir, '--logLevel', 'warn'],
  ]) {
    // Vitest sets NODE_ENV=test, which would give a development build of Svelte: test what ships.
    const run = spawnSync(process.execPath, [vite, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
    if (run.status !== 0) throw new Error(`vite ${args.join(' ')} failed:\n${run.stdout}\n${run.stderr}`);
  }
  return { renderer, preload: path.join(preloadDir, 'preload.cjs') };
}

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

async function serve(root: string): Promise<{ origin: string; port: number; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname);
    const file = path.resolve(root, `.${rel}`);
    if (!file.startsWith(root + path.sep)) return void res.writeHead(404, SECURITY_HEADERS).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, SECURITY_HEADERS).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Where the preload would run: `require('electron')` gives contextBridge and an ipcRenderer over the binding. */
function bridgeScript(preloadSource: string): string {
  return `(() => {
  const listeners = new Map();
  const ipcRenderer = {
    invoke: (channel, request) => window.__keyladderIpc(channel, request),
    on(channel, fn) { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel).add(fn); },
    removeListener(channel, fn) { listeners.get(channel)?.delete(fn); },
  };
  Object.defineProperty(window, '__keyladderEmit', {
    value: (channel, payload) => { for (const fn of listeners.get(channel) ?? []) fn({}, payload); },
  });
  const contextBridge = {
    exposeInMainWorld(name, api) { Object.defineProperty(window, name, { value: api, enumerable: true }); },
  };
  const require = (id) => {
    if (id === 'electron') return { contextBridge, ipcRenderer };
    throw new Error('A sandboxed preload can require only electron, not ' + id);
  };
  const module = { exports: {} };
  (function (require, module, exports) {
${preloadSource}
  })(require, module, module.exports);
})();`;
}

export interface Recorded {
  readonly channel: string;
  readonly request: unknown;
  readonly reply: unknown;
}

export interface Harness {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly services: KeyLadderRuntime;
  readonly origin: string;
  readonly port: number;
  readonly storeDir: string;
  readonly workDir: string;
  /** The built renderer this harness serves. */
  readonly rendererDir: string;
  /** Every reply the wrapper sent, in order. */
  readonly replies: Recorded[];
  /** The in-app HTTP responder, as main holds it. */
  readonly responder: AppResponder;
  /** What the responder wrote to main's log (start/stop lines and the access log). */
  readonly responderLog: string[];
  /** Every event main sent (progress, locked). */
  readonly events: Array<{ channel: string; payload: unknown }>;
  /** Console errors, page errors and CSP violations. */
  readonly problems: string[];
  /** What the next "open file" / "save file" dialog answers (null: the operator cancels). */
  dialogs: { open: Array<string | null>; save: Array<string | null>; confirm: boolean[] };
  /** Sends an event to the page as main would (the idle lock's "locked"). */
  emit(channel: string, payload: unknown): Promise<void>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly kdfLogN?: number;
  readonly storeDir?: string;
  readonly viewport?: { width: number; height: number };
  /** Screenshot file names start with this. */
  readonly shotPrefix?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  madeDirs.push(workDir);
  // A start that fails half-way (a build error, a browser that will not launch) leaves nothing behind.
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => rm(workDir, { recursive: true, force: true })];
  try {
    return await start(workDir, options, cleanups);
  } catch (error) {
    for (const undo of cleanups.reverse()) await Promise.resolve().then(undo).catch(() => undefined);
    throw error;
  }
}

async function start(workDir: string, options: HarnessOptions, cleanups: Array<() => Promise<unknown> | unknown>): Promise<Harness> {
  const built = buildApp(path.join(workDir, 'dist'));
  const storeDir = options.storeDir ?? path.join(workDir, 'store');
  await mkdir(storeDir, { recursive: true });
  const services = createServices({ storeDir, ...(options.kdfLogN === undefined ? {} : { kdfLogN: options.kdfLogN }) });
  cleanups.push(() => services.close());
  const server = await serve(built.renderer);
  cleanups.push(() => server.close());

  const replies: Recorded[] = [];
  const events: Array<{ channel: string; payload: unknown }> = [];
  const problems: string[] = [];
  const dialogs = { open: [] as Array<string | null>, save: [] as Array<string | null>, confirm: [] as boolean[] };
  const responderLog: string[] = [];
  const responder = AppResponder.over(services, { log: (line) => responderLog.push(line), drainMs: 2_000 });
  cleanups.push(() => responder.stop('quit', 1_000));
  const deps: AppDeps = {
    version: APP_VERSION,
    settings: fileSettings(workDir),
    openFile: async () => dialogs.open.shift() ?? null,
    saveFile: async () => dialogs.save.shift() ?? null,
    confirm: async () => dialogs.confirm.shift() ?? false,
    responder,
  };
  // The page is trusted on the test server's origin, exactly as main trusts app://keyladder.
  // As in main, the handlers' store stops the responder whenever it locks.
  const wrapped = wrapAll(createHandlers(responder.lockAware(services), deps), {
    isTrustedSender: trustedSender({ origins: [server.origin] }),
    log: (channel, what, detail) => problems.push(`[main] ${channel}: ${what} ${detail instanceof Error ? detail.stack : String(detail)}`),
  });

  await mkdir(SCREENSHOTS, { recursive: true });
  const prefix = `${options.shotPrefix ?? 'app'}-`;
  for (const old of await readdir(SCREENSHOTS)) if (old.startsWith(prefix)) await rm(path.join(SCREENSHOTS, old), { force: true });
  const context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1280, height: 820 },
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());

  const emit = async (channel: string, payload: unknown) => {
    events.push({ channel, payload });
    await page.evaluate(([c, p]) => (window as unknown as { __keyladderEmit(c: unknown, p: unknown): void }).__keyladderEmit(c, p), [channel, payload] as const).catch(() => undefined);
  };
  await context.exposeBinding('__keyladderIpc', async (source, channel: string, request: unknown) => {
    const handler = wrapped.get(channel as Channel);
    const event: IpcEventLike = {
      senderFrame: { url: source.frame.url(), parent: source.frame.parentFrame() },
      sender: { send: (c, p) => void emit(c, p) },
    };
    const reply = handler === undefined ? { ok: false, error: { code: 'NO_SUCH_CHANNEL', message: channel } } : await handler(event, request);
    replies.push({ channel, request, reply });
    return reply;
  });
  await context.addInitScript({ content: bridgeScript(await readFile(built.preload, 'utf8')) });
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`[console] ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`[pageerror] ${e.message}`));
  };
  watch(page);
  context.on('page', watch);

  let shot = 0;
  let closed = false;
  return {
    page, context, services, responder, responderLog, origin: server.origin, port: server.port, storeDir, workDir, rendererDir: built.renderer, replies, events, problems, dialogs, emit,
    async screenshot(name) {
      const file = path.join(SCREENSHOTS, `${prefix}${String(++shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      return file;
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      await responder.stop('quit', 1_000);
      services.close();
      await server.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export { EVENTS };
