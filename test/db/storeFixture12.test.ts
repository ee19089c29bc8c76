// A store written by the previous SQLite addon (better-sqlite3-multiple-ciphers
// 12.11.1, committed as test/fixtures/store-12.11.1/) must unlock, verify and
// answer under the addon the project runs now: a store lives for years, across
// addon upgrades, and its pages are SQLCipher 4 (cipher = 'sqlcipher', legacy = 4).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../electron/services/index.js';
import { tempDir } from '../support/services.js';
import { DB, openRaw, storeKeyOf } from '../support/storeFiles.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/store-12.11.1/', import.meta.url));
const PASSPHRASE = 'fixture-passphrase-12.11.1';

/** The fixture is never opened in place: an unlock writes (audit entries, migrations). */
function copyOfFixture(): string {
  const dir = tempDir('keyladder-fixture12-');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('a store written by better-sqlite3-multiple-ciphers 12.11.1', () => {
  it('is read raw with the store key and the SQLCipher 4 settings db/connection.ts uses', async () => {
    const dir = copyOfFixture();
    const db = openRaw(join(dir, DB), await storeKeyOf(dir, PASSPHRASE));
    try {
      expect(db.pragma('cipher_integrity_check')).toEqual([]);
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) AS n FROM devices').get()).toEqual({ n: 3 });
    } finally {
      db.close();
    }
  });

  it('unlocks, verifies page by page and chain by chain, and keeps its devices and Kissuers', async () => {
    const dir = copyOfFixture();
    const services = createServices({ storeDir: dir });
    try {
      await services.store.unlock(PASSPHRASE);
      const verification = services.store.verify();
      expect(verification.problems).toEqual([]);
      expect(verification.ok).toBe(true);
      expect(services.audit.verify().ok).toBe(true);

      const devices = services.devices.list().items.map((d) => [d.identity, d.status, d.kcv.kpw]);
      expect(devices).toEqual([
        ['ESN-0001', 'active', 'B916D3'],
        ['ESN-0002', 'active', 'A6981D'],
        ['ESN-0003', 'revoked', 'C9E5DB'],
      ]);
      const issuers = services.issuers.list().map((g) => [g.generation, g.status, g.kcv]);
      expect(issuers).toEqual(expect.arrayContaining([[2, 'active', '4CF99E'], [1, 'grace', '4B4B10']]));

      // The keys decrypt: a simulated device climbs two rungs and every KCV matches.
      const report = await services.exchanges.simulate('ESN-0001', { rungs: 2 });
      expect(report.allMatch).toBe(true);
      // And it writes under the new addon, still verifying afterwards.
      services.devices.revoke('ESN-0002', 'written under the current addon');
      expect(services.store.verify().ok).toBe(true);
    } finally {
      services.close();
    }
  });

  it('refuses a wrong passphrase with its code', async () => {
    const dir = copyOfFixture();
    const services = createServices({ storeDir: dir });
    try {
      await expect(services.store.unlock('not the fixture passphrase')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    } finally {
      services.close();
    }
  });
});
