// Issue 22, item 2, in the app: deleting devices from the Devices screen, the
// selected one or the marked ones, behind the typed confirmation (the number
// of devices), as an operator would, through the real IPC wrapper and services.
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, chromiumMissing, SKIP_MESSAGE, startHarness, type Harness } from './harness.js';
import { skipsHere } from '../support/skips.js';

const d = describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE));
if (chromiumMissing) describe('e2e', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

d('deleting devices in the app', () => {
  let h: Harness;
  const dialog = () => h.page.getByRole('dialog');
  const visible = (l: Locator, timeout = 20_000) => l.first().waitFor({ state: 'visible', timeout });
  const nav = (name: string) => h.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'fleet' });
    h.page.setDefaultTimeout(10_000);
    await h.services.store.create('correct horse battery staple');
    const rows = ['identity', ...Array.from({ length: 6 }, (_, i) => `LOT-${i}`)];
    expect((await h.services.devices.import(`${rows.join('\n')}\n`, 'csv')).imported).toBe(6);
    await h.page.goto(`${h.origin}/index.html`);
    await nav('Devices');
    await visible(h.page.getByText('6 provisioned'));
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('deletes the selected device once its count is typed; the button stays off for any other number', async () => {
    await h.page.locator('[data-device-row="LOT-0"]').click();
    await h.page.getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Delete…' }).click();
    await visible(dialog().getByText('LOT-0'));
    const confirm = dialog().getByRole('button', { name: 'Delete device' });
    await dialog().getByLabel('Number of devices to delete').fill('2');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog().getByLabel('Number of devices to delete').fill('1');
    await h.screenshot('delete-one-confirm');
    await confirm.click();
    await visible(h.page.getByText('5 provisioned'));
    expect(await h.page.locator('[data-device-row="LOT-0"]').count()).toBe(0);
    expect(h.services.audit.list({ action: 'device.delete' }).map((e) => e.subject)).toEqual(['LOT-0']);
  });

  it('deletes the marked devices together, and the audit keeps each one\'s identity and KCV', async () => {
    const kcvs = ['LOT-2', 'LOT-4'].map((id) => h.services.devices.get(id).kcv.kpw);
    for (const id of ['LOT-2', 'LOT-4']) await h.page.getByRole('checkbox', { name: `Mark ${id} for export` }).check();
    await h.page.locator('[data-device-row="LOT-1"]').click();
    await h.page.getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Delete 2 marked…' }).click();
    await visible(dialog().getByText('LOT-2, LOT-4'));
    await dialog().getByLabel('Number of devices to delete').fill('2');
    await h.screenshot('delete-marked-confirm');
    await dialog().getByRole('button', { name: 'Delete 2 devices' }).click();
    await visible(h.page.getByText('3 provisioned'));
    await h.screenshot('delete-after');
    const rows = h.services.audit.list({ action: 'device.delete' });
    expect(rows.map((e) => [e.subject, e.details['kcvKpw']])).toEqual(expect.arrayContaining([['LOT-2', kcvs[0]], ['LOT-4', kcvs[1]]]));
    expect(h.services.devices.list().items.map((x) => x.identity)).toEqual(['LOT-1', 'LOT-3', 'LOT-5']);
  });

  it('shows a clear refusal when a device went meanwhile, and deletes nothing', async () => {
    await h.page.locator('[data-device-row="LOT-3"]').click();
    await h.page.getByRole('complementary', { name: 'Selected device' }).getByRole('button', { name: 'Delete…' }).click();
    // Deleted elsewhere (the CLI) while the dialog is open.
    h.services.devices.deleteSelected({ kind: 'identities', identities: ['LOT-3'] });
    await dialog().getByLabel('Number of devices to delete').fill('1');
    await dialog().getByRole('button', { name: 'Delete device' }).click();
    await visible(dialog().getByText('Nothing was deleted'));
    await visible(dialog().getByText(/deleted already/));
    await h.screenshot('delete-refused');
    expect(h.problems.filter((p) => !p.includes('DEVICE_DELETED'))).toEqual([]);
  });

  it('deletes by model group, then by prefix, as the export selects them: the typed count is what main counted', async () => {
    h.services.groups.add('G-E2E', { kind: 'generate' });
    for (const id of ['BATCH-0', 'BATCH-1', 'BATCH-2', 'BATCH-3', 'BATCH-4']) h.services.devices.provision({ identity: id, group: id < 'BATCH-2' ? 'G-E2E' : null, keys: { kind: 'generate' } });
    await h.page.keyboard.press('Escape');
    await nav('Overview');
    await nav('Devices');
    await visible(h.page.getByText('7 provisioned'));
    await h.page.getByRole('button', { name: 'Delete devices…', exact: true }).click();
    await dialog().getByRole('radio', { name: /Every device of the model group/ }).check();
    await visible(dialog().getByText('2 devices are deleted'));
    await dialog().getByLabel('Number of devices to delete').fill('2');
    await h.screenshot('delete-group-confirm');
    await dialog().getByRole('button', { name: 'Delete 2 devices' }).click();
    await visible(h.page.getByText('5 provisioned'));
    expect(h.services.devices.list({ prefix: 'BATCH-' }).items.map((x) => x.identity)).toEqual(['BATCH-2', 'BATCH-3', 'BATCH-4']);

    await h.page.getByRole('button', { name: 'Delete devices…', exact: true }).click();
    await dialog().getByLabel('Identity prefix').fill('BATCH-');
    await visible(dialog().getByText('3 devices are deleted'));
    // A device added meanwhile: the count typed is no longer what the prefix holds, and nothing is deleted.
    h.services.devices.provision({ identity: 'BATCH-5', keys: { kind: 'generate' } });
    await dialog().getByLabel('Number of devices to delete').fill('3');
    await dialog().getByRole('button', { name: 'Delete 3 devices' }).click();
    await visible(dialog().getByText('Nothing was deleted'));
    expect(h.services.devices.list({ prefix: 'BATCH-' }).total).toBe(4);
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await h.page.getByRole('button', { name: 'Delete devices…', exact: true }).click();
    await dialog().getByLabel('Identity prefix').fill('BATCH-');
    await visible(dialog().getByText('4 devices are deleted'));
    await dialog().getByLabel('Number of devices to delete').fill('4');
    await dialog().getByRole('button', { name: 'Delete 4 devices' }).click();
    await visible(h.page.getByText('2 provisioned'));
    expect(h.services.devices.list({ prefix: 'BATCH-' }).total).toBe(0);
  });

  it('provisions a deleted identity again only with the reuse box ticked; refused with the advice that names it otherwise', async () => {
    await h.page.getByRole('button', { name: 'Add device', exact: true }).click();
    await dialog().getByLabel(/^Identity/).fill('BATCH-0');
    await dialog().getByRole('button', { name: 'Provision device' }).click();
    await visible(dialog().getByText('The device was not provisioned'));
    await visible(dialog().getByText(/tick “Reuse a deleted device’s name”/));
    await h.screenshot('reuse-refused');
    expect(h.services.devices.list({ prefix: 'BATCH-0' }).total).toBe(0);
    await dialog().getByLabel(/Reuse a deleted device’s name/).check();
    await dialog().getByRole('button', { name: 'Provision device' }).click();
    await visible(dialog().getByText('is provisioned'));
    expect(h.services.devices.get('BATCH-0').status).toBe('active');
    expect(h.services.audit.list({ action: 'device.provision' })[0]).toMatchObject({ subject: 'BATCH-0', details: { reusedIdentity: true } });
    expect(h.problems.filter((p) => !p.includes('DEVICE_DELETED') && !p.includes('NOT_CONFIRMED'))).toEqual([]);
  });
});
