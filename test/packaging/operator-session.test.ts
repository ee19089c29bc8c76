// The packaged-app smoke test's operator steps (operatorSession.ts), run here
// against the built renderer in Debian's Chromium through the e2e harness
// (the real preload, IPC wrapper, services and in-app responder). The smoke
// test itself needs the Electron binary and runs only in the hosted CI; this
// keeps its script honest on every `npm test`: a renamed label or a changed
// screen fails here first.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, chromiumMissing, SKIP_MESSAGE, startHarness, type Harness } from '../e2e/harness.js';
import { inOrder, operatorSession, secretsOf } from './operatorSession.js';
import { skipsHere } from '../support/skips.js';

if (chromiumMissing) describe('operator session (Chromium)', () => it.skip(SKIP_MESSAGE, () => {}));
announceSkip();

describe.skipIf(skipsHere(chromiumMissing, SKIP_MESSAGE))('the smoke test’s operator session, in Chromium through the e2e harness', () => {
  let h: Harness;
  const { state, steps } = operatorSession({
    get page() {
      return h.page;
    },
    get workDir() {
      return h.workDir;
    },
    chooseSaveFile: async (file) => void h.dialogs.save.push(file),
    mslServerKey: async () => {
      const identity = h.services.msl.keys.identity();
      return { keyId: identity.keyId, pem: identity.pem };
    },
    screenshot: (name) => h.screenshot(name),
  });
  const order = inOrder((name) => h.screenshot(`failed-${steps.findIndex(([n]) => n === name) + 1}`));

  beforeAll(async () => {
    h = await startHarness({ shotPrefix: 'operator-session' });
    h.page.setDefaultTimeout(15_000);
    await h.page.goto(`${h.origin}/index.html`);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  for (const [name, run] of steps) it(name, order.step(name, run), 120_000);

  it('wrote the bundle where the dialog said, and no key or passphrase reached a reply, an event or the access log', () => {
    expect(state.bundleFile).toBe(path.join(h.workDir, 'keyladder-bundle.jwe'));
    // Main's access log: one line per request, the two exchanges answered, the stranger refused.
    expect(h.responderLog.filter((l) => l.includes('POST /v1/keyx 200') && l.endsWith(`ok ${state.device.identity}`))).toHaveLength(2);
    expect(h.responderLog.some((l) => l.includes('403') && l.includes('ESN-NOT-PROVISIONED'))).toBe(true);
    // The simulated MSL device's handshake and its message under the new master token.
    expect(h.responderLog.filter((l) => l.includes('POST /msl 200') && l.endsWith(`msl ok ${state.mslDevice.identity}`))).toHaveLength(2);
    const haystack = JSON.stringify({ replies: h.replies.map((r) => r.reply), events: h.events, log: h.responderLog });
    for (const secret of secretsOf(state)) expect(haystack.includes(secret), `${secret.slice(0, 4)}… came back`).toBe(false);
    expect(h.problems).toEqual([]);
  });
});
