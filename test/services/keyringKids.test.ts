// Issue 19, item 7: a keyring key took this KeyLadder's own signing kid, and a
// JWS signed by it made `jose verify` say "signed by this KeyLadder". Kids name
// one key across own keys and the keyring (refused both ways with KID_TAKEN,
// nothing changed), and who signed is said by the thumbprint of the key that
// verified, never by the header's kid.
import * as nodeCrypto from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signCompact } from '../../electron/jose/produce.js';
import { KEYRING_READ_ACTIONS } from '../../electron/services/keyring.js';
import type { KeyStore } from '../../db/store.js';
import { openTestServices, type TestServices } from '../support/services.js';

// The next own key pair, when a test fixes it (to make a keyring kid collide with it); otherwise Node's.
const fixed = vi.hoisted(() => ({ next: undefined as undefined | { publicKey: unknown; privateKey: unknown } }));
vi.mock('node:crypto', async (original) => {
  const actual = await original<typeof import('node:crypto')>();
  return {
    ...actual,
    generateKeyPairSync: ((...args: Parameters<typeof actual.generateKeyPairSync>) => {
      if (fixed.next === undefined) return (actual.generateKeyPairSync as (...a: unknown[]) => unknown)(...args);
      const pair = fixed.next;
      fixed.next = undefined;
      return pair;
    }) as typeof actual.generateKeyPairSync,
  };
});

let t: TestServices;
afterEach(() => t?.cleanup());

type Services = TestServices['services'];
const storeOf = (s: Services): KeyStore => (s.store as unknown as { session: { store(): KeyStore } }).session.store();
const state = (s: Services) => ({ recipients: s.keyring.recipients(), own: storeOf(s).keyring.ownKeys().map((k) => [k.kid, k.status]), audit: s.audit.list({ limit: 1000, excludeActions: KEYRING_READ_ACTIONS }).length });
const attacker = () => nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicOf = (k: ReturnType<typeof attacker>): JWK => k.publicKey.export({ format: 'jwk' }) as JWK;
const privateOf = (k: ReturnType<typeof attacker>): JWK => k.privateKey.export({ format: 'jwk' }) as JWK;

describe('kids are unique across own keys and the keyring', () => {
  it('recipient add refuses a key under this KeyLadder\'s own kid (sig or enc, active or retired), with KID_TAKEN and nothing changed', async () => {
    t = await openTestServices();
    const s = t.services;
    const ownSig = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    await s.keyring.rotateOwnKey('sig');
    const ownEnc = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    for (const [kid, use] of [[ownSig.kid!, 'sig'], [ownEnc.kid!, 'sig'], [ownEnc.kid!, 'enc']] as const) {
      const before = state(s);
      await expect(s.keyring.addRecipient(JSON.stringify({ ...publicOf(attacker()), kid }), { use })).rejects.toMatchObject({ code: 'KID_TAKEN' });
      expect(state(s)).toEqual(before);
    }
    // The owner's own public key under its own kid is the same key, not a collision (a store may export to itself).
    expect(await s.keyring.addRecipient(JSON.stringify(ownEnc), {})).toMatchObject({ kid: ownEnc.kid, thumbprint: ownEnc.kid });
  });

  it('a new own key whose kid a keyring key already holds is refused with KID_TAKEN, and the active key stays', async () => {
    t = await openTestServices();
    const s = t.services;
    await s.keyring.ownKeys();
    const next = attacker();
    const nextKid = await calculateJwkThumbprint(publicOf(next), 'sha256');
    // A stranger's key pinned under the kid the next own key will have.
    await s.keyring.addRecipient(JSON.stringify(publicOf(attacker())), { kid: nextKid, use: 'sig' });
    const before = state(s);
    fixed.next = next;
    await expect(s.keyring.rotateOwnKey('sig')).rejects.toMatchObject({ code: 'KID_TAKEN' });
    expect(state(s)).toEqual(before);
  });
});

describe('jose verify names the key that verified, by thumbprint', () => {
  it('a stranger\'s JWS under this KeyLadder\'s kid is not "signed by this KeyLadder", even where an older store let the kid collide', async () => {
    t = await openTestServices();
    const s = t.services;
    const ownSig = (await s.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    const evil = attacker();
    const evilPrint = await calculateJwkThumbprint(publicOf(evil), 'sha256');
    // The review's store: the collision went in before add checked it (written past the service, as then).
    const store = storeOf(s);
    store.transaction(() => store.keyring.addRecipient({ kid: ownSig.kid!, label: 'evil', use: 'sig', thumbprint: evilPrint, public_jwk: JSON.stringify({ ...publicOf(evil), kid: ownSig.kid, use: 'sig' }), added_at: new Date().toISOString(), roles: 'revocations', list_source: null }));

    const forged = await signCompact(new TextEncoder().encode('{"say":"trust me"}'), privateOf(evil), ownSig.kid!);
    const out = await s.jose.verify(forged, { kind: 'own' });
    expect(out.signer).toEqual({ kind: 'recipient', kid: ownSig.kid, thumbprint: evilPrint });

    const { jws } = await import('../../electron/services/keyring.js').then((m) => m.signAsKeyLadder(store, new TextEncoder().encode('{"say":"mine"}'), {}));
    const mine = await s.jose.verify(jws, { kind: 'own' });
    expect(mine.signer).toEqual({ kind: 'own', thumbprint: await calculateJwkThumbprint({ kty: ownSig.kty, crv: ownSig.crv, x: ownSig.x, y: ownSig.y } as JWK, 'sha256') });
    expect(mine.signer.thumbprint).not.toBe(evilPrint);
  });

  it('a key file\'s signature names the file key\'s thumbprint', async () => {
    t = await openTestServices();
    const k = attacker();
    const jws = await signCompact(new TextEncoder().encode('{}'), privateOf(k), 'any');
    const out = await t.services.jose.verify(jws, { kind: 'jwk', jwk: publicOf(k) as Record<string, unknown> });
    expect(out.signer).toEqual({ kind: 'key-file', thumbprint: await calculateJwkThumbprint(publicOf(k), 'sha256') });
  });
});
