#!/usr/bin/env node
// npm run scan:electron — Electronegativity (Doyensec's Electron security
// scanner) over the app as it ships, kept out of the dependency tree: it brings
// 322 packages of its own (eslint 7, TypeScript 4.2, deprecated ones), so npx
// fetches the pinned version into its cache for this run only. The project's own
// tests check the same rules on every run (test/architecture/electronHardening.test.ts);
// this is the second opinion, run by hand or in a CI job with network access.
//
// It builds the app (npm run build), stages what ships in a temporary folder
// (main and preload sources, the built preload and renderer, package.json), runs
//   npx --yes @doyensec/electronegativity@1.10.3 -i <staged> -o <out>/findings.sarif -r
//       -e <installed Electron version> -x AvailableSecurityFixesGlobalCheck
// and fails if a finding is not one docs/electron-security.md explains.
// SARIF, not CSV: the CLI writes the CSV header and rows with two racing writes.
// Options: --no-build (use dist/ as it is), --keep (keep the staged folder and report).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCANNER = '@doyensec/electronegativity@1.10.3';
/** Findings docs/electron-security.md explains, each with why it stays. */
export const EXPLAINED = new Map([
  ['PRELOAD_JS_CHECK', 'review: the preload exposes named methods only'],
  ['CSP_GLOBAL_CHECK', "csp-evaluator's generic caution about script-src 'self'"],
  ['ELECTRON_VERSION_JSON_CHECK', 'informational'],
]);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const run = (command, argv, options = {}) => {
  const r = spawnSync(command, argv, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32', ...options });
  return r.status ?? 1;
};

if (!args.has('--no-build') && run('npm', ['run', 'build']) !== 0) {
  console.error('scan:electron: npm run build failed');
  process.exit(1);
}
const preload = path.join(ROOT, 'dist', 'electron', 'preload.cjs');
const renderer = path.join(ROOT, 'dist', 'renderer');
for (const built of [preload, path.join(renderer, 'index.html')]) {
  if (!existsSync(built)) {
    console.error(`scan:electron: ${path.relative(ROOT, built)} is missing; run without --no-build`);
    process.exit(1);
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'keyladder-eneg-'));
const app = path.join(work, 'app');
// Main and preload as sources (the scanner reads TypeScript), the renderer as built. Scanning
// electron/ or dist/renderer alone misleads: the global checks then miss the CSP, the navigation
// limits or the permission handler, which live in the other half.
cpSync(path.join(ROOT, 'electron'), path.join(app, 'electron'), { recursive: true });
cpSync(renderer, path.join(app, 'dist', 'renderer'), { recursive: true });
cpSync(preload, path.join(app, 'dist', 'electron', 'preload.cjs'));
cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
const electronVersion = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
const report = path.join(work, 'findings.sarif');

console.log(`scan:electron: ${SCANNER} over ${app} (Electron ${electronVersion})`);
// AvailableSecurityFixesGlobalCheck downloads Electron's release list; -e gives the version instead.
// Its translations download is stubbed out (build/electronegativity-offline.cjs says why).
const offline = path.join(ROOT, 'build', 'electronegativity-offline.cjs');
const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(offline)}`.trim() };
const status = run('npx', ['--yes', SCANNER, '-i', app, '-o', report, '-r', '-e', electronVersion, '-x', 'AvailableSecurityFixesGlobalCheck'], { env });
if (status !== 0 || !existsSync(report)) {
  console.error(`scan:electron: the scanner failed (exit ${status}); nothing was judged`);
  process.exit(1);
}
const sarif = JSON.parse(readFileSync(report, 'utf8'));
const findings = (sarif.runs?.[0]?.results ?? []).map((r) => ({
  id: r.ruleId,
  level: r.level,
  file: r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '?',
  line: r.locations?.[0]?.physicalLocation?.region?.startLine ?? 0,
}));
for (const f of findings) console.log(`${EXPLAINED.has(f.id) ? 'explained  ' : 'UNEXPLAINED'} ${f.id} (${f.level}) ${f.file}:${f.line}`);
const unexplained = findings.filter((f) => !EXPLAINED.has(f.id));
if (args.has('--keep')) console.log(`scan:electron: staged app and report kept in ${work}`);
else rmSync(work, { recursive: true, force: true });
if (unexplained.length > 0) {
  console.error(`scan:electron: ${unexplained.length} finding(s) docs/electron-security.md does not explain`);
  process.exit(1);
}
console.log(`scan:electron: ${findings.length} finding(s), all explained in docs/electron-security.md`);
