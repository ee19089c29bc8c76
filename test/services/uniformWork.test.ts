// serve --uniform-refusals (issue 19, item 5; issue 23): a WRAP decoy must cost
// what its answer costs, so it must do the same work. Timing is measured in
// test/server/uniformRefusals.test.ts; this checks the cause where it is exact:
// the SQL statements each respond() runs, in order, the sealed records it
// opens and the key unwraps it makes (one that opens, one that fails).
// SQLite 3.53 (the addon's 13.0.3) made the three wrapdata registry reads an
// answer made and a decoy skipped cost about 10 us: 1.10x over 1.08.
import Database from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordSealer } from '../../db/sealing.js';
import { keyWrap } from '../../electron/jwe/aesKeyWrap.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  t?.cleanup();
  t = undefined;
});

const uniform = { client: '127.0.0.1', uniform: true } as const;
const keyx = (identity: string, mechanism: string, wrapdata?: string) =>
  JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism, ...(wrapdata === undefined ? {} : { wrapdata }) } } });
const wrapdataOf = (json: string): string => (JSON.parse(json) as { keyresponsedata: { keydata: { wrapdata: string } } }).keyresponsedata.keydata.wrapdata;

interface Work { readonly sql: string[]; readonly crypto: string[] }

/** Records, while `run` runs, every statement executed (its SQL), every sealed record opened and every key unwrap. */
function workOf(run: () => void): Work {
  const sql: string[] = [];
  const crypto: string[] = [];
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'get' | 'all' | 'run' | 'iterate', (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['get', 'all', 'run', 'iterate'] as const) {
    const original = statement[method];
    vi.spyOn(statement, method).mockImplementation(function (this: { source: string }, ...args: unknown[]) {
      sql.push(this.source.replace(/\s+/g, ' '));
      return original.apply(this, args);
    });
  }
  for (const method of ['unseal', 'unsealRemembered'] as const) {
    const original = RecordSealer.prototype[method];
    vi.spyOn(RecordSealer.prototype, method).mockImplementation(function (this: RecordSealer, ...args: Parameters<RecordSealer['unseal']>) {
      crypto.push(method);
      return original.apply(this, args);
    });
  }
  const unwrap = keyWrap.unwrap;
  vi.spyOn(keyWrap, 'unwrap').mockImplementation((...args: Parameters<typeof unwrap>) => {
    const out = unwrap.apply(keyWrap, args);
    crypto.push(out === undefined ? 'unwrap fails' : 'unwrap opens');
    return out;
  });
  try {
    run();
  } finally {
    vi.restoreAllMocks();
  }
  // The unwraps come in another order (an answer's opens first, a decoy's fails first): compared as a set of steps.
  return { sql, crypto: crypto.sort() };
}

describe('a WRAP decoy does the work of its answer', () => {
  it('the same statements in the same order, the same sealed records opened, one unwrap that opens and one that fails', async () => {
    t = await openTestServices({ batch: true });
    const s = t.services;
    s.groups.add('MODEL-W', { kind: 'generate' });
    for (const identity of ['ESN-W-ACTIVE', 'ESN-W-REVOKED']) s.devices.provision({ identity, group: 'MODEL-W', keys: { kind: 'generate' } });
    // The revoked device's own wrapdata (it opens; the revocation refuses it) is issued before it is revoked.
    const revokedOwn = wrapdataOf(s.exchanges.respond(keyx('ESN-W-REVOKED', 'PSK'), 'msl', uniform).json);
    s.devices.revoke('ESN-W-REVOKED');
    const wrapdata = (identity: string) => wrapdataOf(s.exchanges.respond(keyx(identity, 'PSK'), 'msl', uniform).json);
    const roots = { active: wrapdata('ESN-W-ACTIVE'), unknown: wrapdata('ESN-W-UNKNOWN'), revoked: wrapdata('ESN-W-REVOKED') };
    // Written, as they are 20 ms after their answers: a device comes back later than that.
    s.exchanges.flush();
    const requests = {
      'active, its own wrapdata': keyx('ESN-W-ACTIVE', 'WRAP', roots.active),
      'unknown, its decoy wrapdata': keyx('ESN-W-UNKNOWN', 'WRAP', roots.unknown),
      'revoked, its decoy wrapdata': keyx('ESN-W-REVOKED', 'WRAP', roots.revoked),
      'revoked, its own wrapdata': keyx('ESN-W-REVOKED', 'WRAP', revokedOwn),
    };
    // The first answer and the second (a retry, then a replay) judge the same wrapdata: each verdict costs the same.
    const work = Object.entries(requests).flatMap(([name, body]) => [1, 2].map((n) => {
      let outcome: { ok: boolean; decoy?: boolean } | undefined;
      const done = workOf(() => (outcome = s.exchanges.respond(body, 'msl', uniform)));
      expect(outcome!.ok || outcome!.decoy === true, name).toBe(true);
      return [`${name} #${n}`, outcome!.ok, done] as const;
    }));
    const [, answered, reference] = work[0]!;
    expect(answered).toBe(true);
    // Not vacuous: an answer reads the registry (the wrapdata's owner, the device's history, the clone policy) and unwraps.
    expect(reference.sql.some((q) => q.includes('FROM wrapdata_issued WHERE tag'))).toBe(true);
    expect(reference.sql.some((q) => q.includes('FROM wrapdata_issued WHERE device_id'))).toBe(true);
    expect(reference.crypto).toEqual(['unsealRemembered', 'unsealRemembered', 'unwrap fails', 'unwrap opens']);
    expect(work.filter(([, ok]) => !ok)).toHaveLength(6);
    for (const [name, , done] of work) expect(done, name).toEqual(reference);
  });
});
