// A sample fuzz of the MSL wire layer: mutated captures through the splitter,
// the strict parser and the payload chunk opener; mutated payload plaintexts
// (re-encrypted and re-signed, so they reach the payload parser); random
// LZW and GZIP input. The only acceptable failure is an MslError whose code is
// in MSL's catalogue; what inflates stays under its cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../electron/encoding/base64.js';
import { utf8 } from '../../electron/encoding/bytes.js';
import { uncompress } from '../../electron/msl/compression.js';
import { MSL_ERRORS, MslError } from '../../electron/msl/errors.js';
import { openPayloadChunk, PayloadSequence } from '../../electron/msl/payloadChunk.js';
import { parseObject, splitMessage } from '../../electron/msl/reader.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { FUZZ_SEED, scaled } from '../fuzz/fuzzSample.js';
import { chunkKeys, decoded, type Direction, EXCHANGES, type Exchange, messageBytes } from '../support/mslVectors.js';

const LIMITS = { maxInflated: 256 * 1024 };

/** The outcome of `f`: 'ok' or the MslError's code; anything else fails the test. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof MslError) || !(e.code in MSL_ERRORS)) throw new Error(`not an MslError of the catalogue: ${String(e)}`);
    return e.code;
  }
}

const messages = EXCHANGES.flatMap((exchange) => (['request', 'response'] as const).map((direction): [Exchange, Direction] => [exchange, direction]));

/** The whole read of a message's payloads, as the responder does it. */
function readMessage(bytes: Uint8Array, exchange: Exchange, direction: Direction): void {
  const [header, ...chunks] = splitMessage(bytes, { maxMessageBytes: 64 * 1024 }).map(parseObject);
  if (header === undefined || chunks.length === 0) return;
  const { keyId, kpe, kph } = chunkKeys(exchange, direction);
  const ctx = new SymmetricCryptoContext(keyId, kpe, kph);
  const sequence = new PayloadSequence(decoded(exchange, direction).headerdata?.messageid ?? 0);
  for (const chunk of chunks) sequence.accept(openPayloadChunk(chunk, ctx, LIMITS));
  sequence.finish();
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('structural' as const), at: fc.nat(), byte: fc.constantFrom(...utf8('{}[]",:\\ 0"')) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const at = input.length === 0 ? 0 : m.at % input.length;
  const out = Array.from(input);
  if (m.kind === 'flip') out[at] = out[at]! ^ (1 << m.bit);
  else if (m.kind === 'truncate') out.length = at;
  else if (m.kind === 'insert') out.splice(at, 0, ...m.bytes);
  else if (m.kind === 'delete') out.splice(at, m.n);
  else out[at] = m.byte;
  return Uint8Array.from(out);
}

describe(`MSL wire fuzz sample (seed ${FUZZ_SEED})`, () => {
  it('mutated captures: splitter, parser and payload chunks refuse only with catalogue MslErrors', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: messages.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (index, mutations) => {
        const [exchange, direction] = messages[index]!;
        const bytes = mutations.reduce(mutate, messageBytes(exchange, direction));
        const result = outcome(() => readMessage(bytes, exchange, direction));
        seen.set(result, (seen.get(result) ?? 0) + 1);
      }),
      { seed: FUZZ_SEED, numRuns: scaled(1500) },
    );
    for (const code of ['MESSAGE_FORMAT_ERROR', 'MSL_PARSE_ERROR', 'PAYLOAD_VERIFICATION_FAILED']) expect(seen.get(code) ?? 0, code).toBeGreaterThan(0);
  });

  it('mutated payload plaintexts, re-encrypted and re-signed, reach the payload parser and refuse only with catalogue MslErrors', () => {
    const ctx = new SymmetricCryptoContext('k', new Uint8Array(16).fill(1), new Uint8Array(32).fill(2));
    const seeds = [
      '{"sequencenumber":1,"messageid":5211510174360933,"data":"cnVuIEE6IGhlbGxvIHZpYSBQU0sgaGFuZHNoYWtl"}',
      '{"sequencenumber":2,"messageid":5211510174360933,"endofmsg":true,"data":""}',
      `{"sequencenumber":1,"messageid":7,"endofmsg":true,"compressionalgo":"LZW","data":"${encodeBase64(Uint8Array.from([0x41, 0x21, 0x40, 0x20, 0x40]))}"}`,
      `{"sequencenumber":1,"messageid":7,"compressionalgo":"GZIP","data":"H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA=="}`,
    ].map(utf8);
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 2 }), (index, mutations) => {
        const plaintext = mutations.reduce(mutate, seeds[index]!);
        const envelope = ctx.encrypt(plaintext);
        const chunk = { payload: encodeBase64(envelope), signature: encodeBase64(ctx.sign(envelope)) };
        const result = outcome(() => {
          const opened = openPayloadChunk(chunk, ctx, LIMITS);
          expect(opened.data.length).toBeLessThanOrEqual(LIMITS.maxInflated);
        });
        seen.set(result, (seen.get(result) ?? 0) + 1);
      }),
      { seed: FUZZ_SEED + 1, numRuns: scaled(1500) },
    );
    expect(seen.get('ok') ?? 0).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });

  it('random LZW and GZIP input: a catalogue MslError or output under the cap', () => {
    fc.assert(
      fc.property(fc.constantFrom('LZW', 'GZIP'), fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 0, max: 4096 }), (algo, data, cap) => {
        let out: Uint8Array | undefined;
        outcome(() => (out = uncompress(algo, data, cap)));
        if (out !== undefined) expect(out.length).toBeLessThanOrEqual(Math.min(cap, 200 * data.length));
      }),
      { seed: FUZZ_SEED + 2, numRuns: scaled(3000) },
    );
  });
});
