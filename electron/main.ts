// KeyLadder's Electron main process: lifecycle only. It hardens the app,
// opens the store's services in the user data directory, registers the IPC
// handlers through the one wrapper, serves the renderer from app://keyladder
// and locks the store when the operator is idle or the app quits. The HTTP
// responder the operator may switch on runs here too (appResponder.ts): it
// stops whenever the store locks, and drains before the app quits. Main's events
// go to the app's log file, <userData>/logs/keyladder.log (appLog.ts).

import { app, BrowserWindow, dialog, ipcMain, powerMonitor, protocol, session } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppResponder } from './appResponder.js';
import { openAppLog, type AppLog } from './appLog.js';
import { loggedStore } from './loggedStore.js';
import { fileSettings } from './appServices.js';
import { EVENTS, type LockedEvent } from './ipc/contract.js';
import { createHandlers, type AppDeps, type FileFilter } from './ipc/handlers.js';
import { registerIpc } from './ipc/register.js';
import { APP_INDEX_URL, APP_ORIGIN, registerAppScheme, serveApp } from './security/appProtocol.js';
import { IdleLock } from './security/idleLock.js';
import { blockNavigationEverywhere } from './security/navigation.js';
import { denyPermissions } from './security/permissions.js';
import { trustedSender } from './security/trustedSender.js';
import { createMainWindow } from './security/window.js';
import { createServices } from './services/index.js';
import { disableCoreDumps } from './security/coreDumps.js';
import { keychainHeadKeeper } from './keychainHead.js';
import { checkForUpdatesAtStart } from './update/appUpdates.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRELOAD = path.join(here, 'preload.cjs');
const RENDERER = path.join(here, '..', 'renderer');

// Before ready: the sandbox for every renderer, the app:// scheme, and no navigation anywhere.
// Main holds the store key and opened keys: no core dump of it, nor of what it starts later.
disableCoreDumps();
app.enableSandbox();
registerAppScheme(protocol);
blockNavigationEverywhere(app);

// One instance only: a second one would open the same store.
const primaryInstance = app.requestSingleInstanceLock();

const toDialogFilters = (filters: readonly FileFilter[]) => filters.map((f) => ({ name: f.name, extensions: [...f.extensions] }));

/** Opened first thing in start(), closed last at quit; undefined if it could not be opened (start-up goes on). */
let appLog: AppLog | undefined;

