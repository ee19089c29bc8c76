// The update path against a real feed: electron-updater's own AppImageUpdater
// and NsisUpdater, built over a plain-Node AppAdapter, check a generic feed
// that a local HTTP server serves (latest-linux.yml, latest.yml and an
// "installer"), through electron/update's checkForUpdate. They find the newer
// version, download it only after the operator's yes, refuse a file whose
// sha512 is not the feed's, and do nothing at all when no feed is configured.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AppImageUpdater, NsisUpdater, type AppUpdater } from 'electron-updater';
import type { AppAdapter } from 'electron-updater/out/AppAdapter.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkForUpdate, type UpdateOperator } from '../../electron/update/updateCheck.js';
import { checkFeedUrl, resolveUpdateFeed, UPDATE_SETTINGS_FILE, UPDATE_URL_ENV, type UpdateFeed } from '../../electron/update/updateFeed.js';
import { tempDir } from '../support/tempDirs.js';

// electron-updater's own HttpExecutor base (its builder-util-runtime), driven by
// node:http instead of Electron's net module, which plain Node does not have.
// download() is ElectronHttpExecutor's, less Electron's redirect option: the
// base's doDownload streams the file through its sha512 check.
type Cancellation = { createPromise<T>(run: (resolve: (v: T) => void, reject: (e: Error) => void, onCancel: (f: () => void) => void) => void): Promise<T> };
type DownloadOptions = { headers?: http.OutgoingHttpHeaders; cancellationToken: Cancellation };
const runtime = createRequire(createRequire(import.meta.url).resolve('electron-updater'))('builder-util-runtime') as {
  HttpExecutor: new () => {
    createRequest(options: http.RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest;
    doDownload(requestOptions: http.RequestOptions, options: object, redirectCount: number): void;
  };
  configureRequestUrl(url: URL, options: http.RequestOptions): void;
  configureRequestOptions(options: http.RequestOptions): http.RequestOptions;
};
class NodeHttpExecutor extends runtime.HttpExecutor {
  override createRequest(options: http.RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
    return http.request(options, callback);
  }

  download(url: URL, destination: string, options: DownloadOptions): Promise<string> {
    return options.cancellationToken.createPromise<string>((resolve, reject, onCancel) => {
      const requestOptions: http.RequestOptions = { ...(options.headers === undefined ? {} : { headers: options.headers }) };
      runtime.configureRequestUrl(url, requestOptions);
      runtime.configureRequestOptions(requestOptions);
      const callback = (error: Error | null) => (error == null ? resolve(destination) : reject(error));
      this.doDownload(requestOptions, { destination, options, onCancel, callback, responseHandler: null }, 0);
    });
  }
}

const INSTALLER = Buffer.from('#!/bin/sh\necho KeyLadder 0.2.0\n'.repeat(64));
const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('base64');
const channelFile = (file: string, digest: string, version = '0.2.0') =>
  `version: ${version}\nfiles:\n  - url: ${file}\n    sha512: ${digest}\n    size: ${INSTALLER.length}\npath: ${file}\nsha512: ${digest}\nreleaseName: KeyLadder ${version}\nreleaseDate: '2026-12-07T00:00:00.000Z'\n`;

/** A feed per folder: /good/ is honest, /bad/ names a sha512 the file does not have, /same/ offers the running version. */
const FEED: Record<string, string> = {
  '/good/latest-linux.yml': channelFile('KeyLadder-0.2.0-x86_64.AppImage', sha512(INSTALLER)),
  '/good/latest.yml': channelFile('KeyLadder-Setup-0.2.0-x64.exe', sha512(INSTALLER)),
  '/bad/latest-linux.yml': channelFile('KeyLadder-0.2.0-x86_64.AppImage', sha512(Buffer.from('another file'))),
  '/same/latest-linux.yml': channelFile('KeyLadder-0.1.0-x86_64.AppImage', sha512(INSTALLER), '0.1.0'),
};
let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const pathname = new URL(url, 'http://127.0.0.1').pathname;
    requests.push(pathname);
    const body = FEED[pathname] ?? (pathname.endsWith('.AppImage') || pathname.endsWith('.exe') ? INSTALLER : undefined);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What a packaged KeyLadder 0.1.0 looks like to electron-updater, with its app-update.yml as electron-builder writes it. */
function adapter(): AppAdapter & { quits: number } {
  const dir = tempDir('keyladder-update-');
  mkdirSync(path.join(dir, 'cache'));
  const appUpdateConfigPath = path.join(dir, 'app-update.yml');
  writeFileSync(appUpdateConfigPath, 'provider: generic\nurl: https://updates.keyladder.invalid/\nupdaterCacheDirName: keyladder-updater\n');
  const app = {
    version: '0.1.0',
    name: 'KeyLadder',
    isPackaged: true,
    appUpdateConfigPath,
    userDataPath: dir,
    baseCachePath: path.join(dir, 'cache'),
    quits: 0,
    whenReady: () => Promise.resolve(),
    relaunch: () => {},
    quit: () => {
      app.quits += 1;
    },
    onQuit: () => {},
  };
  return app;
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };
type Testable = AppUpdater & { httpExecutor: unknown; _testOnlyOptions: { platform: string; isUseDifferentialDownload?: boolean } | null };
function updater(kind: 'appimage' | 'nsis'): { updater: AppUpdater; app: ReturnType<typeof adapter> } {
  const app = adapter();
  const u = (kind === 'appimage' ? new AppImageUpdater(null, app) : new NsisUpdater(null, app)) as unknown as Testable;
  u.httpExecutor = new NodeHttpExecutor();
  // The platform whose channel file the provider reads (latest-linux.yml or latest.yml), whatever OS runs the test;
  // no differential download (it would look for the running AppImage's embedded block map).
  u._testOnlyOptions = { platform: kind === 'appimage' ? 'linux' : 'win32', isUseDifferentialDownload: false };
  u.logger = silent;
  return { updater: u, app };
}

function operator(download: boolean, install: boolean): UpdateOperator & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    confirmDownload: async ({ version, currentVersion }) => (asked.push(`download ${currentVersion} -> ${version}`), download),
    confirmInstall: async ({ version }) => (asked.push(`install ${version}`), install),
  };
}

