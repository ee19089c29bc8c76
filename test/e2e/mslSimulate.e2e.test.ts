// End to end, issue 21 item 2: the Test exchange screen's third mode,
// "Simulated MSL device", in headless Chromium through the real IPC wrapper
// and services (harness.ts). A PSK device runs the six steps, every KCV
// matching; a revoked device gets ENTITY_REVOKED with its advice; a device of
// a model group runs them by MGK. No key byte crosses to the renderer.
//
// KEYLADDER_UPDATE_DOCS=1 also writes the diagram to
// docs/screenshots/msl-simulate.png (the README's picture).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { announceSkip, chromiumMissing, SCREENSHOTS, SKIP_MESSAGE, startHarness, type Harness } from './harness.js';
import { skipsHere } from '../support/skips.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSPHRASE = 'correct horse battery staple';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Every key this test hands the store; none may come back in any reply or event. */
const known: Buffer[] = [];
const keep = (h: string) => (known.push(Buffer.from(h, 'hex')), h);
const pskDevice = { identity: 'ESN-MSL-0001', kpe: keep(hex(16)), kph: keep(hex(32)) };
const revokedDevice = { identity: 'ESN-MSL-REVOKED', kpe: keep(hex(16)), kph: keep(hex(32)) };
const group = { name: 'MODEL-MSL', kde: keep(hex(16)), kdh: keep(hex(32)) };
const mgkDevice = { identity: 'ESN-MSL-MGK-01', kpe: keep(hex(16)), kph: keep(hex(32)) };
for (const d of [pskDevice, revokedDevice, mgkDevice]) known.push(deriveWrappingKey(Buffer.from(d.kpe, 'hex'), Buffer.from(d.kph, 'hex')));
known.push(deriveWrappingKey(Buffer.from(group.kde, 'hex'), Buffer.from(group.kdh, 'hex')));

