import { afterEach, describe, expect, it } from 'vitest';
import { openTestServices, type TestServices } from '../support/services.js';
import { deriveVector, exchange1, exchange2 } from '../support/vectors.js';

let t: TestServices;
afterEach(() => t?.cleanup());

describe('services smoke', () => {
  it('provisions, simulates, rotates', async () => {
    t = await openTestServices();
    const s = t.services;
    const v = deriveVector();
    const d = s.devices.provision({ identity: v.identity, keys: { kind: 'kpe-kph', kpe: v.kpe_hex, kph: v.kph_hex } });
    expect(d.kcv.kpw).toMatch(/^[0-9A-F]{6}$/);
    const sim = await s.exchanges.simulate(v.identity, { rungs: 5 });
    expect(sim.allMatch).toBe(true);
    expect(sim.rungs.map((r) => r.mechanism)).toEqual(['PSK', 'WRAP', 'WRAP', 'WRAP', 'WRAP']);
    s.issuers.rotate(30);
    expect(s.issuers.list().map((g) => g.status)).toEqual(['active', 'grace']);
    expect(s.audit.verify().ok).toBe(true);
    const e2 = exchange2();
    s.issuers.importMsl(exchange1().inputs['msl_wrapping_key_hex (Kissuer)']);
    s.exchanges.setMslMigration('2026-12-31'); // MSL's own wrapdata: answered within the migration window
    const out = s.exchanges.respond(JSON.stringify({ identity: e2.inputs.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: e2.inputs.request_keydata } }));
    expect(out.ok).toBe(true);
    expect(s.store.verify().ok).toBe(true);
  });
});
