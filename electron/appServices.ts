// The app's own small settings, beside the store in the user data directory.
// They hold no secret: only the idle lock time. Electron-free.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AppSettings } from './ipc/contract.js';
import { IdleLock } from './security/idleLock.js';

export const DEFAULT_SETTINGS: AppSettings = { idleLockMinutes: 10 };

export interface SettingsStore {
  get(): AppSettings;
  setIdleLockMinutes(minutes: number): AppSettings;
}

/** Reads settings.json from `dir` (a missing or damaged file gives the defaults) and writes changes back. */
export function fileSettings(dir: string, onChange: (settings: AppSettings) => void = () => {}): SettingsStore {
  const file = path.join(dir, 'settings.json');
  let current: AppSettings = DEFAULT_SETTINGS;
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { idleLockMinutes?: unknown };
    const minutes = raw.idleLockMinutes;
    if (typeof minutes === 'number') current = { idleLockMinutes: IdleLock.check(minutes) };
  } catch {
    // No file yet, or one we cannot read: the defaults stand.
  }
  return {
    get: () => current,
    setIdleLockMinutes(minutes) {
      current = { ...current, idleLockMinutes: IdleLock.check(minutes) };
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`, 'utf8');
      onChange(current);
      return current;
    },
  };
}
