#!/usr/bin/env node
// `npm run dist`: electron-builder with the project's electron-builder.yml, plus
// what only the environment can say (docs/packaging.md, "Signing").
//
// - Windows signs through Azure Trusted Signing (win.azureSignOptions) when the
//   four AZURE_TRUSTED_SIGNING_* settings are set; the service keeps the key
//   (code-signing keys must live in hardware since 2023), and electron-builder
//   signs as the Entra ID app in AZURE_TENANT_ID / AZURE_CLIENT_ID /
//   AZURE_CLIENT_SECRET. They are added here, not written in the YAML, because
//   there every build (a pull request's, a local one) would try to sign.
// - An exportable .pfx (WIN_CSC_LINK, or CSC_LINK on a Windows build) is refused.
// - Everything after `npm run dist --` goes to electron-builder as it is: a tag
//   build adds `-c.forceCodeSigning=true`, so an unsigned installer fails it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The Azure Trusted Signing settings: environment variable, and the azureSignOptions field it fills. */
export const AZURE_SETTINGS = [
  ['AZURE_TRUSTED_SIGNING_ENDPOINT', 'endpoint'],
  ['AZURE_TRUSTED_SIGNING_ACCOUNT', 'codeSigningAccountName'],
  ['AZURE_TRUSTED_SIGNING_PROFILE', 'certificateProfileName'],
  ['AZURE_TRUSTED_SIGNING_PUBLISHER', 'publisherName'],
];

export class DistError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * electron-builder's arguments for this environment and these extra arguments.
 * `platform` is the building machine's (electron-builder builds for it).
 */
export function distArgs({ env, platform, extra = [] }) {
  if (env.WIN_CSC_LINK || (platform === 'win32' && env.CSC_LINK)) {
    throw new DistError('PFX_SIGNING_REMOVED', 'Windows is signed through Azure Trusted Signing (AZURE_TRUSTED_SIGNING_*), not with an exportable .pfx: unset WIN_CSC_LINK / CSC_LINK for Windows builds.');
  }
  const given = AZURE_SETTINGS.filter(([name]) => (env[name] ?? '') !== '');
  if (given.length > 0 && given.length < AZURE_SETTINGS.length) {
    const missing = AZURE_SETTINGS.filter(([name]) => !given.some(([g]) => g === name)).map(([name]) => name);
    throw new DistError('AZURE_SIGNING_INCOMPLETE', `Azure Trusted Signing needs all four settings; missing: ${missing.join(', ')}.`);
  }
  const args = ['--config', 'electron-builder.yml'];
  if (given.length === AZURE_SETTINGS.length) {
    for (const [name, field] of AZURE_SETTINGS) args.push(`-c.win.azureSignOptions.${field}=${env[name]}`);
  }
  return [...args, ...extra];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let args;
  try {
    args = distArgs({ env: process.env, platform: process.platform, extra: process.argv.slice(2) });
  } catch (error) {
    if (!(error instanceof DistError)) throw error;
    console.error(`dist: ${error.message} [${error.code}]`);
    process.exit(2);
  }
  const cli = createRequire(import.meta.url).resolve('electron-builder/cli.js');
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
