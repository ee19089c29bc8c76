// The MSL responder tests' common ground: MSL's sample server (server1's RSA
// key rsakeyid1 and its master-token keys, from mslsrv.cfg) and client1's PSK
// keys (mslcli.cfg) put in a test store, and a streaming upload that stops
// as soon as the server answers (to show a body is refused before it is read whole).
import { request as httpRequest } from 'node:http';
import type { KeyLadderRuntime } from '../../electron/services/index.js';
import { client1Psk, pskOf, server1Rsa } from './mslVectors.js';

export const TOKEN_ENC_HEX = '1d58f3b8f747d16ab1093c4ca624eacf';
export const TOKEN_HMAC_HEX = 'd7aebfd5879bb0e0ad016a4cf3cb3982f5ba260da520245bb42275bd7947370c';
export const sampleTokenKeys = { enc: Buffer.from(TOKEN_ENC_HEX, 'hex'), hmac: Buffer.from(TOKEN_HMAC_HEX, 'hex') };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** client1 and client2 provisioned with their PSK keys; server1/rsakeyid1 and its token keys imported as the active ones. */
export async function provisionMslSample(s: KeyLadderRuntime): Promise<void> {
  for (const p of [client1Psk(), pskOf('client2')]) s.devices.provision({ identity: p.identity, keys: { kind: 'kpe-kph', kpe: hex(p.kpe), kph: hex(p.kph) } });
  await s.msl.keys.importIdentity(server1Rsa().privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'rsakeyid1', 'server1');
  s.msl.keys.importTokenKeys(TOKEN_ENC_HEX, TOKEN_HMAC_HEX);
}

/** POSTs `total` bytes chunked, 64 KiB at a time, until the server answers: its status and what was written by then. */
export function uploadUntilAnswered(url: string, total: number): Promise<{ status: number; written: number }> {
  const block = Buffer.alloc(64 * 1024, 0x20);
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, written });
      req.destroy();
    });
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const pump = (): void => {
      while (!answered && written < total) {
        written += block.length;
        if (!req.write(block)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
