// What the packaged app holds, checked without the Electron binary (which
// cannot be downloaded here): electron-builder's `--dir` target runs with the
// project's own electron-builder.yml against a stand-in `electronDist` (a stub
// executable named `electron`) and `npmRebuild: false`, then this test reads
// the resulting app.asar and app.asar.unpacked.
//
// It runs in a copy of the work tree (node_modules linked in), so `npm run
// build` there cannot race other tests reading the real dist/. After the build
// it plants decoys — an .env, a store, a key file, a PEM private key, a .ts
// source, a source map, a test file — inside the very folders the app is
// packaged from, so "left out" is proven by the config, not by luck.
//
// The stub carries Electron's fuse sentinel with Electron's default wire, so
// electron-builder's `electronFuses` step flips it as it would the real binary.

import * as asar from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipsHere } from '../support/skips.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The SQLite addon's Node-API prebuild for the one target packaged here (--linux --x64): the only .node the app may carry. */
const NATIVE = 'node_modules/better-sqlite3-multiple-ciphers/prebuilds/linux-x64.node';
/** Not copied into the staged project: built or installed things, and the repository itself. */
const NOT_STAGED = new Set(['node_modules', 'dist', 'release', 'release-smoke', '.git', 'test-results']);
/** Electron's fuse sentinel, wire version 1, 8 fuses, Electron's defaults (runAsNode, NODE_OPTIONS, inspect and file:// privileges on). */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const DEFAULT_WIRE = '10110001';
const ENABLED = '1'.charCodeAt(0);
const DISABLED = '0'.charCodeAt(0);

const skipReason = process.platform === 'win32' ? 'the stand-in Electron is a shell script; run this test on Linux or macOS' : null;

interface Packaged {
  work: string;
  stage: string;
  appOutDir: string;
  asarPath: string;
  unpackedDir: string;
  /** Every file the app.asar header lists, as a relative POSIX path ('dist/electron/main.js'). */
  asarFiles: string[];
  /** Those of them whose bytes are inside app.asar (not flagged unpacked). */
  packedFiles: string[];
  /** Every file in app.asar.unpacked, relative POSIX paths. */
  unpackedFiles: string[];
  decoys: string[];
  seconds: { build: number; package: number };
}

