// Who did it (issue 22 item 3): every record of an operator's action names
// its actor (the door's, or the operator name given at the app's unlock), a
// destructive one carries its --reason, a device's exchange names none; bad
// names and reasons are refused with their codes, changing nothing; the
// actors survive a rekey and a restore, and reach signed exports.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkOperatorName, checkReason, MAX_REASON_LENGTH, osActor, serveActor } from '../../electron/services/actor.js';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { parseJson } from '../../electron/ladder/messages.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';

const open: KeyLadderRuntime[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const KPW = '000102030405060708090a0b0c0d0e0f';

function services(dir: string, actor?: string): KeyLadderRuntime {
  const s = createServices({ storeDir: dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false, ...(actor !== undefined ? { actor } : {}) });
  open.push(s);
  return s;
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};
const asyncCodeOf = async (fn: () => Promise<unknown>): Promise<string | undefined> => {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('the actor of the CLI and serve', () => {
  it('is user@host from the OS; without a passwd entry, the uid marked as such, never a name from the environment', () => {
    expect(osActor({ userInfo: () => ({ username: 'alice', uid: 1000 }), hostname: () => 'factory-7' })).toBe('alice@factory-7');
    const noEntry = osActor({ userInfo: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); }, hostname: () => 'ci' });
    expect(noEntry).toBe(`uid:${process.getuid?.() ?? '?'}@ci`);
    // An OS name with a control character cannot forge a line of audit list.
    expect(osActor({ userInfo: () => ({ username: 'eve\nforged', uid: 1 }), hostname: () => 'h\u202e' })).toBe('eve?forged@h?');
    expect(serveActor({ userInfo: () => ({ username: 'svc', uid: 1 }), hostname: () => 'box' })).toBe('serve:svc@box');
  });

  it('names every operator record of the process, and none on a device\'s exchange', async () => {
    const dir = tempDir();
    const s = services(dir, 'alice@factory-7');
    await s.store.create(PASSPHRASE);
    s.devices.provision({ identity: 'ESN-A', keys: { kind: 'kpw', kpw: KPW } });
    const device = new LadderRequestor('ESN-A', await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
    await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json));
    s.devices.revoke('ESN-A', 'returned from the field');
    const entries = s.audit.list({ limit: 50 }).reverse();
    // The create's own records (its first Kissuer generation, keys, MSL identity) are the operator's too.
    expect(entries.filter((e) => e.actor !== 'alice@factory-7').map((e) => e.action)).toEqual(['exchange']);
    expect(entries.slice(-4).map((e) => [e.action, e.actor, e.reason])).toEqual([
      ['store.create', 'alice@factory-7', null],
      ['device.provision', 'alice@factory-7', null],
      ['exchange', null, null],
      ['device.revoke', 'alice@factory-7', 'returned from the field'],
    ]);
    expect(s.audit.verify()).toMatchObject({ ok: true });
    // A test exchange is the operator's doing (the simulated device is not a real one): it names the actor.
    s.devices.provision({ identity: 'ESN-T', keys: { kind: 'generate' } });
    await s.exchanges.simulate('ESN-T', { rungs: 2 });
    const tests = s.audit.list({ action: 'exchange.test', limit: 10 });
    expect(tests.length).toBeGreaterThan(0);
    expect(tests.every((e) => e.actor === 'alice@factory-7')).toBe(true);
  });
});

