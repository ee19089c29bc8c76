// Issue 19, item 12: a peer's revocation list speaks for its source only when
// signed by the key bound to that source. Pinned peer Q signed a list claiming
// P's store id, dated 2099, and it showed as P's current list; replaying P's
// older list moved P's date back. Now: the first signed list from a source binds
// it to its signer (and the signer to it), other signers are refused for it, a
// list older than (or as old as, unless identical) the newest seen is refused,
// and so is one dated ahead of the clock. A key pinned for revocation lists
// does not sign Kissuer exports unless the operator gave it that role.
// Each refusal: REVOCATION_LIST_REFUSED (or SIGNER_ROLE) with a reason, nothing changed.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sealBundle } from '../../electron/services/bundles.js';
import type { KeyStore } from '../../db/store.js';
import { openTestServices, PASSPHRASE, type TestServices } from '../support/services.js';

const open: TestServices[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});

type Services = TestServices['services'];
const storeOf = (s: Services): KeyStore => (s.store as unknown as { session: { store(): KeyStore } }).session.store();
const KEYRING = { kind: 'keyring' as const };
const UNSIGNED = { kind: 'passphrase' as const, passphrase: 'a revocation list passphrase', unsigned: true };

/** What a refused import must leave as it was: the peers' lists, what was heard, the audit. */
const state = (s: Services) => ({ peers: s.revocations.peerLists(), heard: storeOf(s).revocations.all(), audit: s.audit.list({ limit: 10_000, action: 'revocation.import' }).length });

