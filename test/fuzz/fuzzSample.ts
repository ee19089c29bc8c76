// How the sampled fuzz tests run: a fixed seed by default (so `npm test` is
// reproducible), FUZZ_SEED to try another, FUZZ_SCALE to run more.
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261123);
export const scaled = (n: number): number => Math.max(1, Math.round(n * Number(process.env['FUZZ_SCALE'] ?? 1)));