describe('--reason', () => {
  it('takes up to 1,000 printable characters; longer, or with a control character, is REASON_INVALID', () => {
    expect(checkReason(undefined)).toBeNull();
    expect(checkReason('')).toBeNull();
    expect(checkReason('é'.repeat(MAX_REASON_LENGTH))).toHaveLength(MAX_REASON_LENGTH);
    for (const bad of ['x'.repeat(MAX_REASON_LENGTH + 1), 'line one\nline two', 'tab\there', 'esc \u001b[31m', 'bidi \u202e', 42]) {
      expect(codeOf(() => checkReason(bad))).toBe('REASON_INVALID');
    }
  });

  it('refused on every destructive service, before anything is changed or recorded', async () => {
    const dir = tempDir();
    const s = services(dir, 'alice@host');
    await s.store.create(PASSPHRASE);
    s.devices.provision({ identity: 'ESN-A', keys: { kind: 'generate' } });
    s.issuers.rotate();
    const long = 'x'.repeat(1001);
    const head = s.audit.verify().entries;
    expect(codeOf(() => s.devices.revoke('ESN-A', long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.issuers.retire(1, long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.issuers.destroy(1, long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.msl.keys.retireIdentity(1, long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.msl.keys.destroyIdentity(1, long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.msl.keys.retireTokenKeys(1, long))).toBe('REASON_INVALID');
    expect(codeOf(() => s.msl.keys.destroyTokenKeys(1, long))).toBe('REASON_INVALID');
    expect(await asyncCodeOf(() => s.store.rekey(PASSPHRASE, undefined, long))).toBe('REASON_INVALID');
    expect(await asyncCodeOf(() => s.store.restore(join(dir, 'no-such-backup'), PASSPHRASE, { reason: long }))).toBe('REASON_INVALID');
    expect(s.devices.get('ESN-A').status).toBe('active');
    expect(s.issuers.list().find((g) => g.generation === 1)?.status).toBe('grace');
    expect(s.store.status().unlocked).toBe(true);
    expect(s.audit.verify().entries).toBe(head);
  });

  it('is recorded by retire, destroy and rekey, and the actors and reasons survive the rekey\'s new MACs', async () => {
    const dir = tempDir();
    const s = services(dir, 'alice@host');
    await s.store.create(PASSPHRASE);
    s.issuers.rotate();
    s.issuers.retire(1, 'superseded by generation 2');
    s.issuers.destroy(1, 'no device holds its wrapdata any more');
    await s.store.rekey(PASSPHRASE, undefined, 'key file copy lost');
    expect(s.audit.verify()).toMatchObject({ ok: true });
    const by = (action: string) => s.audit.list({ action: action as never, limit: 1 })[0]!;
    expect(by('issuer.retire')).toMatchObject({ actor: 'alice@host', reason: 'superseded by generation 2' });
    expect(by('issuer.destroy')).toMatchObject({ actor: 'alice@host', reason: 'no device holds its wrapdata any more' });
    expect(by('store.rekey')).toMatchObject({ actor: 'alice@host', reason: 'key file copy lost' });
    expect(by('store.create')).toMatchObject({ actor: 'alice@host', reason: null });
  });

  it('is recorded by restore, with the restorer as actor', async () => {
    const dir = tempDir();
    const s = services(dir, 'bob@ops');
    await s.store.create(PASSPHRASE);
    const backup = join(tempDir(), 'backup.kbk');
    await s.store.backup(backup);
    await s.store.restore(backup, PASSPHRASE, { reason: 'rolled back a mistaken import' });
    await s.store.unlock(PASSPHRASE);
    expect(s.audit.list({ action: 'store.restore', limit: 1 })[0]).toMatchObject({ actor: 'bob@ops', reason: 'rolled back a mistaken import' });
    expect(s.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('the operator name given at the app\'s unlock', () => {
  it('takes 1 to 64 printable characters (trimmed), and refuses the passphrase itself', () => {
    expect(checkOperatorName('  Alice Martin  ', PASSPHRASE)).toBe('Alice Martin');
    for (const bad of ['', '   ', 'x'.repeat(65), 'alice\nroot', 'a\u0000', PASSPHRASE, '000102030405060708090a0b0c0d0e0f', 7]) {
      expect(codeOf(() => checkOperatorName(bad, PASSPHRASE))).toBe('OPERATOR_NAME_INVALID');
    }
  });

  it('names the session\'s records, and is forgotten at lock; a bad name is refused before the passphrase is tried, changing no byte', async () => {
    const dir = tempDir();
    const s = services(dir);
    await s.store.create(PASSPHRASE, undefined, 'Alice');
    s.devices.provision({ identity: 'ESN-A', keys: { kind: 'generate' } });
    s.store.lock();
    const before = storeHashes(dir);
    expect(await asyncCodeOf(() => s.store.unlock(PASSPHRASE, PASSPHRASE))).toBe('OPERATOR_NAME_INVALID');
    expect(await asyncCodeOf(() => s.store.unlock('wrong passphrase', ''))).toBe('OPERATOR_NAME_INVALID');
    expect(storeHashes(dir)).toEqual(before);
    expect(s.store.status().unlocked).toBe(false);
    await s.store.unlock(PASSPHRASE, 'Bob');
    s.devices.revoke('ESN-A', 'test unit');
    const entries = s.audit.list({ limit: 50 }).reverse();
    expect(entries.slice(-4).map((e) => [e.action, e.actor])).toEqual([
      ['store.create', 'Alice'], ['device.provision', 'Alice'], ['store.unlock', 'Bob'], ['device.revoke', 'Bob'],
    ]);
    expect(entries.every((e) => e.actor === 'Alice' || e.actor === 'Bob')).toBe(true);
    expect(s.audit.list({ actor: 'Bob', limit: 10 }).map((e) => e.action)).toEqual(['device.revoke', 'store.unlock']);
    expect(s.audit.verify()).toMatchObject({ ok: true });
  });

  it('from the unlock screen, a restore names the operator typed there; a session\'s name ends with its lock', async () => {
    const dir = tempDir();
    const s = services(dir);
    await s.store.create(PASSPHRASE, undefined, 'Alice');
    const backup = join(tempDir(), 'backup.kbk');
    await s.store.backup(backup);
    s.store.lock();
    expect(s.store.status().actor).toBeUndefined();
    expect(await asyncCodeOf(() => s.store.restore(backup, PASSPHRASE, { operator: PASSPHRASE }))).toBe('OPERATOR_NAME_INVALID');
    await s.store.restore(backup, PASSPHRASE, { reason: 'the disk failed', operator: 'Dana' });
    await s.store.unlock(PASSPHRASE, 'Erin');
    expect(s.store.status().actor).toBe('Erin');
    expect(s.audit.list({ action: 'store.restore', limit: 1 })[0]).toMatchObject({ actor: 'Dana', reason: 'the disk failed' });
  });

  it('reaches the signed audit export', async () => {
    const dir = tempDir();
    const s = services(dir);
    await s.store.create(PASSPHRASE, undefined, 'Alice');
    const { jws } = await s.audit.exportSigned();
    const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as { entries: Array<{ action: string; actor: string | null }> };
    expect(payload.entries.find((e) => e.action === 'store.create')).toMatchObject({ actor: 'Alice' });
  });

  it('audit list refuses an empty or overlong actor filter', async () => {
    const dir = tempDir();
    const s = services(dir);
    await s.store.create(PASSPHRASE);
    expect(codeOf(() => s.audit.list({ actor: '' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.audit.list({ actor: 'x'.repeat(201) }))).toBe('INVALID_ARGUMENT');
  });
});
