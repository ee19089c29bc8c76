// `keyladder serve`'s flags: what is refused before anything listens.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServeSettingsError, authenticatesCallers, parseServeFlags, readToken } from '../../electron/server/serveSettings.js';
import { tempDir } from '../support/services.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../electron/server/httpResponder.js';

describe('parseServeFlags', () => {
  it('defaults to the loopback address and the default port', () => {
    expect(parseServeFlags({})).toMatchObject({ host: DEFAULT_HOST, port: DEFAULT_PORT, workers: 1, profile: 'msl' });
  });

  it('refuses an empty --host (it would listen on every interface) and an empty or malformed --port', () => {
    for (const host of ['', ' ']) expect(() => parseServeFlags({ host })).toThrow(/--host needs an address/);
    for (const port of ['', ' ', '0x10', '1e3', '-1', '65536', '8420.5']) expect(() => parseServeFlags({ port }), `--port=${port}`).toThrow('--port is 0 to 65535.');
    expect(() => parseServeFlags({ host: '' })).toThrow(ServeSettingsError);
    expect(parseServeFlags({ port: '0' }).port).toBe(0);
    expect(parseServeFlags({ host: '::1', port: '8421' })).toMatchObject({ host: '::1', port: 8421 });
  });

  it('checks --allow-host, --allow-origin, --tls-client-ca and --token-file before anything listens', () => {
    expect(parseServeFlags({ 'allow-host': ['KeyLadder.Lab.Example'], 'allow-origin': ['http://localhost:5173'] })).toMatchObject({ allowHosts: ['keyladder.lab.example'], allowOrigins: ['http://localhost:5173'] });
    for (const h of ['', 'a b', 'http://x', 'x/y', '-x.example']) expect(() => parseServeFlags({ 'allow-host': [h] }), h).toThrow(/--allow-host takes a host name/);
    for (const o of ['localhost:5173', 'http://localhost:5173/', 'http://x/path', 'file:///tmp', '*', 'null']) expect(() => parseServeFlags({ 'allow-origin': [o] }), o).toThrow(/--allow-origin takes an origin/);
    expect(() => parseServeFlags({ 'tls-client-ca': 'ca.crt' })).toThrow(/needs TLS/);
    expect(authenticatesCallers(parseServeFlags({}))).toBe(false);
    expect(authenticatesCallers(parseServeFlags({ 'token-file': 't' }))).toBe(true);
    expect(authenticatesCallers(parseServeFlags({ 'tls-cert': 'c', 'tls-key': 'k', 'tls-client-ca': 'ca' }))).toBe(true);
  });

  it('takes the MSL master-token times for this run and the MSL body cap, and refuses nonsense', () => {
    expect(parseServeFlags({}).msl).toEqual({ maxBodyBytes: 1024 * 1024 });
    expect(parseServeFlags({ 'msl-renewal-window': '5', 'msl-expiration': '120', 'msl-max-body': '65536' }).msl).toEqual({ renewalWindowSeconds: 5, expirationSeconds: 120, maxBodyBytes: 65536 });
    expect(parseServeFlags({ 'msl-expiration': '60' }).msl).toEqual({ expirationSeconds: 60, maxBodyBytes: 1024 * 1024 });
    for (const s of ['', '0', '-1', '1.5', '1e3', ' 5', '31536001']) {
      expect(() => parseServeFlags({ 'msl-renewal-window': s }), s).toThrow(/--msl-renewal-window is a whole number of seconds/);
      expect(() => parseServeFlags({ 'msl-expiration': s }), s).toThrow(/--msl-expiration is a whole number of seconds/);
    }
    expect(() => parseServeFlags({ 'msl-renewal-window': '121', 'msl-expiration': '120' })).toThrow(/must not be longer than --msl-expiration/);
    for (const b of ['1023', '16777217', 'x']) expect(() => parseServeFlags({ 'msl-max-body': b }), b).toThrow(/--msl-max-body is a number of bytes/);
  });

  it('takes --metrics-listen HOST:PORT (IPv6 in brackets), and refuses anything else', () => {
    expect(parseServeFlags({}).metricsListen).toBeUndefined();
    expect(parseServeFlags({ 'metrics-listen': '127.0.0.1:9420' }).metricsListen).toEqual({ host: '127.0.0.1', port: 9420 });
    expect(parseServeFlags({ 'metrics-listen': '[::1]:9420' }).metricsListen).toEqual({ host: '::1', port: 9420 });
    expect(parseServeFlags({ 'metrics-listen': 'mon.lab.example:0' }).metricsListen).toEqual({ host: 'mon.lab.example', port: 0 });
    for (const bad of ['9420', ':9420', '127.0.0.1:', '127.0.0.1:65536', '::1:9420', '127.0.0.1:94x', ''])
      expect(() => parseServeFlags({ 'metrics-listen': bad }), bad).toThrow(/--metrics-listen takes HOST:PORT/);
  });

  it('takes --log-format text (the default) or json, and refuses anything else', () => {
    expect(parseServeFlags({}).logFormat).toBe('text');
    expect(parseServeFlags({ 'log-format': 'json' }).logFormat).toBe('json');
    expect(parseServeFlags({ 'log-format': 'text' }).logFormat).toBe('text');
    for (const bad of ['JSON', 'pretty', '']) expect(() => parseServeFlags({ 'log-format': bad }), bad).toThrow(/--log-format is text or json/);
  });

  it('reads the token from the first line of --token-file, and refuses a missing file or a short token', () => {
    const dir = tempDir('keyladder-token-');
    const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
    expect(readToken(parseServeFlags({ 'token-file': file('good', 'kl-0123456789abcdefghijkl\n') }))).toBe('kl-0123456789abcdefghijkl');
    expect(() => readToken(parseServeFlags({ 'token-file': file('short', 'tooshort\n') }))).toThrow(/at least 22 printable characters/);
    expect(() => readToken(parseServeFlags({ 'token-file': file('spaces', 'has spaces in it but is long enough\n') }))).toThrow(ServeSettingsError);
    expect(() => readToken(parseServeFlags({ 'token-file': join(dir, 'missing') }))).toThrow(/Cannot read the token file/);
    expect(readToken(parseServeFlags({}))).toBeUndefined();
  });
});
