// serve's TLS certificate, key and client CA reloaded on SIGHUP (issue 23, item 2): a client that
// keeps its connection open keeps being answered on it, with the certificate it shook hands with;
// new connections get the new certificate; files that do not load together are refused and the
// old certificate stays. TLS below 1.2 is refused.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../support/cli.js';
import { startServe, type Served } from '../support/serveProcess.js';
import { tempDir } from '../support/services.js';
import { skipWithReason } from '../support/skips.js';
import { hashFiles } from '../support/storeFiles.js';

const dir = tempDir('keyladder-tls-reload-');
const storeDir = join(dir, 'store');
const running: Served[] = [];

/** A self-signed certificate for 127.0.0.1, with its own key: `name`.cert.pem and `name`.key.pem. */
const makeCert = (name: string): { cert: string; key: string } | undefined => {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=127.0.0.1/O=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1']);
  return made.status === 0 ? { cert, key } : undefined;
};

interface Answer { status: number; fingerprint: string; socket: TLSSocket; protocol: string | null }
const get = (url: string, options: { agent?: Agent; ca: Buffer[] }): Promise<Answer> => new Promise((resolve, reject) => {
  const req = httpsRequest(`${url}/v1/health`, { ca: options.ca, agent: options.agent ?? false }, (res) => {
    const socket = res.socket as TLSSocket;
    const answer = { status: res.statusCode!, fingerprint: socket.getPeerCertificate().fingerprint256, socket, protocol: socket.getProtocol() };
    res.resume();
    res.on('end', () => resolve(answer));
  });
  req.on('error', reject);
  req.end();
});
const until = async (what: () => boolean, label: string): Promise<void> => {
  for (let i = 0; i < 100 && !what(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!what()) throw new Error(`timed out waiting for ${label}`);
};

beforeAll(async () => {
  expect((await cli(['--store', storeDir, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(async () => {
  for (const s of running) {
    if (s.child.exitCode === null) {
      const exited = new Promise((resolve) => s.child.once('exit', resolve));
      s.child.kill('SIGTERM');
      await exited;
    }
  }
});

describe('SIGHUP reloads TLS', () => {
  it('swaps the certificate for new connections while a kept-open connection goes on being answered', async (ctx) => {
    const a = makeCert('a');
    const b = makeCert('b');
    if (!a || !b) return skipWithReason(ctx, 'openssl is not installed: no certificate, so TLS cannot be set up here');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    copyFileSync(a.cert, cert);
    copyFileSync(a.key, key);
    const ca = [readFileSync(a.cert), readFileSync(b.cert)];
    const fingerprint = (file: string) => spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', file], { encoding: 'utf8' }).stdout.trim().split('=')[1];
    const [fpA, fpB] = [fingerprint(a.cert), fingerprint(b.cert)];
    expect(fpA).not.toBe(fpB);

    const s = await startServe(['--store', storeDir, 'serve', '--tls-cert', cert, '--tls-key', key, '--workers', '2']);
    running.push(s);
    const kept = new Agent({ keepAlive: true, maxSockets: 1, ca });
    const first = await get(s.url, { agent: kept, ca });
    expect(first).toMatchObject({ status: 200, fingerprint: fpA });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(first.protocol);

    // The renewed certificate lands in place of the old, then the operator (or ExecReload=) sends SIGHUP.
    copyFileSync(b.cert, cert);
    copyFileSync(b.key, key);
    process.kill(s.child.pid!, 'SIGHUP');
    await until(() => s.stderr().includes('TLS reloaded'), 'the reload line');
    expect(s.child.exitCode).toBeNull();

    // The kept connection was not dropped: the same socket answers, with the certificate it shook hands with.
    const again = await get(s.url, { agent: kept, ca });
    expect(again.socket).toBe(first.socket);
    expect(again).toMatchObject({ status: 200, fingerprint: fpA });
    // A new connection, whichever worker takes it, gets the new certificate.
    for (let i = 0; i < 4; i++) expect((await get(s.url, { ca })).fingerprint).toBe(fpB);

    // A key that is not the certificate's (a renewal caught half-copied) is refused: B stays.
    copyFileSync(a.key, key);
    process.kill(s.child.pid!, 'SIGHUP');
    await until(() => s.stderr().includes('TLS not reloaded'), 'the refusal line');
    expect(s.stderr()).toContain('Still serving the certificate loaded before');
    expect(s.stderr()).not.toContain('PRIVATE KEY');
    for (let i = 0; i < 4; i++) expect((await get(s.url, { ca })).fingerprint).toBe(fpB);
    kept.destroy();
  });

  it('with mutual TLS, a client CA file that holds no certificate is refused: the old CA goes on admitting its clients', async (ctx) => {
    const server = makeCert('m-server');
    const client = makeCert('m-client');
    if (!server || !client) return skipWithReason(ctx, 'openssl is not installed: no certificate, so TLS cannot be set up here');
    // The client's self-signed certificate is its own issuer: the client CA file holds it.
    const clientCa = join(dir, 'client-ca.pem');
    copyFileSync(client.cert, clientCa);
    const s = await startServe(['--store', storeDir, 'serve', '--tls-cert', server.cert, '--tls-key', server.key, '--tls-client-ca', clientCa, '--workers', '2']);
    running.push(s);
    const tls = { ca: readFileSync(server.cert), cert: readFileSync(client.cert), key: readFileSync(client.key) };
    const health = (): Promise<number> => new Promise((resolve, reject) => {
      const req = httpsRequest(`${s.url}/v1/health`, { ...tls, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    expect(await health()).toBe(200);

    // Emptied, or caught half-copied: OpenSSL would take it, and trust no client at all.
    for (const [i, text] of ['', 'not a certificate\n', readFileSync(client.key, 'utf8')].entries()) {
      writeFileSync(clientCa, text);
      process.kill(s.child.pid!, 'SIGHUP');
      await until(() => s.stderr().split('TLS not reloaded').length - 1 === i + 1, `refusal ${i + 1}`);
      expect(s.stderr()).toContain('client CA file holds no certificate');
      for (let n = 0; n < 4; n++) expect(await health()).toBe(200);
    }
    expect(s.stderr()).not.toContain('TLS reloaded');
    expect(s.stderr()).not.toContain('PRIVATE KEY');
  });

  it('refuses at start, as the reload does, a client CA file that holds no certificate and a key that is not the certificate\'s: FILE_INVALID, nothing started', (ctx) => {
    const server = makeCert('s-server');
    const other = makeCert('s-other');
    if (!server || !other) return skipWithReason(ctx, 'openssl is not installed: no certificate, so TLS cannot be set up here');
    const before = hashFiles(storeDir);
    const clientCa = join(dir, 'start-client-ca.pem');
    // Empty, not a certificate, a key: OpenSSL took each at start, and serve then trusted no client.
    for (const text of ['', 'not a certificate\n', readFileSync(other.key, 'utf8')]) {
      writeFileSync(clientCa, text);
      const r = cliProcess(['--store', storeDir, 'serve', '--port', '0', '--tls-cert', server.cert, '--tls-key', server.key, '--tls-client-ca', clientCa]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('[FILE_INVALID]');
      expect(r.stderr).toContain('client CA file holds no certificate');
      expect(r.stderr).not.toContain('PRIVATE KEY');
      expect(r.stdout).not.toContain('Listening');
    }
    // A key that is not the certificate's was an INTERNAL_ERROR from the worker; now the same refusal.
    const mismatched = cliProcess(['--store', storeDir, 'serve', '--port', '0', '--tls-cert', server.cert, '--tls-key', other.key]);
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toContain('[FILE_INVALID]');
    expect(mismatched.stderr).toContain('do not load together');
    // No worker started, so none unlocked: not even an audit row was written.
    expect(hashFiles(storeDir)).toEqual(before);
  });

  it('refuses a client that offers only TLS 1.1', async (ctx) => {
    const c = makeCert('c');
    if (!c) return skipWithReason(ctx, 'openssl is not installed: no certificate, so TLS cannot be set up here');
    const s = await startServe(['--store', storeDir, 'serve', '--tls-cert', c.cert, '--tls-key', c.key]);
    running.push(s);
    const { port } = new URL(s.url);
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(c.cert), minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(`connected ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.on('error', (e: Error & { code?: string }) => resolve(`refused ${e.code ?? e.message}`));
    });
    expect(outcome).toMatch(/^refused /);
  });
});
