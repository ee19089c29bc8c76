// The last audit head the app saw, kept in the OS keychain through Electron's
// safeStorage (Keychain on macOS, DPAPI on Windows, the Secret Service or
// KWallet on Linux): an old copy of the store put back in its folder cannot
// put this back too, so the next unlock warns (services/storeService.ts).
// Without a keychain (none available, or Linux's plain-text fallback)
// nothing is kept, and the app says so in its log.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { safeStorage } from 'electron';
import { writeFileAtomic } from '../db/files.js';
import type { HeadKeeper } from './services/storeService.js';

export function keychainHeadKeeper(userData: string, log: (line: string) => void): HeadKeeper {
  const file = join(userData, 'audit-head.keychain');
  let usable: Promise<boolean> | undefined;
  const available = (): Promise<boolean> => {
    usable ??= safeStorage.isAsyncEncryptionAvailable().then((yes) => {
      const plain = process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text';
      if (!yes || plain) log('[store] no OS keychain: the app cannot tell at unlock whether the store was rolled back (use `keyladder audit checkpoint`).');
      return yes && !plain;
    });
    return usable;
  };
  return {
    async load() {
      if (!(await available())) return undefined;
      try {
        return (await safeStorage.decryptStringAsync(await readFile(file))).result;
      } catch {
        return undefined;
      }
    },
    async save(text) {
      if (await available()) writeFileAtomic(file, await safeStorage.encryptStringAsync(text));
    },
  };
}
