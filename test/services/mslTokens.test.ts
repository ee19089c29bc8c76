// The MSL server's token bookkeeping and settings (issue 20): serials, renewals
// and non-replayable ids as MSL's TokenFactory describes them, each decided and
// recorded in one statement, so that two processes on one store (serve's
// workers) never both accept the same id or renew the same token twice.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyLadderRuntime } from '../../electron/services/index.js';
import { checkMslTimes } from '../../electron/services/mslSettings.js';
import { NON_REPLAYABLE_WINDOW } from '../../electron/services/mslTokens.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, type TestServices } from '../support/services.js';
import { rawWrite, secondRuntime } from '../support/msl.js';
import { prepareBuild } from '../support/crashHarness.js';
import { childNodeArgs } from '../support/runtime.js';

const MAX = 2 ** 53;
let t: TestServices | undefined;
let other: KeyLadderRuntime | undefined;
afterEach(() => {
  other?.close();
  t?.cleanup();
  t = other = undefined;
});

async function otherHandle(test: TestServices): Promise<KeyLadderRuntime> {
  other = await secondRuntime(test);
  return other;
}

describe('MSL settings', () => {
  it('default to a renewal window of 3600 s and an expiration of 86400 s; a change is checked as a pair and audited', async () => {
    t = await openTestServices();
    const settings = t.services.msl.settings;
    expect(settings.get()).toEqual({ renewalWindow: 3600, expiration: 86_400 });
    expect(settings.set({ renewalWindow: 5, expiration: 120 })).toEqual({ renewalWindow: 5, expiration: 120 });
    expect(t.services.audit.list({ action: 'msl.settings' })[0]).toMatchObject({ details: { renewalWindow: 5, expiration: 120, previousRenewalWindow: 3600, previousExpiration: 86_400 } });
    const entries = t.services.audit.verify().entries;
    expect(() => settings.set({ renewalWindow: 121 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('at least the renewal window') }));
    expect(() => settings.set({ expiration: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => settings.set({ expiration: 365 * 86_400 + 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => settings.set({ renewalWindow: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(settings.set({ expiration: 120 })).toEqual({ renewalWindow: 5, expiration: 120 }); // no change, no record
    expect(t.services.audit.verify().entries).toBe(entries);
    expect(settings.get()).toEqual({ renewalWindow: 5, expiration: 120 });
    // serve's per-run overrides go through the same check.
    expect(checkMslTimes({ renewalWindow: 10, expiration: 10 })).toEqual({ renewalWindow: 10, expiration: 10 });
    expect(() => checkMslTimes({ renewalWindow: '10', expiration: 20 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // The master-token key grace follows the expiration.
    t.services.msl.keys.rotateTokenKeys();
    expect(t.services.msl.keys.tokenKeyGenerations()[1]!.graceUntil).toBe(new Date(t.clock.now.getTime() + 120_000).toISOString());
  });
});

describe('MSL master-token serials', () => {
  it('are random, below 2^53, start at sequence 0 and expire with the store\'s expiration', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serials = Array.from({ length: 50 }, () => tokens.allocateSerial('client1'));
    expect(new Set(serials).size).toBe(50);
    for (const s of serials) expect(Number.isSafeInteger(s) && s >= 0 && s < MAX).toBe(true);
    expect(serials.some((s) => s > 2 ** 40)).toBe(true);
    expect(tokens.serial(serials[0]!)).toMatchObject({ identity: 'client1', sequence: 0, previous_sequence: null, nonreplayable_id: null, expires_at: new Date(t.clock.now.getTime() + 86_400_000).toISOString() });
    expect(tokens.newestSequence(serials[0]!)).toBe(0);
    expect(tokens.newestSequence(12345)).toBeUndefined();
  });

  it('renew from the newest token, or from the one before while its renewals were lost fewer than 5 times; never across identities', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serial = tokens.allocateSerial('client1');
    expect(tokens.recordRenewal(serial, 'client1', 1)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(serial, 'client2', 0)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(12345, 'client1', 0)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(serial, 'client1', 0)).toEqual({ ok: true, sequence: 1 });
    expect(tokens.recordRenewal(serial, 'client1', 0)).toEqual({ ok: true, sequence: 2 }); // the response to the first was lost
    expect(tokens.serial(serial)).toMatchObject({ sequence: 2, previous_sequence: 0, renewed_at: t.clock.now.toISOString() });
    // Another process renewing the same token afterwards gets the next number, never the same one.
    const o = await otherHandle(t);
    expect(o.msl.tokens.recordRenewal(serial, 'client1', 2)).toEqual({ ok: true, sequence: 3 });
    expect(tokens.recordRenewal(serial, 'client1', 0)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(serial, 'client1', 2)).toEqual({ ok: true, sequence: 4 });
    for (let lost = 5; lost <= 7; lost++) expect(tokens.recordRenewal(serial, 'client1', 2)).toEqual({ ok: true, sequence: lost });
    // 7 issued from 2: five renewals lost, as many as MSL's server allows (max_skipped 5). As there,
    // the serial renews no more, not even from its newest token (whoever keeps renewing the old one
    // holds its session keys): the client authenticates its entity again, for a new serial.
    expect(tokens.recordRenewal(serial, 'client1', 2)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(serial, 'client1', 7)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(() => tokens.recordRenewal(serial, 'client1', MAX + 2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('wraps the sequence number from 2^53 to 0', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serial = tokens.allocateSerial('client1');
    // 2^53 renewals are not a test: the row is set as they would leave it.
    await rawWrite(t, 'UPDATE msl_tokens SET sequence = ? WHERE serial = ?', MAX, serial);
    expect(tokens.recordRenewal(serial, 'client1', MAX)).toEqual({ ok: true, sequence: 0 });
    expect(tokens.recordRenewal(serial, 'client1', 0)).toEqual({ ok: true, sequence: 1 });
  });

  it('forget serials expired more than 30 days ago when a new one is made', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const old = tokens.allocateSerial('client1');
    t.clock.advanceDays(31); // expired 30 days ago, to the millisecond: kept
    tokens.allocateSerial('client1');
    expect(tokens.serial(old)).toBeDefined();
    t.clock.advanceDays(1);
    tokens.allocateSerial('client1');
    expect(tokens.serial(old)).toBeUndefined();
    expect(tokens.acceptNonReplayableId(old, 'client1', 1)).toBe('MASTERTOKEN_UNTRUSTED');
  });

  it('adopt a serial with no row when the caller verified its token (adoptUnknown): at the token\'s sequence, then held to that row', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serial = tokens.drawSerial();
    expect(tokens.serial(serial)).toBeUndefined();
    expect(tokens.acceptNonReplayableId(serial, 'client1', 1, { adoptUnknown: true, sequence: 4 })).toBe('accepted');
    expect(tokens.serial(serial)).toMatchObject({ identity: 'client1', sequence: 4, nonreplayable_id: 1 });
    expect(tokens.acceptNonReplayableId(serial, 'client1', 1, { adoptUnknown: true, sequence: 4 })).toBe('MESSAGE_REPLAYED');
    // Known now: adoption changes nothing, so another identity or an older token is refused.
    expect(tokens.acceptNonReplayableId(serial, 'client2', 2, { adoptUnknown: true, sequence: 4 })).toBe('MASTERTOKEN_UNTRUSTED');
    expect(tokens.recordRenewal(serial, 'client1', 3, undefined, { adoptUnknown: true })).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
    expect(tokens.recordRenewal(serial, 'client1', 4, undefined, { adoptUnknown: true })).toEqual({ ok: true, sequence: 5 });
    // Without the flag (a caller that verified nothing), an unknown serial is still refused.
    expect(tokens.recordRenewal(tokens.drawSerial(), 'client1', 0)).toEqual({ ok: false, error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' });
  });
});

describe('MSL non-replayable ids', () => {
  it('accept an id 1 to 65536 past the largest accepted (0 before any); a replay or one a few behind is REPLAYED, further off is unrecoverable', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serial = tokens.allocateSerial('client1');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 0)).toBe('MESSAGE_REPLAYED');
    expect(tokens.acceptNonReplayableId(serial, 'client1', NON_REPLAYABLE_WINDOW + 1)).toBe('MESSAGE_REPLAYED_UNRECOVERABLE');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 1)).toBe('accepted');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 1)).toBe('MESSAGE_REPLAYED');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 10)).toBe('accepted');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 9)).toBe('MESSAGE_REPLAYED');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 5)).toBe('MESSAGE_REPLAYED');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 4)).toBe('MESSAGE_REPLAYED_UNRECOVERABLE');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 10 + NON_REPLAYABLE_WINDOW)).toBe('accepted');
    expect(tokens.serial(serial)!.nonreplayable_id).toBe(10 + NON_REPLAYABLE_WINDOW);
    expect(tokens.acceptNonReplayableId(serial, 'client2', 10 + NON_REPLAYABLE_WINDOW + 1)).toBe('MASTERTOKEN_UNTRUSTED');
    expect(tokens.acceptNonReplayableId(serial, 'client1', -1)).toBe('NONREPLAYABLE_ID_OUT_OF_RANGE');
    expect(tokens.acceptNonReplayableId(serial, 'client1', MAX + 2)).toBe('NONREPLAYABLE_ID_OUT_OF_RANGE');
    expect(tokens.acceptNonReplayableId(serial, 'client1', 1.5)).toBe('NONREPLAYABLE_ID_OUT_OF_RANGE');
    // A renewal keeps the serial, and so its ids.
    tokens.recordRenewal(serial, 'client1', 0);
    expect(tokens.acceptNonReplayableId(serial, 'client1', 10 + NON_REPLAYABLE_WINDOW)).toBe('MESSAGE_REPLAYED');
  });

  it('wrap from 2^53 to 0: past the top, 0 and the ids after it are ahead', async () => {
    t = await openTestServices();
    const tokens = t.services.msl.tokens;
    const serial = tokens.allocateSerial('client1');
    // Climbing to the top window by window would take 2^37 steps: the row is set as the climb would leave it.
    await rawWrite(t, 'UPDATE msl_tokens SET nonreplayable_id = ? WHERE serial = ?', MAX - 3, serial);
    const o = t.services;
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', MAX)).toBe('accepted');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', MAX - 1)).toBe('MESSAGE_REPLAYED');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', 0)).toBe('accepted');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', MAX)).toBe('MESSAGE_REPLAYED');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', NON_REPLAYABLE_WINDOW)).toBe('accepted');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', MAX - 10)).toBe('MESSAGE_REPLAYED_UNRECOVERABLE');
  });

  it('an id accepted through one store handle is REPLAYED through another (no copy kept per process)', async () => {
    t = await openTestServices();
    const serial = t.services.msl.tokens.allocateSerial('client1');
    const o = await otherHandle(t);
    expect(t.services.msl.tokens.acceptNonReplayableId(serial, 'client1', 1)).toBe('accepted');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', 1)).toBe('MESSAGE_REPLAYED');
    expect(o.msl.tokens.acceptNonReplayableId(serial, 'client1', 2)).toBe('accepted');
    expect(t.services.msl.tokens.acceptNonReplayableId(serial, 'client1', 2)).toBe('MESSAGE_REPLAYED');
  });
});