const d = describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE));
if (chromiumMissing) describe('e2e', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

d('Test exchange → Simulated MSL device, in Chromium', () => {
  let h: Harness;
  const visible = (l: Locator, timeout = 20_000) => l.first().waitFor({ state: 'visible', timeout });
  const text = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ');

  async function run(identity: string, mechanism: 'PSK' | 'MGK') {
    const before = h.replies.filter((r) => r.channel === 'exchanges.simulateMsl').length;
    await h.page.getByLabel('Device identity').fill(identity);
    await h.page.getByLabel(mechanism === 'PSK' ? 'PSK (the device’s Kpe/Kph)' : 'MGK (its model group’s Kde/Kdh)').check();
    await h.page.getByRole('button', { name: 'Run MSL exchange' }).click();
    await expect.poll(() => h.replies.filter((r) => r.channel === 'exchanges.simulateMsl').length, { timeout: 20_000 }).toBe(before + 1);
    await visible(h.page.locator('[data-msl-summary]', { hasText: identity }));
    await visible(h.page.locator('figure.msl'));
  }

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'msl-simulate', kdfLogN: 17 });
    h.page.setDefaultTimeout(15_000);
    await h.services.store.create(PASSPHRASE);
    const s = h.services;
    s.devices.provision({ identity: pskDevice.identity, keys: { kind: 'kpe-kph', kpe: pskDevice.kpe, kph: pskDevice.kph } });
    s.devices.provision({ identity: revokedDevice.identity, keys: { kind: 'kpe-kph', kpe: revokedDevice.kpe, kph: revokedDevice.kph } });
    s.devices.revoke(revokedDevice.identity);
    s.groups.add(group.name, { kind: 'kde-kdh', kde: group.kde, kdh: group.kdh });
    s.devices.provision({ identity: mgkDevice.identity, group: group.name, keys: { kind: 'kpe-kph', kpe: mgkDevice.kpe, kph: mgkDevice.kph } });
    await h.page.goto(`${h.origin}/index.html`);
    await h.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Test exchange', exact: true }).click();
    await visible(h.page.getByRole('heading', { name: 'Test exchange' }));
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  it('is a third mode beside "Simulate a device" and "Answer a device\'s request"', async () => {
    const tabs = await h.page.getByRole('tab').allTextContents();
    expect(tabs.slice(0, 3)).toEqual(['Simulate a device', 'Simulated MSL device', 'Answer a device’s request']);
    await h.page.getByRole('tab', { name: 'Simulated MSL device' }).click();
    await visible(h.page.getByRole('button', { name: 'Run MSL exchange' }));
    await h.screenshot('mode');
  });

  it('runs the six steps for a PSK device: each message with its keys and header, the tokens issued, every KCV matching, every payload echoed', async () => {
    await run(pskDevice.identity, 'PSK');
    expect(await text(h.page.locator('[data-msl-summary]'))).toMatch(/6 of 6 MSL steps for ESN-MSL-0001: every KCV matches on both sides and every payload came back as sent, in \d+\.\d ms in all\./);
    const steps = h.page.locator('figure.msl [data-msl-step]');
    expect(await steps.count()).toBe(6);
    expect(await h.page.locator('figure.msl [data-msl-step][data-ok="true"]').count()).toBe(6);
    // The keys that protected each message, named: Kpe/Kph, the server's RSA key by key id, the session keys of token n.
    const keyId = h.services.msl.keys.identity().keyId;
    const first = await text(steps.nth(0));
    expect(first).toContain('first contact (PSK)');
    const kcv = h.services.devices.get(pskDevice.identity)!.kcv;
    expect(first).toContain(`Kpe/Kph · KCVs ${kcv.kpe}/${kcv.kph}`);
    expect(first).toContain(`server RSA key ${keyId}`);
    expect(first).toMatch(/msg id \d+ · renewable · key request PSK · offers GZIP, LZW, en-US, JSON/);
    expect(first).toMatch(/Master token issued: serial \d+, sequence 0 ?renewal window \S+ · expires \S+/);
    expect(first).toMatch(/payload under the new session keys of token \d+ \(sequence 0\)/);
    expect(await text(steps.nth(1))).toMatch(/session keys of token \d+ \(sequence 0\)/);
    expect(await text(steps.nth(3))).toMatch(/renewal by WRAP 1.*key request WRAP/);
    expect(await text(steps.nth(4))).toMatch(/handshake only.*renewable · handshake · key request WRAP.*no payload either way/);
    expect(await text(steps.nth(5))).toMatch(/non-replayable data.*non-replayable id 1.*✓ payload echoed: “step 6, non-replayable data: [0-9a-f]{12}”/);
    // Kwrap, Kenc and Khmac on both sides of the four key exchanges: 12 matches, no mismatch.
    expect(await h.page.locator('figure.msl text.tick', { hasText: '✓ match' }).count()).toBe(12);
    expect(await h.page.locator('figure.msl text.cross').count()).toBe(0);
    expect(await h.page.locator('tr[data-msl-row] .badge.ok').count()).toBe(6);
    await h.screenshot('psk-all-steps');
    await h.page.locator('figure.msl').scrollIntoViewIfNeeded();
    await h.screenshot('psk-diagram');
    // The whole diagram, all six steps, as one picture.
    await h.page.setViewportSize({ width: 1280, height: 2400 });
    await h.page.locator('figure.msl').screenshot({ path: path.join(SCREENSHOTS, 'msl-simulate-psk-diagram-whole.png') });
    await h.page.setViewportSize({ width: 1280, height: 820 });
    if (process.env['KEYLADDER_UPDATE_DOCS'] === '1') {
      mkdirSync(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
      // The first three steps (first contact, data, renewal): every kind of arrow and box, in a small file.
      await h.page.setViewportSize({ width: 1280, height: 1400 });
      await h.page.locator('figure.msl').scrollIntoViewIfNeeded();
      const figure = (await h.page.locator('figure.msl').boundingBox())!;
      const fourth = (await h.page.locator('figure.msl [data-msl-step="4"]').boundingBox())!;
      await h.page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'msl-simulate.png'), clip: { x: figure.x, y: figure.y, width: figure.width, height: fourth.y - figure.y - 4 } });
      await h.page.setViewportSize({ width: 1280, height: 820 });
    }
  });

  it('is a test: audited as exchange.test, the device\'s exchange count and last exchange untouched', () => {
    h.services.exchanges.flush();
    expect(h.services.devices.get(pskDevice.identity)).toMatchObject({ exchangeCount: 0, lastExchangeAt: null });
    const tests = h.services.audit.list({ action: 'exchange.test', subject: pskDevice.identity, limit: 100 });
    expect(tests).toHaveLength(6);
    expect(tests.every((r) => r.details['msl'] === true)).toBe(true);
    expect(h.services.audit.list({ action: 'msl', limit: 100 })).toEqual([]);
  });

  it('a revoked device: the first contact gets ENTITY_REVOKED, shown with its internal code and advice, and nothing after it runs', async () => {
    await run(revokedDevice.identity, 'PSK');
    expect(await text(h.page.locator('[data-msl-summary]'))).toContain('1 of 6 MSL steps for ESN-MSL-REVOKED: step 1 failed');
    const alert = await text(h.page.locator('[data-msl-error]'));
    expect(alert).toContain('ENTITY_REVOKED');
    expect(alert).toContain('Internal code 104025, response code FAIL');
    expect(alert).toContain('What to do: The device is revoked; it can no longer exchange keys.');
    expect(await h.page.locator('figure.msl [data-msl-step]').count()).toBe(1);
    expect(await text(h.page.locator('figure.msl [data-msl-step="1"]'))).toContain('error header: ENTITY_REVOKED');
    expect(await text(h.page.locator('figure.msl figcaption'))).toContain('Stopped at step 1 of 6: ENTITY_REVOKED');
    await h.screenshot('revoked-refused');
  });

  it('a device of a model group, by MGK: its messages under Kde/Kdh, every step holding', async () => {
    await run(mgkDevice.identity, 'MGK');
    expect(await text(h.page.locator('[data-msl-summary]'))).toContain('6 of 6 MSL steps for ESN-MSL-MGK-01: every KCV matches');
    const first = await text(h.page.locator('figure.msl [data-msl-step="1"]'));
    expect(first).toContain('first contact (MGK)');
    expect(first).toContain('Kde/Kdh');
    expect(await text(h.page.locator('figure.msl [data-msl-step="3"]'))).toContain('renewal by MGK');
    expect(await h.page.locator('figure.msl text.cross').count()).toBe(0);
    await h.screenshot('mgk-all-steps');
  });

  it('an identity the store does not hold: DEVICE_NOT_FOUND with its advice, no diagram', async () => {
    await h.page.getByLabel('Device identity').fill('ESN-NOT-HERE');
    await h.page.getByRole('button', { name: 'Run MSL exchange' }).click();
    const alert = h.page.getByRole('alert').filter({ hasText: 'The MSL exchange did not run' });
    await visible(alert);
    expect(await text(alert)).toMatch(/DEVICE_NOT_FOUND/);
    expect(await text(alert)).toContain('Check the identity, or provision the device first.');
    await h.screenshot('unknown-device');
  });

  it('sends no key bytes to the renderer: no known key in any reply or event, and nothing key-sized in the MSL replies', () => {
    const msl = h.replies.filter((r) => r.channel === 'exchanges.simulateMsl');
    expect(msl.length).toBe(4);
    const haystack = JSON.stringify({ replies: h.replies.map((r) => r.reply), events: h.events });
    const spellings = (k: Buffer) => {
      const b64 = k.toString('base64');
      return [k.toString('hex'), k.toString('hex').toUpperCase(), b64, b64.replace(/=+$/, ''), k.toString('base64url')];
    };
    for (const key of known) {
      for (const spelling of spellings(key)) expect(haystack.includes(spelling), `key spelled ${spelling.slice(0, 6)}… found in a reply`).toBe(false);
    }
    // Session keys, Kwrap and wrapdata never cross either: the MSL replies hold only KCVs (6 hex digits) and names.
    expect(JSON.stringify(msl.map((r) => r.reply))).not.toMatch(/[0-9a-fA-F]{32}/);
    expect(JSON.stringify(msl.map((r) => r.reply))).not.toMatch(/wrapdata"|"kenc":"[0-9A-F]{7,}/);
  });

  it('raised no console error, page error or CSP violation', () => {
    expect(h.problems).toEqual([]);
  });
});