async function start(): Promise<void> {
  const userData = app.getPath('userData');
  try {
    appLog = openAppLog(userData, { onFailure: (error) => console.error('[log] the app log stopped:', error.message) });
  } catch (error) {
    console.error('[log] the app log could not be opened:', error);
  }
  const log = appLog;
  log?.info('app.start', { version: app.getVersion(), electron: process.versions.electron, node: process.versions.node, platform: process.platform, arch: process.arch, logFile: log.file });
  const runtime = createServices({ storeDir: userData, backgroundCheckpoints: true, headKeeper: keychainHeadKeeper(userData, (line) => { console.error(line); log?.warn('keychain', { line }); }) });
  // The access log goes to main's log file only, never to the renderer; it holds no key material.
  const responder = AppResponder.over(runtime, {
    log: (line) => { console.log(line); log?.info('responder', { line }); },
    ...(log ? { accessEntry: (entry: Parameters<AppLog['request']>[0]) => log.request(entry) } : {}),
    processMetrics: true,
  });
  // Every lock through these services (idle, system, the Lock button) stops the responder first,
  // and every store call that matters (unlock, lock, create, rekey, restore) is logged with its outcome.
  const guarded = responder.lockAware(runtime);
  const store = loggedStore(guarded.store, log ?? { info: () => {}, failure: () => {} });
  const services = { ...guarded, store };
  const isTrusted = trustedSender({ origins: [APP_ORIGIN] });
  denyPermissions(session.defaultSession, isTrusted);
  serveApp(protocol, RENDERER);

  const win = createMainWindow(PRELOAD, { devTools: !app.isPackaged });
  const lockNow = (reason: LockedEvent['reason']) => {
    if (!services.store.status().unlocked) return;
    store.lockFor(reason);
    if (!win.isDestroyed()) win.webContents.send(EVENTS.locked, { reason } satisfies LockedEvent);
  };
  // Leaving the desk locks too: the screen locks or the machine sleeps.
  powerMonitor.on('lock-screen', () => lockNow('system'));
  powerMonitor.on('suspend', () => lockNow('system'));
  const settings = fileSettings(userData, (s) => idle.setMinutes(s.idleLockMinutes));
  const idle = new IdleLock(settings.get().idleLockMinutes, () => lockNow('idle'));

  // Since Electron 43 a file dialog without a defaultPath opens in Downloads and the OS no longer
  // remembers the last folder, so main remembers it (for this run) and starts every dialog there.
  let lastDir: string | undefined;
  const remember = (file: string | null): string | null => {
    if (file !== null) lastDir = path.dirname(file);
    return file;
  };
  const deps: AppDeps = {
    version: app.getVersion(),
    settings,
    async openFile({ title, filters }) {
      const result = await dialog.showOpenDialog(win, { title, filters: toDialogFilters(filters), properties: ['openFile'], ...(lastDir === undefined ? {} : { defaultPath: lastDir }) });
      return remember(result.canceled ? null : (result.filePaths[0] ?? null));
    },
    async saveFile({ title, defaultName, filters }) {
      const defaultPath = lastDir === undefined ? defaultName : path.join(lastDir, defaultName);
      const result = await dialog.showSaveDialog(win, { title, defaultPath, filters: toDialogFilters(filters) });
      return remember(result.canceled || result.filePath === undefined || result.filePath === '' ? null : result.filePath);
    },
    async confirm({ title, message, detail, yes }) {
      const result = await dialog.showMessageBox(win, { type: 'warning', title, message, detail, buttons: [yes, 'Cancel'], defaultId: 1, cancelId: 1, noLink: true });
      return result.response === 0;
    },
    responder,
  };

  registerIpc(ipcMain, createHandlers(services, deps), {
    isTrustedSender: isTrusted,
    onActivity: () => idle.touch(),
    log: (channel, what, detail) => {
      console.error(`[ipc] ${channel}: ${what}`, what === 'untrusted-sender' ? detail : detail instanceof Error ? detail.stack : detail);
      if (what === 'untrusted-sender') log?.warn('ipc.untrusted-sender', { channel, sender: typeof detail === 'string' ? detail.slice(0, 200) : 'none' });
      else log?.failure('ipc.error', detail, { channel });
    },
    onRefused: (channel, code) => log?.info('ipc.refused', { channel, code }),
  });

  win.once('ready-to-show', () => win.show());
  win.on('closed', () => idle.stop());
  // Quitting drains the responder (briefly) before the store locks.
  let drained = false;
  app.on('before-quit', (event) => {
    idle.stop();
    if (!drained && responder.status().state !== 'stopped') {
      event.preventDefault();
      drained = true;
      void responder.stop('quit', 3_000).catch((error: unknown) => { console.error('[responder] stop on quit failed:', error); log?.failure('error', error); }).finally(() => app.quit());
      return;
    }
    runtime.close();
  });
  // Last: the log's final lines written before the process goes.
  let logClosed = false;
  app.on('will-quit', (event) => {
    if (logClosed || log === undefined) return;
    event.preventDefault();
    logClosed = true;
    log.info('app.quit');
    void log.close().finally(() => app.quit());
  });
  await win.loadURL(APP_INDEX_URL);
  // Off unless the operator configured a feed (KEYLADDER_UPDATE_URL or updates.json); never installs without a yes.
  void checkForUpdatesAtStart(win, userData, (line) => console.error(line)).catch((error: unknown) => console.error('[update] check failed:', (error as { code?: string }).code ?? '', (error as Error).message));
}

if (!primaryInstance) app.quit();

app.on('second-instance', () => {
  const [win] = BrowserWindow.getAllWindows();
  if (win === undefined) return;
  if (win.isMinimized()) win.restore();
  win.focus();
});
app.on('window-all-closed', () => app.quit());
if (primaryInstance) {
  app.whenReady().then(start).catch((error: unknown) => {
    console.error('KeyLadder could not start:', error);
    appLog?.failure('app.start-failed', error);
    void (appLog?.close() ?? Promise.resolve()).finally(() => app.exit(1));
  });
}
