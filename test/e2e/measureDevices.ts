// Measures the Devices screen with 100,000 devices in the store, in headless
// Chromium, through the same bridge as the e2e tests (real wrapper, real
// services, real encrypted store). Prints, in milliseconds (medians of 5):
//   ui.devices.first-rows          page navigation (load of index.html, store unlocked) to the first device row in the DOM
//   ui.devices.first-rows.in-app   click on "Devices" in the navigation (from Audit) to the first device row
//   ui.devices.search              typing a prefix to the first matching row (includes the 150 ms debounce)
//   ui.devices.scroll-jump         jump to an unloaded part of the list (up to OFFSET 99,9xx) to its rows
// Run: npm run measure:ui   (or: npx vitest run --config test/e2e/measure.config.ts)
// Set KEYLADDER_UI_DEVICES to change the count.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { chromiumMissing, SKIP_MESSAGE, startHarness } from './harness.js';
import { skipsHere } from '../support/skips.js';

const COUNT = Number(process.env['KEYLADDER_UI_DEVICES'] ?? 100_000);
const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Installed before any page script: records when the first device row enters the DOM. */
const FIRST_ROW_PROBE = `(() => {
  window.__firstRowAt = null;
  const seen = () => document.querySelector('[data-device-row]') !== null;
  new MutationObserver((_m, observer) => {
    if (window.__firstRowAt === null && seen()) { window.__firstRowAt = performance.now(); observer.disconnect(); }
  }).observe(document, { childList: true, subtree: true });
})();`;

/** Runs `act` in the page, then resolves with the ms until `selector` matches a new element. */
const timeInPage = (selector: string, act: string) => `new Promise((resolve) => {
  const before = new Set(document.querySelectorAll(${JSON.stringify(selector)}));
  const observer = new MutationObserver(() => {
    const now = [...document.querySelectorAll(${JSON.stringify(selector)})].some((e) => !before.has(e));
    if (now) { observer.disconnect(); resolve(performance.now() - t0); }
  });
  observer.observe(document.body, { childList: true, subtree: true, attributes: true });
  const t0 = performance.now();
  ${act}
})`;

it.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE))(`Devices screen with ${COUNT.toLocaleString('en')} devices`, async () => {
  const h = await startHarness({ shotPrefix: 'measure' });
  try {
    const passphrase = 'measure the devices screen';
    await h.services.store.create(passphrase);
    const rows = ['identity,kpw'];
    for (let i = 0; i < COUNT; i++) rows.push(`NFANDROID1-PRV-${String(i).padStart(8, '0')},${randomBytes(16).toString('hex')}`);
    const started = performance.now();
    const report = await h.services.devices.import(rows.join('\n'), 'csv');
    expect(report.imported).toBe(COUNT);
    console.log(`setup: imported ${COUNT} devices in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    await h.context.addInitScript({ content: FIRST_ROW_PROBE });
    const load: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await h.page.goto(`${h.origin}/index.html`);
      await h.page.waitForFunction(() => (window as unknown as { __firstRowAt: number | null }).__firstRowAt !== null, undefined, { timeout: 30_000 });
      load.push(await h.page.evaluate(() => (window as unknown as { __firstRowAt: number }).__firstRowAt));
    }
    await h.screenshot('devices-100k');

    const inApp: number[] = [];
    const nav = (name: string) => `[...document.querySelectorAll('nav button')].find((b) => b.textContent.trim() === ${JSON.stringify(name)}).click();`;
    for (let run = 0; run < RUNS; run++) {
      await h.page.evaluate(nav('Audit'));
      await h.page.getByRole('heading', { name: 'Audit' }).waitFor();
      inApp.push(await h.page.evaluate(timeInPage('[data-device-row]', nav('Devices'))));
    }

    const search: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const prefix = `NFANDROID1-PRV-000${run + 5}`;
      const act = `const input = document.querySelector('input[type=search]'); input.value = ${JSON.stringify(prefix)}; input.dispatchEvent(new Event('input', { bubbles: true }));`;
      search.push(await h.page.evaluate(timeInPage(`[data-device-row^="${prefix}"]`, act)));
    }
    await h.screenshot('devices-search');
    await h.page.evaluate(`(() => { const i = document.querySelector('input[type=search]'); i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); })()`);
    await h.page.getByText(`${COUNT.toLocaleString('en')} provisioned`).waitFor();

    // Jumps to places never loaded before (0.9, 0.3, 0.7, 0.1 and the very end), so each one goes to the store.
    const scrollJump: number[] = [];
    for (const fraction of [0.9, 0.3, 0.7, 0.1, 1]) {
      const act = `const v = document.querySelector('[role=listbox]'); v.scrollTop = Math.round((v.scrollHeight - v.clientHeight) * ${fraction});`;
      scrollJump.push(await h.page.evaluate(timeInPage('[data-device-row]', act)));
    }
    await h.screenshot('devices-scrolled');

    const lines = [
      `ui.devices.first-rows: ${median(load).toFixed(0)} ms`,
      `ui.devices.first-rows.in-app: ${median(inApp).toFixed(0)} ms`,
      `ui.devices.search: ${median(search).toFixed(0)} ms`,
      `ui.devices.scroll-jump: ${median(scrollJump).toFixed(0)} ms`,
    ];
    console.log(`${lines.join('\n')}\n(devices: ${COUNT}; runs: load ${load.map((x) => x.toFixed(0)).join('/')}, in-app ${inApp.map((x) => x.toFixed(0)).join('/')}, search ${search.map((x) => x.toFixed(0)).join('/')}, scroll ${scrollJump.map((x) => x.toFixed(0)).join('/')})`);
  } finally {
    await h.close();
  }
});

if (chromiumMissing) it.skip(SKIP_MESSAGE, () => {});
