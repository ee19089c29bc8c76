// Where the store lives by default: the same folder Electron's
// app.getPath('userData') gives the app, so the CLI and the app share a store.

import { homedir } from 'node:os';
import { join } from 'node:path';

export const APP_NAME = 'KeyLadder';

export function userDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', APP_NAME);
  return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), APP_NAME);
}

export const defaultStoreDir = (): string => join(userDataDir(), 'store');
