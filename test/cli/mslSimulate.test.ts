// `keyladder msl simulate` through the built binary: a simulated MSL device
// with MSL's sample PSK keys, in process and against `keyladder serve` over
// HTTP (POST /msl), every step's KCVs equal on both sides.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliProcess } from '../support/cli.js';
import { client1Psk } from '../support/mslVectors.js';
import { startServe, type Served } from '../support/serveProcess.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-msl-simulate-');
let served: Served | undefined;
let longWindow: Served | undefined;
afterAll(() => {
  served?.child.kill();
  longWindow?.child.kill();
  rmSync(dir, { recursive: true, force: true });
});
const store = ['--store', join(dir, 'store')];
const run = (args: string[]) => cliProcess([...store, ...args]);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('keyladder msl simulate', () => {
  it('set-up: a store with client1 (MSL\'s sample PSK keys)', () => {
    expect(run(['init', '--kdf-log-n', '10']).code).toBe(0);
    const psk = client1Psk();
    writeFileSync(join(dir, 'client1.json'), JSON.stringify({ kpe: hex(psk.kpe), kph: hex(psk.kph) }));
    expect(run(['device', 'add', 'client1', '--keys', join(dir, 'client1.json')]).code).toBe(0);
  });

  it('in process: first contact, data, renewal by PSK and 2 by WRAP, a handshake, a non-replayable message, every KCV equal', () => {
    const r = run(['msl', 'simulate', 'client1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Every step holds');
    expect(r.stdout.match(/^ok {3}/gm)).toHaveLength(7);
    expect(r.stdout).toMatch(/^ok {3}handshake only +renewed, echo none \(handshake\)/m);
    expect(r.stdout).toMatch(/^ok {3}non-replayable data +not renewed, echo intact/m);
    const json = JSON.parse(run(['msl', 'simulate', 'client1', '--rungs', '1', '--json']).stdout);
    expect(json).toMatchObject({ identity: 'client1', allOk: true });
    for (const step of json.steps.filter((s: { renewed: boolean }) => s.renewed)) {
      expect(step.device.kenc).toBe(step.responder.kenc);
      expect(step.device.khmac).toBe(step.responder.khmac);
      expect(step.device.kwrap).toBe(step.responder.kwrap);
    }
    // In process it is a test (issue 21): exchange.test records, none as msl.
    const audit = (action: string) => JSON.parse(run(['audit', 'list', '--action', action, '--subject', 'client1', '--json']).stdout).items as unknown[];
    expect(audit('exchange.test').length).toBe(7 + 6);
    expect(audit('msl')).toEqual([]);
  });

  it('over HTTP against keyladder serve (renewal window 1 s, waited for): the same steps, the same agreement', async () => {
    served = await startServe([...store, 'serve', '--msl-renewal-window', '1']);
    const r = run(['msl', 'simulate', 'client1', '--rungs', '2', '--url', `${served.url}/msl`, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.steps.map((s: { renewed: boolean }) => s.renewed)).toEqual([true, false, true, true, true, true, false]);
    expect(report.allOk).toBe(true);
  });

  it('against a serve whose renewal window is the store\'s hour: first contact and data hold, the renewal by PSK is reported not granted and the simulation stops there (exit 1)', async () => {
    longWindow = await startServe([...store, 'serve']);
    const r = run(['msl', 'simulate', 'client1', '--rungs', '1', '--url', `${longWindow.url}/msl`]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^ok {3}/gm)).toHaveLength(2);
    expect(r.stdout.match(/^FAIL/gm)).toHaveLength(1);
    expect(r.stdout).toContain("renewal not granted: the token's renewal window had not opened");
    expect(r.stdout).toContain('A STEP FAILED');
  });

  it('a device the store does not hold, a bad URL, a responder that is not there: clear refusals', () => {
    const unknown = run(['msl', 'simulate', 'client9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('DEVICE_NOT_FOUND');
    const url = run(['msl', 'simulate', 'client1', '--url', 'ftp://127.0.0.1/msl']);
    expect(url.code).not.toBe(0);
    expect(url.stderr).toContain('http(s)://HOST:PORT/msl');
    const none = run(['msl', 'simulate', 'client1', '--url', 'http://127.0.0.1:9/msl']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('No answer from http://127.0.0.1:9');
  });
});
