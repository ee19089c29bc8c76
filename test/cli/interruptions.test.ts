// Interruptions say what happened (issue 22, item 6): Ctrl-C at a passphrase
// prompt is "Cancelled.", exit 130, on a real terminal, and changes nothing.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';
import { hasScript, onTerminal } from '../support/terminal.js';

const dir = tempDir('keyladder-interrupt-');
const storeDir = join(dir, 'store');
const NO_PASSPHRASE = { KEYLADDER_PASSPHRASE: undefined };

beforeAll(async () => {
  expect((await cli(['--store', storeDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasScript())('Ctrl-C at a passphrase prompt', () => {
  it('verify: "Cancelled.", exit 130, no INTERNAL_ERROR, the store unchanged', async () => {
    const before = storeHashes(storeDir);
    const r = await onTerminal(['--store', storeDir, 'verify'], [{ when: 'Store passphrase', type: '\x03' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain('INTERNAL_ERROR');
    expect(storeHashes(storeDir)).toEqual(before);
  });

  it('init: at the new passphrase\'s second prompt too', async () => {
    const other = join(dir, 'fresh');
    const r = await onTerminal(['--store', other, 'init', '--kdf-log-n', '10'], [{ when: 'passphrase:', type: 'a long new passphrase\r' }, { when: 'again', type: '\x03' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain('INTERNAL_ERROR');
  });
});
