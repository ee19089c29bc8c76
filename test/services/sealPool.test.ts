// The bulk import's sealing threads: what the built worker seals opens with
// the store's sealer to exactly the keys that sealing on this thread gives
// (MSL's Kpw derivation included), bad key input gets the same row errors,
// and a large import through the built services runs on them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordSealer } from '../../db/sealing.js';
import { kcv } from '../../electron/jwe/kcv.js';
import { deviceSealerFor, MIN_ROWS_FOR_WORKERS, sealOne, type SealJob } from '../../electron/services/sealPool.js';
import { deviceBinding } from '../../electron/services/storeKeySource.js';
import { deriveVector } from '../support/vectors.js';
import { tempDir } from '../support/tempDirs.js';
import { randomBytes } from 'node:crypto';

const BUILT_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'electron', 'services', 'sealWorker.js');
const v = deriveVector();

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function jobs(): SealJob[] {
  const list: SealJob[] = [
    { identity: v.identity, input: { kind: 'pair', enc: v.kpe_hex, hmac: v.kph_hex, check: v.kpw_hex } },
    { identity: 'KPW-ONLY', input: { kind: 'wrap', wrap: v.kpw_hex } },
    { identity: 'BAD-HEX', input: { kind: 'wrap', wrap: 'zz'.repeat(16) } },
    { identity: 'BAD-CHECK', input: { kind: 'pair', enc: v.kpe_hex, hmac: v.kph_hex, check: '00'.repeat(16) } },
  ];
  for (let i = 0; i < 2000; i++) list.push({ identity: `GEN-${i}`, input: { kind: 'generate' } });
  return list;
}

describe('the sealing worker threads', () => {
  it('seal what this thread would, and report bad rows the same way', async () => {
    // npm test builds dist first (test/globalSetup.ts), so the built worker is there.
    const sealer = RecordSealer.forStore(randomBytes(32));
    const pool = deviceSealerFor(sealer, MIN_ROWS_FOR_WORKERS, BUILT_WORKER);
    closers.push(() => pool.close());
    expect(pool.constructor.name).toBe('WorkerPool');
    const input = jobs();
    const halves = await Promise.all([pool.seal(input.slice(0, 1000)), pool.seal(input.slice(1000))]);
    const outcomes = halves.flat();
    expect(outcomes).toHaveLength(input.length);

    const [msl, kpwOnly, badHex, badCheck] = outcomes;
    if (!msl?.ok || !kpwOnly?.ok) throw new Error('the good rows failed');
    // MSL's PSK-ESN keys: the worker derived Kpw the MSL way, sealed it to this identity's record.
    expect(sealer.unseal(deviceBinding(v.identity, 'kpw'), msl.sealed.wrap).toString('hex')).toBe(v.kpw_hex);
    expect(sealer.unseal(deviceBinding(v.identity, 'kpe'), msl.sealed.enc!).toString('hex')).toBe(v.kpe_hex);
    expect(sealer.unseal(deviceBinding(v.identity, 'kph'), msl.sealed.hmac!).toString('hex')).toBe(v.kph_hex);
    expect(msl.sealed).toMatchObject({ origin: 'imported-kpe-kph', kcvWrap: kcv(Buffer.from(v.kpw_hex, 'hex'), 'aes'), kcvHmac: kcv(Buffer.from(v.kph_hex, 'hex'), 'hmac') });
    expect(() => sealer.unseal(deviceBinding('ANOTHER', 'kpw'), msl.sealed.wrap)).toThrow();
    expect(kpwOnly.sealed).toMatchObject({ origin: 'imported-kpw', enc: null, hmac: null });

    // Bad rows: the same codes and messages as sealing on this thread.
    const here = RecordSealer.forStore(randomBytes(32));
    expect(badHex).toEqual(sealOne(here, input[2]!));
    expect(badCheck).toEqual(sealOne(here, input[3]!));
    expect(badHex).toMatchObject({ ok: false, code: 'INVALID_KEY' });
    expect(badCheck).toMatchObject({ ok: false, code: 'INVALID_KEY' });

    // Generated keys: every one opens, and they are all different.
    const kpws = new Set<string>();
    outcomes.slice(4).forEach((o, i) => {
      if (!o.ok) throw new Error(o.message);
      const kpw = sealer.unseal(deviceBinding(`GEN-${i}`, 'kpw'), o.sealed.wrap);
      expect(kcv(kpw, 'aes')).toBe(o.sealed.kcvWrap);
      kpws.add(kpw.toString('hex'));
    });
    expect(kpws.size).toBe(2000);
  });

  it('a worker that cannot start: the pool seals on this thread instead, and the import goes on', async () => {
    const broken = join(tempDir('keyladder-seal-'), 'broken-worker.mjs');
    writeFileSync(broken, "throw new Error('this runtime will not load me');\n");
    const sealer = RecordSealer.forStore(randomBytes(32));
    const pool = deviceSealerFor(sealer, MIN_ROWS_FOR_WORKERS, broken);
    closers.push(() => pool.close());
    expect(pool.constructor.name).toBe('WorkerPool');
    const outcomes = await pool.seal([{ identity: 'X', input: { kind: 'wrap', wrap: v.kpw_hex } }]);
    expect(outcomes[0]?.ok && sealer.unseal(deviceBinding('X', 'kpw'), outcomes[0].sealed.wrap).toString('hex')).toBe(v.kpw_hex);
    const later = await pool.seal([{ identity: 'Y', input: { kind: 'generate' } }]);
    expect(later[0]?.ok).toBe(true);
  });

  it('small imports, and sources without the built worker, seal on this thread', async () => {
    const sealer = RecordSealer.forStore(randomBytes(32));
    expect(deviceSealerFor(sealer, MIN_ROWS_FOR_WORKERS - 1, BUILT_WORKER).constructor.name).toBe('InThreadSealer');
    const inThread = deviceSealerFor(sealer, 100_000, join(import.meta.dirname, 'no-such-worker.js'));
    expect(inThread.constructor.name).toBe('InThreadSealer');
    const [one] = await inThread.seal([{ identity: 'X', input: { kind: 'wrap', wrap: v.kpw_hex } }]);
    expect(one?.ok && sealer.unseal(deviceBinding('X', 'kpw'), one.sealed.wrap).toString('hex')).toBe(v.kpw_hex);
  });
});
