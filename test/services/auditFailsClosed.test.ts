// The audit log fails closed (issue 11, item 4): when its records cannot be
// written (a full disk), exchanges get AUDIT_UNAVAILABLE and nothing is
// answered; the refusals are counted in one aggregate record instead of
// growing the buffer; and the responder recovers by itself when space returns.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fillDisk, freeDisk } from '../support/fullDisk.js';
import { openTestServices, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  vi.useRealTimers();
  if (t) freeDiskQuietly(t);
  t?.cleanup();
  t = undefined;
});
const freeDiskQuietly = (s: TestServices) => {
  try {
    freeDisk(s.services);
  } catch {
    // locked already
  }
};

const psk = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
const error = (json: string) => (JSON.parse(json) as { error: { code: string; message: string } }).error;

async function setup(batch: boolean): Promise<TestServices> {
  t = await openTestServices({ batch });
  // Enough devices that the audit rows below need new pages.
  for (let i = 0; i < 20; i++) t.services.devices.provision({ identity: `ESN-FULL-${i}`, keys: { kind: 'generate' } });
  t.services.exchanges.flush();
  return t;
}

describe('a full disk', () => {
  it('batched (serve, the app): after the first batch that cannot be written, nothing is answered; the buffer stays bounded; it recovers by itself', async () => {
    const { services: s } = await setup(true);
    const audited = () => s.audit.list({ action: 'exchange', limit: 1000 }).length;
    const before = audited();
    fillDisk(s);
    vi.useFakeTimers();
    // Answered and buffered, each batch attempted 20 ms later, until one needs a page the disk does not have.
    let answered = 0;
    while (s.exchanges.pendingRecords().audit === 0 && answered < 5000) {
      expect(s.exchanges.respond(psk(`ESN-FULL-${answered % 20}`)).ok).toBe(true);
      answered += 1;
      await vi.advanceTimersByTimeAsync(25);
    }
    expect(s.exchanges.pendingRecords().audit).toBe(1);
    // That write failed: from now on, every exchange is refused, answered or not.
    const refused = Array.from({ length: 3000 }, (_, i) => s.exchanges.respond(psk(`ESN-FULL-${i % 20}`)));
    expect(refused.filter((r) => r.ok || r.code !== 'AUDIT_UNAVAILABLE').length).toBe(0);
    expect(refused.every((r) => !r.ok && r.code === 'AUDIT_UNAVAILABLE')).toBe(true);
    expect(error(refused[0]!.json).message).toMatch(/audit log cannot be written \(DISK_FULL since/);
    // 3,000 refusals, and the buffer still holds the one answered exchange only.
    expect(s.exchanges.pendingRecords().audit).toBe(1);
    // Space returns: the next retry (within a second) writes the answered exchange and one aggregate.
    freeDisk(s);
    await vi.advanceTimersByTimeAsync(1100);
    vi.useRealTimers();
    expect(s.exchanges.pendingRecords().audit).toBe(0);
    expect(s.exchanges.respond(psk('ESN-FULL-1')).ok).toBe(true);
    s.exchanges.flush();
    expect(audited()).toBe(before + answered + 2);
    const aggregate = s.audit.list({ action: 'exchange', outcome: 'refused', limit: 1 })[0]!;
    expect(aggregate.details).toMatchObject({ code: 'AUDIT_UNAVAILABLE', reason: 'AUDIT_UNAVAILABLE', count: 3000 });
    expect(s.audit.verify()).toMatchObject({ ok: true });
  });

  it('unbatched (keyladder respond): the exchange whose record cannot be written is not answered', async () => {
    const { services: s } = await setup(false);
    const before = s.audit.list({ action: 'exchange', limit: 10_000 }).length;
    fillDisk(s);
    // Some records still fit the free space of a page; go on until one needs a new page.
    let answered = 0;
    let out = s.exchanges.respond(psk('ESN-FULL-0'));
    for (; out.ok && answered < 5000; answered++) out = s.exchanges.respond(psk(`ESN-FULL-${answered % 20}`));
    const audited = before + answered;
    expect(out.ok).toBe(false);
    expect(out.code).toBe('AUDIT_UNAVAILABLE');
    expect(out.json).not.toContain('keyresponsedata');
    freeDisk(s);
    // It recovers at once: the next exchange is answered, and its record goes with the aggregate
    // of the refused one. No record says the unanswered exchange was answered.
    expect(s.exchanges.respond(psk('ESN-FULL-1')).ok).toBe(true);
    const after = s.audit.list({ action: 'exchange', limit: 10_000 });
    expect(after.length).toBe(audited + 2);
    expect(after.slice(0, 2).map((e) => [e.outcome, e.details['code'] ?? null, e.details['count'] ?? null]).sort()).toEqual([['ok', null, null], ['refused', 'AUDIT_UNAVAILABLE', 1]]);
    expect(s.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('over HTTP', () => {
  it('AUDIT_UNAVAILABLE is 503 with Retry-After, and the body says why', async () => {
    const { ResponderServer } = await import('../../electron/server/httpResponder.js');
    const { services: s } = await setup(true);
    const server = new ResponderServer({ exchanges: s.exchanges, port: 0 });
    const url = await server.listen();
    try {
      fillDisk(s);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      for (let i = 0; s.exchanges.pendingRecords().audit === 0 && i < 5000; i++) {
        s.exchanges.respond(psk(`ESN-FULL-${i % 20}`));
        await vi.advanceTimersByTimeAsync(25);
      }
      vi.useRealTimers();
      const res = await fetch(`${url}/v1/keyx`, { method: 'POST', body: psk('ESN-FULL-3'), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUDIT_UNAVAILABLE');
    } finally {
      freeDisk(s);
      await server.close();
    }
  });
});
