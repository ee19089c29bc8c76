// RandomSources for tests: one that replays the exact bytes Netflix's MSL drew
// for a vector, and a deterministic one for reproducible round trips.
import { createHash } from 'node:crypto';
import type { RandomSource } from '../../electron/jwe/random.js';
import { EXCHANGE_RANDOM_BYTES } from '../../electron/ladder/responder.js';
import { hex, type ExchangeVector } from './vectors.js';

/** Replays one buffer per take(), in order. The responder zeroes what it takes, so hand out copies. */
export class ReplayRandom implements RandomSource {
  constructor(private readonly draws: Buffer[]) {}
  take(n: number): Buffer {
    const next = this.draws.shift();
    if (!next || next.length !== n) throw new Error(`ReplayRandom: expected a draw of ${next?.length} bytes, got a request for ${n}`);
    return Buffer.from(next);
  }
}

/** The responder's one draw per exchange, rebuilt from what MSL drew for the vector. */
export function vectorDraw(v: ExchangeVector): Buffer {
  const d = v['decoded (by MSL JsonWebEncryptionCryptoContext/AesKwCryptoContext)'];
  const kid = Buffer.alloc(8);
  kid.writeBigInt64BE(BigInt(v.expected.kwrap_kid));
  const draw = Buffer.concat([
    hex(v.expected['kwrap_hex (new wrapping key)']),
    hex(v.expected.kenc_hex),
    hex(v.expected.khmac_hex),
    kid,
    hex(d.wrapkey.cek_hex), hex(d.encryptionkey.cek_hex), hex(d.hmackey.cek_hex),
    hex(d.wrapkey.iv_hex), hex(d.encryptionkey.iv_hex), hex(d.hmackey.iv_hex),
  ]);
  if (draw.length !== EXCHANGE_RANDOM_BYTES) throw new Error('vector draw has the wrong size');
  return draw;
}

/** Deterministic bytes (SHA-256 in counter mode) so failures reproduce. */
export class SeededRandom implements RandomSource {
  private counter = 0;
  constructor(private readonly seed: string) {}
  take(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let off = 0; off < n; off += 32) {
      createHash('sha256').update(`${this.seed}:${this.counter++}`).digest().copy(out, off);
    }
    return out;
  }
}
