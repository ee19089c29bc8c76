// End to end: the built renderer in headless Chromium, driven as an operator
// would, against the real services through the real IPC wrapper (see
// harness.ts). One store, one browser; the tests run in order and build on
// each other, as an operator's first session would.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../electron/ipc/contract.js';
import { createServices } from '../../electron/services/index.js';
import { decryptJose } from '../../electron/jose/open.js';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { acceptKeyResponse, importWrappingKey, LadderRequestor } from '../support/device.js';
import { joseVectors } from '../support/joseVectors.js';
import { announceSkip, APP_VERSION, chromiumMissing, EVENTS, madeDirs, SKIP_MESSAGE, startHarness, type Harness } from './harness.js';
import { skipsHere, skipWithReason } from '../support/skips.js';

const PASSPHRASE = 'correct horse battery staple';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Every key this test hands the app; none may come back in any reply. */
const known: Buffer[] = [];
const keep = (h: string) => (known.push(Buffer.from(h, 'hex')), h);

const kpeDevice = { identity: 'ESN-KPE-0001', kpe: keep(hex(16)), kph: keep(hex(32)) };
const kpwDevice = { identity: 'ESN-KPW-0001', kpw: keep(hex(16)) };
const groupKeys = { name: 'MODEL-X1', kde: keep(hex(16)), kdh: keep(hex(32)) };
const KISSUER = keep(hex(16));
known.push(deriveWrappingKey(Buffer.from(kpeDevice.kpe, 'hex'), Buffer.from(kpeDevice.kph, 'hex')));
known.push(deriveWrappingKey(Buffer.from(groupKeys.kde, 'hex'), Buffer.from(groupKeys.kdh, 'hex')));

