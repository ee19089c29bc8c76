// A responder network: a second responder joins from the first one's Kissuer
// export (keyladder init --join), and answers WRAP with the first one's wrapdata.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptKeyResponse, importWrappingKey } from '../support/device.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { deriveVector, hex } from '../support/vectors.js';

const dir = tempDir('keyladder-peers-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const A = ['--store', join(dir, 'a')];
const B = ['--store', join(dir, 'b')];
const exportFile = join(dir, 'kissuer.jwe');
const env = { KEYLADDER_BUNDLE_PASSPHRASE: 'peer export passphrase' };
const v = deriveVector();
const request = (keydata: Record<string, string>) => JSON.stringify({ identity: v.identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata } });

describe('init --join', () => {
  it('starts a second responder from the first one\'s generations, so it opens the first one\'s wrapdata', async () => {
    expect((await cli([...A, 'init', '--kdf-log-n', '10'])).code).toBe(0);
    expect((await cli([...A, 'issuer', 'rotate'])).code).toBe(0);
    expect((await cli([...A, 'device', 'add', v.identity, '--keys', '-'], { stdin: JSON.stringify({ kpw: v.kpw_hex }) })).code).toBe(0);
    const first = await cli([...A, 'respond'], { stdin: request({ mechanism: 'PSK' }) });
    const keys = await acceptKeyResponse(JSON.parse(first.stdout), await importWrappingKey(hex(v.kpw_hex)));
    expect((await cli([...A, 'issuer', 'export', '1', '2', '--out', exportFile], { env })).code).toBe(0);

    const joined = await cli([...B, 'init', '--kdf-log-n', '10', '--join', exportFile, '--unsigned', '--json'], { env });
    expect(joined.code).toBe(0);
    const gens = JSON.parse(joined.stdout).issuers as Array<{ generation: number; status: string; origin: string }>;
    expect(gens.map((g) => [g.generation, g.status, g.origin])).toEqual([[2, 'active', 'imported-peer'], [1, 'grace', 'imported-peer']]);
    // B has never seen the device: WRAP is answered on the wrapdata alone (it names no revoked device here).
    const wrap = await cli([...B, 'respond'], { stdin: request({ mechanism: 'WRAP', wrapdata: Buffer.from(keys.wrapdata).toString('base64') }) });
    expect(wrap.code).toBe(0);
    await acceptKeyResponse(JSON.parse(wrap.stdout), keys.kwrap);
  });

  it('refuses a wrong export passphrase without creating a store', async () => {
    const C = ['--store', join(dir, 'c')];
    const r = await cli([...C, 'init', '--kdf-log-n', '10', '--join', exportFile, '--unsigned', '--json'], { env: { KEYLADDER_BUNDLE_PASSPHRASE: 'not the export passphrase' } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('BUNDLE_INVALID');
    expect((await cli([...C, 'status', '--json'])).stdout).toContain('"exists":false');
  });
});
