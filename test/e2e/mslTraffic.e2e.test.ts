// End to end, the Responder screen's MSL side (issue 21 item 1) and the
// Overview's and Devices' MSL facts (item 5): the built renderer in headless
// Chromium against the real services, the harness's real responder answering
// real POST /msl messages that KeyLadder's own MSL client sends. Screenshots
// of each state: the empty list, the live list, a refused message, a row's
// decoded header.
import { createPublicKey, randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { MslClient } from '../../electron/msl/client.js';
import { announceSkip, chromiumMissing, SKIP_MESSAGE, startHarness, type Harness } from './harness.js';
import { skipsHere } from '../support/skips.js';

process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
const PASSPHRASE = 'correct horse battery staple';
const IDENTITY = 'ESN-MSL-E2E-1';
const kpe = randomBytes(16);
const kph = randomBytes(32);
const known = [kpe, kph, deriveWrappingKey(kpe, kph)];

const d = describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE));
if (chromiumMissing) describe('e2e msl traffic', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

d('the Responder screen lists the MSL messages the app answers', () => {
  let h: Harness;
  const nav = (name: string) => h.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const visible = (l: Locator, timeout = 20_000) => l.first().waitFor({ state: 'visible', timeout });
  let device: MslClient;

  async function post(client: MslClient, body: Uint8Array) {
    const res = await fetch(`${h.responder.status().address}/msl`, { method: 'POST', body: Buffer.from(body) });
    expect(res.status).toBe(200);
    return client.accept(new Uint8Array(await res.arrayBuffer()));
  }

  const client = (identity: string) => {
    const server = h.services.msl.keys.identity();
    return MslClient.create({ identity, longTerm: { mechanism: 'PSK', encryptionKey: kpe, hmacKey: kph }, trustedServerKeys: new Map([[server.keyId, createPublicKey(server.pem)]]) });
  };

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'msltraffic', kdfLogN: 10 });
    h.page.setDefaultTimeout(10_000);
    await h.page.goto(`${h.origin}/index.html`);
    await visible(h.page.getByRole('heading', { name: 'Create the KeyLadder store' }));
    // The operator's name, asked at create (issue 22): the actor of the session's audit entries.
    await h.page.getByLabel('Your name').fill('E2E Operator');
    await h.page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await h.page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Create store' }).click();
    await visible(h.page.getByRole('heading', { name: 'Overview' }));
    h.services.devices.provision({ identity: IDENTITY, keys: { kind: 'kpe-kph', kpe: kpe.toString('hex'), kph: kph.toString('hex') } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('shows an empty list, then the /msl address beside /v1/keyx with its copy button', async () => {
    await nav('Responder');
    await visible(h.page.locator('[data-responder-state="stopped"]'));
    await visible(h.page.locator('[data-msl-empty]'));
    await h.screenshot('empty-list');
    await h.page.getByLabel('Port').fill('0');
    await h.page.getByRole('button', { name: 'Start responder' }).click();
    await visible(h.page.locator('[data-responder-state="listening"]'));
    const msl = (await h.page.locator('[data-responder-msl-address]').textContent()) ?? '';
    expect(msl).toBe(`${h.responder.status().address}/msl`);
    expect(await h.page.locator('[data-responder-address]').textContent()).toBe(`${h.responder.status().address}/v1/keyx`);
    await h.page.getByRole('button', { name: 'Copy MSL address' }).click();
    expect(await h.page.evaluate(() => navigator.clipboard.readText())).toBe(msl);
  });

  it('lists real POST /msl messages live, newest first: first contact, a data message, a handshake', async () => {
    device = await client(IDENTITY);
    expect((await post(device, device.request({ payload: Buffer.from('first contact') }))).renewed).toBe(true);
    await post(device, device.request({ payload: Buffer.from('data under the master token'), renew: false }));
    await post(device, device.request({ handshake: true, renew: false }));
    const rows = h.page.locator('[data-msl-row]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-kind')))).toEqual(['handshake', 'data', 'key-exchange']);
    const first = h.page.locator('[data-kind="key-exchange"]');
    expect(await first.textContent()).toContain(IDENTITY);
    expect(await first.textContent()).toContain('JWE_LADDER PSK');
    expect(await first.textContent()).toMatch(/13 \/ 13/);
    const serial = h.responder.mslMessages().rows.at(-1)!.issued!.serial;
    expect(await h.page.locator('[data-kind="data"]').textContent()).toContain(`master token ${serial} / seq 0`);
    // The handshake carried a key request the responder did not answer (the token's renewal window is not open).
    expect(await h.page.locator('[data-kind="handshake"]').textContent()).toContain('JWE_LADDER WRAP, not answered · handshake');
    // The charts count them by kind.
    await expect.poll(() => h.page.locator('[data-kind-count="mslKeyExchange"]').textContent()).toBe('1');
    expect(await h.page.locator('[data-kind-count="mslData"]').textContent()).toBe('1');
    expect(await h.page.locator('[data-kind-count="mslHandshake"]').textContent()).toBe('1');
    expect(await h.page.locator('[data-kind-count="ladder"]').textContent()).toBe('0');
    await h.page.locator('[data-msl-traffic]').scrollIntoViewIfNeeded();
    await h.screenshot('live-list');
  });

  it('shows a refused message with its MSL error name and internal code', async () => {
    const stranger = await client('ESN-NOT-PROVISIONED');
    expect((await post(stranger, stranger.request({ payload: Buffer.from('hello?') }))).error).toMatchObject({ internalCode: 104005 });
    const refused = h.page.locator('[data-kind="refused"]');
    await visible(refused);
    expect(await refused.textContent()).toContain('ESN-NOT-PROVISIONED');
    expect(await refused.locator('[data-msl-error]').textContent()).toBe('ENTITY_NOT_FOUND');
    expect(await refused.textContent()).toContain('(104005)');
    await expect.poll(() => h.page.locator('[data-kind-count="mslRefused"]').textContent()).toBe('1');
    await h.page.locator('[data-msl-traffic]').scrollIntoViewIfNeeded();
    await h.screenshot('refused');
  });

  it('opens a row\'s decoded header: who sent it, the signature checked with the store\'s keys, the payload as its length until asked', async () => {
    await h.page.locator('[data-kind="key-exchange"] button').click();
    const dialog = h.page.getByRole('dialog');
    await visible(dialog.locator('[data-msl-inspection] [data-msl-message]'));
    expect(await dialog.locator('[data-msl-message]').getAttribute('data-signature')).toBe('valid');
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain(IDENTITY);
    expect(text).toMatch(/JWE_LADDER/);
    expect(text).not.toContain('first contact');
    await h.screenshot('row-detail');
    // The payload, on request: it is text without key members, so main sends it.
    await dialog.locator('[data-msl-show-payload]').click();
    await expect.poll(() => dialog.locator('[data-msl-payload-text]').textContent()).toBe('first contact');
    await h.screenshot('row-detail-payload');
    await h.page.keyboard.press('Escape');
  });

  it('counts the MSL messages and their refusals by MSL error on the Overview', async () => {
    await nav('Overview');
    const card = h.page.locator('[data-overview="msl"]');
    await visible(card);
    expect(await card.locator('[data-msl-messages]').textContent()).toBe('4');
    expect(await card.locator('[data-msl-refused]').textContent()).toBe('1');
    expect(await card.locator('[data-msl-refusal="ENTITY_NOT_FOUND"]').textContent()).toMatch(/ENTITY_NOT_FOUND\s*1/);
    await h.screenshot('overview');
  });

  it('shows a device\'s last master token and last MSL message in its detail', async () => {
    await nav('Devices');
    await h.page.getByLabel('Search by identity prefix').fill(IDENTITY);
    await h.page.locator(`[data-device-row="${IDENTITY}"]`).click();
    const token = h.responder.mslMessages().rows.find((r) => r.issued)!.issued!;
    await expect.poll(() => h.page.locator('[data-device-msl-token]').textContent()).toMatch(new RegExp(`serial ${token.serial}, sequence 0, expires`));
    expect(await h.page.locator('[data-device-msl-message]').textContent()).toMatch(/answered$/);
    await h.screenshot('device-detail');
  });

  it('forgets the list when the store locks: after the unlock it starts again, empty', async () => {
    await h.page.getByRole('button', { name: 'Lock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Unlock KeyLadder' }));
    expect(h.responder.mslMessages()).toMatchObject({ rows: [], held: 0 });
    await h.page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    await h.page.getByRole('heading', { name: 'Unlock KeyLadder' }).waitFor({ state: 'hidden', timeout: 20_000 });
    await nav('Responder');
    await visible(h.page.locator('[data-msl-empty]'));
    expect(await h.page.locator('[data-msl-row]').count()).toBe(0);
  });

  it('sends no key bytes to the renderer through the MSL channels (KCVs and thumbprints only)', () => {
    const mine = h.replies.filter((r) => r.channel === 'responder.mslMessages' || r.channel === 'responder.mslMessage' || r.channel === 'responder.metrics');
    expect(mine.some((r) => r.channel === 'responder.mslMessage')).toBe(true);
    const haystack = JSON.stringify({ replies: h.replies.map((r) => r.reply), events: h.events, responderLog: h.responderLog });
    for (const key of known) {
      for (const spelling of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64').replace(/=+$/, ''), key.toString('base64url')]) {
        expect(haystack.includes(spelling), `key spelled ${spelling.slice(0, 6)}… found in a reply`).toBe(false);
      }
    }
    // Payloads cross only in the one detail the operator asked to see it in.
    const withPayload = h.replies.filter((r) => JSON.stringify(r.reply).includes('first contact'));
    expect(withPayload.map((r) => [r.channel, r.request])).toEqual([['responder.mslMessage', { id: 1, showPayload: true }]]);
    expect(haystack).not.toContain('data under the master token');
  });
});