const d = describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE));
if (chromiumMissing) describe('e2e', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

d('KeyLadder in Chromium, through the real IPC wrapper and services', () => {
  let h: Harness;
  let closed = false;
  const dialog = () => h.page.getByRole('dialog');
  const nav = (name: string) => h.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const visible = (l: Locator, timeout = 20_000) => l.first().waitFor({ state: 'visible', timeout });
  /** As an operator would: search for the identity, then click its row. */
  const selectDevice = async (identity: string) => {
    await h.page.getByLabel('Search by identity prefix').fill(identity);
    await h.page.locator(`[data-device-row="${identity}"]`).click();
  };

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'app' });
    h.page.setDefaultTimeout(10_000);
    await h.page.goto(`${h.origin}/index.html`);
  }, 120_000);

  // A test that fails with a dialog open must not take the next ones down with it.
  afterEach(async () => {
    if (!closed && (await h.page.getByRole('dialog').isVisible())) await h.page.keyboard.press('Escape');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('keeps the renderer JavaScript within 150 KB gzipped', async () => {
    const assets = path.join(h.rendererDir, 'assets');
    let gzipped = 0;
    for (const name of await readdir(assets)) {
      if (name.endsWith('.js')) gzipped += gzipSync(await readFile(path.join(assets, name)), { level: 9 }).length;
    }
    console.log(`renderer.js.gzip: ${(gzipped / 1024).toFixed(1)} KB`);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });

  it('exposes exactly the named methods of the contract, and nothing of Node or Electron', async () => {
    const surface = await h.page.evaluate(() => {
      const kl = (window as unknown as { keyladder: Record<string, Record<string, unknown>> }).keyladder;
      const out: Record<string, string[]> = {};
      for (const ns of Object.keys(kl)) out[ns] = Object.keys(kl[ns] ?? {}).sort();
      const w = window as unknown as Record<string, unknown>;
      return { out, require: typeof w['require'], process: typeof w['process'], ipcRenderer: 'ipcRenderer' in window, invoke: 'invoke' in kl };
    });
    const expected: Record<string, string[]> = { events: ['onLocked', 'onProgress'] };
    for (const channel of CHANNELS) {
      const [ns, method] = channel.split('.') as [string, string];
      (expected[ns] ??= []).push(method);
    }
    for (const ns of Object.keys(expected)) expected[ns]!.sort();
    expect(surface.out).toEqual(expected);
    expect(surface).toMatchObject({ require: 'undefined', process: 'undefined', ipcRenderer: false, invoke: false });
  });

  it('creates the store, showing progress while the KDF runs', async () => {
    await visible(h.page.getByRole('heading', { name: 'Create the KeyLadder store' }));
    // The operator's name, asked once: the actor of the session's audit entries (test/e2e/actor.e2e.test.ts).
    await h.page.getByLabel('Your name').fill('E2E Operator');
    await h.page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await h.page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
    await h.screenshot('create-store');
    await h.page.getByRole('button', { name: 'Create store' }).click();
    // scrypt runs for a while in main (N = 2^17): the gate shows that it is working.
    await visible(h.page.getByRole('progressbar'), 5_000);
    // What was typed stays in the (disabled) fields while the KDF runs: nothing looks lost.
    expect(await h.page.getByLabel('Passphrase', { exact: true }).inputValue()).toBe(PASSPHRASE);
    expect(await h.page.getByLabel('Repeat the passphrase').inputValue()).toBe(PASSPHRASE);
    expect(await h.page.getByLabel('Passphrase', { exact: true }).isDisabled()).toBe(true);
    await h.screenshot('create-store-kdf-progress');
    // The Overview is where an unlock lands.
    await visible(h.page.getByRole('heading', { name: 'Overview' }));
    expect(h.services.store.status().unlocked).toBe(true);
    // The sidebar names the real version (package.json's), not a placeholder.
    expect(await h.page.getByRole('navigation', { name: 'Screens' }).locator('.version').textContent()).toMatch(new RegExp(`^v${APP_VERSION.replace(/\./g, '\\.')} `));
    await nav('Devices');
    // From here on, wrapdata is sealed under a Kissuer this test knows (an MSL-format generation).
    h.services.issuers.importMsl(KISSUER, 30);
    await h.screenshot('devices-empty');
  });

  it('locks, refuses a wrong passphrase clearly, and unlocks', async () => {
    await h.page.getByRole('button', { name: 'Lock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Unlock KeyLadder' }));
    expect(h.services.store.status().unlocked).toBe(false);
    await h.page.getByLabel('Passphrase').fill('not the passphrase');
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    const alert = h.page.getByRole('alert');
    await visible(alert);
    const text = (await alert.textContent()) ?? '';
    expect(text).toMatch(/did not unlock[\s\S]*What to do[\s\S]*WRONG_PASSPHRASE/);
    // One clear message: no "locked" notice above it, and "nothing was changed" said once.
    expect(await h.page.getByText('The store is locked.', { exact: true }).count()).toBe(0);
    expect(text.match(/nothing (was|in the store was) (changed|touched)/gi)).toHaveLength(1);
    expect(await h.page.getByLabel('Passphrase').inputValue()).toBe('');
    await h.screenshot('unlock-wrong-passphrase');
    // Main makes the next attempt wait a second after a wrong passphrase (test/ipc/handlers.test.ts).
    await h.page.waitForTimeout(1100);
    await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Devices' }));
  });

  it('offers a restore from a backup on the unlock screen too', async () => {
    await h.page.getByRole('button', { name: 'Lock' }).click();
    await h.page.getByRole('button', { name: 'Restore from a backup…' }).click();
    await visible(dialog().getByText('Which passphrase?'));
    await h.screenshot('unlock-restore-offer');
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();
    await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Devices' }));
  });

  it('adds a model group with given keys and shows its KCVs', async () => {
    await nav('Model groups');
    await h.page.getByRole('button', { name: 'Add model group' }).click();
    await dialog().getByLabel('Name').fill(groupKeys.name);
    await dialog().getByLabel('Enter Kde + Kdh').check();
    await dialog().getByRole('textbox', { name: /^Kde\b/ }).fill(groupKeys.kde);
    await dialog().getByRole('textbox', { name: /^Kdh\b/ }).fill(groupKeys.kdh);
    await dialog().getByRole('button', { name: 'Add group' }).click();
    await visible(dialog().getByText('was added'));
    const text = (await dialog().textContent()) ?? '';
    expect(text).toContain(kcv(Buffer.from(groupKeys.kde, 'hex'), 'aes'));
    expect(text).toContain(kcv(Buffer.from(groupKeys.kdh, 'hex'), 'hmac'));
    await dialog().getByRole('button', { name: 'Close', exact: true }).first().click();
    await visible(h.page.getByRole('cell', { name: groupKeys.name }));
    // The keys column says what the group holds, in its own key names.
    expect(await h.page.locator('tbody tr').filter({ hasText: groupKeys.name }).locator('td').nth(1).textContent()).toBe('imported Kde + Kdh');
    await h.screenshot('model-groups');
  });

  it('adds devices three ways, shows the KCVs, and clears typed keys from the form', async () => {
    await nav('Devices');
    await h.page.getByRole('button', { name: 'Add device' }).click();
    const add = dialog();
    // 1. Kpe + Kph, in the model group.
    await add.getByLabel('Identity').fill(kpeDevice.identity);
    await add.getByLabel('Model group').selectOption(groupKeys.name);
    await add.getByLabel('Enter Kpe + Kph').check();
    await add.getByRole('textbox', { name: /^Kpe\b/ }).fill(kpeDevice.kpe);
    await add.getByRole('textbox', { name: /^Kph\b/ }).fill(kpeDevice.kph);
    await h.screenshot('add-device-form');
    await add.getByRole('button', { name: 'Provision device' }).click();
    await visible(add.getByText('is provisioned'));
    const derived = deriveWrappingKey(Buffer.from(kpeDevice.kpe, 'hex'), Buffer.from(kpeDevice.kph, 'hex'));
    const shown = (await add.textContent()) ?? '';
    expect(shown).toContain(kcv(derived, 'aes'));
    expect(shown).toContain(kcv(Buffer.from(kpeDevice.kpe, 'hex'), 'aes'));
    expect(shown).toContain(kcv(Buffer.from(kpeDevice.kph, 'hex'), 'hmac'));
    await h.screenshot('add-device-kcvs');
    // 2. Kpw only.
    await add.getByRole('button', { name: 'Add another device' }).click();
    await add.getByLabel('Identity').fill(kpwDevice.identity);
    await add.getByLabel('Enter Kpw only').check();
    await add.getByRole('textbox', { name: /^Kpw\b/ }).fill(kpwDevice.kpw);
    await add.getByRole('button', { name: 'Provision device' }).click();
    await visible(add.getByText('is provisioned'));
    expect(await add.textContent()).toContain(kcv(Buffer.from(kpwDevice.kpw, 'hex'), 'aes'));
    // 3. Generated keys.
    await add.getByRole('button', { name: 'Add another device' }).click();
    await add.getByLabel('Identity').fill('ESN-GEN-0001');
    await add.getByLabel('Generate new keys').check();
    await add.getByRole('button', { name: 'Provision device' }).click();
    await visible(add.getByText('is provisioned'));
    // A duplicate is refused with a clear message.
    await add.getByRole('button', { name: 'Add another device' }).click();
    await add.getByLabel('Identity').fill(kpwDevice.identity);
    await add.getByLabel('Enter Kpw only').check();
    await add.getByRole('textbox', { name: /^Kpw\b/ }).fill(kpwDevice.kpw);
    await add.getByRole('button', { name: 'Provision device' }).click();
    await visible(add.getByRole('alert'));
    expect(await add.getByRole('alert').textContent()).toMatch(/DEVICE_EXISTS/);
    expect(await add.getByRole('textbox', { name: /^Kpw\b/ }).inputValue()).toBe('');
    await h.screenshot('add-device-duplicate');
    await add.getByRole('button', { name: 'Close', exact: true }).click();
    // Typed keys are nowhere in the page any more.
    const html = (await h.page.content()).toLowerCase();
    for (const k of [kpeDevice.kpe, kpeDevice.kph, kpwDevice.kpw]) expect(html).not.toContain(k);
    await visible(h.page.locator('[data-device-row="ESN-KPW-0001"]'));
  });

  it('imports devices in bulk with progress and a row-by-row error report', async () => {
    const good = ['identity,group,kpe,kph,kpw'];
    for (let i = 0; i < 60; i++) {
      const id = `ESN-BULK-${String(i).padStart(4, '0')}`;
      if (i % 2 === 0) good.push(`${id},${groupKeys.name},${keep(hex(16))},${keep(hex(32))},`);
      else good.push(`${id},,,,${keep(hex(16))}`);
    }
    const bad = [...good, 'ESN-BULK-BAD1,,,,abcd', 'has space,,,,', 'ESN-BULK-BAD2,NO-SUCH-GROUP,,,'];
    const badFile = path.join(h.workDir, 'devices-with-errors.csv');
    const goodFile = path.join(h.workDir, 'devices.csv');
    await writeFile(badFile, `${bad.join('\n')}\n`);
    await writeFile(goodFile, `${good.join('\n')}\n`);

    await h.page.getByRole('button', { name: 'Bulk import…' }).click();
    // First a file with three bad rows: each is reported, and nothing is imported.
    h.dialogs.open.push(badFile);
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(dialog().getByText('Nothing was imported'));
    const report = (await dialog().textContent()) ?? '';
    expect(report).toMatch(/3 of 63 rows/);
    expect(await dialog().locator('tbody tr').count()).toBe(3);
    // Numbered by their line in the file, the header being line 1.
    expect(await dialog().locator('thead th').first().textContent()).toBe('Line');
    for (const [row, code] of [['62', 'INVALID_KEY'], ['63', 'INVALID_IDENTITY'], ['64', 'GROUP_NOT_FOUND']]) {
      expect(await dialog().locator('tbody tr').filter({ hasText: code! }).locator('td').first().textContent()).toBe(row);
    }
    await h.screenshot('bulk-import-errors');
    // Then the corrected file.
    h.events.length = 0;
    h.dialogs.open.push(goodFile);
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(dialog().getByText(/Imported 60 of 60 rows/));
    expect(h.events.some((e) => e.channel === EVENTS.progress)).toBe(true);
    await h.screenshot('bulk-import-done');
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();
    await visible(h.page.getByText('63 provisioned'));
    await h.screenshot('devices-list');
  });

  it('searches by prefix and moves through the list by keyboard', async () => {
    await h.page.getByLabel('Search by identity prefix').fill('ESN-BULK-000');
    await visible(h.page.getByText('10 matching'));
    await h.page.getByRole('listbox', { name: 'Devices' }).focus();
    await h.page.keyboard.press('ArrowDown');
    await h.page.keyboard.press('ArrowDown');
    await visible(h.page.getByRole('complementary', { name: 'Selected device' }).getByRole('heading', { name: 'ESN-BULK-0001' }));
    await h.screenshot('devices-search-selected');
    await h.page.getByLabel('Search by identity prefix').fill('');
    await visible(h.page.getByText('63 provisioned'));
  });

  it('runs a 3-rung test exchange and every KCV matches on both sides', async () => {
    await selectDevice(kpeDevice.identity);
    await h.page.getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Test exchange' }).click();
    await visible(h.page.getByRole('heading', { name: 'Test exchange' }));
    expect(await h.page.getByLabel('Device identity').inputValue()).toBe(kpeDevice.identity);
    await h.page.getByRole('spinbutton', { name: 'Rungs' }).fill('3');
    await h.page.getByRole('button', { name: 'Run exchange' }).click();
    await visible(h.page.locator('figure.ladder'));
    const rungs = h.page.locator('tr[data-rung]');
    expect(await rungs.count()).toBe(3);
    expect(await h.page.locator('tr[data-rung] .badge.ok').count()).toBe(3);
    expect(await h.page.locator('svg text.tick').count()).toBe(9);
    expect(await h.page.locator('svg text.cross').count()).toBe(0);
    expect(await h.page.locator('figcaption').textContent()).toMatch(/every KCV matches/);
    const mechanisms = await rungs.locator('td:nth-child(2)').allTextContents();
    expect(mechanisms).toEqual(['PSK', 'WRAP', 'WRAP']);
    // Above the fold: how many rungs, whether every KCV matches, and the total time.
    expect(((await h.page.locator('[data-ladder-summary]').textContent()) ?? '').replace(/\s+/g, ' ')).toMatch(/3 rungs for ESN-KPE-0001: all key check values match on both sides, in \d+\.\d ms in all \(PSK → WRAP → WRAP\)/);
    const summaryBox = await h.page.locator('[data-ladder-summary]').boundingBox();
    expect(summaryBox!.y + summaryBox!.height).toBeLessThan(820);
    // Operator words, not the protocol's variable names.
    expect(await h.page.locator('figure.ladder').textContent()).not.toContain('Kprev');
    expect(await h.page.locator('figure.ladder').textContent()).toContain('wrapped with the device’s own key (Kpw)');
    await h.screenshot('test-exchange-ladder');
    // The same through the model group (MGK) and the RFC 7516 profile.
    await h.page.getByLabel('MGK (model group key)').check();
    await h.page.getByLabel('Profile').selectOption('rfc7516');
    await h.page.getByRole('spinbutton', { name: 'Rungs' }).fill('2');
    await h.page.getByRole('button', { name: 'Run exchange' }).click();
    await h.page.waitForFunction(() => document.querySelectorAll('tr[data-rung]').length === 2);
    expect(await h.page.locator('tr[data-rung] .badge.ok').count()).toBe(2);
  });

  it('answers a pasted device request, and checks the response', async () => {
    const request = JSON.stringify({ identity: kpwDevice.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
    await h.page.getByLabel('Profile').selectOption('msl');
    await h.page.getByRole('tab', { name: 'Answer a device’s request' }).click();
    await h.page.getByLabel('The device’s request').fill(request);
    await h.page.getByRole('button', { name: 'Answer', exact: true }).click();
    const responseBox = h.page.getByLabel('Response JSON');
    await visible(responseBox);
    const response = await responseBox.inputValue();
    // The response really is the device's: MSL's requestor logic opens it with the Kpw.
    const keys = await acceptKeyResponse(JSON.parse(response), await importWrappingKey(Buffer.from(kpwDevice.kpw, 'hex')), 'msl');
    await h.screenshot('exchange-respond');
    await h.page.getByRole('tab', { name: 'Check a response' }).click();
    await h.page.getByLabel('The request', { exact: true }).fill(request);
    await h.page.getByLabel('The response to check').fill(response);
    await h.page.getByRole('button', { name: 'Check', exact: true }).click();
    await visible(h.page.getByText('The response decrypts with the key the request names'));
    const text = (await h.page.getByRole('tabpanel').textContent()) ?? '';
    expect(text).toContain(keys.kcv.kwrap);
    expect(text).toContain(keys.kcv.kenc);
    expect(text).toContain(keys.kcv.khmac);
    await h.screenshot('exchange-check');
    // A malformed request gets MSL's error back, not a crash.
    await h.page.getByRole('tab', { name: 'Answer a device’s request' }).click();
    await h.page.getByLabel('The device’s request').fill('{"identity":"x"');
    await h.page.getByRole('button', { name: 'Answer', exact: true }).click();
    await h.page.waitForFunction(() => (document.querySelector('textarea[readonly]') as HTMLTextAreaElement | null)?.value.includes('MSL_PARSE_ERROR'));
  });

  it('switches the HTTP responder on, serves a device over it with live counts, and switches it off', async () => {
    await nav('Responder');
    await visible(h.page.getByRole('heading', { name: 'Responder', exact: true }));
    await visible(h.page.locator('[data-responder-state="stopped"]'));
    expect(await h.page.getByLabel('Host').inputValue()).toBe('127.0.0.1');
    // A host reachable from other machines gets a warning, and main's own dialog asks: a no starts nothing.
    await h.page.getByLabel('Host').fill('0.0.0.0');
    const warning = h.page.getByRole('alert').filter({ hasText: 'reachable from other machines' });
    await visible(warning);
    const startButton = h.page.getByRole('button', { name: 'Start responder' });
    await h.screenshot('responder-remote-warning');
    h.dialogs.confirm.push(false);
    await startButton.click();
    await visible(h.page.getByRole('alert').filter({ hasText: 'was not confirmed' }));
    await visible(h.page.locator('[data-responder-state="stopped"]'));
    await h.page.getByLabel('Host').fill('127.0.0.1');
    expect(await warning.count()).toBe(0);
    // Keyboard only: port (0 = any free port, so a parallel run cannot collide), then start.
    await h.page.getByLabel('Host').focus();
    await h.page.keyboard.press('Tab');
    await expect.poll(() => h.page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('number');
    await h.page.keyboard.press('Control+A');
    await h.page.keyboard.type('0');
    await h.page.getByLabel('Profile').selectOption('msl');
    await startButton.focus();
    await h.page.keyboard.press('Enter');
    await visible(h.page.locator('[data-responder-state="listening"]'));
    const endpoint = (await h.page.locator('[data-responder-address]').textContent()) ?? '';
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/keyx$/);
    expect(endpoint).toBe(`${h.responder.status().address}/v1/keyx`);
    // The header says so on every screen.
    await visible(h.page.getByRole('button', { name: /Responder on · 127\.0\.0\.1:\d+/ }));
    // The address copies.
    await h.page.getByRole('button', { name: 'Copy address' }).click();
    expect(await h.page.evaluate(() => navigator.clipboard.readText())).toBe(endpoint);
    // "Copied" shows, then the button says what it does again (after about 1.5 s).
    await visible(h.page.getByRole('button', { name: 'Copied' }));
    await visible(h.page.getByRole('button', { name: 'Copy address' }), 3_000);

    // A device provisioned through the UI (its Kpw known only to this test) climbs 4 rungs over HTTP.
    const device = new LadderRequestor(kpwDevice.identity, await importWrappingKey(Buffer.from(kpwDevice.kpw, 'hex')));
    const kcvs: string[] = [];
    for (let rung = 0; rung < 4; rung++) {
      const res = await fetch(endpoint, { method: 'POST', body: JSON.stringify(device.nextRequest()), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      kcvs.push((await device.accept(await res.json())).kcv.kwrap);
    }
    expect(new Set(kcvs).size).toBe(4);
    const unknown = await fetch(endpoint, { method: 'POST', body: JSON.stringify({ identity: 'ESN-NOT-HERE', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }), headers: { 'content-type': 'application/json' } });
    expect(unknown.status).toBe(403);
    // The live counts follow, without a click.
    await h.page.waitForFunction(() => document.querySelector('[data-count="exchanges"]')?.textContent === '4' && document.querySelector('[data-count="refused"]')?.textContent === '1', undefined, { timeout: 5_000 });
    expect(await h.page.locator('[data-count="inFlight"]').textContent()).toBe('0');
    // The pictures: the last minutes' exchanges per second and the latency histogram, measured in main.
    await h.page.waitForFunction(() => document.querySelector('[data-metric="total"]')?.textContent === '5', undefined, { timeout: 5_000 });
    const metrics = h.responder.metrics();
    expect(metrics.total).toBe(5);
    expect(metrics.perSecond.reduce((n, s) => n + s.ok, 0)).toBe(4);
    expect(metrics.perSecond.reduce((n, s) => n + s.refused, 0)).toBe(1);
    expect(await h.page.locator('[data-metric="p50"]').textContent()).toMatch(/^\d+(\.\d+)? (µs|ms)$/);
    expect(await h.page.locator('[data-metric="p99"]').textContent()).toMatch(/^\d+(\.\d+)? (µs|ms)$/);
    const drawn = await h.page.locator('rect[data-bucket]').evaluateAll((rs) => rs.reduce((n, r) => n + Number(r.getAttribute('data-count')), 0));
    expect(drawn).toBe(5);
    expect(await h.page.locator('rect[data-second]').count()).toBeGreaterThan(0);
    await h.screenshot('responder-listening');

    // Off again: the address goes away, and so does the listener.
    await h.page.getByRole('button', { name: 'Stop responder' }).click();
    await visible(h.page.locator('[data-responder-state="stopped"]'));
    await visible(h.page.getByText(/Stopped at .* after 4 exchanges and 1 refusal\./));
    expect(await h.page.getByRole('button', { name: /Responder on/ }).count()).toBe(0);
    await expect(fetch(endpoint, { method: 'POST', body: '{}' })).rejects.toThrow();
    await h.screenshot('responder-stopped');

    // Locking the store stops it too, and the screen says why after the unlock.
    await h.page.getByRole('button', { name: 'Start responder' }).click();
    await visible(h.page.locator('[data-responder-state="listening"]'));
    const second = h.responder.status().address!;
    await h.page.getByRole('button', { name: 'Lock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Unlock KeyLadder' }));
    await expect.poll(() => h.responder.status().state).toBe('stopped');
    expect(h.responder.status().stopped?.reason).toBe('store-locked');
    await expect(fetch(`${second}/v1/health`)).rejects.toThrow();
    await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    await visible(h.page.getByText(/because the store locked/));
    await h.screenshot('responder-stopped-by-lock');
    // Main logged every request, without key material (checked with every reply at the end).
    expect(h.responderLog.filter((l) => l.includes(`POST /v1/keyx 200`) && l.endsWith(`ok ${kpwDevice.identity}`))).toHaveLength(4);
    expect(h.responderLog.some((l) => l.includes('403') && l.includes('ENTITY_NOT_FOUND ESN-NOT-HERE'))).toBe(true);
  });

  it('serves HTTPS from a certificate and key that main’s dialogs choose and read', async (ctx) => {
    const cert = path.join(h.workDir, 'responder.crt');
    const key = path.join(h.workDir, 'responder.key');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    if (made.status !== 0) return skipWithReason(ctx, 'openssl is not available to make a test certificate');
    await nav('Responder');
    await h.page.getByLabel(/Serve over TLS/).check();
    const start = h.page.getByRole('button', { name: 'Start responder' });
    expect(await start.isDisabled()).toBe(true);
    // The operator cancels the key dialog: nothing is taken.
    h.dialogs.open.push(cert, null);
    await h.page.getByRole('button', { name: 'Choose certificate and key…' }).click();
    await visible(h.page.getByText('No files chosen yet'));
    h.dialogs.open.push(cert, key);
    await h.page.getByRole('button', { name: 'Choose certificate and key…' }).click();
    await visible(h.page.getByText('responder.crt'));
    await start.click();
    await visible(h.page.locator('[data-responder-state="listening"]'));
    const endpoint = (await h.page.locator('[data-responder-address]').textContent()) ?? '';
    expect(endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\/keyx$/);
    await visible(h.page.getByText(/HTTPS \(TLS\)/));
    const device = new LadderRequestor(kpwDevice.identity, await importWrappingKey(Buffer.from(kpwDevice.kpw, 'hex')));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(endpoint, { method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(device.nextRequest()));
    });
    expect(answer.status).toBe(200);
    await device.accept(JSON.parse(answer.body));
    await h.page.waitForFunction(() => document.querySelector('[data-count="exchanges"]')?.textContent === '1');
    await h.screenshot('responder-tls');
    await h.page.getByRole('button', { name: 'Stop responder' }).click();
    await visible(h.page.locator('[data-responder-state="stopped"]'));
    await h.page.getByLabel(/Serve over TLS/).uncheck();
    // No reply ever held the key file's contents.
    expect(JSON.stringify(h.replies.map((r) => r.reply))).not.toContain('PRIVATE KEY');
  });

  it('rotates Kissuer with a confirmation and a grace period, retires and destroys a generation', async () => {
    await nav('Kissuer');
    await visible(h.page.locator('tr[data-generation="2"]'));
    await h.page.getByRole('button', { name: 'Rotate Kissuer…' }).click();
    await dialog().getByLabel(/Grace period/).fill('7');
    const rotate = dialog().getByRole('button', { name: 'Rotate now' });
    expect(await rotate.isDisabled()).toBe(true);
    await dialog().getByRole('checkbox').check();
    await h.screenshot('kissuer-rotate-confirm');
    await rotate.click();
    await visible(h.page.getByText('Generation 3 is now active.'));
    expect(await h.page.locator('tr[data-generation="3"] .badge').textContent()).toBe('active');
    expect(await h.page.locator('tr[data-generation="2"] .badge').textContent()).toBe('grace');
    // Retire generation 1 (in grace since the MSL import), then destroy it, typing its number.
    await h.page.locator('tr[data-generation="1"]').getByRole('button', { name: 'Retire…' }).click();
    await dialog().getByRole('button', { name: 'Retire', exact: true }).click();
    await visible(h.page.getByText('Generation 1 is retired.'));
    await h.page.locator('tr[data-generation="1"]').getByRole('button', { name: 'Destroy…' }).click();
    const destroy = dialog().getByRole('button', { name: 'Destroy generation 1' });
    await dialog().getByLabel(/Type the generation number/).fill('2');
    expect(await destroy.isDisabled()).toBe(true);
    await dialog().getByLabel(/Type the generation number/).fill('1');
    await h.screenshot('kissuer-destroy-confirm');
    await destroy.click();
    await visible(h.page.getByText('Generation 1 is destroyed.'));
    expect(await h.page.locator('tr[data-generation="1"] .badge').textContent()).toBe('destroyed');
    await h.screenshot('kissuer-generations');
  });

  it('exports Kissuer to a peer, and imports it back (a wrong passphrase is refused clearly)', async () => {
    const file = path.join(h.workDir, 'kissuer.jwe');
    await h.page.getByRole('button', { name: 'Export to peer…' }).click();
    await dialog().getByLabel('Passphrase', { exact: true }).fill('peer passphrase 456');
    await dialog().getByLabel('Repeat it').fill('peer passphrase 456');
    h.dialogs.save.push(file);
    await dialog().getByRole('button', { name: 'Choose file and export…' }).click();
    await visible(dialog().getByText(/Saved generations [23], [23] to/));
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();

    await h.page.getByRole('button', { name: 'Import from peer…' }).click();
    await dialog().getByLabel('A passphrase').check();
    await dialog().getByLabel('Passphrase', { exact: true }).fill('not the peer passphrase');
    // Nothing signs a passphrase export: the operator must say they know where it came from.
    const importButton = dialog().getByRole('button', { name: 'Choose file and import…' });
    expect(await importButton.isDisabled()).toBe(true);
    await dialog().getByLabel(/I know where this file came from/).check();
    h.dialogs.open.push(file);
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(dialog().getByRole('alert'));
    expect(await dialog().getByRole('alert').textContent()).toMatch(/Nothing was imported[\s\S]*What to do/);
    await h.screenshot('kissuer-import-wrong-passphrase');
    await dialog().getByLabel('Passphrase', { exact: true }).fill('peer passphrase 456');
    h.dialogs.open.push(file);
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(h.page.getByText(/Imported \d+ generations? from/));
    expect(await h.page.getByRole('alert').count()).toBe(0);
  });

  it('exports a provisioning bundle to a file main writes', async () => {
    await nav('Devices');
    await selectDevice(kpwDevice.identity);
    await h.page.getByRole('complementary').getByRole('button', { name: 'Export bundle…' }).click();
    await dialog().getByLabel('Passphrase', { exact: true }).fill('bundle passphrase 123');
    await dialog().getByLabel('Repeat it').fill('bundle passphrase 123');
    const file = path.join(h.workDir, 'bundle.jwe');
    h.dialogs.save.push(file);
    await dialog().getByRole('button', { name: 'Choose file and export…' }).click();
    await visible(dialog().getByText('Saved the bundle of 1 device'));
    await h.screenshot('export-bundle');
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();
  });

  it('revokes a device after confirmation', async () => {
    await selectDevice('ESN-GEN-0001');
    await h.page.getByRole('button', { name: 'Revoke…' }).click();
    await dialog().getByRole('button', { name: 'Revoke device' }).click();
    await visible(h.page.locator('[data-device-row="ESN-GEN-0001"] .badge.revoked'));
  });

  it('exports by prefix, by group or the marked devices, counting them first and warning of revoked ones', async () => {
    const exportDialog = () => dialog().filter({ hasText: 'Export a provisioning bundle' });
    const countText = async () => ((await exportDialog().locator('[data-selection-count]').textContent()) ?? '').replace(/\s+/g, ' ').trim();
    // Mark two devices in the list (a click on the box, and Space on the selected row).
    await h.page.getByLabel('Search by identity prefix').fill('ESN-BULK-001');
    await visible(h.page.getByText('10 matching'));
    await h.page.getByLabel('Mark ESN-BULK-0010 for export').check();
    await h.page.locator('[data-device-row="ESN-BULK-0012"]').click();
    await h.page.getByRole('listbox', { name: 'Devices' }).focus();
    await h.page.keyboard.press(' ');
    await visible(h.page.locator('[data-marked-count]').getByText('2', { exact: true }));
    await h.page.getByLabel('Search by identity prefix').fill('');
    await h.page.getByRole('button', { name: 'Export the marked…' }).click();
    await expect.poll(countText).toMatch(/^2 devices will be in the bundle\.$/);
    await h.screenshot('export-marked');
    // A prefix: counted in main as it is typed; a revoked device among them is called out.
    await exportDialog().getByLabel('Identity prefix').fill('ESN-GEN');
    await expect.poll(countText).toMatch(/1 device will be in the bundle\. It is revoked:/);
    await visible(exportDialog().locator('[data-revoked-warning]'));
    await exportDialog().getByLabel('Identity prefix').fill('ESN-');
    await expect.poll(countText).toMatch(/^63 devices will be in the bundle\. 1 of them is revoked:/);
    await h.screenshot('export-prefix-revoked');
    await exportDialog().getByLabel('Identity prefix').fill('NOTHING-');
    await expect.poll(countText).toMatch(/No provisioned device matches/);
    // A model group: its devices, exported without their identities crossing from the renderer.
    const inGroup = h.services.groups.list().find((g) => g.name === groupKeys.name)!.deviceCount;
    expect(inGroup).toBeGreaterThan(30);
    await exportDialog().getByRole('combobox', { name: 'Model group' }).focus();
    await exportDialog().getByRole('combobox', { name: 'Model group' }).selectOption(groupKeys.name);
    // ESN-GEN-0001 (revoked above) was added to the group with the form's remembered choice.
    await expect.poll(countText).toMatch(new RegExp(`^${inGroup} devices will be in the bundle\\. 1 of them is revoked:`));
    await exportDialog().getByLabel('Passphrase', { exact: true }).fill('bundle passphrase 123');
    await exportDialog().getByLabel('Repeat it').fill('bundle passphrase 123');
    h.dialogs.save.push(path.join(h.workDir, 'group-bundle.jwe'));
    await exportDialog().getByRole('button', { name: 'Choose file and export…' }).click();
    await visible(exportDialog().getByText(`Saved the bundle of ${inGroup} devices`));
    const sent = h.replies.filter((r) => r.channel === 'devices.exportBundle').at(-1)!.request as { selection: unknown };
    expect(sent.selection).toEqual({ kind: 'group', group: groupKeys.name });
    await exportDialog().getByRole('button', { name: 'Close', exact: true }).click();
    await h.page.getByRole('button', { name: 'Clear marks' }).click();
    expect(await h.page.locator('[data-marked-count]').count()).toBe(0);
    // A selector main does not know is refused by the schema.
    const bad = await h.page.evaluate(() => (window as unknown as { keyladder: { devices: { countSelection(q: object): Promise<unknown> } } }).keyladder.devices.countSelection({ selection: { kind: 'sql', where: '1=1' } }));
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('verifies the audit log, and filters it; the command line\'s unlocks only when asked for', async () => {
    // Two commands run beside the app: each unlocks the store as the CLI does.
    for (let i = 0; i < 2; i++) {
      const cli = createServices({ storeDir: h.storeDir, door: 'cli', batchExchangeRecords: false });
      await cli.store.unlock(PASSPHRASE);
      cli.close();
    }
    expect(h.services.audit.list({ action: 'store.unlock-cli' })).toHaveLength(2);
    await nav('Audit');
    await visible(h.page.getByRole('cell', { name: 'issuer.rotate' }));
    expect(await h.page.locator('tbody td code', { hasText: 'store.unlock-cli' }).count()).toBe(0);
    await h.page.getByLabel("Show the command line's unlocks").check();
    await h.page.getByRole('button', { name: 'Apply filters' }).click();
    await h.page.waitForFunction(() => [...document.querySelectorAll('tbody td code')].filter((c) => c.textContent === 'store.unlock-cli').length === 2);
    await h.page.getByLabel("Show the command line's unlocks").uncheck();
    await h.page.getByRole('button', { name: 'Verify the chain' }).click();
    await visible(h.page.getByText(/The chain holds: all \d+ entries verify/));
    await h.screenshot('audit-verified');
    await h.page.getByLabel('Action').selectOption('store.unlock-failed');
    await h.page.getByRole('button', { name: 'Apply filters' }).click();
    await h.page.waitForFunction(() => [...document.querySelectorAll('tbody td code')].every((c) => c.textContent === 'store.unlock-failed'));
    expect(await h.page.locator('tbody tr').count()).toBe(1);
  });

  it('inspects any JOSE object part by part, decrypts one made to its own key, and names the step a tampered one fails at', async () => {
    const appendixA = joseVectors('rfc7516-appendix-a.json');
    const general = appendixA.vectors.find((x) => x.section === 'A.4')!.jwe!;
    const kw = appendixA.keys['A.3.3']!;
    known.push(Buffer.from(kw.k!, 'base64url'));
    await nav('JOSE');
    const text = h.page.getByLabel(/JWE or JWS/);
    await text.fill(general);
    await h.page.getByRole('button', { name: 'Inspect', exact: true }).click();
    const first = h.page.getByRole('region', { name: 'Recipient 0' });
    await visible(first);
    expect(await first.textContent()).toMatch(/RSA1_5\s*refused\s*PKCS#1 v1.5 padding invites Bleichenbacher/);
    expect(await h.page.getByRole('region', { name: 'Recipient 1' }).textContent()).toMatch(/A128KW\s*supported[\s\S]*kid7/);
    expect(await h.page.locator('[data-jose-view]').textContent()).toMatch(/Shared unprotected header[\s\S]*jku/);
    await h.screenshot('jose-inspect-general');

    // The general JWE through its A128KW recipient, with a key file main's dialog chooses and reads.
    const keyFile = path.join(h.workDir, 'a33.jwk');
    await writeFile(keyFile, JSON.stringify(kw));
    await h.page.getByLabel('A key file (JWK)…').check();
    h.dialogs.open.push(keyFile);
    await h.page.getByRole('button', { name: 'Decrypt' }).click();
    await visible(h.page.locator('[data-jose-result]'));
    expect(await h.page.locator('[data-jose-result]').textContent()).toMatch(/Decrypted recipient 1 \(A128KW, kid 7; A128CBC-HS256\)/);
    expect(await h.page.getByText(/Skipped 0 \(RSA1_5, kid 2011-04-29\)/).count()).toBe(1);

    // A JWE made to this KeyLadder's own encryption key, found by its kid.
    const own = (await h.services.keyring.identityJwks()).keys.find((k) => k.use === 'enc')!;
    await h.services.keyring.addRecipient(JSON.stringify(own), { kid: own.kid! });
    const mine = await h.services.jose.encrypt('{"note":"made for this KeyLadder"}', own.kid!);
    await text.fill(mine);
    await h.page.getByRole('button', { name: 'Inspect', exact: true }).click();
    await visible(h.page.getByText('this KeyLadder holds its key'));
    await h.page.getByLabel('This KeyLadder’s own keys (by kid)').check();
    await h.page.getByRole('button', { name: 'Decrypt' }).click();
    await visible(h.page.locator('[data-plaintext-preview]'));
    expect(await h.page.locator('[data-jose-result]').textContent()).toMatch(/Decrypted recipient 0 \(ECDH-ES\+A256KW, kid [\w-]+; A256GCM\)/);
    expect(await h.page.locator('[data-plaintext-preview]').textContent()).toBe('{"note":"made for this KeyLadder"}');
    await h.screenshot('jose-decrypt-own');

    // Altered on the way: the same refusal, whatever changed, naming the integrity step.
    const parts = mine.split('.');
    parts[4] = `${parts[4]!.startsWith('A') ? 'B' : 'A'}${parts[4]!.slice(1)}`;
    await text.fill(parts.join('.'));
    await h.page.getByRole('button', { name: 'Inspect', exact: true }).click();
    await h.page.getByRole('button', { name: 'Decrypt' }).click();
    await visible(h.page.locator('[data-refusal-step]'));
    expect(await h.page.locator('[data-refusal-step]').textContent()).toContain('integrity check');
    expect(await h.page.getByRole('alert').textContent()).toMatch(/key is wrong, or the JWE was altered[\s\S]*JOSE_INTEGRITY/);
    await h.screenshot('jose-refused-integrity');
    expect(h.services.audit.list({ action: 'jose.decrypt', limit: 10 }).map((e) => e.outcome)).toEqual(['refused', 'ok', 'ok']);

    // A signed export to this KeyLadder, its inner JWS chosen as a file: its payload (the device's Kpw) never reaches the page.
    const kpw = keep('0f0e0d0c0b0a09080706050403020100');
    h.services.devices.provision({ identity: 'ESN-JWS', keys: { kind: 'kpw', kpw } });
    const exported = await h.services.devices.exportBundle(['ESN-JWS'], { kind: 'recipient', kid: own.kid! });
    const jws = Buffer.from((await h.services.jose.decrypt(exported, { kind: 'own' })).plaintext!).toString('utf8');
    const jwsFile = path.join(h.workDir, 'export.jws');
    await writeFile(jwsFile, jws);
    h.dialogs.open.push(jwsFile);
    await h.page.getByRole('button', { name: 'Choose a file…' }).click();
    await visible(h.page.locator('[data-jws-payload]'));
    expect(await h.page.locator('[data-jws-payload]').textContent()).toMatch(/not shown: it holds key material\s*\(members\s*format, version, createdAt, payload\)/);
    expect(await text.inputValue()).toBe('');
    expect(await h.page.content()).not.toContain(jws.split('.')[1]!.slice(0, 40));
  });

  it('adds a recipient from its key file with the thumbprint to confirm, exports a signed bundle to it, and removes it on a yes', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'factory-e2e', use: 'enc' };
    known.push(Buffer.from((privateKey.export({ format: 'jwk' }) as JWK).d!, 'base64url'));
    const keyFile = path.join(h.workDir, 'factory-e2e.jwk');
    await writeFile(keyFile, JSON.stringify(publicJwk));
    const thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256');

    await nav('Keys');
    await h.page.getByRole('button', { name: 'Add from a file…' }).click();
    await dialog().getByLabel('Label (optional)').fill('Factory in Łódź');
    h.dialogs.open.push(keyFile);
    await dialog().getByRole('button', { name: 'Choose the key file…' }).click();
    await visible(dialog().locator('[data-added-thumbprint]'));
    expect(await dialog().locator('[data-added-thumbprint]').textContent()).toBe(thumbprint);
    expect(await dialog().textContent()).toContain('Confirm this thumbprint with the key’s owner by another channel');
    await h.screenshot('keys-added');
    await dialog().getByText('Close', { exact: true }).click();
    const row = h.page.locator('[data-recipient="factory-e2e"]');
    await visible(row);
    expect(await row.locator('[data-thumbprint]').textContent()).toBe(thumbprint);
    expect(await row.textContent()).toMatch(/Factory in Łódź\s*enc\s*EC P-256/);
    const own = await h.services.keyring.ownKeys();
    for (const k of own) await visible(h.page.locator(`[data-own-key="${k.kid}"]`));
    await h.screenshot('keys');

    // A device bundle to it: signed by this KeyLadder, then encrypted to the recipient's key.
    await nav('Devices');
    await selectDevice(kpwDevice.identity);
    await h.page.getByRole('complementary').getByRole('button', { name: 'Export bundle…' }).click();
    await dialog().getByLabel('A keyring recipient').check();
    await dialog().locator('[data-recipient-select]').selectOption('factory-e2e');
    const bundle = path.join(h.workDir, 'bundle-to-factory.jwe');
    h.dialogs.save.push(bundle);
    await dialog().getByRole('button', { name: 'Choose file and export…' }).click();
    await visible(dialog().getByText('Saved the bundle of 1 device'));
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();
    const jwe = (await readFile(bundle, 'utf8')).trim();
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'factory-e2e' });
    // Opened as the factory would; not with jose's own ECDH-ES+A256KW, which needs Web Crypto AES-KW,
    // absent under this run's Electron crypto model: with electron/jose, which works on both.
    const { plaintext } = await decryptJose(jwe, [{ kind: 'jwk', jwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'factory-e2e' } }]);
    const jws = new TextDecoder().decode(plaintext);
    const signer = (await h.services.keyring.identityJwks()).keys.find((k) => k.kid === decodeProtectedHeader(jws).kid && k.use === 'sig')!;
    const { payload } = await compactVerify(jws, await importJWK(signer, 'ES256'));
    expect(new TextDecoder().decode(payload)).toContain(kpwDevice.identity);

    // Kissuer to the same key (a peer's, here): signed, then encrypted, like the bundle.
    await nav('Kissuer');
    await h.page.getByRole('button', { name: 'Export to peer…' }).click();
    await dialog().getByLabel('A keyring recipient').check();
    await dialog().locator('[data-recipient-select]').selectOption('factory-e2e');
    const kissuerFile = path.join(h.workDir, 'kissuer-to-peer.jwe');
    h.dialogs.save.push(kissuerFile);
    await dialog().getByRole('button', { name: 'Choose file and export…' }).click();
    await visible(dialog().getByText(/Saved generations/));
    await dialog().getByRole('button', { name: 'Close', exact: true }).click();
    const kissuerJwe = (await readFile(kissuerFile, 'utf8')).trim();
    expect(decodeProtectedHeader(kissuerJwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: 'factory-e2e', cty: 'JWT' });
    const opened = await decryptJose(kissuerJwe, [{ kind: 'jwk', jwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'factory-e2e' } }]);
    expect(decodeProtectedHeader(new TextDecoder().decode(opened.plaintext))).toMatchObject({ alg: 'ES256', cty: 'keyladder-issuer-export' });

    // Encrypt to its kid from the JOSE screen; the factory opens it with its private key.
    await nav('JOSE');
    await h.page.getByLabel('What to encrypt').fill('a note for the factory, not a key');
    await h.page.locator('[data-encrypt-to]').selectOption('factory-e2e');
    await h.page.getByRole('button', { name: 'Encrypt', exact: true }).click();
    await visible(h.page.locator('[data-encrypted]'));
    const encrypted = await h.page.locator('[data-encrypted]').inputValue();
    expect(decodeProtectedHeader(encrypted)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'factory-e2e' });
    const note = await decryptJose(encrypted, [{ kind: 'jwk', jwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'factory-e2e' } }]);
    expect(new TextDecoder().decode(note.plaintext)).toBe('a note for the factory, not a key');
    expect(h.services.audit.list({ action: 'jose.encrypt', limit: 1 })[0]).toMatchObject({ subject: 'factory-e2e' });
    await h.screenshot('jose-encrypt');

    // Removed only on the operator's yes in main's dialog.
    await nav('Keys');
    await row.getByRole('button', { name: 'Remove…' }).click();
    await visible(h.page.getByRole('alert').filter({ hasText: 'NOT_CONFIRMED' }));
    expect(await row.count()).toBe(1);
    h.dialogs.confirm.push(true);
    await row.getByRole('button', { name: 'Remove…' }).click();
    await row.waitFor({ state: 'detached' });
    expect(h.services.audit.list({ action: 'recipient.remove', limit: 5 }).map((e) => e.subject)).toEqual(['factory-e2e']);
  });

  it('shows the settings screen and saves the idle lock time', async () => {
    await nav('Settings');
    await h.page.getByLabel('Minutes').fill('5');
    await h.page.getByRole('button', { name: 'Save' }).click();
    await visible(h.page.getByText('locks after 5 idle minutes'));
    await h.screenshot('settings');
  });

  it('backs the store up with progress, never over a file without a yes, and restores it with the backup’s passphrase', async () => {
    const file = path.join(h.workDir, 'store.klbackup');
    const backupButton = h.page.getByRole('button', { name: 'Back up the store…' });
    const restoreButton = h.page.getByRole('button', { name: 'Choose a backup and restore…' });
    const restorePassphrase = h.page.getByLabel('The backup’s passphrase');
    const unlock = async () => {
      await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
      await h.page.getByRole('button', { name: 'Unlock' }).click();
      await visible(h.page.getByRole('heading', { name: 'Settings' }));
    };
    h.events.length = 0;
    h.dialogs.save.push(file);
    await backupButton.click();
    await visible(h.page.getByText(/Saved a backup to/));
    expect(h.events.some((e) => e.channel === EVENTS.progress && (e.payload as { channel: string }).channel === 'store.backup')).toBe(true);
    const first = await readFile(file);
    // The same file again: main asks first, the operator says no, and the file stays as it was.
    h.dialogs.save.push(file);
    h.dialogs.confirm.push(false);
    await backupButton.click();
    await visible(h.page.getByText(/No backup was written/));
    expect((await readFile(file)).equals(first)).toBe(true);
    await h.page.locator('[data-backup-restore]').scrollIntoViewIfNeeded();
    await h.screenshot('settings-backup-restore');

    // A device added after the backup: a restore takes the store back to before it.
    h.services.devices.provision({ identity: 'ESN-AFTER-BACKUP', keys: { kind: 'generate' } });
    // Declined in main's dialog: nothing happens, the store stays unlocked.
    await restorePassphrase.fill(PASSPHRASE);
    h.dialogs.open.push(file);
    h.dialogs.confirm.push(false);
    await restoreButton.click();
    await visible(h.page.getByRole('alert').filter({ hasText: 'not confirmed' }));
    expect(h.services.store.status().unlocked).toBe(true);
    // The wrong passphrase for this backup: nothing restored, and the store stays unlocked (the
    // app locks its store only once the backup has opened and the store is its alone).
    await restorePassphrase.fill('not the backup passphrase');
    h.dialogs.open.push(file);
    h.dialogs.confirm.push(true);
    await restoreButton.click();
    await visible(h.page.getByRole('alert').filter({ hasText: 'Wrong passphrase' }));
    expect(h.services.store.status().unlocked).toBe(true);
    await h.screenshot('restore-wrong-passphrase');
    expect(h.services.devices.get('ESN-AFTER-BACKUP').identity).toBe('ESN-AFTER-BACKUP');
    // The backup's own passphrase: the store is replaced, locked, and opens with that passphrase.
    await restorePassphrase.fill(PASSPHRASE);
    h.dialogs.open.push(file);
    h.dialogs.confirm.push(true);
    await restoreButton.click();
    await visible(h.page.getByText(/The store was restored from .*store\.klbackup\. Unlock it with the passphrase that was in force/));
    await h.screenshot('restored');
    await unlock();
    expect(() => h.services.devices.get('ESN-AFTER-BACKUP')).toThrow(expect.objectContaining({ code: 'DEVICE_NOT_FOUND' }));
    expect(h.services.audit.list({ action: 'store.restore' })).toHaveLength(1);
  });

  it('shows the store at a glance on the Overview: size, last check, Kissuer timeline, devices, responder, refusals', async () => {
    await nav('Overview');
    const card = (name: string) => h.page.locator(`[data-overview="${name}"]`);
    await visible(card('store'));
    expect(await h.page.locator('[data-last-verify]').getAttribute('data-last-verify')).toBe('none');
    await card('store').getByRole('button', { name: 'Check the store now' }).click();
    await expect.poll(() => h.page.locator('[data-last-verify]').getAttribute('data-last-verify')).toBe('ok');
    expect(await h.page.locator('[data-store-size]').textContent()).toMatch(/^\d+ KB$|^\d+\.\d MB$/);
    const census = { active: 0, revoked: 0 };
    for (const d of h.services.devices.list({ limit: 1000 }).items) census[d.status] += 1;
    expect(await h.page.locator('[data-devices="active"]').textContent()).toBe(String(census.active));
    expect(await h.page.locator('[data-devices="revoked"]').textContent()).toBe(String(census.revoked));
    expect(await card('devices').locator(`[data-group="${groupKeys.name}"] .n`).textContent()).toBe(String(h.services.groups.list().find((g) => g.name === groupKeys.name)!.deviceCount));
    // Generations 3 (active), 2 (grace) and 1 (destroyed), each with its status on the timeline.
    const statuses = await h.page.locator('[data-timeline-generation]').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-timeline-generation')}:${g.getAttribute('data-status')}`));
    expect(statuses).toEqual(h.services.issuers.list().sort((a, b) => b.generation - a.generation).map((g) => `${g.generation}:${g.status}`));
    expect(statuses).toContain('1:destroyed');
    // The stranger the responder refused, counted from the audit log.
    expect(Number(await card('refusals').locator('[data-refusal-code="ENTITY_NOT_FOUND"] .n').textContent())).toBeGreaterThanOrEqual(1);
    expect(await card('responder').textContent()).toContain('stopped');
    await h.screenshot('overview');
    await nav('Settings');
  });

  it('goes to the unlock screen with a notice when main locks for idleness', async () => {
    h.services.store.lock();
    await h.emit(EVENTS.locked, { reason: 'idle' });
    await visible(h.page.getByText(/locked after 5 minutes without activity/));
    await h.screenshot('idle-locked');
    await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    // Back where the operator was.
    await visible(h.page.getByRole('heading', { name: 'Settings' }));
  });

  it('goes to the unlock screen when a call finds the store locked behind its back', async () => {
    h.services.store.lock();
    await nav('Model groups');
    await visible(h.page.getByText('The store is locked. Unlock it to go on.'));
    await h.page.getByLabel('Passphrase').fill(PASSPHRASE);
    await h.page.getByRole('button', { name: 'Unlock' }).click();
    await visible(h.page.getByRole('heading', { name: 'Model groups' }));
  });

  it('refuses a page on another origin, through the same wrapper', async () => {
    const other = await h.context.newPage();
    await other.goto(`http://localhost:${h.port}/index.html`);
    await visible(other.getByRole('alert'));
    expect(await other.getByRole('alert').textContent()).toContain('UNTRUSTED_SENDER');
    const reply = await other.evaluate(() => (window as unknown as { keyladder: { devices: { list(q: object): Promise<unknown> } } }).keyladder.devices.list({}));
    expect(reply).toMatchObject({ ok: false, error: { code: 'UNTRUSTED_SENDER' } });
    await other.screenshot({ path: path.join(path.dirname(await h.screenshot('back-to-app')), 'app-untrusted-origin.png') });
    await other.close();
    // Invalid arguments from the trusted page are refused by the schema, before the services.
    const invalid = await h.page.evaluate(() => (window as unknown as { keyladder: { devices: { list(q: object): Promise<unknown> } } }).keyladder.devices.list({ limit: 10_000, extra: 1 }));
    expect(invalid).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('never sends key material back: no known key in any reply or event, as hex, base64 or base64url', () => {
    expect(h.replies.length).toBeGreaterThan(40);
    // The responder's status replies are among the replies; main's access log is searched too.
    expect(h.replies.some((r) => r.channel === 'responder.status')).toBe(true);
    const haystack = JSON.stringify({ replies: h.replies.map((r) => r.reply), events: h.events, responderLog: h.responderLog });
    const spellings = (k: Buffer) => {
      const b64 = k.toString('base64');
      return [k.toString('hex'), k.toString('hex').toUpperCase(), b64, b64.replace(/=+$/, ''), k.toString('base64url')];
    };
    expect(known.length).toBeGreaterThan(60);
    for (const key of known) {
      for (const spelling of spellings(key)) expect(haystack.includes(spelling), `key spelled ${spelling.slice(0, 6)}… found in a reply`).toBe(false);
    }
    // The passphrases do not come back either.
    expect(haystack).not.toContain(PASSPHRASE);
    expect(haystack).not.toContain('bundle passphrase 123');
    expect(haystack).not.toContain('peer passphrase 456');
  });

  it('closes, leaving no temporary folder behind', async () => {
    closed = true;
    await h.close();
    expect(madeDirs.length).toBeGreaterThan(0);
    for (const dir of madeDirs) expect(existsSync(dir), `${dir} outlived the run`).toBe(false);
  });

  it('raised no console error, page error or CSP violation', () => {
    const unexpected = h.problems.filter((p) => !/UNTRUSTED_SENDER|untrusted-sender/.test(p));
    expect(unexpected).toEqual([]);
  });
});