const feed = (folder: string): UpdateFeed => ({ url: checkFeedUrl(`${base}/${folder}`), source: 'environment' });

describe('the update path (electron-updater, generic provider, a local feed)', () => {
  // AppImageUpdater checks only from inside an AppImage: $APPIMAGE names the running one.
  beforeAll(() => {
    const running = path.join(tempDir('keyladder-appimage-'), 'KeyLadder-0.1.0-x86_64.AppImage');
    writeFileSync(running, 'old');
    vi.stubEnv('APPIMAGE', running);
    return () => vi.unstubAllEnvs();
  });

  it('AppImageUpdater finds 0.2.0, downloads it after the yes, checks its sha512, and does not install when told not to', async () => {
    const { updater: u, app } = updater('appimage');
    const op = operator(true, false);
    requests.length = 0;
    const outcome = await checkForUpdate(u, feed('good'), op);
    expect(op.asked).toEqual(['download 0.1.0 -> 0.2.0', 'install 0.2.0']);
    expect(outcome.kind).toBe('downloaded');
    if (outcome.kind !== 'downloaded') return;
    expect(outcome.version).toBe('0.2.0');
    expect(readFileSync(outcome.files[0]!)).toEqual(INSTALLER);
    // The feed came from the operator's setting, not the packaged app-update.yml.
    expect(requests).toEqual(['/good/latest-linux.yml', '/good/KeyLadder-0.2.0-x86_64.AppImage']);
    expect(app.quits).toBe(0);
  });

  it('the operator says no: nothing is downloaded', async () => {
    const { updater: u } = updater('appimage');
    requests.length = 0;
    expect(await checkForUpdate(u, feed('good'), operator(false, true))).toEqual({ kind: 'declined', version: '0.2.0' });
    expect(requests).toEqual(['/good/latest-linux.yml']);
  });

  it('a file whose sha512 is not the feed\'s is refused (ERR_CHECKSUM_MISMATCH), and the operator is never asked to install it', async () => {
    const { updater: u } = updater('appimage');
    const op = operator(true, true);
    await expect(checkForUpdate(u, feed('bad'), op)).rejects.toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH' });
    expect(op.asked).toEqual(['download 0.1.0 -> 0.2.0']);
  });

  it('the same version on the feed: up to date, nothing asked', async () => {
    const { updater: u } = updater('appimage');
    const op = operator(true, true);
    expect(await checkForUpdate(u, feed('same'), op)).toEqual({ kind: 'up-to-date', latest: '0.1.0' });
    expect(op.asked).toEqual([]);
  });

  it('NsisUpdater reads latest.yml and finds 0.2.0 too', async () => {
    const { updater: u } = updater('nsis');
    const op = operator(false, false);
    requests.length = 0;
    expect(await checkForUpdate(u, feed('good'), op)).toEqual({ kind: 'declined', version: '0.2.0' });
    expect(requests).toEqual(['/good/latest.yml']);
  });

  it('a feed that is not there fails with electron-updater\'s code', async () => {
    const { updater: u } = updater('appimage');
    await expect(checkForUpdate(u, feed('missing'), operator(true, true))).rejects.toMatchObject({ code: 'ERR_UPDATER_CHANNEL_FILE_NOT_FOUND' });
  });

  it('with no feed configured, nothing is asked and nothing is requested', async () => {
    const { updater: u } = updater('appimage');
    const op = operator(true, true);
    requests.length = 0;
    const dir = tempDir('keyladder-nofeed-');
    expect(await checkForUpdate(u, resolveUpdateFeed({}, dir), op)).toEqual({ kind: 'off' });
    expect(op.asked).toEqual([]);
    expect(requests).toEqual([]);
  });
});

