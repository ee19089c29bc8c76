// The MSL server's state lives through the store's whole-store operations
// (issue 20): a rekey reseals the identity's private key and the master-token
// keys under the new store key (db/rekey.ts) and copies the token serials; a
// backup and a restore bring all of it back. After either, the same keys sign
// and the same serials refuse a replayed id.
import { sign, verify } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyLadderRuntime } from '../../electron/services/index.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { openTestServices, PASSPHRASE, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const NEXT = 'the passphrase after the rekey';

/** Two identity and two master-token key generations, changed settings, a serial with an id accepted. */
async function populated(): Promise<{ t: TestServices; serial: number }> {
  t = await openTestServices();
  const s = t.services.msl;
  await s.keys.rotateIdentity('server1');
  s.keys.rotateTokenKeys();
  s.settings.set({ renewalWindow: 60, expiration: 600 });
  const serial = s.tokens.allocateSerial('client1');
  expect(s.tokens.acceptNonReplayableId(serial, 'client1', 7)).toBe('accepted');
  return { t, serial };
}

const state = (s: KeyLadderRuntime) => ({
  identities: s.msl.keys.identities(),
  tokenKeys: s.msl.keys.tokenKeyGenerations(),
  opened: s.msl.keys.tokenKeys().map((k) => [k.generation, k.status, kcv(k.encryptionKey, 'aes'), kcv(k.hmacKey, 'hmac')]),
  settings: s.msl.settings.get(),
});

function signsWithItsPublicKey(s: KeyLadderRuntime): boolean {
  const signer = s.msl.keys.serverSigner();
  const data = Buffer.from('entity auth data');
  return verify('sha256', data, s.msl.keys.identity().pem, sign('sha256', data, signer.privateKey));
}

describe('the MSL server state', () => {
  it('survives a rekey: every sealed MSL key resealed under the new store key, the serials copied', async () => {
    const { t, serial } = await populated();
    const s = t.services;
    const before = state(s);
    const signerBefore = s.msl.keys.serverSigner();
    await s.store.rekey(PASSPHRASE, NEXT);
    expect(state(s)).toEqual(before);
    const signer = s.msl.keys.serverSigner();
    expect(signer).not.toBe(signerBefore); // opened again from the new store
    expect(signer.publicKey.export({ format: 'jwk' })).toEqual(signerBefore.publicKey.export({ format: 'jwk' }));
    expect(signsWithItsPublicKey(s)).toBe(true);
    expect(s.msl.tokens.acceptNonReplayableId(serial, 'client1', 7)).toBe('MESSAGE_REPLAYED');
    expect(s.msl.tokens.acceptNonReplayableId(serial, 'client1', 8)).toBe('accepted');
  });

  it('comes back with a backup restored, as it was at the backup: an id accepted before it stays refused', async () => {
    const { t, serial } = await populated();
    const s = t.services;
    const before = state(s);
    const file = join(tempDir(), 'store.backup');
    await s.store.backup(file);
    s.msl.keys.rotateTokenKeys(0);
    s.store.lock();
    await s.store.restore(file, PASSPHRASE);
    await s.store.unlock(PASSPHRASE);
    expect(state(s)).toEqual(before);
    expect(signsWithItsPublicKey(s)).toBe(true);
    expect(s.msl.tokens.acceptNonReplayableId(serial, 'client1', 7)).toBe('MESSAGE_REPLAYED');
  });
});
