// Checks that every native addon (*.node) under a folder was built for the ABI
// the app will load it with. A Node-API addon is ABI-stable and always passes;
// an addon built against V8 directly (better-sqlite3-multiple-ciphers is one)
// names its ABI in its register symbol, node_register_module_v<ABI>, which is a
// plain string in the file on every OS (ELF, Mach-O, PE).
//
//   node build/check-native-abi.mjs [--expect ABI] PATH...
//
// ABI defaults to Electron's (node_modules/electron/abi_version). Prints one
// line per addon and exits 1 if any addon names another ABI, 2 if none found.
// It guards the one silent failure of `npmRebuild`: with `nodedir` in
// ~/.npmrc, the "Electron" rebuild compiles against Node's headers instead.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function electronAbi() {
  try {
    return readFileSync(join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim();
  } catch {
    throw new Error('cannot read node_modules/electron/abi_version: pass --expect ABI');
  }
}

/** The ABI an addon was built for: a number as a string, 'napi' for Node-API, or null if unknown. */
export function addonAbi(bytes) {
  const text = bytes.toString('latin1');
  const v8 = /node_register_module_v(\d+)/.exec(text);
  if (v8) return v8[1];
  if (text.includes('napi_register_module_v1')) return 'napi';
  return null;
}

function* addons(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // a missing path holds no addons; "none found" is reported below
  }
  if (st.isFile()) {
    if (path.endsWith('.node')) yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) yield* addons(full);
    else if (entry.isFile() && entry.name.endsWith('.node')) yield full;
  }
}

function main(argv) {
  const paths = [];
  let expect = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--expect') expect = argv[++i] ?? null;
    else paths.push(argv[i]);
  }
  if (paths.length === 0) {
    console.error('usage: node build/check-native-abi.mjs [--expect ABI] PATH...');
    return 2;
  }
  expect ??= electronAbi();
  let found = 0;
  let bad = 0;
  for (const path of paths) {
    for (const file of addons(path)) {
      found++;
      const abi = addonAbi(readFileSync(file));
      const ok = abi === 'napi' || abi === expect;
      if (!ok) bad++;
      const what = abi === null ? 'no ABI symbol found' : abi === 'napi' ? 'Node-API (any ABI)' : `NODE_MODULE_VERSION ${abi}`;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${relative(process.cwd(), file)}: ${what}, expected ${expect}`);
    }
  }
  if (found === 0) {
    console.error(`no .node files under ${paths.join(', ')}`);
    return 2;
  }
  if (bad > 0) {
    console.error(`${bad} addon(s) built for another ABI: rebuild them for Electron (see docs/packaging.md, "Native module").`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
