// The install runs no dependency's install script, and a new one cannot slip in
// unreviewed: package.json's allowScripts (npm 11.16+; enforced by npm 12) names
// every package in the lockfile that has one, and .ci/run installs with
// `npm ci --strict-allow-scripts`, which fails on a script not named there.
// The SQLite addon is on its Node-API prebuilds (13+), so nothing needs to run:
// every entry is a denial.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean>; dependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; hasInstallScript?: boolean }> };

describe('install scripts', () => {
  it('every package with an install script in the lockfile is named in allowScripts', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
    const policy = pkg.allowScripts ?? {};
    expect(withScripts.filter((name) => !(name in policy))).toEqual([]);
  });

  it('names no package that has no install script in the lockfile any more (a stale entry hides nothing, but misleads)', () => {
    const withScripts = new Set(Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    expect(Object.keys(pkg.allowScripts ?? {}).filter((name) => !withScripts.has(name))).toEqual([]);
  });

  it('allows none: the SQLite addon is prebuilt, and the others are not needed to build or run KeyLadder', () => {
    expect(Object.entries(pkg.allowScripts ?? {}).filter(([, allowed]) => allowed !== false)).toEqual([]);
    // Denied by name: npm still infers `node-gyp rebuild` from its binding.gyp in `npm install-scripts ls`.
    expect(pkg.allowScripts?.['better-sqlite3-multiple-ciphers']).toBe(false);
  });

  it('the SQLite addon is a version with prebuilds, and prebuild-install is nowhere in the tree', () => {
    expect(Number(pkg.dependencies['better-sqlite3-multiple-ciphers']?.split('.')[0])).toBeGreaterThanOrEqual(13);
    expect(Object.keys(lock.packages).filter((where) => /(^|\/)node_modules\/(prebuild-install|bindings)$/.test(where))).toEqual([]);
  });

  it('CI installs with --strict-allow-scripts', () => {
    const run = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const installs = run.split('\n').filter((line) => /^\s*npm (ci|install)\b/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) expect(line).toMatch(/\bnpm ci\b.*--strict-allow-scripts\b/);
  });
});
