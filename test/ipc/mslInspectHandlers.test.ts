// The MSL inspector's channels (issue 21 item 3) over real services and the
// real IPC wrapper: hostile arguments are refused in main with a stable code
// and the service is never called; a pasted capture (its text or its Base64)
// and a file main reads come back as an inspection with KCVs and thumbprints,
// never a key, and the payload only when asked and free of key members; a
// file's bytes never cross; nothing is written to the store.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHandlers, type AppDeps } from '../../electron/ipc/handlers.js';
import { wrapHandler, type IpcEventLike } from '../../electron/ipc/register.js';
import { trustedSender } from '../../electron/security/trustedSender.js';
import { DEFAULT_SPLIT_LIMITS } from '../../electron/msl/reader.js';
import { MAX_MSL_FILE, MAX_MSL_TEXT } from '../../electron/shared/mslCaptureLimits.js';
import { provisionMslSample } from '../support/mslSample.js';
import { client1Psk, decoded, messageBytes, MSL_VECTORS } from '../support/mslVectors.js';
import { tokenKeys } from '../support/mslWire.js';
import { openTestServices, tempDir, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const TRUSTED = 'app://keyladder/index.html';
const isTrustedSender = trustedSender({ origins: ['app://keyladder'] });
const event: IpcEventLike = { senderFrame: { url: TRUSTED, parent: null }, sender: { send: () => {} } };
const ctx = { progress: vi.fn() };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const text = (name: string) => readFileSync(path.join(MSL_VECTORS, `${name}.bin`), 'utf8');

/** Every key the sample store holds, in the spellings a leak would take (hex, Base64). */
function keySpellings(): string[] {
  const psk = client1Psk();
  const session = decoded('001', 'response').headerdata.keyresponsedata.mastertoken.tokendata.sessiondata.plaintext;
  const keys = [psk.kpe, psk.kph, tokenKeys().enc, tokenKeys().hmac, Buffer.from(session.encryptionkey, 'base64'), Buffer.from(session.hmackey, 'base64')];
  return keys.flatMap((k) => [hex(k), b64(k)]);
}

async function sample(...files: Array<string | null>) {
  t = await openTestServices();
  await provisionMslSample(t.services);
  t.clock.now = new Date(decoded('001', 'request').headerdata.timestamp * 1000);
  const open = [...files];
  const deps = { openFile: vi.fn(async () => open.shift() ?? null) } as unknown as AppDeps;
  return { h: createHandlers(t.services, deps), deps };
}

describe('msl.inspect and msl.inspectFile', () => {
  it('refuse hostile arguments in main (INVALID_ARGUMENT) without calling the service', async () => {
    const inspect = vi.fn(() => ({}) as never);
    const inspectFile = vi.fn(() => ({}) as never);
    const wrappedInspect = wrapHandler('msl.inspect', inspect, { isTrustedSender });
    const wrappedFile = wrapHandler('msl.inspectFile', inspectFile, { isTrustedSender });
    for (const bad of [
      undefined, null, 42, 'text', [], {},
      { text: '' },
      { text: 42 },
      { text: ['{}'] },
      { text: { toString: '{}' } },
      { text: '{}', showPayload: 'yes' },
      { text: '{}', showPayload: 1 },
      { text: '{}', extra: true },
      { text: '{}', key: 'a1b2c3' },
      { text: 'x'.repeat(MAX_MSL_TEXT + 1) },
      { text: 'x'.repeat(10 * 1024 * 1024) },
    ]) {
      const reply = await wrappedInspect(event, bad);
      expect(reply, JSON.stringify(bad)?.slice(0, 80)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    const tooLong = await wrappedInspect(event, { text: 'x'.repeat(10 * 1024 * 1024) });
    expect(tooLong).toMatchObject({ ok: false, error: { message: expect.stringContaining('choose it as a file') } });
    // Only the operator's own dialog names a file: no path, no bytes, no size from the renderer.
    for (const bad of [42, 'file.bin', { file: '/etc/passwd' }, { bytes: [1, 2] }, { showPayload: 'true' }, { showPayload: true, path: 'x' }, { maxBytes: -1 }]) {
      expect(await wrappedFile(event, bad), JSON.stringify(bad)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    expect(inspect).not.toHaveBeenCalled();
    expect(inspectFile).not.toHaveBeenCalled();
    expect(await wrappedFile(event, undefined)).toMatchObject({ ok: true });
    expect(await wrappedFile(event, { showPayload: true })).toMatchObject({ ok: true });
  });

  it('a pasted capture, as its text or its Base64: the same inspection, KCVs only, no payload unless asked', async () => {
    const { h } = await sample();
    const asText = await h['msl.inspect']({ text: text('001-request') }, ctx);
    const asBase64 = await h['msl.inspect']({ text: b64(messageBytes('001', 'request')).replace(/(.{76})/g, '$1\n') }, ctx);
    const asBase64Url = await h['msl.inspect']({ text: Buffer.from(messageBytes('001', 'request')).toString('base64url') }, ctx);
    expect(asText).toMatchObject({ kind: 'message', signature: 'valid', sender: { scheme: 'PSK', identity: 'client1' }, header: { keyRequests: [{ mechanism: 'PSK' }] } });
    expect(asBase64).toEqual(asText);
    expect(asBase64Url).toEqual(asText);
    expect(asText.payloadData).toBeUndefined();
    const shown = await h['msl.inspect']({ text: text('001-request'), showPayload: true }, ctx);
    expect(shown.payloadData).toEqual({ bytes: 30, text: 'run A: hello via PSK handshake' });
    for (const reply of [asText, shown, await h['msl.inspect']({ text: text('001-response'), showPayload: true }, ctx)]) {
      const json = JSON.stringify(reply);
      for (const k of keySpellings()) expect(json).not.toContain(k);
    }
  });

  it('not MSL, truncated: a clear answer with the reader\'s MSL error name, nothing thrown', async () => {
    const { h } = await sample();
    expect(await h['msl.inspect']({ text: 'hello, this is no MSL message' }, ctx)).toMatchObject({ unreadable: { code: expect.stringMatching(/^MSL_PARSE_ERROR|MESSAGE_FORMAT_ERROR$/) } });
    const whole = text('001-request');
    const truncated = await h['msl.inspect']({ text: whole.slice(0, Math.floor(whole.length / 2)) }, ctx);
    expect(truncated.unreadable?.code).toMatch(/^[A-Z_]+$/);
    expect(truncated.signature).toBe('not checked');
  });

  it('a file main reads: its name and the inspection cross, its bytes never; a canceled dialog does nothing', async () => {
    const dir = tempDir();
    const file = path.join(dir, '001-response.bin');
    writeFileSync(file, messageBytes('001', 'response'));
    const base64File = path.join(dir, '001-response.b64');
    writeFileSync(base64File, `${b64(messageBytes('001', 'response'))}\n`);
    const { h } = await sample(file, base64File, null);
    const reply = await h['msl.inspectFile']({ showPayload: true }, ctx);
    expect(reply).toMatchObject({ canceled: false, file, inspection: { sender: { scheme: 'RSA', pubkeyid: 'rsakeyid1' }, signature: 'valid', payloadData: { text: 'run A: hello via PSK handshake' } } });
    expect(JSON.stringify(reply)).not.toContain(text('001-response').slice(0, 60));
    expect(JSON.stringify(reply)).not.toContain(JSON.parse(text('001-response').slice(0, text('001-response').indexOf('}{') + 1)).headerdata.slice(0, 40));
    expect(await h['msl.inspectFile'](undefined, ctx)).toMatchObject({ canceled: false, file: base64File, inspection: { signature: 'valid' } });
    expect(await h['msl.inspectFile'](undefined, ctx)).toEqual({ canceled: true });
  });

  it('a file past 16 MiB is MSL_CAPTURE_TOO_LARGE, read no further than one byte past the cap; a missing file or a directory: INVALID_ARGUMENT', async () => {
    expect(MAX_MSL_FILE).toBe(DEFAULT_SPLIT_LIMITS.maxMessageBytes);
    const dir = tempDir();
    const big = path.join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(MAX_MSL_FILE + 1, 0x20));
    const exact = path.join(dir, 'exact.bin');
    writeFileSync(exact, Buffer.alloc(MAX_MSL_FILE, 0x20));
    const { h } = await sample(big, exact, path.join(dir, 'missing.bin'), dir);
    await expect(Promise.resolve().then(() => h['msl.inspectFile'](undefined, ctx))).rejects.toMatchObject({ code: 'MSL_CAPTURE_TOO_LARGE' });
    expect(await h['msl.inspectFile'](undefined, ctx)).toMatchObject({ canceled: false, inspection: { unreadable: { code: expect.any(String) } } });
    await expect(Promise.resolve().then(() => h['msl.inspectFile'](undefined, ctx))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'Cannot read that file.' });
    // A directory (or a FIFO, which would hold main's open()) is not read.
    await expect(Promise.resolve().then(() => h['msl.inspectFile'](undefined, ctx))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'Cannot read that file.' });
  });

  it('the service refuses a paste past the cap on its own (a door other than IPC), and nothing is written to the store', async () => {
    const { h } = await sample();
    expect(() => t!.services.mslInspect.inspectText('x'.repeat(MAX_MSL_TEXT + 1))).toThrow(expect.objectContaining({ code: 'MSL_CAPTURE_TOO_LARGE' }));
    const before = t!.services.audit.list({}).length;
    for (const name of ['001-request', '001-response', '002-request', '003-request', '005-response']) await h['msl.inspect']({ text: text(name), showPayload: true }, ctx);
    expect(t!.services.audit.list({})).toHaveLength(before);
    expect(t!.services.devices.get('client1')).toMatchObject({ exchangeCount: 0 });
  });
});
