// The supported runtimes and what tests them (issue 23, item 3): every Node line in package.json's
// `engines` has a pinned release in build/test-node.mjs, the one test command (`npm test`, the
// command README gives and the only one .ci/run runs after `npm ci`) runs the suite on Node 24 and
// on the lowest line in `engines`, and the pass script refuses a line it has no pin for.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; scripts: Record<string, string> };
const SCRIPT = 'build/test-node.mjs';

/** `^22.12.0 || ^24.0.0` as [[22, 12, 0], [24, 0, 0]]: the only range form the project uses. */
function engineLines(range: string): number[][] {
  return range.split('||').map((part) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`engines.node part ${JSON.stringify(part)} is not ^X.Y.Z`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  });
}

/** build/test-node.mjs's PINNED table (read, not imported: importing the script runs a pass). */
function pinned(): Record<string, string> {
  const m = /const PINNED = (\{[^}]*\});/.exec(read(SCRIPT));
  if (!m) throw new Error(`${SCRIPT} has no PINNED table`);
  return JSON.parse(m[1]!.replace(/(\d+):/g, '"$1":').replace(/'/g, '"')) as Record<string, string>;
}

const atLeast = (version: string, [major, minor, patch]: number[]): boolean => {
  const [a, b, c] = version.split('.').map(Number);
  return a === major && (b! > minor! || (b === minor && c! >= patch!));
};

describe('supported runtimes', () => {
  it('every line in engines has a pinned release that satisfies it, and a test:nodeNN script', () => {
    const pins = pinned();
    const lines = engineLines(pkg.engines.node);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const version = pins[String(line[0])];
      expect(version, `no pinned Node ${line[0]}`).toBeDefined();
      expect(atLeast(version!, line), `pinned ${version} is below engines' ^${line.join('.')}`).toBe(true);
      expect(pkg.scripts[`test:node${line[0]}`]).toBe(`node ${SCRIPT} ${line[0]}`);
    }
  });

  it('npm test type-checks, then runs the suite on Node 24 and on the lowest line in engines', () => {
    const lowest = Math.min(...engineLines(pkg.engines.node).map(([major]) => major!));
    expect(pkg.scripts['test']).toBe(`npm run typecheck && npm run test:node24 && npm run test:node${lowest}`);
  });

  it('README gives one test command, and .ci/run runs exactly that after npm ci', () => {
    const readme = read('README.md');
    const setUp = readme.slice(readme.indexOf('## Set up, run, test'), readme.indexOf('\n## ', readme.indexOf('## Set up, run, test') + 1));
    // The shell blocks of the section: two commands to set up and run, then one to test.
    const blocks = [...setUp.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => b[1]!.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/\s+#.*$/, '')));
    expect(blocks).toEqual([['npm ci', 'npm start'], ['npm test']]);
    const commands = read('.ci/run').split('\n').filter((l) => /^\s*npm /.test(l)).map((l) => l.trim());
    expect(commands).toEqual(['npm ci --no-audit --no-fund --strict-allow-scripts', 'npm test']);
  });

  it('the pass script refuses a line it has no pin for, with exit 2 and the lines it knows, and fetches nothing', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, SCRIPT), '20', 'test/none'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KEYLADDER_NODE_CACHE: '/nonexistent/keyladder-node-cache' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('LINE one of 22, 24, 26 (got "20")');
    expect(r.stdout).not.toContain('installing');
  });
});
