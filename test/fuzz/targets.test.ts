// A sample of the fuzz campaign (the long run is `npm run fuzz:long`): every
// target, a few thousand mutated cases each. A violation fails the test with
// fast-check's shrunk counterexample and its seed.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWorld, jweTarget, parserTarget, responderTarget, responseTarget, runTarget, type FuzzWorld, type RunResult } from './harness.js';
import { FUZZ_SEED, scaled } from './fuzzSample.js';

let world: FuzzWorld;
beforeAll(async () => {
  world = await buildWorld();
});

/** The outcomes must show the mutations reach past the first check: several refusals, and some successes. */
function expectVariety(r: RunResult, minimumKinds: number): void {
  expect(r.cases).toBeGreaterThan(0);
  expect(r.outcomes.counts.size).toBeGreaterThanOrEqual(minimumKinds);
}

describe('fuzz sample (seed ' + FUZZ_SEED + ')', () => {
  it('request parser: only LadderErrors with MSL codes and reasons, and what passes is well-formed', async () => {
    const r = await runTarget(parserTarget(world), scaled(6000), FUZZ_SEED);
    expectVariety(r, 12);
    expect(r.outcomes.counts.get('ok') ?? 0).toBeGreaterThan(0);
    expect(r.outcomes.counts.get('MSL_PARSE_ERROR/BAD_BASE64') ?? 0).toBeGreaterThan(0);
  });

  it('responder over a MemoryKeySource: only LadderErrors, key source unchanged, every answer unwraps to the same keys', async () => {
    const r = await runTarget(responderTarget(world, { deepEvery: 4 }), scaled(2500), FUZZ_SEED + 1);
    expectVariety(r, 15);
    for (const reason of ['ok', 'KEYX_WRAPPING_KEY_MISSING/WRAPDATA_INVALID', 'ENTITY_REVOKED/DEVICE_REVOKED', 'ENTITY_NOT_FOUND/DEVICE_UNKNOWN']) {
      expect(r.outcomes.counts.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
  });

  it('JWE decoder: only LadderErrors, and nothing decrypts to a plaintext no seed holds', async () => {
    const r = await runTarget(jweTarget(world), scaled(2500), FUZZ_SEED + 2);
    expectVariety(r, 8);
    expect(r.outcomes.counts.get('JWE_DECRYPTION_ERROR/JWE_DECRYPTION_FAILED') ?? 0).toBeGreaterThan(0);
  });

  it('acceptKeyResponse: only LadderErrors, and no keys that no seed issued', async () => {
    const r = await runTarget(responseTarget(world), scaled(2000), FUZZ_SEED + 3);
    expectVariety(r, 12);
    for (const reason of ['JWE_DECRYPTION_ERROR/JWE_DECRYPTION_FAILED', 'INVALID_JWK/JWK_ALG', 'INVALID_JWK/JWK_MALFORMED', 'ok-resealed']) {
      expect(r.outcomes.counts.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
  });
});
