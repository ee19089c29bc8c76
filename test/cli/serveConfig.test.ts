// `serve --config FILE` (issue 23, item 2): serve's options from JSON or TOML, flags overriding
// the file, every key checked (unknown keys, wrong types, bad values) and named, before the
// passphrase is read or the store opened; and the passphrase from systemd's $CREDENTIALS_DIRECTORY.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServeConfig, withConfig } from '../../electron/cli/serveConfig.js';
import { parseServeFlags } from '../../electron/server/serveSettings.js';
import { cli } from '../support/cli.js';
import { startServe, type Served } from '../support/serveProcess.js';
import { PASSPHRASE, tempDir } from '../support/services.js';

const dir = tempDir('keyladder-serve-config-');
const storeDir = join(dir, 'store');
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const TOKEN = 'serve-config-bearer-token-0123456789';
const running: Served[] = [];
const stop = async (s: Served): Promise<void> => {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await exited;
};

beforeAll(async () => {
  expect((await cli(['--store', storeDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
  file('token', `${TOKEN}\n`);
});
afterAll(async () => {
  await Promise.all(running.map(stop));
});

describe('reading the file', () => {
  it('takes every serve option from TOML and from JSON alike, paths relative to the file', () => {
    const toml = file('all.toml', [
      'host = "0.0.0.0"', 'port = 9001', 'profile = "rfc7516"', 'tls-cert = "cert.pem"', 'tls-key = "/etc/keyladder/key.pem"',
      'tls-client-ca = "ca.pem"', 'token-file = "token"', 'allow-host = ["keyladder.lab.example"]', 'allow-origin = ["http://localhost:5173"]',
      'uniform-refusals = true', 'rate-limit = 50', 'workers = 2', 'msl-renewal-window = 600', 'msl-expiration = 1200', 'msl-max-body = 4096',
      'metrics-listen = "127.0.0.1:9420"', 'log-format = "json"',
    ].join('\n'));
    const fromToml = parseServeFlags(readServeConfig(toml));
    expect(fromToml).toEqual({
      host: '0.0.0.0', port: 9001, profile: 'rfc7516',
      tls: { certFile: join(dir, 'cert.pem'), keyFile: '/etc/keyladder/key.pem', clientCaFile: join(dir, 'ca.pem') },
      tokenFile: join(dir, 'token'), allowHosts: ['keyladder.lab.example'], allowOrigins: ['http://localhost:5173'],
      uniformRefusals: true, rateLimit: 50, workers: 2, msl: { renewalWindowSeconds: 600, expirationSeconds: 1200, maxBodyBytes: 4096 },
      metricsListen: { host: '127.0.0.1', port: 9420 }, logFormat: 'json',
    });
    const json = file('all.json', JSON.stringify({
      host: '0.0.0.0', port: 9001, profile: 'rfc7516', 'tls-cert': 'cert.pem', 'tls-key': '/etc/keyladder/key.pem', 'tls-client-ca': 'ca.pem',
      'token-file': 'token', 'allow-host': ['keyladder.lab.example'], 'allow-origin': ['http://localhost:5173'], 'uniform-refusals': true,
      'rate-limit': 50, workers: 2, 'msl-renewal-window': 600, 'msl-expiration': 1200, 'msl-max-body': 4096, 'metrics-listen': '127.0.0.1:9420', 'log-format': 'json',
    }));
    expect(parseServeFlags(readServeConfig(json))).toEqual(fromToml);
  });

  it('lets flags override the file, a list flag replacing the whole list', () => {
    const config = readServeConfig(file('override.toml', 'port = 9001\nworkers = 4\nallow-host = ["a.example", "b.example"]\nlog-format = "json"'));
    const settings = parseServeFlags(withConfig(config, { port: '9002', 'allow-host': ['c.example'], 'log-format': undefined }));
    expect(settings).toMatchObject({ port: 9002, workers: 4, allowHosts: ['c.example'], logFormat: 'json' });
  });
});

describe('refusals, before the passphrase is read or the store opened', () => {
  // No store there and no passphrase anywhere: a refusal that came later would be NO_PASSPHRASE or STORE_NOT_FOUND.
  const missingStore = join(dir, 'no-store-here');
  const refused = async (config: string, code: string, ...says: string[]): Promise<void> => {
    const r = await cli(['--store', missingStore, 'serve', '--config', config, '--json'], { env: { KEYLADDER_PASSPHRASE: '' } });
    expect(r.code, r.stdout).toBe(2);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe(code);
    for (const s of says) expect(error.message).toContain(s);
    expect(existsSync(missingStore)).toBe(false);
  };

  it('an unknown key, named (with the nearest key when one is close)', async () => {
    await refused(file('unknown.toml', 'prot = 8420'), 'CONFIG_UNKNOWN_KEY', '"prot"', 'port');
    await refused(file('nested.toml', '[serve]\nport = 8420'), 'CONFIG_UNKNOWN_KEY', '"serve"');
    await refused(file('global.json', '{"store": "/var/lib/keyladder"}'), 'CONFIG_UNKNOWN_KEY', '"store"');
  });

  it('a secret inline (the passphrase, a passphrase file, the token itself), never quoting its value', async () => {
    const SECRET = 'inline-secret-value-8c1f';
    for (const [name, text] of [
      ['passphrase.toml', `passphrase = "${SECRET}"`],
      ['passphrase-file.json', JSON.stringify({ 'passphrase-file': SECRET })],
      ['token.toml', `token = "${SECRET}"`],
    ] as const) {
      const config = file(name, text);
      await refused(config, 'CONFIG_UNKNOWN_KEY', 'may not hold a secret', 'LoadCredential=passphrase:FILE');
      const r = await cli(['--store', missingStore, 'serve', '--config', config], { env: { KEYLADDER_PASSPHRASE: '' } });
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
  });

  it('a value of the wrong type, named: a quoted number, a lone string for a list, a string for a boolean', async () => {
    await refused(file('quoted.toml', 'port = "8420"'), 'CONFIG_WRONG_TYPE', 'port must be a whole number');
    await refused(file('fraction.json', '{"workers": 1.5}'), 'CONFIG_WRONG_TYPE', 'workers must be a whole number');
    await refused(file('lone.toml', 'allow-host = "lab.example"'), 'CONFIG_WRONG_TYPE', 'allow-host must be a list of strings');
    await refused(file('yes.json', '{"uniform-refusals": "yes"}'), 'CONFIG_WRONG_TYPE', 'uniform-refusals must be true or false');
    await refused(file('cert.json', '{"tls-cert": 1}'), 'CONFIG_WRONG_TYPE', 'tls-cert must be a string');
  });

  it('a value its flag would refuse, named, with the flag\'s own reason', async () => {
    await refused(file('port.toml', 'port = 70000'), 'CONFIG_BAD_VALUE', 'port:', '0 to 65535');
    await refused(file('workers.json', '{"workers": 0}'), 'CONFIG_BAD_VALUE', 'workers:');
    await refused(file('host.toml', 'host = ""'), 'CONFIG_BAD_VALUE', 'host:');
    await refused(file('format.toml', 'log-format = "xml"'), 'CONFIG_BAD_VALUE', 'log-format:', 'text or json');
    await refused(file('empty-path.toml', 'token-file = " "'), 'CONFIG_BAD_VALUE', 'token-file must name a file');
  });

  it('a file that is not JSON or TOML, not an object, or not there', async () => {
    await refused(file('broken.toml', 'port = = 1'), 'FILE_INVALID', 'not valid TOML');
    await refused(file('broken.json', '{"port": 1'), 'FILE_INVALID', 'not valid JSON');
    await refused(file('list.json', '[1]'), 'FILE_INVALID', 'must hold an object');
    await refused(file('serve.yaml', 'port: 1'), 'FILE_INVALID', 'must end in .json or .toml');
    await refused(join(dir, 'absent.toml'), 'FILE_UNREADABLE', 'absent.toml');
  });

  it('the file\'s TLS key without its certificate, as the flags would be', async () => {
    await refused(file('half-tls.toml', 'tls-key = "key.pem"'), 'USAGE_MISSING_ARGUMENT', '--tls-cert');
  });
});

describe('a running serve', () => {
  it('listens with the file\'s settings, its port overridden by --port; the passphrase from $CREDENTIALS_DIRECTORY', async () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials, { mode: 0o700 });
    writeFileSync(join(credentials, 'passphrase'), `${PASSPHRASE}\n`, { mode: 0o400 });
    // port 9 would be taken as given: startServe's --port 0 must win.
    const config = file('serve.toml', 'port = 9\ntoken-file = "token"\nlog-format = "json"\n');
    const s = await startServe(['--store', storeDir, 'serve', '--config', config], { env: { KEYLADDER_PASSPHRASE: '', CREDENTIALS_DIRECTORY: credentials } });
    running.push(s);
    expect(new URL(s.url).port).not.toBe('9');
    expect((await fetch(`${s.url}/v1/health`)).status).toBe(401);
    expect((await fetch(`${s.url}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = s.stderr().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.map((l) => JSON.parse(l).status)).toEqual(expect.arrayContaining([401, 200]));
    await stop(s);
  });

  it('without the credential nor any other source, says how to give the passphrase', async () => {
    const empty = join(dir, 'no-credentials');
    mkdirSync(empty);
    const r = await cli(['--store', storeDir, 'serve', '--port', '0'], { env: { KEYLADDER_PASSPHRASE: '', CREDENTIALS_DIRECTORY: empty } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[NO_PASSPHRASE]');
  });
});
