// The store's page cache holds the fleet (issue 14): with 64 MiB alone, a
// lookup in a store of 1,000,000 devices decrypts a page nearly every time.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyStore, cacheKibFor } from '../../db/store.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';

const dir = tempDir('keyladder-cache-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const device = (i: number) => ({
  identity: `CACHE-${i}`, groupId: null, origin: 'imported-kpw' as const, kpw: Buffer.alloc(60, 1), kpe: null, kph: null,
  kcvKpw: '000000', kcvKpe: null, kcvKph: null, createdAt: '2026-12-06T00:00:00.000Z',
});

describe('the page cache', () => {
  it('is 16 MiB plus 640 bytes a device, at most 1 GiB', () => {
    expect(cacheKibFor(0)).toBe(16_384);
    expect(cacheKibFor(10_000)).toBe(16_384 + 6_250);
    expect(cacheKibFor(1_000_000)).toBe(16_384 + 625_000);
    expect(cacheKibFor(10_000_000)).toBe(1_048_576);
  });

  it('is sized to the fleet at unlock, and follows it while open (here, and another process\'s import)', async () => {
    const store = await KeyStore.create(dir, PASSPHRASE, () => {}, { kdfLogN: TEST_KDF_LOG_N });
    try {
      expect(store.pageCacheKib).toBe(cacheKibFor(0));
      store.transaction(() => {
        for (let i = 0; i < 3_000; i++) store.devices.insert(device(i));
      });
      // The once-a-second look at the store sees the new devices.
      await expect.poll(() => store.pageCacheKib, { timeout: 3_000, interval: 100 }).toBe(cacheKibFor(3_000));
      // And those another connection adds (another process: the CLI beside the app, another serve worker).
      const other = await KeyStore.unlock(dir, PASSPHRASE);
      try {
        other.transaction(() => {
          for (let i = 3_000; i < 5_000; i++) other.devices.insert(device(i));
        });
      } finally {
        other.lock();
      }
      await expect.poll(() => store.pageCacheKib, { timeout: 3_000, interval: 100 }).toBe(cacheKibFor(5_000));
    } finally {
      store.lock();
    }
    const again = await KeyStore.unlock(dir, PASSPHRASE);
    try {
      expect(again.pageCacheKib).toBe(cacheKibFor(5_000));
    } finally {
      again.lock();
    }
  });
});