describe('where the feed is configured', () => {
  it('is off by default: no variable, no updates.json', () => {
    expect(resolveUpdateFeed({}, tempDir('keyladder-nofeed-'))).toBeNull();
  });

  it('reads updates.json, and the environment wins over it; an empty variable is unset', () => {
    const dir = tempDir('keyladder-feed-');
    writeFileSync(path.join(dir, UPDATE_SETTINGS_FILE), JSON.stringify({ feedUrl: 'https://updates.example.org/keyladder' }));
    expect(resolveUpdateFeed({}, dir)).toEqual({ url: 'https://updates.example.org/keyladder/', source: 'settings' });
    expect(resolveUpdateFeed({ [UPDATE_URL_ENV]: '' }, dir)).toEqual({ url: 'https://updates.example.org/keyladder/', source: 'settings' });
    expect(resolveUpdateFeed({ [UPDATE_URL_ENV]: 'https://mirror.example.org/kl/' }, dir)).toEqual({ url: 'https://mirror.example.org/kl/', source: 'environment' });
  });

  it('accepts https, and http on 127.0.0.1 only', () => {
    expect(checkFeedUrl('http://127.0.0.1:8080/feed')).toBe('http://127.0.0.1:8080/feed/');
    for (const bad of ['http://updates.example.org/', 'http://localhost:8080/', 'http://127.0.0.2/', 'ftp://updates.example.org/', 'file:///tmp/feed/', 'not a url']) {
      expect(() => checkFeedUrl(bad), bad).toThrow(expect.objectContaining({ code: 'UPDATE_FEED_INVALID' }));
    }
  });

  it('refuses a URL with a password, without echoing it', () => {
    let caught: unknown;
    try {
      checkFeedUrl('https://ops:hunter2secret@updates.example.org/');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'UPDATE_FEED_INVALID' });
    expect(String((caught as Error).message)).not.toContain('hunter2secret');
  });

  it('a broken updates.json is a clear error, not a silent "off"', () => {
    const dir = tempDir('keyladder-feed-');
    for (const text of ['{not json', '["https://x.example/"]', '{"feedUrl": 42}']) {
      writeFileSync(path.join(dir, UPDATE_SETTINGS_FILE), text);
      expect(() => resolveUpdateFeed({}, dir), text).toThrow(expect.objectContaining({ code: 'UPDATE_SETTINGS_INVALID' }));
    }
    writeFileSync(path.join(dir, UPDATE_SETTINGS_FILE), '{"feedUrl": "http://updates.example.org/"}');
    expect(() => resolveUpdateFeed({}, dir)).toThrow(expect.objectContaining({ code: 'UPDATE_FEED_INVALID' }));
  });
});
