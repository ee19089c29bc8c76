// The hosted workflow, read statically (this machine cannot run it): actions
// pinned to commits, Electron's binary installed before the Electron tests,
// forced code signing on tags, and a release job that alone may write, with
// checksums and an SBOM. Also the Dependabot configuration and electron-builder's
// update feed. What the workflow does when it runs is checked only on GitHub.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// js-yaml is electron-builder's own YAML reader (as builderConfig.test.ts uses it).
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface Step { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { name?: string; if?: string; needs?: string[]; 'runs-on': string; permissions?: Record<string, string>; strategy?: { matrix: Record<string, unknown> }; steps: Step[] }
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

const WORKFLOW_FILE = path.join(ROOT, '.github', 'workflows', 'build.yml');
const text = readFileSync(WORKFLOW_FILE, 'utf8');
const workflow = yaml.load(text) as Workflow;
const jobs = workflow.jobs;
const steps = (job: string) => jobs[job]!.steps;
const runs = (job: string) => steps(job).map((s) => s.run ?? '');
const indexOf = (job: string, pred: (s: Step) => boolean) => steps(job).findIndex(pred);

describe('.github/workflows/build.yml', () => {
  it('pins every action to a full commit SHA, with its release tag in a comment on the same line', () => {
    const lines = text.split('\n').filter((l) => /^\s*(-\s+)?uses:/.test(l));
    const parsed = Object.values(jobs).flatMap((j) => j.steps.filter((s) => s.uses !== undefined).map((s) => s.uses!));
    expect(lines.length).toBe(parsed.length);
    expect(parsed.length).toBeGreaterThanOrEqual(8);
    const tagOf = new Map<string, string>();
    for (const line of lines) {
      const m = /uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40})\s+#\s+(v\d+(?:\.\d+){0,2})\s*$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, action, sha, tag] = m!;
      // One action, one commit, one tag, wherever it is used.
      const key = `${action}@${sha}`;
      expect(tagOf.get(action!) ?? key, line).toBe(key);
      tagOf.set(action!, key);
      expect(tag, line).toMatch(/^v\d+/);
    }
    // The current majors (node24 runtime), not the @v4 line that ran on a deprecated Node.
    const majors = Object.fromEntries(lines.map((l) => /uses:\s*([\w.-]+\/[\w.-]+)@\w+\s+#\s+v(\d+)/.exec(l)!).map((m) => [m[1], Number(m[2])]));
    expect(majors).toEqual({ 'actions/checkout': 7, 'actions/setup-node': 7, 'actions/cache': 5, 'actions/upload-artifact': 7, 'actions/download-artifact': 8 });
  });

  it('is read-only at the top; only the release job can write, and only contents', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(jobs)) {
      if (name === 'release') expect(job.permissions).toEqual({ contents: 'write' });
      else expect(job.permissions, name).toBeUndefined();
    }
    // No checkout leaves the token in .git/config for later steps.
    for (const job of Object.values(jobs)) for (const s of job.steps) if (s.uses?.startsWith('actions/checkout@')) expect(s.with?.['persist-credentials']).toBe(false);
  });

  it('runs npm ci --strict-allow-scripts, the typecheck and the suite on Node 24 and 22, as .ci/run\'s npm test does', () => {
    expect(jobs['test']!['runs-on']).toBe('ubuntu-latest');
    expect(jobs['test']!.strategy!.matrix['node']).toEqual([24, 22]);
    expect(runs('test')).toContain('npm ci --no-audit --no-fund --strict-allow-scripts');
    expect(runs('test')).toContain('npm run typecheck');
    // Each job runs the pass of its own Node line (npm test runs both, one after the other).
    expect(runs('test').some((r) => r.includes('npm run "test:node${{ matrix.node }}"'))).toBe(true);
    const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts['test']).toBe('npm run typecheck && npm run test:node24 && npm run test:node22');
    expect(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toContain('--strict-allow-scripts');
  });

  it('installs Electron\'s binary (the electron package\'s own install-electron, --no before the name) before every Electron test', () => {
    for (const [job, test] of [['test', (s: Step) => (s.run ?? '').includes('test:node${{ matrix.node }}')], ['installers', (s: Step) => (s.run ?? '').includes('test/e2e/electron.e2e.test.ts')]] as const) {
      const install = indexOf(job, (s) => /(^|\n)\s*npx --no install-electron\s*(\n|$)/.test(s.run ?? ''));
      expect(install, job).toBeGreaterThanOrEqual(0);
      expect(steps(job)[install]!.run).toContain('test -s node_modules/electron/path.txt');
      const e2e = indexOf(job, test);
      expect(e2e, job).toBeGreaterThan(install);
      expect(steps(job)[e2e]!.env?.['KEYLADDER_ELECTRON_REQUIRED'], job).toBe('1');
    }
    // Never `npx install-electron --no`: npx hands the flag to the script, and would fetch the registry's namesake.
    expect(text).not.toMatch(/npx install-electron/);
    // The e2e test runs on every OS of the matrix.
    const oses = (jobs['installers']!.strategy!.matrix['include'] as { os: string }[]).map((i) => i.os).sort();
    expect(oses).toEqual(['macos-latest', 'ubuntu-latest', 'windows-latest']);
  });

  it('forces code signing on tags, with the Azure Trusted Signing and Apple secrets on their own OS only', () => {
    const dist = steps('installers').find((s) => /npm run dist\b/.test(s.run ?? ''))!;
    expect(dist.run).toMatch(/if \[ "\$GITHUB_REF_TYPE" = tag \]; then sign=\(-c\.forceCodeSigning=true\)/);
    expect(dist.run).toContain('"${sign[@]}"');
    for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET']) expect(dist.env?.[name]).toBe(`\${{ matrix.platform == 'windows' && secrets.${name} || '' }}`);
    for (const name of ['CSC_LINK', 'CSC_KEY_PASSWORD', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID']) expect(dist.env?.[name]).toMatch(/^\$\{\{ matrix\.platform == 'macos' && secrets\.\w+ \|\| '' \}\}$/);
    // The .pfx route is gone (no exportable code-signing key can be bought since 2023).
    expect(text).not.toMatch(/WIN_CSC_LINK/);
  });

  it('on a tag: an SBOM of the shipped tree, then a release with the installers, their update feed, SHA256SUMS and the SBOM', () => {
    expect(Object.keys(workflow.on)).toContain('push');
    expect((workflow.on['push'] as { tags: string[] }).tags).toEqual(['v*']);
    for (const job of ['sbom', 'release']) expect(jobs[job]!.if, job).toBe("github.ref_type == 'tag'");
    const sbom = runs('sbom').find((r) => r.includes('cyclonedx-npm'))!;
    expect(sbom).toMatch(/npx --yes @cyclonedx\/cyclonedx-npm@\d+\.\d+\.\d+ /);
    expect(sbom).toContain('--omit dev');
    expect(sbom).toContain('--package-lock-only');
    expect(jobs['release']!.needs).toEqual(['test', 'installers', 'sbom']);
    const upload = steps('installers').find((s) => s.name === 'Upload installers')!;
    expect(String(upload.with?.['path']).split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['release/latest*.yml', 'release/*.blockmap', 'release/*.exe', 'release/*.dmg', 'release/*.AppImage', 'release/*.deb']));
    const downloads = steps('release').filter((s) => s.uses?.startsWith('actions/download-artifact@')).map((s) => s.with);
    expect(downloads).toEqual([expect.objectContaining({ pattern: 'installers-*', path: 'assets' }), expect.objectContaining({ name: 'sbom', path: 'assets' })]);
    const sums = indexOf('release', (s) => (s.run ?? '').includes('sha256sum -- * > SHA256SUMS'));
    const attach = indexOf('release', (s) => (s.run ?? '').includes('gh release create'));
    expect(sums).toBeGreaterThan(0);
    expect(attach).toBeGreaterThan(sums);
    expect(steps('release')[attach]!.run).toContain('assets/*');
  });
});

describe('.github/dependabot.yml', () => {
  const config = yaml.load(readFileSync(path.join(ROOT, '.github', 'dependabot.yml'), 'utf8')) as { version: number; updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string }; groups?: Record<string, { patterns: string[] }> }[] };
  it('updates npm and the actions weekly, grouped', () => {
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
    for (const u of config.updates) {
      expect(u.schedule.interval).toBe('weekly');
      expect(u.directory).toBe('/');
      expect(Object.keys(u.groups ?? {}).length, u['package-ecosystem']).toBeGreaterThan(0);
    }
  });
});

describe('electron-builder.yml: the update feed', () => {
  const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as { publish: { provider: string; url: string } };
  it('is a generic provider (so latest*.yml is written beside the installers), with a placeholder the app never checks', () => {
    expect(config.publish).toEqual({ provider: 'generic', url: 'https://updates.keyladder.invalid/' });
  });
});
