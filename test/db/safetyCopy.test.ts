// The store a restore replaces is kept in replaced-<time>/, and such a folder
// is always a whole store (database and key file): it is built in the
// restore's staging and renamed into place, so a failure or a crash half-way
// leaves no half-kept folder beside the store (test/services/crash.test.ts
// kills restores at random points; this makes the half-way failure certain).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE, KEY_FILE, RESTORE_DIR } from '../../db/files.js';
import { keepReplacedStore } from '../../db/safetyCopy.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function storeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyladder-safety-'));
  dirs.push(dir);
  writeFileSync(join(dir, DB_FILE), 'database bytes');
  return dir;
}

describe('keepReplacedStore', () => {
  it('keeps the database and key file in a new owner-only replaced-<time>/ folder, and nothing in the staging', () => {
    const dir = storeDir();
    writeFileSync(join(dir, KEY_FILE), '{"key":"file"}');
    const folder = keepReplacedStore(dir, '2026-12-08T00:00:00.000Z');
    expect(folder).toBe(join(dir, 'replaced-2026-12-08T00-00-00-000Z'));
    expect(readdirSync(folder!).sort()).toEqual([DB_FILE, KEY_FILE].sort());
    expect(readdirSync(join(dir, RESTORE_DIR))).toEqual([]);
  });

  it('failing half-way (the key file cannot be linked or copied), leaves no replaced- folder and no partial copy', () => {
    const dir = storeDir();
    // A directory where the key file should be: it exists, but neither a hard link nor a copy of it can be made.
    mkdirSync(join(dir, KEY_FILE));
    expect(() => keepReplacedStore(dir, '2026-12-08T00:00:00.000Z')).toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith('replaced-'))).toEqual([]);
    expect(existsSync(join(dir, RESTORE_DIR, 'replaced.partial'))).toBe(false);
  });
});
