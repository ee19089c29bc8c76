// `keyladder serve` (the real binary, a worker process) answers POST /msl:
// KeyLadder's MSL client makes first contact against the store's own MSL
// identity, the run's --msl-renewal-window/--msl-expiration set the token's
// times, an unknown identity gets an error header with 200, and --msl-max-body
// caps the request.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MslClient } from '../../electron/msl/client.js';
import { createServices } from '../../electron/services/index.js';
import { cliProcess } from '../support/cli.js';
import { splitObjects } from '../support/mslWikiDecoder.js';
import { client1Psk } from '../support/mslVectors.js';
import { startServe, type Served } from '../support/serveProcess.js';
import { PASSPHRASE, tempDir } from '../support/services.js';

const dir = tempDir('keyladder-serve-msl-');
const storeDir = join(dir, 'store');
const store = ['--store', storeDir];
const psk = client1Psk();
let server: { keyId: string; pem: string };

beforeAll(async () => {
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  const keys = JSON.stringify({ kpe: Buffer.from(psk.kpe).toString('hex'), kph: Buffer.from(psk.kph).toString('hex') });
  expect(cliProcess([...store, 'device', 'add', 'client1', '--keys', '-'], { stdin: keys }).code).toBe(0);
  // The identity the store made at init: what an MSL client's config would trust.
  const runtime = createServices({ storeDir, batchExchangeRecords: false });
  await runtime.store.unlock(PASSPHRASE);
  const identity = runtime.msl.keys.identity();
  server = { keyId: identity.keyId, pem: identity.pem };
  runtime.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

async function serve(extra: string[]): Promise<Served> {
  return startServe([...store, 'serve', ...extra], { started: (child) => { running.add(child); child.once('exit', () => running.delete(child)); } });
}

const post = (url: string, body: Uint8Array) => fetch(`${url}/msl`, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('keyladder serve: POST /msl', () => {
  it('answers MSL\'s first contact, with this run\'s master-token times; refuses an unknown identity with an error header; caps the body', async () => {
    const s = await serve(['--msl-renewal-window', '30', '--msl-expiration', '90', '--msl-max-body', '4096']);
    const client = await MslClient.create({
      identity: 'client1', longTerm: { mechanism: 'PSK', encryptionKey: psk.kpe, hmacKey: psk.kph },
      trustedServerKeys: new Map([[server.keyId, createPublicKey(server.pem)]]),
    });
    const res = await post(s.url, client.request({ payload: Buffer.from('over serve') }));
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    const answer = await client.accept(body);
    expect(answer).toMatchObject({ renewed: true, masterToken: { sequence: 0 } });
    expect(Buffer.from(answer.payload).toString()).toBe('over serve');
    // The server's header is RSA (plaintext): the token's times are readable there.
    const headerdata = JSON.parse(Buffer.from(splitObjects(body)[0]!['headerdata'], 'base64').toString('utf8'));
    const tokendata = JSON.parse(Buffer.from(headerdata.keyresponsedata.mastertoken.tokendata, 'base64').toString('utf8'));
    expect(tokendata.renewalwindow - headerdata.timestamp).toBe(30);
    expect(tokendata.expiration - headerdata.timestamp).toBe(90);

    const stranger = await MslClient.create({
      identity: 'client9', longTerm: { mechanism: 'PSK', encryptionKey: psk.kpe, hmacKey: psk.kph },
      trustedServerKeys: new Map([[server.keyId, createPublicKey(server.pem)]]),
    });
    const refused = await post(s.url, stranger.request({ payload: Buffer.from('x') }));
    expect(refused.status).toBe(200);
    expect((await stranger.accept(new Uint8Array(await refused.arrayBuffer()))).error).toMatchObject({ errorCode: 1, internalCode: 104005 });

    expect((await post(s.url, Buffer.alloc(4097, 0x20))).status).toBe(413);
    expect((await fetch(`${s.url}/v1/health`)).status).toBe(200);
    s.child.kill('SIGTERM');
  });

  it('refuses a renewal window longer than the expiration before anything listens', () => {
    const out = cliProcess([...store, 'serve', '--msl-renewal-window', '100', '--msl-expiration', '90']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--msl-renewal-window must not be longer than --msl-expiration/);
  });
});
