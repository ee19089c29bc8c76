// `keyladder serve`, the real binary: a device simulated by the requestor
// climbs a 10-rung ladder over HTTP (and over TLS), then SIGTERM drains it.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderRequestor, importWrappingKey } from '../../electron/ladder/requestor.js';
import { ROOT, cliProcess, testEnv } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { deriveVector, hex } from '../support/vectors.js';

const v = deriveVector();
const dir = tempDir('keyladder-serve-');
const store = ['--store', join(dir, 'store')];

beforeAll(() => {
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  expect(cliProcess([...store, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) }).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
}

async function serve(extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'keyladder.js'), ...store, 'serve', '--port', '0', '--json', ...extra], { env: { PATH: process.env['PATH'] ?? '', ...testEnv() } });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('listening'));
      if (line) resolve(JSON.parse(line).listening);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

async function stop(s: Served): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}

describe('keyladder serve', () => {
  it('lets a simulated device climb a 10-rung ladder, and drains on SIGTERM', async () => {
    const s = await serve();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    const mechanisms: string[] = [];
    for (let rung = 0; rung < 10; rung++) {
      const req = device.nextRequest();
      mechanisms.push(req.keyrequestdata.keydata['mechanism']!);
      const res = await fetch(`${s.url}/v1/keyx`, { method: 'POST', body: JSON.stringify(req) });
      expect(res.status).toBe(200);
      await device.accept(await res.json());
    }
    expect(mechanisms).toEqual(['PSK', ...Array(9).fill('WRAP')]);
    expect(await stop(s)).toBe(0);
    expect(s.stderr()).toContain('stopped after 10 exchanges (0 refused)');
    const shown = JSON.parse(cliProcess([...store, 'device', 'show', v.identity, '--json']).stdout);
    expect(shown.exchangeCount).toBe(10);
    expect(cliProcess([...store, 'audit', 'verify']).code).toBe(0);
  });

  it('serves over TLS from certificate and key files', async (ctx) => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    if (made.status !== 0) ctx.skip(); // openssl is not installed: TLS cannot be set up here.
    const s = await serve(['--tls-cert', cert, '--tls-key', key]);
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const device = new LadderRequestor(v.identity, await importWrappingKey(hex(v.kpw_hex)));
    const body = JSON.stringify(device.nextRequest());
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${s.url}/v1/keyx`, { method: 'POST', ca: readFileSync(cert) }, (res) => {
        let data = '';
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      req.end(body);
    });
    await device.accept(JSON.parse(text));
    expect(device.current?.kcv.kwrap).toMatch(/^[0-9A-F]{6}$/);
    expect(await stop(s)).toBe(0);
  });

  it('refuses a port that is not a number, without starting', () => {
    const r = cliProcess([...store, 'serve', '--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port');
  });
});
