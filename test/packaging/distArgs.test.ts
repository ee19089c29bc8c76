// build/dist.mjs, which `npm run dist` runs: the signing settings the
// environment gives electron-builder (Azure Trusted Signing for Windows, never
// a .pfx), and the command-line overrides it passes through (a tag build's
// -c.forceCodeSigning=true).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = path.join(ROOT, 'build', 'dist.mjs');
const { distArgs } = (await import(DIST)) as { distArgs(o: { env: Record<string, string | undefined>; platform: string; extra?: string[] }): string[] };

const AZURE = {
  AZURE_TRUSTED_SIGNING_ENDPOINT: 'https://eus.codesigning.azure.net/',
  AZURE_TRUSTED_SIGNING_ACCOUNT: 'keyladder-signing',
  AZURE_TRUSTED_SIGNING_PROFILE: 'keyladder-public',
  AZURE_TRUSTED_SIGNING_PUBLISHER: 'CN=KeyLadder Example, O=KeyLadder Example, C=FR',
};

const thrown = (f: () => unknown): { code?: string; message?: string } => {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  return {};
};

describe('build/dist.mjs', () => {
  it('with no signing settings: the project configuration and what was passed, nothing else', () => {
    expect(distArgs({ env: {}, platform: 'win32' })).toEqual(['--config', 'electron-builder.yml']);
    expect(distArgs({ env: {}, platform: 'linux', extra: ['--publish', 'never', '-c.forceCodeSigning=true'] })).toEqual(['--config', 'electron-builder.yml', '--publish', 'never', '-c.forceCodeSigning=true']);
  });

  it('with the four Azure Trusted Signing settings: win.azureSignOptions, each value as given', () => {
    expect(distArgs({ env: AZURE, platform: 'win32', extra: ['-c.forceCodeSigning=true'] })).toEqual([
      '--config', 'electron-builder.yml',
      '-c.win.azureSignOptions.endpoint=https://eus.codesigning.azure.net/',
      '-c.win.azureSignOptions.codeSigningAccountName=keyladder-signing',
      '-c.win.azureSignOptions.certificateProfileName=keyladder-public',
      '-c.win.azureSignOptions.publisherName=CN=KeyLadder Example, O=KeyLadder Example, C=FR',
      '-c.forceCodeSigning=true',
    ]);
  });

  it('refuses a partial set, naming what is missing', () => {
    const { AZURE_TRUSTED_SIGNING_PROFILE: _, ...three } = AZURE;
    const e = thrown(() => distArgs({ env: three, platform: 'win32' }));
    expect(e.code).toBe('AZURE_SIGNING_INCOMPLETE');
    expect(e.message).toContain('AZURE_TRUSTED_SIGNING_PROFILE');
  });

  it('refuses a .pfx for Windows (WIN_CSC_LINK anywhere, CSC_LINK on Windows); CSC_LINK stays for macOS', () => {
    expect(thrown(() => distArgs({ env: { WIN_CSC_LINK: 'cert.pfx' }, platform: 'linux' })).code).toBe('PFX_SIGNING_REMOVED');
    expect(thrown(() => distArgs({ env: { CSC_LINK: 'cert.pfx' }, platform: 'win32' })).code).toBe('PFX_SIGNING_REMOVED');
    expect(distArgs({ env: { CSC_LINK: 'developer-id.p12' }, platform: 'darwin' })).toEqual(['--config', 'electron-builder.yml']);
  });

  it('as a script, stops before electron-builder with its code and status 2', () => {
    const r = spawnSync(process.execPath, [DIST, '--dir'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WIN_CSC_LINK: 'cert.pfx' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\[PFX_SIGNING_REMOVED\]/);
    // The secret's value is not echoed.
    expect(r.stderr).not.toContain('cert.pfx');
  });
});