let p: Packaged;

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  // electron-builder refuses files that resolve outside the project into /tmp unless they are under
  // the temp folder; the project's node_modules links to the checkout's, which a CI clone may keep
  // in /tmp. So it gets the machine's temp folder, not the run's own (test/globalSetup.ts).
  const machineTmp = process.env['KEYLADDER_MACHINE_TMPDIR'];
  const env = { ...process.env, FORCE_COLOR: '0', ...(machineTmp === undefined ? {} : { TMPDIR: machineTmp }) };
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    const out = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (status ${result.status}${result.error ? `, ${result.error.message}` : ''}):\n${out}`);
  }
  return result;
}

/** `npm` as the running npm, when vitest was started by one; else the npm on PATH. */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const cli = process.env['npm_execpath'];
  return cli && /npm-cli\.c?js$/.test(cli) ? run(process.execPath, [cli, ...args], cwd) : run('npm', args, cwd);
}

function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

function asarFileList(archive: string): string[] {
  return asar
    .listPackage(archive, { isPack: false })
    .map((entry) => entry.split(path.sep).join('/').replace(/^\//, ''))
    .filter((rel) => {
      const st = asar.statFile(archive, rel, false) as { files?: unknown; link?: unknown };
      return st.files === undefined && st.link === undefined;
    });
}

function plantDecoys(stage: string): string[] {
  const body = randomBytes(96).toString('base64').replace(/(.{64})/g, '$1\n');
  const decoys: Record<string, string> = {
    'dist/electron/.env': 'KEYLADDER_PASSPHRASE=decoy\n',
    'dist/electron/.env.production': 'KEYLADDER_PASSPHRASE=decoy\n',
    'dist/electron/keyladder.key.json': '{"decoy":true}\n',
    'dist/db/keyladder.db': 'SQLite format 3\0decoy',
    'dist/db/keyladder.db-wal': 'decoy',
    'dist/renderer/assets/operator.pem': `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`,
    'dist/electron/decoy.ts': 'export const decoy = 1;\n',
    'dist/renderer/assets/decoy.js.map': '{"version":3,"sources":[],"mappings":""}\n',
    'dist/electron/decoy.test.js': 'export {};\n',
    'dist/electron/test/fixture.js': 'export {};\n',
    'dist/db/bench/decoy.js': 'export {};\n',
    '.env': 'KEYLADDER_PASSPHRASE=decoy\n',
    'keyladder.db': 'SQLite format 3\0decoy',
  };
  for (const [rel, content] of Object.entries(decoys)) {
    mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    writeFileSync(path.join(stage, rel), content);
  }
  return Object.keys(decoys);
}

function stubElectron(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, 'electron');
  // Wire: sentinel, version 1, length 8, then one ASCII '0'/'1' per fuse.
  const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL, 'latin1'), Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(DEFAULT_WIRE, 'latin1')]);
  const script = Buffer.concat([Buffer.from('#!/bin/sh\n# Stand-in for the Electron binary in test/packaging/asar.test.ts. Fuse wire: ', 'latin1'), wire, Buffer.from('\necho "stand-in Electron: nothing to run" >&2\nexit 1\n', 'latin1')]);
  writeFileSync(exe, script);
  chmodSync(exe, 0o755);
}

describe.skipIf(skipsHere(skipReason !== null, skipReason ?? ''))('packaged app (electron-builder --dir, stand-in Electron)', () => {
  beforeAll(() => {
    const work = mkdtempSync(path.join(tmpdir(), 'keyladder-packaging-'));
    const stage = path.join(work, 'project');
    cpSync(ROOT, stage, {
      recursive: true,
      filter: (src) => {
        const top = path.relative(ROOT, src).split(path.sep)[0] ?? '';
        return !NOT_STAGED.has(top) && !top.startsWith('.keyladder-');
      },
    });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');

    let t = Date.now();
    npm(['run', 'build'], stage);
    const build = (Date.now() - t) / 1000;
    const decoys = plantDecoys(stage);

    const electronDist = path.join(work, 'electron-dist');
    stubElectron(electronDist);
    const out = path.join(work, 'out');
    t = Date.now();
    run(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js'),
        '--projectDir', stage,
        '--config', 'electron-builder.yml',
        '--linux', 'dir', '--x64',
        '-c.npmRebuild=false',
        `-c.electronDist=${electronDist}`,
        `-c.directories.output=${out}`,
      ],
      stage,
    );
    const pack = (Date.now() - t) / 1000;

    const appOutDir = path.join(out, 'linux-unpacked');
    const asarPath = path.join(appOutDir, 'resources', 'app.asar');
    const unpackedDir = `${asarPath}.unpacked`;
    const asarFiles = asarFileList(asarPath);
    const packedFiles = asarFiles.filter((f) => !(asar.statFile(asarPath, f, false) as { unpacked?: boolean }).unpacked);
    p = { work, stage, appOutDir, asarPath, unpackedDir, asarFiles, packedFiles, unpackedFiles: walk(unpackedDir), decoys, seconds: { build, package: pack } };
    console.log(`packaging test: npm run build ${build.toFixed(1)} s, electron-builder --dir ${pack.toFixed(1)} s, ${p.asarFiles.length} files in app.asar, ${p.unpackedFiles.length} unpacked`);
  }, 300_000);

  afterAll(() => {
    if (p?.work && process.env['KEYLADDER_KEEP_PACKAGING'] !== '1') rmSync(p.work, { recursive: true, force: true });
  });

  it('holds the built main, preload and renderer, as built', () => {
    for (const f of ['package.json', 'dist/electron/entry.js', 'dist/electron/main.js', 'dist/electron/cli.js', 'dist/electron/preload.cjs', 'dist/renderer/index.html']) {
      expect(p.asarFiles, f).toContain(f);
    }
    const manifest = JSON.parse(asar.extractFile(p.asarPath, 'package.json').toString('utf8')) as { main?: string; devDependencies?: unknown; scripts?: unknown };
    // The entry picks the window (main.js) or the bundled CLI (cli.js): electron/cliDispatch.ts.
    expect(manifest.main).toBe('dist/electron/entry.js');
    expect(manifest.scripts).toBeUndefined();
    // Byte for byte what `npm run build` wrote; every renderer asset, every main-process module.
    for (const f of ['dist/electron/main.js', 'dist/electron/preload.cjs', 'dist/renderer/index.html']) {
      expect(asar.extractFile(p.asarPath, f).equals(readFileSync(path.join(p.stage, f))), f).toBe(true);
    }
    const built = [...walk(path.join(p.stage, 'dist', 'renderer'), p.stage), ...walk(path.join(p.stage, 'dist', 'electron'), p.stage), ...walk(path.join(p.stage, 'dist', 'db'), p.stage)]
      .filter((f) => !p.decoys.includes(f) && !f.endsWith('.map'));
    expect(built.length).toBeGreaterThan(10);
    expect(built.filter((f) => !p.asarFiles.includes(f))).toEqual([]);
    // The renderer's index.html names only assets that are packaged beside it.
    const html = asar.extractFile(p.asarPath, 'dist/renderer/index.html').toString('utf8');
    const refs = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+)"/g)].map((m) => `dist/renderer/${m[1]}`);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !p.asarFiles.includes(r))).toEqual([]);
  });

  it('holds nothing but package.json, dist/{electron,db,renderer} and production node_modules', () => {
    const outside = p.asarFiles.filter((f) => !(f === 'package.json' || /^dist\/(electron|db|renderer)\//.test(f) || f.startsWith('node_modules/')));
    expect(outside).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; dependencies: Record<string, string> };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => p.asarFiles.some((f) => f.startsWith(`node_modules/${d}/`)));
    expect(devOnly).toEqual([]);
    for (const dep of Object.keys(pkg.dependencies)) {
      expect([...p.asarFiles, ...p.unpackedFiles].some((f) => f.startsWith(`node_modules/${dep}/`)), dep).toBe(true);
    }
  });

  it('unpacks the native SQLite addon, and only what it needs', () => {
    expect(p.unpackedFiles).toContain(NATIVE);
    expect(statSync(path.join(p.unpackedDir, NATIVE)).size).toBeGreaterThan(100_000);
    // Only this platform's and architecture's prebuild: not the seven others, not a local build.
    expect([...new Set([...p.asarFiles, ...p.unpackedFiles])].filter((f) => f.endsWith('.node'))).toEqual([NATIVE]);
    // The archive lists it as unpacked, so Electron's asar layer redirects the require there.
    expect((asar.statFile(p.asarPath, NATIVE, false) as { unpacked?: boolean }).unpacked).toBe(true);
    expect(p.packedFiles.filter((f) => f.endsWith('.node'))).toEqual([]);
    // Everything the header flags unpacked is really there.
    expect(p.asarFiles.filter((f) => !p.packedFiles.includes(f) && !p.unpackedFiles.includes(f))).toEqual([]);
    // No SQLite/C++ sources, no objects, no test extension.
    const all = [...p.asarFiles, ...p.unpackedFiles].filter((f) => f.startsWith('node_modules/better-sqlite3-multiple-ciphers/'));
    expect(all.filter((f) => /\/(deps|src|obj|obj\.target)\/|\.(a|o|gyp|mk|cpp|hpp|c|h)$|test_extension/.test(f))).toEqual([]);
  });

  it('build/check-native-abi.mjs passes the packaged addon as Node-API, whatever ABI is expected (CI runs it after npm run dist)', () => {
    const check = (expectAbi: string) => spawnSync(process.execPath, [path.join(ROOT, 'build', 'check-native-abi.mjs'), '--expect', expectAbi, p.unpackedDir], { encoding: 'utf8' });
    // Nothing is rebuilt for Electron: the packaged addon is the prebuild in node_modules, byte for byte.
    expect(readFileSync(path.join(p.unpackedDir, NATIVE)).equals(readFileSync(path.join(ROOT, NATIVE)))).toBe(true);
    for (const abi of ['1', readFileSync(path.join(ROOT, 'node_modules', 'electron', 'abi_version'), 'utf8').trim()]) {
      const r = check(abi);
      expect(r.stdout).toContain('Node-API (any ABI)');
      expect(r.status).toBe(0);
    }
  });

  it('holds no sources, tests, benchmarks or source maps', () => {
    const all = [...p.asarFiles, ...p.unpackedFiles];
    expect(all.filter((f) => /\.(ts|mts|cts|tsx)$/.test(f))).toEqual([]);
    expect(all.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(all.filter((f) => /(^|\/)(test|tests|__tests__|bench|benchmark|benchmarks)\//.test(f))).toEqual([]);
    expect(all.filter((f) => /\.(test|spec)\.[cm]?js$/.test(f) || /^node_modules\/[^/]+\/test(-[^/]*)?\.js$/.test(f))).toEqual([]);
    expect(all.filter((f) => /^(electron|db|renderer|bench|test)\//.test(f) || f.endsWith('.svelte'))).toEqual([]);
  });

  it('holds no store, key file, .env or private key (the planted decoys are left out)', () => {
    const all = [...p.asarFiles, ...p.unpackedFiles];
    expect(all.filter((f) => /\.(db|db-wal|db-shm|db-journal|sqlite3?)$/.test(f))).toEqual([]);
    expect(all.filter((f) => /(^|\/)keyladder\.key\.json$/.test(f))).toEqual([]);
    expect(all.filter((f) => /(^|\/)\.env(\.|$)/.test(f))).toEqual([]);
    expect(all.filter((f) => /\.(pem|key|p8|p12|pfx)$/.test(f))).toEqual([]);
    expect(p.decoys.filter((d) => all.includes(d))).toEqual([]);
  });

  it('no file carries a private key: none in the app code at all, no PEM key block anywhere', () => {
    // Code that parses PEM names its labels ("PRIVATE KEY": jose, and our MSL
    // server key import and its help text), so a label alone is no finding. A key
    // itself is a BEGIN…END block with a base64 body: none anywhere. App code
    // has no private key's BEGIN line at all (what it parses, it matches by label).
    const pemBlock = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\sA-Za-z0-9+/=]{64,}-----END/;
    const beginLine = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
    const offenders: string[] = [];
    const read = (f: string, bytes: Buffer) => {
      const text = bytes.toString('latin1');
      if ((f.startsWith('node_modules/') ? pemBlock : beginLine).test(text)) offenders.push(f);
    };
    for (const f of p.packedFiles) read(f, asar.extractFile(p.asarPath, f));
    for (const f of p.unpackedFiles) read(f, readFileSync(path.join(p.unpackedDir, f)));
    expect(offenders).toEqual([]);
  });

  it('carries electron-updater, and the app-update.yml that electron-builder writes from publish (a placeholder the app overrides)', () => {
    for (const f of ['node_modules/electron-updater/package.json', 'node_modules/electron-updater/out/main.js']) expect(p.asarFiles, f).toContain(f);
    const appUpdate = readFileSync(path.join(p.appOutDir, 'resources', 'app-update.yml'), 'utf8');
    expect(appUpdate).toContain('provider: generic');
    expect(appUpdate).toContain('url: https://updates.keyladder.invalid/');
    expect(appUpdate).toMatch(/updaterCacheDirName: \S+/);
  });

  it('burns the fuses electron-builder.yml asks for', async () => {
    const wire = await getCurrentFuseWire(path.join(p.appOutDir, 'keyladder-app'));
    expect(wire[FuseV1Options.RunAsNode]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ENABLED);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ENABLED);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(DISABLED);
  });

  it('the GUI is keyladder-app; the CLI launcher is resources/bin/keyladder, executable, outside the archive', () => {
    expect(statSync(path.join(p.appOutDir, 'keyladder-app')).isFile()).toBe(true);
    expect(existsSync(path.join(p.appOutDir, 'keyladder'))).toBe(false);
    const launcher = path.join(p.appOutDir, 'resources', 'bin', 'keyladder');
    expect(readFileSync(launcher, 'utf8')).toBe(readFileSync(path.join(ROOT, 'packaging', 'cli', 'keyladder'), 'utf8'));
    expect(statSync(launcher).mode & 0o111).toBe(0o111);
    expect(readdirSync(path.join(p.appOutDir, 'resources', 'bin'))).toEqual(['keyladder']);
  });

  it('ran within the time a 2-core CI machine allows', () => {
    expect(p.seconds.build + p.seconds.package).toBeLessThan(240);
  });
});

if (skipReason !== null) describe('packaged app', () => it.skip(skipReason, () => {}));
