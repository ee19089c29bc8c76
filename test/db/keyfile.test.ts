// The key file's AES-GCM tag is checked at its full 16 bytes: a tag cut short
// (which GCM would otherwise accept, checking only what is left) opens nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newScryptParams } from '../../db/kdf.js';
import { unwrapStoreKey, wrapStoreKey } from '../../db/keyfile.js';

describe('the key file\'s wrapped store key', () => {
  const before = process.env['KEYLADDER_ALLOW_WEAK_KDF'];
  beforeAll(() => { process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1'; });
  afterAll(() => { if (before === undefined) delete process.env['KEYLADDER_ALLOW_WEAK_KDF']; else process.env['KEYLADDER_ALLOW_WEAK_KDF'] = before; });

  it('opens with its whole tag, and with no tag cut to 4, 8, 12 or 15 bytes', async () => {
    const storeKey = randomBytes(32);
    const file = await wrapStoreKey(storeKey, 'a passphrase long enough', newScryptParams(10));
    expect((await unwrapStoreKey(file, 'a passphrase long enough')).equals(storeKey)).toBe(true);
    const tag = Buffer.from(file.wrappedStoreKey.tag, 'base64');
    expect(tag).toHaveLength(16);
    for (const length of [4, 8, 12, 15]) {
      const cut = { ...file, wrappedStoreKey: { ...file.wrappedStoreKey, tag: tag.subarray(0, length).toString('base64') } };
      await expect(unwrapStoreKey(cut, 'a passphrase long enough'), `tag cut to ${length}`).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    }
  });
});
