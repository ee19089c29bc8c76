// The key exchange inside an MSL message (ExchangeService.answerMslKeyRequest):
// the same answer as /v1/keyx, plus copies of the session keys for the master
// token. These must be the keys inside the JWEs the device opens, or the
// device and the token would disagree on Kenc/Khmac.
import { afterEach, describe, expect, it } from 'vitest';
import { decryptJwe, importWrappingKey } from '../support/device.js';
import { zeroSessionKeys } from '../../electron/services/exchanges.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

let t: TestServices | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const v = deriveVector();

/** The raw key of a JWK (JSON) that a JWE of the key response carries. */
function jwkKey(bytes: Uint8Array): Buffer {
  return Buffer.from((JSON.parse(Buffer.from(bytes).toString('utf8')) as { k: string }).k, 'base64url');
}

describe('answerMslKeyRequest', () => {
  it('returns the Kenc and Khmac that the JWEs carry, and audits one msl record with the message details', async () => {
    t = await openTestServices();
    const s = t.services;
    s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    const result = s.exchanges.answerMslKeyRequest(v.identity, { mechanism: 'PSK' }, { details: { messageId: 7, serial: 42 } });
    const keys = result.sessionKeys!;
    expect(keys.kenc).toHaveLength(16);
    expect(keys.khmac).toHaveLength(32);
    const kpw = await importWrappingKey(new Uint8Array(Buffer.from(v.kpw_hex, 'hex')));
    const kwrap = jwkKey(await decryptJwe(Buffer.from(result.keydata.wrapkey, 'base64'), kpw, 'msl'));
    const kwrapKey = await importWrappingKey(new Uint8Array(kwrap));
    const kenc = jwkKey(await decryptJwe(Buffer.from(result.keydata.encryptionkey, 'base64'), kwrapKey, 'msl'));
    const khmac = jwkKey(await decryptJwe(Buffer.from(result.keydata.hmackey, 'base64'), kwrapKey, 'msl'));
    expect(kenc.equals(keys.kenc)).toBe(true);
    expect(khmac.equals(keys.khmac)).toBe(true);
    zeroSessionKeys(result);
    expect(keys.kenc.every((b) => b === 0) && keys.khmac.every((b) => b === 0)).toBe(true);
    // The same bookkeeping as /v1/keyx: the device's count, and one audit record (action msl).
    expect(s.devices.get(v.identity)).toMatchObject({ exchangeCount: 1, lastMechanism: 'PSK' });
    const records = s.audit.list({ action: 'msl' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'ok', subject: v.identity, details: { mechanism: 'PSK', messageId: 7, serial: 42 } });
    expect(s.audit.list({ action: 'exchange' })).toHaveLength(0);
  });

  it('the /v1/keyx answer carries no session keys', async () => {
    t = await openTestServices();
    const s = t.services;
    s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    const out = s.exchanges.respond(JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } }));
    expect(out.ok).toBe(true);
    expect(JSON.stringify(out)).not.toMatch(/sessionKeys|kenc/);
  });

  it('refusals throw with MSL\'s codes and are audited as msl', async () => {
    t = await openTestServices();
    const s = t.services;
    expect(() => s.exchanges.answerMslKeyRequest('ESN-UNKNOWN', { mechanism: 'PSK' }, { details: { messageId: 1 } })).toThrow(expect.objectContaining({ code: 'ENTITY_NOT_FOUND' }));
    expect(s.audit.list({ action: 'msl', outcome: 'refused' })[0]).toMatchObject({ subject: 'ESN-UNKNOWN', details: { code: 'ENTITY_NOT_FOUND', messageId: 1 } });
  });
});
