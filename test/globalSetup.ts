// Tests that spawn the real `keyladder` binary or crash a child process run
// the compiled dist/, so compile it once before any test runs. Type errors are
// `npm run typecheck`'s to report (npm test runs it first); tsc still emits.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env['KEYLADDER_SKIP_BUILD'] === '1') return;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) process.stderr.write(`globalSetup: tsc reported errors while building dist/ (see npm run typecheck):\n${result.stdout.slice(0, 2000)}\n`);
}
