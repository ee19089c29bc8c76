// Tests that spawn the real `keyladder` binary or crash a child process run
// the compiled dist/, so compile it once before any test runs. Type errors are
// `npm run typecheck`'s to report (npm test runs it first); tsc still emits.
//
// The run also gets a temporary folder of its own (TMPDIR, which the test
// processes, their children and Chromium inherit), removed at the end: a run
// leaves nothing in the machine's /tmp, and a test file that leaves a
// keyladder-* folder behind is named, so the leak gets fixed where it is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  // Each vitest project runs this setup; the first makes the folder, the others share it
  // (nested, the paths would grow past what a Unix socket's name can hold: Chromium's).
  if (process.env['KEYLADDER_RUN_TMP'] !== undefined && process.env['TMPDIR'] === process.env['KEYLADDER_RUN_TMP']) return () => {};
  process.env['KEYLADDER_MACHINE_TMPDIR'] = tmpdir();
  const runTmp = mkdtempSync(join(tmpdir(), 'keyladder-run-'));
  process.env['TMPDIR'] = runTmp;
  process.env['KEYLADDER_RUN_TMP'] = runTmp;
  build();
  return () => {
    const left = readdirSync(runTmp).filter((name) => name.startsWith('keyladder-'));
    rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
    if (left.length > 0) process.stderr.write(`globalSetup: the tests left ${left.length} temporary folder(s) behind (now removed): ${left.slice(0, 20).join(', ')}\n`);
  };
}

function build(): void {
  if (process.env['KEYLADDER_SKIP_BUILD'] === '1') return;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) process.stderr.write(`globalSetup: tsc reported errors while building dist/ (see npm run typecheck):\n${result.stdout.slice(0, 2000)}\n`);
}
