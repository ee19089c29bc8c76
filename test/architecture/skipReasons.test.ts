// Every test that can skip says why at run time (issue 22, item 9): vitest's
// default reporter hides a skipped test and its note, so each skip goes through
// test/support/skips.ts, which prints "skipped: <why>" to the log. README's
// "Tests that skip, and why" lists them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const TEST = join(ROOT, 'test');
const HELPER = join(TEST, 'support', 'skips.ts');
// This file names the silent forms to test its own check.
const SELF = join(TEST, 'architecture', 'skipReasons.test.ts');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.mts') && path !== HELPER && path !== SELF ? [path] : [];
  });
}

/** The skips in `source` that would not say why: `ctx.skip(`, a skipIf/runIf whose condition is not skipsHere/runsHere. */
function silentSkips(source: string): string[] {
  const found: string[] = [];
  source.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/\bctx\.skip\(/.test(code)) found.push(`${i + 1}: ctx.skip( (use skipWithReason)`);
    for (const m of code.matchAll(/\.(skipIf|runIf)\(([^)]*)/g)) {
      const helper = m[1] === 'skipIf' ? 'skipsHere(' : 'runsHere(';
      if (!m[2]!.startsWith(helper)) found.push(`${i + 1}: .${m[1]}(${m[2]} (use ${helper}condition, reason))`);
    }
    // it.skip/describe.skip as a placeholder is fine where the file also says why.
    if (/\b(it|test|describe)\.skip\(/.test(code) && !/skipsHere\(|skipWithReason\(|console\.warn\(/.test(source)) found.push(`${i + 1}: ${m0(code)} with nothing printing why`);
  });
  return found;
}
const m0 = (code: string) => code.trim().slice(0, 60);

describe('skips say why', () => {
  it('every skip in test/ goes through test/support/skips.ts', () => {
    const silent = sources(TEST).flatMap((file) => silentSkips(readFileSync(file, 'utf8')).map((s) => `${relative(ROOT, file)}:${s}`));
    expect(silent).toEqual([]);
  });

  it("README's \"Tests that skip, and why\" names every file that can skip, and no file that cannot", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('**Tests that skip, and why.**');
    expect(at, 'README has no "Tests that skip, and why" paragraph').toBeGreaterThanOrEqual(0);
    const section = readme.slice(at, readme.indexOf('\n- ', at)).replace('test/architecture/skipReasons.test.ts', '');
    const named = new Set([...section.matchAll(/`((?:test\/[\w/]+\/)?[\w.-]+\.test\.ts)`/g)].map((m) => m[1]!.replace(/^.*\//, '')));
    const skipping = sources(TEST).filter((f) => /\bskipWithReason\(ctx|skipsHere\(|runsHere\(/.test(readFileSync(f, 'utf8')) && f.endsWith('.test.ts'));
    const byName = new Set(skipping.map((f) => f.replace(/^.*\//, '')));
    // The e2e files skip together without Chromium; README names them as "the end-to-end tests".
    const unnamed = [...byName].filter((n) => !named.has(n) && !(n.endsWith('.e2e.test.ts') && n !== 'app.e2e.test.ts' && n !== 'electron.e2e.test.ts'));
    expect(unnamed).toEqual([]);
    expect([...named].filter((n) => !byName.has(n))).toEqual([]);
  });

  it('the check itself finds the silent forms', () => {
    expect(silentSkips("if (x) ctx.skip();")).toHaveLength(1);
    expect(silentSkips("describe.skipIf(model)('a', () => {});")).toHaveLength(1);
    expect(silentSkips("it.runIf(posix)('a', () => {});")).toHaveLength(1);
    expect(silentSkips("it.skip('a', () => {});")).toHaveLength(1);
    expect(silentSkips("describe.skipIf(skipsHere(model, WHY))('a', () => {});")).toEqual([]);
    expect(silentSkips("describe.runIf(runsHere(model, WHY))('a', () => {});")).toEqual([]);
    expect(silentSkips("if (x) skipWithReason(ctx, 'why');")).toEqual([]);
  });
});
