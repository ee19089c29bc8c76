// Rollback of the store files is detected (issue 11, item 6): a copied-back
// database, a deleted WAL, or an audit chain whose tail was cut and its head
// rewritten all pass the store's own verify; an audit checkpoint kept outside
// the store catches each, and the app, which keeps the last head it saw in the
// OS keychain, warns at unlock.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import type { HeadKeeper } from '../../electron/services/storeService.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
let again: KeyLadderRuntime | undefined;
afterEach(() => {
  again?.close();
  t?.cleanup();
  t = again = undefined;
});

const db = (dir: string) => join(dir, 'keyladder.db');
/** The store's files as they are on disk, after a lock (which checkpoints and ends the WAL). */
function snapshot(dir: string): string {
  const copy = join(tempDir('keyladder-old-'), 'keyladder.db');
  copyFileSync(db(dir), copy);
  return copy;
}
function putBack(copy: string, dir: string): void {
  for (const f of ['-wal', '-shm']) rmSync(`${db(dir)}${f}`, { force: true });
  copyFileSync(copy, db(dir));
}

describe('an audit checkpoint', () => {
  it('catches a database copied back after a revoke, which the store\'s own verify passes', async () => {
    t = await openTestServices();
    const s = t.services;
    s.devices.provision({ identity: 'ESN-ROLLED', keys: { kind: 'generate' } });
    s.store.lock();
    const old = snapshot(t.dir);
    await s.store.unlock(PASSPHRASE);
    s.devices.revoke('ESN-ROLLED');
    const checkpoint = JSON.stringify(s.audit.checkpoint());
    s.store.lock();
    putBack(old, t.dir);
    await s.store.unlock(PASSPHRASE);
    // The revoked device is back, and the store verifies on its own.
    expect(s.devices.get('ESN-ROLLED').status).toBe('active');
    expect(s.store.verify()).toMatchObject({ ok: true });
    const held = s.store.verify(checkpoint);
    expect(held.ok).toBe(false);
    expect(held.problems.join('\n')).toMatch(/The store is behind the checkpoint of .*: its audit log ends at entry \d+, the checkpoint saw entry \d+/);
  });

  it('catches a tail cut by hand (rows deleted, the head rewritten to the last kept MAC), and a log cut and grown again', async () => {
    t = await openTestServices();
    const s = t.services;
    for (let i = 0; i < 5; i++) s.devices.provision({ identity: `ESN-CUT-${i}`, keys: { kind: 'generate' } });
    const checkpoint = s.audit.checkpoint();
    const raw = (s.store as unknown as { session: { store(): { unsafeDatabase(): import('better-sqlite3-multiple-ciphers').Database } } }).session.store().unsafeDatabase();
    const cutTo = checkpoint.seq - 3;
    raw.exec('DROP TRIGGER audit_no_delete');
    raw.prepare('DELETE FROM audit_log WHERE seq > ?').run(cutTo);
    const kept = raw.prepare('SELECT mac FROM audit_log WHERE seq = ?').pluck().get(cutTo) as Buffer;
    raw.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(`${cutTo}:${kept.toString('hex')}`);
    expect(s.audit.verify()).toMatchObject({ ok: true });
    expect(s.store.verify(JSON.stringify(checkpoint)).problems.join('\n')).toMatch(/behind the checkpoint/);
    // Grown again past the checkpoint's number: a different history.
    for (let i = 0; i < 5; i++) s.devices.provision({ identity: `ESN-REGROWN-${i}`, keys: { kind: 'generate' } });
    expect(s.audit.verify()).toMatchObject({ ok: true });
    expect(s.store.verify(JSON.stringify(checkpoint)).problems.join('\n')).toMatch(/does not contain the checkpoint/);
  });

  it('passes while the store is at or past it, and is itself audited', async () => {
    t = await openTestServices();
    const checkpoint = t.services.audit.checkpoint();
    expect(t.services.audit.list({ limit: 1 })[0]).toMatchObject({ seq: checkpoint.seq, action: 'audit.checkpoint' });
    expect(t.services.store.verify(JSON.stringify(checkpoint))).toMatchObject({ ok: true, problems: [] });
    t.services.devices.provision({ identity: 'ESN-AFTER', keys: { kind: 'generate' } });
    expect(t.services.store.verify(JSON.stringify(checkpoint))).toMatchObject({ ok: true });
  });

  it('an altered checkpoint, or one of another store, is CHECKPOINT_INVALID', async () => {
    t = await openTestServices();
    const checkpoint = t.services.audit.checkpoint();
    for (const bad of [{ ...checkpoint, seq: checkpoint.seq + 10 }, { ...checkpoint, mac: '0'.repeat(64) }, { ...checkpoint, tag: '0'.repeat(64) }, { ...checkpoint, format: 'x' }]) {
      expect(() => t!.services.store.verify(JSON.stringify(bad))).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }));
    }
    expect(() => t!.services.store.verify('not json')).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }));
    const other = await openTestServices();
    try {
      expect(() => other.services.store.verify(JSON.stringify(checkpoint))).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID', message: 'The checkpoint belongs to another store.' }));
    } finally {
      other.cleanup();
    }
  });
});

describe('the app\'s keychain head', () => {
  it('warns at unlock, and audits it, when the store went back behind the head the app saw last', async () => {
    t = await openTestServices();
    t.services.devices.provision({ identity: 'ESN-KEYCHAIN', keys: { kind: 'generate' } });
    t.services.store.lock();
    const old = snapshot(t.dir);
    let kept: string | undefined;
    const keeper: HeadKeeper = { load: async () => kept, save: async (text) => void (kept = text) };
    again = createServices({ storeDir: t.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, headKeeper: keeper });
    await again.store.unlock(PASSPHRASE);
    expect(again.store.status().rollback).toBeUndefined();
    again.devices.revoke('ESN-KEYCHAIN');
    again.store.lock(); // the head after the revoke goes to the keychain
    await (again.store as unknown as { headSaved(): Promise<void> }).headSaved();
    expect(kept).toContain('keyladder-audit-checkpoint');
    putBack(old, t.dir);
    await again.store.unlock(PASSPHRASE);
    expect(again.store.status().rollback).toMatch(/behind the checkpoint/);
    expect(again.audit.list({ action: 'store.rollback-detected', limit: 1 })).toHaveLength(1);
    // A lock and unlock later, the keychain holds today's (rolled-back) head: the warning was given once, and audited.
    again.store.lock();
    await (again.store as unknown as { headSaved(): Promise<void> }).headSaved();
    await again.store.unlock(PASSPHRASE);
    expect(again.store.status().rollback).toBeUndefined();
  });

  it('the checkpoint text kept holds no key material, only the head', async () => {
    t = await openTestServices();
    const text = JSON.stringify(t.services.audit.checkpoint());
    expect(Object.keys(JSON.parse(text)).sort()).toEqual(['at', 'format', 'mac', 'seq', 'storeId', 'tag', 'version']);
    expect(readFileSync(join(t.dir, 'keyladder.key.json'), 'utf8')).not.toContain(JSON.parse(text).tag);
  });
});
