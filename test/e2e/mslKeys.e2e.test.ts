// End to end: the MSL server screen (issue 21, item 4) in headless Chromium,
// through the real IPC wrapper and services (harness.ts): the identity card
// and its public forms, each key dialog (create/rotate/import, retire,
// destroy typed again; master-token rotate/import/retire/destroy), a refused
// import with its reason and advice, the settings refused in main, and no key
// byte in any reply or event of the run.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DB, openRaw, storeKeyOf } from '../support/storeFiles.js';
import { announceSkip, chromiumMissing, ROOT, SKIP_MESSAGE, startHarness, type Harness } from './harness.js';
import { skipsHere } from '../support/skips.js';

process.env['KEYLADDER_ALLOW_WEAK_KDF'] = '1';
const PASSPHRASE = 'correct horse battery staple';
const CONFIG = path.join(ROOT, 'test', 'vectors', 'msl-messages', 'mslsrv.cfg');
const configValue = (name: string): string => readFileSync(CONFIG, 'utf8').split('\n').find((l) => l.startsWith(`${name} `))!.slice(name.length).trim();

const d = describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE));
if (chromiumMissing) describe('e2e', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

/** Every private key this run handled: none of their private members may come back. */
const privateKeys: KeyObject[] = [];

d('the MSL server screen, through the real IPC wrapper and services', () => {
  let h: Harness;
  const dialog = () => h.page.getByRole('dialog');
  const nav = (name: string) => h.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const visible = (l: Locator, timeout = 20_000) => l.first().waitFor({ state: 'visible', timeout });
  const file = async (name: string, text: string) => {
    const f = path.join(h.workDir, name);
    await writeFile(f, text);
    return f;
  };

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'mslkeys', kdfLogN: 10 });
    h.page.setDefaultTimeout(10_000);
    await h.services.store.create(PASSPHRASE);
    // A store from before schema 8 (MSL) has no MSL server keys: start from one, as an upgraded store would.
    h.services.store.lock();
    const key = await storeKeyOf(h.storeDir, PASSPHRASE);
    const raw = openRaw(path.join(h.storeDir, DB), key, { readonly: false });
    try {
      raw.prepare('DELETE FROM msl_identities').run();
      raw.prepare('DELETE FROM msl_token_keys').run();
    } finally {
      raw.close();
      key.fill(0);
    }
    await h.services.store.unlock(PASSPHRASE);
    await h.page.goto(`${h.origin}/index.html`);
    await visible(h.page.getByRole('heading', { name: 'Overview' }));
  }, 120_000);

  afterEach(async () => {
    if (await h.page.getByRole('dialog').isVisible()) await h.page.keyboard.press('Escape');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('on a store without MSL keys, says so, and creates the identity and the first master-token keys after a confirmation', async () => {
    await nav('MSL server');
    await visible(h.page.getByRole('heading', { name: 'MSL server' }));
    await visible(h.page.getByText('No MSL server identity: MSL clients cannot authenticate this server'));
    await visible(h.page.getByText('No master-token keys: the responder refuses MSL messages until you rotate.'));
    await h.screenshot('empty');
    await h.page.getByRole('button', { name: 'Create identity…' }).click();
    const create = dialog().getByRole('button', { name: 'Create identity' });
    await dialog().getByLabel(/^Identity name/).fill('bad name');
    await visible(dialog().getByText('A name is 1 to 128 printable ASCII characters'));
    await dialog().getByLabel(/^Identity name/).fill('');
    expect(await create.isDisabled()).toBe(true);
    await dialog().getByRole('checkbox').check();
    await h.screenshot('identity-create-confirm');
    await create.click();
    await visible(h.page.getByText(/Identity keyladder created/));
    expect(h.services.msl.keys.identity()).toMatchObject({ generation: 1, name: 'keyladder', status: 'active' });
    await h.page.locator('[data-msl-token-keys]').getByRole('button', { name: 'Rotate keys…' }).click();
    await dialog().getByRole('checkbox').check();
    await dialog().getByRole('button', { name: 'Rotate now' }).click();
    await visible(h.page.getByText(/Generation 1 issues master tokens/));
    await h.screenshot('identity-created');
  });

  it('shows the identity and copies the lines an MSL client configuration takes, or its PEM or JWK', async () => {
    const id = h.services.msl.keys.identity();
    const card = h.page.locator('[data-msl-identity]');
    await visible(card.getByText(id.keyId));
    const lines = `entity.auth.schemes.keyladder RSA\nmsl.rsa.id.N ${id.keyId}\nmsl.rsa.pub.N ${id.spki}`;
    expect(await card.locator('[data-public-form="config"]').textContent()).toBe(lines);
    await card.getByRole('button', { name: 'Copy for an MSL client configuration' }).click();
    expect(await h.page.evaluate(() => navigator.clipboard.readText())).toBe(lines);
    await h.screenshot('identity-config-lines');
    await card.getByLabel('PEM').check();
    expect(await card.locator('[data-public-form="pem"]').textContent()).toBe(id.pem);
    await h.screenshot('identity-pem');
    await card.getByLabel('JWK').check();
    expect(JSON.parse((await card.locator('[data-public-form="jwk"]').textContent())!)).toEqual(id.jwk);
    await card.getByRole('button', { name: 'Copy JWK' }).click();
    expect(JSON.parse(await h.page.evaluate(() => navigator.clipboard.readText()))).toEqual({ kty: 'RSA', n: id.jwk.n, e: 'AQAB', kid: id.keyId });
    await h.screenshot('identity-jwk');
    expect(await h.page.locator('tr[data-token-generation="1"] .badge').textContent()).toBe('active');
  });

  it('rotates the identity after a confirmation: the old key is kept, retiring', async () => {
    const before = h.services.msl.keys.identity();
    await h.page.getByRole('button', { name: 'Rotate key…' }).click();
    const rotate = dialog().getByRole('button', { name: 'Rotate now' });
    expect(await rotate.isDisabled()).toBe(true);
    await dialog().getByRole('checkbox').check();
    await h.screenshot('identity-rotate-confirm');
    await rotate.click();
    await visible(h.page.getByText('Generation 2 signs from now on'));
    expect(await h.page.locator('tr[data-identity-generation="2"] .badge').textContent()).toBe('active');
    expect(await h.page.locator('tr[data-identity-generation="1"] .badge').textContent()).toBe('retiring');
    expect(h.services.msl.keys.identity().keyId).not.toBe(before.keyId);
    await h.screenshot('identity-rotated');
  });

  it('refuses an imported key with e ≠ 65537 with its reason and advice, nothing stored; then imports an MSL server config', async () => {
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
    privateKeys.push(e3);
    const entries = h.services.audit.verify().entries;
    h.dialogs.open.push(await file('e3.pem', e3.export({ format: 'pem', type: 'pkcs8' }) as string));
    await h.page.getByRole('button', { name: 'Import key pair…' }).click();
    await dialog().getByLabel(/^Key id/).fill('lab-e3');
    const submit = dialog().getByRole('button', { name: 'Choose file and import…' });
    expect(await submit.isDisabled()).toBe(true);
    await dialog().getByLabel(/The imported key signs from now on/).check();
    await h.screenshot('identity-import-dialog');
    await submit.click();
    const alert = dialog().getByRole('alert');
    await visible(alert);
    const text = (await alert.textContent())!;
    expect(text).toContain('public exponent is not 65537');
    expect(text).toContain('MSL_KEY_INVALID · EXPONENT');
    expect(text).toContain('openssl genpkey');
    await h.screenshot('identity-import-refused');
    expect(h.services.audit.verify().entries).toBe(entries);
    expect(h.services.msl.keys.identities()).toHaveLength(2);
    // The MSL sample server's config: key id and public key read from it, the pair checked against it.
    h.dialogs.open.push(CONFIG);
    await dialog().getByLabel(/^Key id/).fill('');
    await dialog().getByLabel(/^Identity name/).fill('server1');
    await submit.click();
    await visible(h.page.getByText(/Imported rsakeyid1 from/));
    expect(h.services.msl.keys.identity()).toMatchObject({ keyId: 'rsakeyid1', name: 'server1', spki: configValue('msl.rsa.pub.0') });
    await h.screenshot('identity-imported');
  });

  it('retires and destroys an identity generation, typing its number', async () => {
    await h.page.locator('tr[data-identity-generation="1"]').getByRole('button', { name: 'Retire…' }).click();
    await h.screenshot('identity-retire-confirm');
    await dialog().getByRole('button', { name: 'Retire', exact: true }).click();
    await visible(h.page.getByText('Identity generation 1 is retired.'));
    await h.page.locator('tr[data-identity-generation="1"]').getByRole('button', { name: 'Destroy…' }).click();
    const destroy = dialog().getByRole('button', { name: 'Destroy generation 1' });
    await dialog().getByLabel(/Type the generation number/).fill('2');
    expect(await destroy.isDisabled()).toBe(true);
    await dialog().getByLabel(/Type the generation number/).fill('1');
    await h.screenshot('identity-destroy-confirm');
    await destroy.click();
    await visible(h.page.getByText('Identity generation 1 is destroyed.'));
    expect(await h.page.locator('tr[data-identity-generation="1"] .badge').textContent()).toBe('destroyed');
    // A hand-made request whose typed number does not match is refused in main.
    const reply = await h.page.evaluate(() => (window as unknown as { keyladder: { mslServer: { destroyIdentity(r: object): Promise<unknown> } } }).keyladder.mslServer.destroyIdentity({ generation: 2, confirm: 3 }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    await h.screenshot('identity-generations');
  });

  it('rotates and imports master-token keys, shows KCVs and the timeline, retires and destroys a generation', async () => {
    const keys = h.page.locator('[data-msl-token-keys]');
    await keys.getByRole('button', { name: 'Rotate keys…' }).click();
    await dialog().getByLabel(/Grace period/).fill('600');
    await dialog().getByRole('checkbox').check();
    await h.screenshot('token-keys-rotate-confirm');
    await dialog().getByRole('button', { name: 'Rotate now' }).click();
    await visible(h.page.getByText(/Generation 2 issues master tokens/));
    expect(await h.page.locator('tr[data-token-generation="1"] .badge').textContent()).toBe('grace');
    // A file without both keys: refused, nothing stored.
    h.dialogs.open.push(await file('half.cfg', `msl.key.enc ${configValue('msl.key.enc')}\n`));
    await keys.getByRole('button', { name: 'Import from an MSL server…' }).click();
    await dialog().getByRole('checkbox').check();
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(dialog().getByRole('alert'));
    expect(await dialog().getByRole('alert').textContent()).toContain('INVALID_KEY · MSL_TOKEN_KEYS');
    expect(await dialog().getByRole('alert').textContent()).toContain('mslsrv.cfg holds both lines');
    expect(h.services.msl.keys.tokenKeyGenerations()).toHaveLength(2);
    await h.screenshot('token-keys-import-refused');
    h.dialogs.open.push(CONFIG);
    await dialog().getByRole('button', { name: 'Choose file and import…' }).click();
    await visible(h.page.getByText(/Imported generation 3 from/));
    const imported = h.services.msl.keys.tokenKeyGenerations().find((g) => g.generation === 3)!;
    expect(await h.page.locator('tr[data-token-generation="3"]').textContent()).toContain(imported.kcvEnc!);
    await h.page.locator('[data-token-timeline]').scrollIntoViewIfNeeded();
    expect(await h.page.locator('[data-token-timeline] [data-timeline-bar]').count()).toBe(3);
    await h.screenshot('token-keys-imported-timeline');
    await h.page.locator('tr[data-token-generation="1"]').getByRole('button', { name: 'Retire…' }).click();
    await h.screenshot('token-keys-retire-confirm');
    await dialog().getByRole('button', { name: 'Retire', exact: true }).click();
    await visible(h.page.getByText('Master-token generation 1 is retired.'));
    await h.page.locator('tr[data-token-generation="1"]').getByRole('button', { name: 'Destroy…' }).click();
    await dialog().getByLabel(/Type the generation number/).fill('1');
    await h.screenshot('token-keys-destroy-confirm');
    await dialog().getByRole('button', { name: 'Destroy generation 1' }).click();
    await visible(h.page.getByText('Master-token generation 1 is destroyed.'));
    expect(await h.page.locator('tr[data-token-generation="1"]').textContent()).toContain('erased');
    await h.screenshot('token-keys-generations');
  });

  it('saves the settings; a renewal window longer than the expiration, or a zero time, is refused in main with its advice', async () => {
    const settings = h.page.locator('[data-msl-settings]');
    const entries = h.services.audit.verify().entries;
    await settings.getByLabel(/^Renewal window/).fill('7200');
    await settings.getByLabel(/^Expiration/).fill('3600');
    await visible(settings.getByText('The renewal window is longer than the expiration'));
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await visible(settings.getByRole('alert'));
    const text = (await settings.getByRole('alert').textContent())!;
    expect(text).toContain('at least the renewal window');
    expect(text).toContain('INVALID_ARGUMENT');
    await h.screenshot('settings-refused');
    // Whatever the renderer sends: main refuses it.
    const sent = await h.page.evaluate(async () => {
      const api = (window as unknown as { keyladder: { mslServer: { setSettings(r: object): Promise<unknown> } } }).keyladder.mslServer;
      return Promise.all([api.setSettings({ expiration: 0 }), api.setSettings({ renewalWindow: -1 }), api.setSettings({ renewalWindow: 9000, expiration: 3600 }), api.setSettings({ nonReplayableWindow: 0 })]);
    });
    for (const reply of sent) expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(h.services.audit.verify().entries).toBe(entries);
    expect(h.services.msl.settings.all()).toEqual({ renewalWindow: 3600, expiration: 86_400, nonReplayableWindow: 65_536 });
    await settings.getByLabel(/^Renewal window/).fill('600');
    await settings.getByLabel(/^Non-replayable window/).fill('1024');
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await visible(settings.getByText(/Saved: renewal window 600 s, expiration 3600 s, non-replayable window 1,024/));
    expect(h.services.msl.settings.all()).toEqual({ renewalWindow: 600, expiration: 3600, nonReplayableWindow: 1024 });
    expect(h.services.audit.list({ action: 'msl.settings' })[0]).toMatchObject({ details: { renewalWindow: 600, expiration: 3600, nonReplayableWindow: 1024 } });
    await h.screenshot('settings-saved');
  });

  it('never sends key bytes through the MSL server channels: public forms and KCVs only', () => {
    const mine = h.replies.filter((r) => r.channel.startsWith('mslServer.'));
    expect(mine.length).toBeGreaterThan(20);
    expect(new Set(mine.map((r) => r.channel)).size).toBeGreaterThanOrEqual(12);
    const haystack = JSON.stringify({ replies: h.replies.map((r) => r.reply), events: h.events });
    expect(haystack).not.toMatch(/PRIVATE KEY|"(d|p|q|dp|dq|qi)":/);
    const spellings = (k: Buffer) => [k.toString('hex'), k.toString('hex').toUpperCase(), k.toString('base64'), k.toString('base64').replace(/=+$/, ''), k.toString('base64url')];
    // The master-token keys in force (the store's own, opened here in the test), and the imported config's.
    const tokenKeys = h.services.msl.keys.tokenKeys();
    expect(tokenKeys.length).toBeGreaterThanOrEqual(2);
    const secrets = [...tokenKeys.flatMap((k) => [k.encryptionKey, k.hmacKey]), Buffer.from(configValue('msl.key.enc'), 'hex'), Buffer.from(configValue('msl.key.hmac'), 'hex')];
    // The private exponents of the identity keys: the one signing now, and the refused one.
    privateKeys.push(h.services.msl.keys.serverSigner().privateKey);
    for (const key of privateKeys) {
      const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
      for (const member of ['d', 'p', 'q']) secrets.push(Buffer.from(jwk[member]!, 'base64url').subarray(0, 48));
    }
    for (const key of secrets) {
      for (const spelling of spellings(key)) expect(haystack.includes(spelling), `a key spelled ${spelling.slice(0, 4)}… crossed`).toBe(false);
    }
    // The check looks where the public forms are (it would find a key there).
    expect(haystack).toContain(configValue('msl.rsa.pub.0'));
    for (const k of tokenKeys) {
      k.encryptionKey.fill(0);
      k.hmacKey.fill(0);
    }
  });

  it('raised no console error, page error or CSP violation', () => {
    expect(h.problems).toEqual([]);
  });
});
