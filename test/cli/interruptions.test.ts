// Interruptions say what happened (issue 22, item 6): Ctrl-C at a passphrase
// prompt is "Cancelled.", exit 130, on a real terminal, and changes nothing.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { storeHashes } from '../support/storeFiles.js';
import { hasScript, onTerminal } from '../support/terminal.js';
import { skipsHere, NO_PTY } from '../support/skips.js';

const dir = tempDir('keyladder-interrupt-');
const storeDir = join(dir, 'store');
const NO_PASSPHRASE = { KEYLADDER_PASSPHRASE: undefined };

beforeAll(async () => {
  expect((await cli(['--store', storeDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skipsHere(!hasScript(), NO_PTY))('Ctrl-C at a passphrase prompt', () => {
  it('verify: "Cancelled.", exit 130, no INTERNAL_ERROR, the store unchanged', async () => {
    const before = storeHashes(storeDir);
    const r = await onTerminal(['--store', storeDir, 'verify'], [{ when: 'Store passphrase', type: '\x03' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain('INTERNAL_ERROR');
    expect(storeHashes(storeDir)).toEqual(before);
  });

  it('Ctrl-D on an empty line is Cancelled too (@inquirer/password 5 rejects on EOF), exit 130', async () => {
    const before = storeHashes(storeDir);
    const r = await onTerminal(['--store', storeDir, 'verify'], [{ when: 'Store passphrase', type: '\x04' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain('INTERNAL_ERROR');
    expect(storeHashes(storeDir)).toEqual(before);
  });

  it('the typed passphrase is never shown: no echo, no Ctrl-T reveal (on by default in @inquirer/password 5)', async () => {
    const typed = 'typed-but-never-shown';
    const r = await onTerminal(['--store', storeDir, 'verify'], [{ when: 'Store passphrase', type: `${typed}\x14` }, { when: '[input is masked]', type: '\x03' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain(typed);
    expect(r.output).not.toContain('toggle visibility');
  });

  it('init: at the new passphrase\'s second prompt too', async () => {
    const other = join(dir, 'fresh');
    const r = await onTerminal(['--store', other, 'init', '--kdf-log-n', '10'], [{ when: 'passphrase:', type: 'a long new passphrase\r' }, { when: 'again', type: '\x03' }], NO_PASSPHRASE);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Cancelled.');
    expect(r.output).not.toContain('INTERNAL_ERROR');
  });
});

describe.skipIf(skipsHere(!hasScript(), NO_PTY))('Ctrl-C during device import', () => {
  it('while the rows are checked: "Interrupted: nothing was imported.", exit 130, no device written', async () => {
    const file = join(dir, 'big.csv');
    const rows = ['identity,kpw'];
    for (let i = 0; i < 60_000; i++) rows.push(`CTRLC-${String(i).padStart(6, '0')},${(i + 1).toString(16).padStart(32, '0')}`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    const r = await onTerminal(['--store', storeDir, 'device', 'import', file], [{ when: 'Importing', type: '\x03' }]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('Interrupted: nothing was imported.');
    const list = await cli(['--store', storeDir, 'device', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { total: number }).total).toBe(0);
  });

  it('once the write has begun: "The import had completed: N devices.", exit 130, every device written', async () => {
    // Ctrl-C is typed when the bar shows the write phase (every 10,000 rows inside the write
    // transaction): SIGINT is handled only once the transaction has committed, so the import is whole.
    const n = 120_000;
    const file = join(dir, 'written.csv');
    const rows = ['identity,kpw'];
    for (let i = 0; i < n; i++) rows.push(`DONE-${String(i).padStart(6, '0')},${(i + 1).toString(16).padStart(32, '0')}`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    const r = await onTerminal(['--store', storeDir, 'device', 'import', file], [{ when: 'Importing writing', type: '\x03' }], {}, 120_000);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('The import had completed: 120,000 devices.');
    expect(r.output).not.toContain('Interrupted: nothing was imported.');
    const list = await cli(['--store', storeDir, 'device', 'list', '--prefix', 'DONE-', '--json']);
    expect((JSON.parse(list.stdout) as { total: number }).total).toBe(n);
  }, 180_000);
});
