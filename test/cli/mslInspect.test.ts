// `keyladder msl inspect` through the built binary, on a store that holds
// what MSL's sample server holds (client1's PSK keys, server1's RSA key
// rsakeyid1, msl.key.enc/hmac): MSL's captured messages decoded, KCVs and
// sizes shown, never a key nor the payload.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliProcess } from '../support/cli.js';
import { client1Psk, decoded, MSL_VECTORS, server1Rsa } from '../support/mslVectors.js';
import { tokenKeys } from '../support/mslWire.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-msl-inspect-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: string[], stdin?: string) => cliProcess(['--store', join(dir, 'store'), ...args], stdin === undefined ? {} : { stdin });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vector = (name: string) => join(MSL_VECTORS, `${name}.bin`);

describe('keyladder msl inspect', () => {
  const psk = client1Psk();

  it('set-up: a store with client1 and MSL\'s sample server keys', () => {
    expect(run(['init', '--kdf-log-n', '10']).code).toBe(0);
    writeFileSync(join(dir, 'client1.json'), JSON.stringify({ kpe: hex(psk.kpe), kph: hex(psk.kph) }));
    expect(run(['device', 'add', 'client1', '--keys', join(dir, 'client1.json')]).code).toBe(0);
    writeFileSync(join(dir, 'server1.pem'), server1Rsa().privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    expect(run(['msl', 'identity', 'import', '--key', join(dir, 'server1.pem'), '--kid', 'rsakeyid1', '--name', 'server1']).code).toBe(0);
    writeFileSync(join(dir, 'tokenkeys.json'), JSON.stringify({ enc: hex(tokenKeys().enc), hmac: hex(tokenKeys().hmac) }));
    expect(run(['msl', 'keys', 'import-msl', '--keys', join(dir, 'tokenkeys.json')]).code).toBe(0);
  });

  it('a first-contact request: the device, its keys by KCV, the key request, the chunk sizes; no key, no payload', () => {
    const r = run(['msl', 'inspect', vector('001-request')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sender: PSK entity client1');
    expect(r.stdout).toContain('signature: valid');
    expect(r.stdout).toContain('key request: JWE_LADDER PSK');
    expect(r.stdout).toMatch(/Kpe\/Kph \(KCVs [0-9A-F]{6}\/[0-9A-F]{6}\)/);
    expect(r.stdout).toContain('chunk 1: 30 bytes');
    expect(r.stdout).toContain('chunk 2: 0 bytes, end of message');
    expect(r.stdout).not.toContain(hex(psk.kpe));
    expect(r.stdout).not.toContain('hello via PSK');
  });

  it('the answer, as JSON and from stdin: the new master token opened with the store\'s token keys', () => {
    const r = run(['msl', 'inspect', '-', '--json'], readFileSync(vector('001-response'), 'utf8'));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const token = decoded('001', 'response').headerdata.keyresponsedata.mastertoken.tokendata;
    expect(report).toMatchObject({ sender: { scheme: 'RSA', identity: 'server1', pubkeyid: 'rsakeyid1' }, signature: 'valid' });
    expect(report.header.keyResponse.masterToken).toMatchObject({ serialNumber: token.serialnumber, sequenceNumber: 0, opened: { identity: 'client1' } });
    expect(r.stdout).not.toContain(token.sessiondata.plaintext.encryptionkey);
  });

  it('--show-payload prints the application data as text (its Base64 on stdin read alike); without it, sizes only', () => {
    const base64 = readFileSync(vector('001-request')).toString('base64');
    const shown = run(['msl', 'inspect', '-', '--show-payload'], base64);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('sender: PSK entity client1');
    expect(shown.stdout).toContain('payload (30 bytes): run A: hello via PSK handshake');
    expect(run(['msl', 'inspect', '-'], base64).stdout).not.toContain('hello via PSK');
  });

  it('a renewal under a master token, and an error header', () => {
    const renewal = run(['msl', 'inspect', vector('003-request')]);
    expect(renewal.code).toBe(0);
    expect(renewal.stdout).toContain('sender: a master token');
    expect(renewal.stdout).toMatch(/key request: JWE_LADDER WRAP \(wrapdata \d+ bytes\)/);
    const error = run(['msl', 'inspect', vector('005-response')]);
    expect(error.code).toBe(0);
    expect(error.stdout).toContain('error: response code 1, internal code 104005: Entity not recognized.');
  });

  it('exit 1 (as verify) for a forged signature, an unknown entity or bytes that are no MSL message; a refusal for a capture past 16 MiB or a missing file', () => {
    const text = readFileSync(vector('001-request'), 'utf8');
    const signature = (JSON.parse(text.slice(0, text.indexOf('}{') + 1)) as { signature: string }).signature;
    const forged = Buffer.from(signature, 'base64');
    forged[5]! ^= 0x40;
    const bad = run(['msl', 'inspect', '-'], text.replace(signature, forged.toString('base64')));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('signature: invalid');
    expect(bad.stdout).not.toContain('key request');
    const unknown = run(['msl', 'inspect', vector('005-request')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('signature: no key for this identity: ENTITY_NOT_FOUND');
    const garbage = run(['msl', 'inspect', '-'], '{"a":1}{');
    expect(garbage.code).toBe(1);
    expect(garbage.stdout).toContain('not an MSL message');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
    const tooLarge = run(['msl', 'inspect', big]);
    expect(tooLarge.code).not.toBe(0);
    expect(tooLarge.stderr).toContain('larger than 16777216 bytes');
    const missing = run(['msl', 'inspect', join(dir, 'nothing.bin')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Cannot read the MSL message');
  });
});