describe('two processes racing for the same non-replayable ids', () => {
  let build: ReturnType<typeof prepareBuild>;
  beforeAll(() => {
    build = prepareBuild();
  }, 120_000);
  afterAll(() => build.cleanup());

  it('accept each id exactly once between them', async () => {
    t = await openTestServices();
    const serial = t.services.msl.tokens.allocateSerial('client1');
    const start = join(t.dir, 'start');
    const count = 300;
    const racers = [0, 1].map(() => {
      const child = spawn(process.execPath, [...childNodeArgs(), join(__dirname, '..', 'support', 'mslTokenRacer.mjs'), JSON.stringify({ build: build.dir, store: t!.dir, passphrase: PASSPHRASE, kdfLogN: TEST_KDF_LOG_N, serial, identity: 'client1', count, start })], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      const ready = new Promise<void>((resolve) => { const check = () => (out.includes('ready\n') ? resolve() : setTimeout(check, 5)); check(); });
      const done = new Promise<number[]>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.split('\n')[1]!) as number[]) : reject(new Error(`racer exited ${code}`)))));
      return { ready, done };
    });
    await Promise.all(racers.map((r) => r.ready));
    writeFileSync(start, '');
    const [a, b] = await Promise.all(racers.map((r) => r.done));
    const both = [...a!, ...b!].sort((x, y) => x - y);
    expect(both).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(t.services.msl.tokens.serial(serial)!.nonreplayable_id).toBe(count);
  }, 120_000);
});