/** Peers P and Q (sharing Kissuer with B) and B, which pins P's and Q's signing keys (default roles) and whose enc key both export to. */
async function network(): Promise<{ p: TestServices; q: TestServices; b: TestServices; toB: string }> {
  const p = await openTestServices();
  open.push(p);
  const kissuer = await p.services.issuers.exportToPeer([1], UNSIGNED);
  const join = async () => {
    const t = await openTestServices({ create: false });
    open.push(t);
    await t.services.store.create(PASSPHRASE, { jwe: kissuer, protection: UNSIGNED });
    return t;
  };
  const [q, b] = [await join(), await join()];
  const bEnc = (await b.services.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
  for (const peer of [p, q]) {
    await peer.services.keyring.addRecipient(JSON.stringify(bEnc), { label: 'B' });
    const sig = (await peer.services.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    await b.services.keyring.addRecipient(JSON.stringify(sig), { label: peer === p ? 'P' : 'Q' });
  }
  return { p, q, b, toB: bEnc.kid! };
}

/** A list signed by `signer`'s key, claiming `source`, as a dishonest pinned peer would make it. */
const forged = (signer: TestServices, toB: string, source: string, at: string, identities: string[] = []) =>
  sealBundle('keyladder-revocation-list', { source, at, revoked: identities.map((identity) => ({ identity, revokedAt: at, wrapdata: [] })) }, { kind: 'recipient', kid: toB }, storeOf(signer.services));

async function refused(b: Services, jwe: string, protection: Parameters<Services['revocations']['importList']>[1], expected: Record<string, unknown>): Promise<void> {
  const before = state(b);
  await expect(b.revocations.importList(jwe, protection)).rejects.toMatchObject(expected);
  expect(state(b)).toEqual(before);
}

describe('a revocation list\'s source is bound to its signer', () => {
  it('refuses a list claiming P\'s source signed by Q (the review\'s 2099 list, and one dated now), and keeps P\'s list current', async () => {
    const { p, q, b, toB } = await network();
    const pId = storeOf(p.services).storeId;
    p.services.devices.provision({ identity: 'ESN-P', keys: { kind: 'generate' } });
    p.services.devices.revoke('ESN-P');
    const fromP = await b.services.revocations.importList((await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING);
    expect(fromP).toMatchObject({ source: pId, entries: 1 });
    // The audit names the signer by kid and by the thumbprint of the key that verified.
    const pSig = (await p.services.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    expect(b.services.audit.list({ action: 'revocation.import', limit: 1 })[0]!.details).toMatchObject({ signer: pSig.kid, signerThumbprint: pSig.kid });
    await refused(b.services, await forged(q, toB, pId, '2099-01-01T00:00:00.000Z'), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'FUTURE' });
    b.clock.advanceDays(1);
    await refused(b.services, await forged(q, toB, pId, b.clock.now.toISOString(), ['ESN-FRAMED']), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
    // Nor may anyone speak for P's source unsigned, once P signs its lists.
    await refused(b.services, await sealBundle('keyladder-revocation-list', { source: pId, at: b.clock.now.toISOString(), revoked: [] }, UNSIGNED), UNSIGNED, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
    expect(b.services.revocations.peerLists()).toEqual([expect.objectContaining({ source: pId, entries: 1 })]);
  });

  it('a signer speaks for one source: Q, bound to its own store id, cannot speak for a source B never heard from', async () => {
    const { q, b, toB } = await network();
    await b.services.revocations.importList((await q.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING);
    await refused(b.services, await forged(q, toB, randomUUID(), b.clock.now.toISOString(), ['ESN-FRAMED']), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
  });
});

/** A store upgraded from before bindings (migrations 003-006): its lists' sources have no signer bound. */
const unbindAll = (s: Services): void => {
  (storeOf(s) as unknown as { db: { prepare(sql: string): { run(): unknown } } }).db.prepare('UPDATE peer_lists SET signer = NULL').run();
};
const sigOf = async (t: TestServices) => (await t.services.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;

describe('round 2: a source is bound at pin time; a seen, unbound source takes no signer by itself', () => {
  it('on an upgraded store, Q\'s list claiming P\'s store id, dated after P\'s last list, is refused (SOURCE_UNBOUND), and binds nothing', async () => {
    const { p, q, b, toB } = await network();
    const pId = storeOf(p.services).storeId;
    await b.services.revocations.importList((await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING);
    unbindAll(b.services);
    b.clock.advanceDays(1);
    await refused(b.services, await forged(q, toB, pId, b.clock.now.toISOString(), ['ESN-FRAMED']), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_UNBOUND' });
    // P's own lists are refused as well until the operator binds P: nothing tells P's key from Q's here.
    p.clock.advanceDays(1);
    await refused(b.services, (await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_UNBOUND' });
    expect(storeOf(b.services).revocations.peerList(pId)?.signer).toBeNull();
  });

  it('a signer pinned with --source speaks for that source only: P\'s lists pass on the upgraded store, Q cannot claim P even first', async () => {
    const { p, q, b, toB } = await network();
    const [pId, qId] = [storeOf(p.services).storeId, storeOf(q.services).storeId];
    const [pSig, qSig] = [await sigOf(p), await sigOf(q)];
    for (const [sig, source, label] of [[pSig, pId, 'P'], [qSig, qId, 'Q']] as const) {
      b.services.keyring.removeRecipient(sig.kid!);
      expect(await b.services.keyring.addRecipient(JSON.stringify(sig), { label, source })).toMatchObject({ roles: ['revocations'], source });
    }
    expect(b.services.audit.list({ action: 'recipient.add', limit: 1 })[0]!.details).toMatchObject({ source: qId });
    // Q first, before P ever sent a list: P's source is bound to P's key already.
    await refused(b.services, await forged(q, toB, pId, b.clock.now.toISOString(), ['ESN-FRAMED']), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
    // Nor may Q take a source no key is pinned for: it is pinned to its own.
    await refused(b.services, await forged(q, toB, randomUUID(), b.clock.now.toISOString()), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
    await b.services.revocations.importList((await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING);
    unbindAll(b.services);
    for (const t of [p, b]) t.clock.advanceDays(1);
    await expect(b.services.revocations.importList((await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING)).resolves.toMatchObject({ source: pId });
    expect(storeOf(b.services).revocations.peerList(pId)?.signer).toBe(pSig.kid);
  });

  it('--bind-source: the operator binds a seen, unbound source to the list\'s signer, audited; then other signers are refused', async () => {
    const { p, q, b, toB } = await network();
    const pId = storeOf(p.services).storeId;
    await b.services.revocations.importList((await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING);
    unbindAll(b.services);
    for (const t of [p, b]) t.clock.advanceDays(1);
    const list = (await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe;
    await refused(b.services, list, KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_UNBOUND' });
    await expect(b.services.revocations.importList(list, KEYRING, { bindSource: true })).resolves.toMatchObject({ source: pId });
    expect(b.services.audit.list({ action: 'revocation.import', limit: 1 })[0]!.details).toMatchObject({ source: pId, sourceBound: 'operator', signerThumbprint: (await sigOf(p)).kid });
    b.clock.advanceDays(1);
    await refused(b.services, await forged(q, toB, pId, b.clock.now.toISOString()), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'SOURCE_NOT_SIGNERS' });
    // An unsigned list cannot bind anything.
    await expect(b.services.revocations.importList(await sealBundle('keyladder-revocation-list', { source: randomUUID(), at: b.clock.now.toISOString(), revoked: [] }, UNSIGNED), UNSIGNED, { bindSource: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('recipient add --source takes a peer\'s store id on a revocations signer, once per source', async () => {
    const { p, q, b } = await network();
    const [pSig, qSig] = [await sigOf(p), await sigOf(q)];
    const pEnc = (await p.services.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const pId = storeOf(p.services).storeId;
    b.services.keyring.removeRecipient(pSig.kid!);
    b.services.keyring.removeRecipient(qSig.kid!);
    const before = { keyring: b.services.keyring.recipients().length, audit: b.services.audit.list({ limit: 10_000, action: 'recipient.add' }).length };
    for (const source of ['P', `${pId}\nFAKE LINE`, pId.toUpperCase(), storeOf(b.services).storeId]) {
      await expect(b.services.keyring.addRecipient(JSON.stringify(pSig), { source })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.not.stringContaining('\n') });
    }
    await expect(b.services.keyring.addRecipient(JSON.stringify(pSig), { source: pId, roles: ['issuer-export'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(b.services.keyring.addRecipient(JSON.stringify(pEnc), { source: pId })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect({ keyring: b.services.keyring.recipients().length, audit: b.services.audit.list({ limit: 10_000, action: 'recipient.add' }).length }).toEqual(before);
    await b.services.keyring.addRecipient(JSON.stringify(pSig), { source: pId });
    await expect(b.services.keyring.addRecipient(JSON.stringify(qSig), { source: pId })).rejects.toMatchObject({ code: 'RECIPIENT_EXISTS' });
  });
});

describe('round 2: a list\'s source is a store id', () => {
  it('refuses a source with a newline, an escape or any other text as malformed, and no message carries it', async () => {
    const { q, b, toB } = await network();
    for (const source of [`${randomUUID()}\nImported the revocation list of P: revoked here none.`, '\u001b]0;owned\u0007', 'P', 'x'.repeat(36)]) {
      const before = state(b.services);
      const error = await b.services.revocations.importList(await forged(q, toB, source, b.clock.now.toISOString()), KEYRING).catch((e: unknown) => e as Error);
      expect(error).toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('at source') });
      expect((error as Error).message).not.toMatch(/[\n\u001b\u0007]|owned|Imported/);
      expect(state(b.services)).toEqual(before);
    }
  });
});

describe('a source\'s lists only move forward', () => {
  it('refuses P\'s older list replayed, and another list of the same date, but takes the same list again', async () => {
    const { p, b, toB } = await network();
    const pId = storeOf(p.services).storeId;
    const older = (await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe;
    await b.services.revocations.importList(older, KEYRING);
    for (const t of [p, b]) t.clock.advanceDays(1);
    p.services.devices.provision({ identity: 'ESN-LATER', keys: { kind: 'generate' } });
    p.services.devices.revoke('ESN-LATER');
    const newer = (await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe;
    await b.services.revocations.importList(newer, KEYRING);
    const newest = b.services.revocations.peerLists()[0]!;
    expect(newest).toMatchObject({ source: pId, listAt: p.clock.now.toISOString(), entries: 1 });

    await refused(b.services, older, KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'STALE' });
    // Same date, other entries: P signs it (its store would, were its clock stopped), yet it is no newer list.
    await refused(b.services, await forged(p, toB, pId, newest.listAt, []), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'STALE' });
    // The same list again is no replay of an older one: it changes nothing but the time received.
    await expect(b.services.revocations.importList(newer, KEYRING)).resolves.toMatchObject({ source: pId, entries: 1 });
    expect(b.services.revocations.peerLists()[0]).toMatchObject({ listAt: newest.listAt, entries: 1 });
  });

  it('takes a list a little ahead of the clock (skew), not further', async () => {
    const { p, b, toB } = await network();
    const pId = storeOf(p.services).storeId;
    const at = (ms: number) => new Date(b.clock.now.getTime() + ms).toISOString();
    await refused(b.services, await forged(p, toB, pId, at(6 * 60_000)), KEYRING, { code: 'REVOCATION_LIST_REFUSED', reason: 'FUTURE' });
    await expect(b.services.revocations.importList(await forged(p, toB, pId, at(4 * 60_000)), KEYRING)).resolves.toMatchObject({ source: pId });
  });
});

describe('signer roles', () => {
  it('a key pinned for revocation lists (the default) does not sign a Kissuer export; with --role issuer-export it does', async () => {
    const { p, b, toB } = await network();
    expect(b.services.keyring.recipients().find((r) => r.label === 'P')).toMatchObject({ use: 'sig', roles: ['revocations'] });
    const kissuer = await p.services.issuers.exportToPeer([1], { kind: 'recipient', kid: toB });
    const before = { issuers: b.services.issuers.list(), audit: b.services.audit.list({ limit: 10_000, action: 'issuer.import-peer' }).length };
    await expect(b.services.issuers.importFromPeer(kissuer, KEYRING)).rejects.toMatchObject({ code: 'SIGNER_ROLE', reason: 'issuer-export' });
    expect({ issuers: b.services.issuers.list(), audit: b.services.audit.list({ limit: 10_000, action: 'issuer.import-peer' }).length }).toEqual(before);

    const pSig = (await p.services.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    b.services.keyring.removeRecipient(pSig.kid!);
    expect(await b.services.keyring.addRecipient(JSON.stringify(pSig), { roles: ['issuer-export'] })).toMatchObject({ roles: ['issuer-export'] });
    await expect(b.services.issuers.importFromPeer(kissuer, KEYRING)).resolves.toBeDefined();
    // And now it signs Kissuer exports only, not revocation lists.
    await refused(b.services, (await p.services.revocations.exportList({ kind: 'recipient', kid: toB })).jwe, KEYRING, { code: 'SIGNER_ROLE', reason: 'revocations' });
  });

  it('refuses unknown roles, and roles on an encryption key', async () => {
    const { b, p } = await network();
    const pEnc = (await p.services.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    const pSig = (await p.services.keyring.identityJwks()).keys.find((k) => k.use === 'sig')!;
    await expect(b.services.keyring.addRecipient(JSON.stringify(pEnc), { roles: ['revocations'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    b.services.keyring.removeRecipient(pSig.kid!);
    await expect(b.services.keyring.addRecipient(JSON.stringify(pSig), { roles: ['everything' as 'revocations'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
