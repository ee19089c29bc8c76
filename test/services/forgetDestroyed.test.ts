// A bare-MSL Kissuer destroyed by another process is forgotten by this one
// within a second (issue 11, item 15): its opened key is zeroed, though no
// exchange ever asks for that generation by number again.
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson } from '../../electron/ladder/messages.js';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { LadderRequestor, importWrappingKey } from '../support/device.js';
import { openTestServices, PASSPHRASE, TEST_KDF_LOG_N, type TestServices } from '../support/services.js';

let t: TestServices | undefined;
let other: KeyLadderRuntime | undefined;
afterEach(() => {
  other?.close();
  t?.cleanup();
  t = other = undefined;
});

const KPW = '000102030405060708090a0b0c0d0e0f';
/** The sealer's opened keys, by binding (test-only access to private fields). */
const remembered = (s: KeyLadderRuntime): Map<string, { plain: Buffer }> => {
  const store = (s.store as unknown as { session: { store(): { sealer: { remembered: Map<string, { plain: Buffer }> } } } }).session.store();
  return store.sealer.remembered;
};

describe('a Kissuer generation destroyed by another process', () => {
  it('is zeroed and dropped from this process within a second, bare-MSL included', async () => {
    t = await openTestServices({ batch: true });
    const s = t.services;
    const msl = s.issuers.importMsl('8899aabbccddeeff0011223344556677', 0);
    s.devices.provision({ identity: 'ESN-MSL', keys: { kind: 'kpw', kpw: KPW } });
    const device = new LadderRequestor('ESN-MSL', await importWrappingKey(new Uint8Array(Buffer.from(KPW, 'hex'))), 'PSK', 'msl');
    for (let i = 0; i < 2; i++) expect(await device.accept(parseJson(s.exchanges.respond(JSON.stringify(device.nextRequest())).json))).toBeDefined();
    // The WRAP opened the bare-MSL generation: this process holds its key.
    const binding = `issuer/${msl.generation}/key`;
    const held = remembered(s).get(binding)!.plain;
    expect(held.some((b) => b !== 0)).toBe(true);
    // Another process (the CLI beside `serve`) rotates past it with no grace (it is retired at once) and destroys it.
    other = createServices({ storeDir: t.dir, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
    await other.store.unlock(PASSPHRASE);
    other.issuers.rotate(0);
    other.issuers.destroy(msl.generation);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(remembered(s).has(binding)).toBe(false);
    expect(held.every((b) => b === 0)).toBe(true);
    // The active generation (the new one) still answers.
    expect(s.exchanges.respond(JSON.stringify({ identity: 'ESN-MSL', keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } })).ok).toBe(true);
  });
});
