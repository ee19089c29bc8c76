// An operator's first session, step by step, through the app's own screens:
// create the store, provision a device with a Kpw this module chose, run a
// 3-rung test exchange (every KCV must match), switch the in-app HTTP
// responder on and answer a real PSK request (then the WRAP request made with
// the wrapdata it returned) from this process, run a simulated MSL device's
// handshake against the responder's /msl (KeyLadder's own MSL client, with a
// second device provisioned with Kpe + Kph), export a passphrase bundle and
// open it with jose, and lock.
//
// The steps are the packaged-app smoke test's (electron-smoke.test.ts, CI
// only: it needs the Electron binary). operator-session.test.ts runs the very
// same steps here, against the built renderer in Chromium through the e2e
// harness, so that a renamed label or a changed screen fails on every
// `npm test` and not only in the hosted CI. The selectors are those of
// test/e2e/app.e2e.test.ts.
//
// Nothing here may load the SQLite addon: in CI the smoke test runs after
// `npm run dist`, which rebuilds it for Electron's ABI. Only the protocol's
// pure modules (electron/ladder, electron/jwe/kcv, electron/msl) and jose are imported.

import { createPublicKey, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { kcv } from '../../electron/jwe/kcv.js';
import { importWrappingKey, LadderRequestor } from '../../electron/ladder/requestor.js';
import { MslClient } from '../../electron/msl/client.js';

export interface SessionEnv {
  /** Read when a step runs. */
  readonly page: Page;
  /** A folder of the test's own, where the bundle is written. */
  readonly workDir: string;
  /** Makes main's next "save file" dialog answer `file`, as the operator would by choosing it. */
  chooseSaveFile(file: string): Promise<void>;
  screenshot?(name: string): Promise<unknown>;
  /** The store's MSL server identity (key id and public key PEM) that the simulated MSL device trusts. */
  mslServerKey(): Promise<{ readonly keyId: string; readonly pem: string }>;
}

/** What the session made and learnt, for the checks each runner adds of its own. */
export interface SessionState {
  readonly passphrase: string;
  readonly bundlePassphrase: string;
  readonly device: { readonly identity: string; readonly kpw: string };
  /** The simulated MSL device: PSK entity authentication needs Kpe and Kph. */
  readonly mslDevice: { readonly identity: string; readonly kpe: string; readonly kph: string };
  endpoint?: string;
  bundleFile?: string;
  /** The Kwrap KCVs the device got over HTTP, one per rung. */
  readonly httpRungs: string[];
}

export type Step = readonly [name: string, run: () => Promise<void>];

/**
 * Runs steps as one session: once a step fails, every later one fails at once
 * and names it (they depend on it), after `onFailure` (a screenshot) has run.
 */
export function inOrder(onFailure: (name: string) => Promise<unknown>) {
  let first: string | null = null;
  return {
    get firstFailure(): string | null {
      return first;
    },
    step: (name: string, run: () => Promise<void>) => async (): Promise<void> => {
      if (first !== null) throw new Error(`not run: "${first}" failed first`);
      try {
        await run();
      } catch (error) {
        first = name;
        await onFailure(name).catch(() => undefined);
        throw error;
      }
    },
  };
}

const UI_TIMEOUT = 30_000;
/** scrypt (N = 2^17) runs in main while the store is created. */
const KDF_TIMEOUT = 90_000;
const BUNDLE_FORMAT = 'keyladder-provisioning-bundle';

/** Every key and passphrase the session typed: none may ever show up in a log or a reply. */
export const secretsOf = (s: SessionState): string[] => [
  s.passphrase,
  s.bundlePassphrase,
  ...[s.device.kpw, s.mslDevice.kpe, s.mslDevice.kph].flatMap((k) => [k, k.toUpperCase(), Buffer.from(k, 'hex').toString('base64'), Buffer.from(k, 'hex').toString('base64url')]),
];

export function newSession(): SessionState {
  return {
    passphrase: `smoke store ${randomBytes(6).toString('hex')}`,
    bundlePassphrase: `smoke bundle ${randomBytes(6).toString('hex')}`,
    device: { identity: 'ESN-SMOKE-0001', kpw: randomBytes(16).toString('hex') },
    mslDevice: { identity: 'ESN-SMOKE-MSL-1', kpe: randomBytes(16).toString('hex'), kph: randomBytes(32).toString('hex') },
    httpRungs: [],
  };
}

/** The steps, in order; each builds on the one before. */
export function operatorSession(env: SessionEnv, s: SessionState = newSession()): { state: SessionState; steps: Step[] } {
  // Read when a step runs, so that the steps can be listed before the app or the browser is up.
  const page = (): Page => env.page;
  const shot = async (name: string) => void (await env.screenshot?.(name));
  const dialog = () => page().getByRole('dialog');
  const visible = (l: Locator, timeout = UI_TIMEOUT) => l.first().waitFor({ state: 'visible', timeout });
  /** Waits for `expected`, or fails at once with the message of the error box the screen shows instead. */
  const settle = async (expected: Locator, what: string, timeout = UI_TIMEOUT) => {
    const alert = page().getByRole('alert');
    await visible(expected.or(alert), timeout);
    if (!(await expected.first().isVisible()) && (await alert.first().isVisible())) {
      throw new Error(`${what}: the app says "${((await alert.first().textContent()) ?? '').replace(/\s+/g, ' ').trim()}"`);
    }
  };
  const nav = (name: string) => page().getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const selectDevice = async (identity: string) => {
    await page().getByLabel('Search by identity prefix').fill(identity);
    await page().locator(`[data-device-row="${identity}"]`).click();
  };
  const count = (name: string) => page().locator(`[data-count="${name}"]`).textContent();
  const post = (url: string, body: unknown) => fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(15_000) });

  const steps: Step[] = [
    ['creates the store with a passphrase', async () => {
      await visible(page().getByRole('heading', { name: 'Create the KeyLadder store' }));
      await page().getByLabel('Passphrase', { exact: true }).fill(s.passphrase);
      await page().getByLabel('Repeat the passphrase').fill(s.passphrase);
      // The operator's name, asked once: the actor of the session's audit entries.
      await page().getByLabel('Your name').fill('Smoke Operator');
      await page().getByRole('button', { name: 'Create store' }).click();
      await settle(page().getByRole('heading', { name: 'Overview' }), 'creating the store', KDF_TIMEOUT);
      await shot('store-created');
    }],

    ['provisions a device with the Kpw it is given, and shows that key’s KCV', async () => {
      await nav('Devices');
      await page().getByRole('button', { name: 'Add device' }).click();
      const add = dialog();
      await add.getByLabel('Identity').fill(s.device.identity);
      await add.getByLabel('Enter Kpw only').check();
      await add.getByRole('textbox', { name: /^Kpw\b/ }).fill(s.device.kpw);
      await add.getByRole('button', { name: 'Provision device' }).click();
      await settle(add.getByText('is provisioned'), 'provisioning the device');
      expect((await add.textContent()) ?? '').toContain(kcv(Buffer.from(s.device.kpw, 'hex'), 'aes'));
      await shot('device-provisioned');
      await add.getByRole('button', { name: 'Close', exact: true }).click();
      await visible(page().locator(`[data-device-row="${s.device.identity}"]`));
      // The typed key is gone from the page.
      expect((await page().content()).toLowerCase()).not.toContain(s.device.kpw);
    }],

    ['runs a 3-rung test exchange, and every KCV matches on both sides', async () => {
      await selectDevice(s.device.identity);
      await page().getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Test exchange' }).click();
      await visible(page().getByRole('heading', { name: 'Test exchange' }));
      expect(await page().getByLabel('Device identity').inputValue()).toBe(s.device.identity);
      await page().getByRole('spinbutton', { name: 'Rungs' }).fill('3');
      await page().getByRole('button', { name: 'Run exchange' }).click();
      await settle(page().locator('figure.ladder'), 'the test exchange');
      const rungs = page().locator('tr[data-rung]');
      expect(await rungs.count()).toBe(3);
      expect(await rungs.locator('td:nth-child(2)').allTextContents()).toEqual(['PSK', 'WRAP', 'WRAP']);
      // Each rung: Kwrap, Kenc and Khmac compared, device against responder.
      expect(await page().locator('tr[data-rung] .badge.ok').count()).toBe(3);
      expect(await page().locator('tr[data-rung] .badge.bad').count()).toBe(0);
      expect(await page().locator('figure.ladder svg text.tick').count()).toBe(9);
      expect(await page().locator('figure.ladder svg text.cross').count()).toBe(0);
      expect(await page().locator('figure.ladder figcaption').textContent()).toMatch(/All 3 rungs: every KCV matches on both sides/);
      await shot('test-exchange');
    }],

    ['answers POST /v1/keyx from the in-app responder: a PSK request, then WRAP with the wrapdata it returned', async () => {
      await nav('Responder');
      await visible(page().getByRole('heading', { name: 'Responder', exact: true }));
      await visible(page().locator('[data-responder-state="stopped"]'));
      expect(await page().getByLabel('Host').inputValue()).toBe('127.0.0.1');
      // Port 0: any free port, so nothing else on the machine can collide.
      await page().getByRole('spinbutton', { name: /^Port\b/ }).fill('0');
      await page().getByLabel('Profile').selectOption('msl');
      await page().getByRole('button', { name: 'Start responder' }).click();
      await settle(page().locator('[data-responder-state="listening"]'), 'starting the responder');
      const endpoint = ((await page().locator('[data-responder-address]').textContent()) ?? '').trim();
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/keyx$/);
      s.endpoint = endpoint;

      // The device, as MSL's requestor: it holds only the Kpw it was provisioned with.
      const device = new LadderRequestor(s.device.identity, await importWrappingKey(Buffer.from(s.device.kpw, 'hex')));
      for (const mechanism of ['PSK', 'WRAP']) {
        const request = device.nextRequest();
        expect(request.keyrequestdata.keydata['mechanism']).toBe(mechanism);
        const res = await post(endpoint, request);
        const body = await res.text();
        expect(res.status, body.slice(0, 300)).toBe(200);
        // The response decrypts under the key the request was made with (Kpw, then the last Kwrap) and its keys import.
        const keys = await device.accept(JSON.parse(body));
        expect(keys.kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
        expect(keys.wrapdata.length).toBeGreaterThan(0);
        s.httpRungs.push(keys.kcv.kwrap);
      }
      expect(new Set(s.httpRungs).size).toBe(2);
      // A device the store does not know is refused.
      const unknown = await post(endpoint, { identity: 'ESN-NOT-PROVISIONED', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });
      expect(unknown.status).toBe(403);
      // The screen counts them, without a click.
      await page().waitForFunction(() => document.querySelector('[data-count="exchanges"]')?.textContent === '2' && document.querySelector('[data-count="refused"]')?.textContent === '1', undefined, { timeout: 10_000 });
      expect(await count('inFlight')).toBe('0');
      await shot('responder-answered');
    }],

    ['answers a simulated MSL device’s handshake at /msl, then a message under the master token it issued, and lists both', async () => {
      const d = s.mslDevice;
      await nav('Devices');
      await page().getByRole('button', { name: 'Add device' }).click();
      const add = dialog();
      await add.getByLabel('Identity').fill(d.identity);
      await add.getByLabel('Enter Kpe + Kph').check();
      await add.getByRole('textbox', { name: /^Kpe\b/ }).fill(d.kpe);
      await add.getByRole('textbox', { name: /^Kph\b/ }).fill(d.kph);
      await add.getByRole('button', { name: 'Provision device' }).click();
      await settle(add.getByText('is provisioned'), 'provisioning the MSL device');
      await add.getByRole('button', { name: 'Close', exact: true }).click();

      await nav('Responder');
      const msl = ((await page().locator('[data-responder-msl-address]').textContent()) ?? '').trim();
      expect(msl).toBe(s.endpoint!.replace(/\/v1\/keyx$/, '/msl'));
      const server = await env.mslServerKey();
      const device = await MslClient.create({
        identity: d.identity,
        longTerm: { mechanism: 'PSK', encryptionKey: Buffer.from(d.kpe, 'hex'), hmacKey: Buffer.from(d.kph, 'hex') },
        trustedServerKeys: new Map([[server.keyId, createPublicKey(server.pem)]]),
      });
      const exchange = async (body: Uint8Array) => {
        const res = await fetch(msl, { method: 'POST', body: Buffer.from(body), signal: AbortSignal.timeout(15_000) });
        expect(res.status).toBe(200);
        return device.accept(new Uint8Array(await res.arrayBuffer()));
      };
      // The handshake: PSK entity authentication and a JWE_LADDER key request; the answer is under the
      // server's RSA identity, with a new master token whose session keys the client checks.
      const handshake = await exchange(device.request({ handshake: true }));
      expect(handshake.error).toBeUndefined();
      expect(handshake).toMatchObject({ renewed: true, masterToken: { sequence: 0 } });
      // A message under that token: the echo opens under its session keys.
      const data = await exchange(device.request({ payload: Buffer.from('smoke over msl'), renew: false }));
      expect(Buffer.from(data.payload).toString('utf8')).toBe('smoke over msl');
      // The Responder screen lists both, newest first, without a click.
      const rows = page().locator('[data-msl-row]');
      await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-kind'))), { timeout: 10_000 }).toEqual(['data', 'handshake']);
      expect(await rows.first().textContent()).toContain(`master token ${handshake.masterToken!.serial} / seq 0`);
      await shot('msl-handshake');
    }],

    ['exports a passphrase bundle: a compact JWE (PBES2-HS512+A256KW) that jose opens to the device’s Kpw', async () => {
      const file = path.join(env.workDir, 'keyladder-bundle.jwe');
      await nav('Devices');
      await selectDevice(s.device.identity);
      await page().getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Export bundle…' }).click();
      await dialog().getByLabel('Passphrase', { exact: true }).fill(s.bundlePassphrase);
      await dialog().getByLabel('Repeat it').fill(s.bundlePassphrase);
      await env.chooseSaveFile(file);
      await dialog().getByRole('button', { name: 'Choose file and export…' }).click();
      await settle(dialog().getByText('Saved the bundle of 1 device'), 'exporting the bundle', 60_000);
      expect(await dialog().getByRole('status').textContent()).toContain(file);
      await shot('bundle-exported');
      await dialog().getByRole('button', { name: 'Close', exact: true }).click();
      s.bundleFile = file;

      if (process.platform !== 'win32') expect((await stat(file)).mode & 0o077, 'the bundle is readable by its owner only').toBe(0);
      const jwe = (await readFile(file, 'utf8')).trim();
      expect(jwe).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: BUNDLE_FORMAT });
      const { plaintext, protectedHeader } = await compactDecrypt(jwe, Buffer.from(s.bundlePassphrase, 'utf8'), {
        keyManagementAlgorithms: ['PBES2-HS512+A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
        maxPBES2Count: 10_000_000,
      });
      expect(protectedHeader.p2c).toBeGreaterThanOrEqual(600_000);
      const bundle = JSON.parse(Buffer.from(plaintext).toString('utf8')) as { format: string; version: number; payload: { devices: Array<{ identity: string; kpw?: string }> } };
      expect(bundle).toMatchObject({ format: BUNDLE_FORMAT, version: 1 });
      expect(bundle.payload.devices).toHaveLength(1);
      expect(bundle.payload.devices[0]).toMatchObject({ identity: s.device.identity, kpw: s.device.kpw });
      // The wrong passphrase opens nothing.
      await expect(compactDecrypt(jwe, Buffer.from(`${s.bundlePassphrase}!`, 'utf8'), { maxPBES2Count: 10_000_000 })).rejects.toThrow();
    }],

    ['locks: the unlock screen comes back, and the responder stops with the store', async () => {
      await page().getByRole('button', { name: 'Lock' }).click();
      await visible(page().getByRole('heading', { name: 'Unlock KeyLadder' }));
      const endpoint = s.endpoint;
      if (endpoint === undefined) throw new Error('the responder step did not run');
      await expect.poll(() => post(endpoint, {}).then(() => 'answered', () => 'refused'), { timeout: 10_000 }).toBe('refused');
      await shot('locked');
    }],
  ];
  return { state: s, steps };
}
