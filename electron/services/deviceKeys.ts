// Turning an operator's key input into the sealed columns of a device or a
// model group: generate, or import Kpe+Kph (Kpw derived the MSL way), or import
// Kpw alone. The same rule serves model groups (Kde+Kdh, Kdw).

import { randomBytes } from 'node:crypto';
import { deriveWrappingKey } from '../jwe/keyDerivation.js';
import { kcv } from '../jwe/kcv.js';
import type { RecordSealer } from '../../db/sealing.js';
import type { KeyOrigin } from '../../db/repositories/devices.js';
import { keyFromHex } from './keyInput.js';

export interface KeyTriple {
  readonly wrap: Buffer;
  readonly enc: Buffer | null;
  readonly hmac: Buffer | null;
  readonly origin: KeyOrigin;
}

export interface SealedTriple {
  readonly origin: KeyOrigin;
  readonly wrap: Buffer;
  readonly enc: Buffer | null;
  readonly hmac: Buffer | null;
  readonly kcvWrap: string;
  readonly kcvEnc: string | null;
  readonly kcvHmac: string | null;
}

/** Input names differ between devices (kpe/kph/kpw) and groups (kde/kdh/kdw). */
export interface TripleNames {
  readonly enc: string;
  readonly hmac: string;
  readonly wrap: string;
}

export type TripleInput =
  | { readonly kind: 'generate' }
  | { readonly kind: 'pair'; readonly enc: string; readonly hmac: string }
  | { readonly kind: 'wrap'; readonly wrap: string };

export function keysFromInput(input: TripleInput, names: TripleNames): KeyTriple {
  switch (input.kind) {
    case 'generate': {
      const enc = randomBytes(16);
      const hmac = randomBytes(32);
      return { enc, hmac, wrap: deriveWrappingKey(enc, hmac), origin: 'generated' };
    }
    case 'pair': {
      const enc = keyFromHex(input.enc, names.enc, 16);
      const hmac = keyFromHex(input.hmac, names.hmac, 32);
      return { enc, hmac, wrap: deriveWrappingKey(enc, hmac), origin: 'imported-kpe-kph' };
    }
    case 'wrap':
      return { enc: null, hmac: null, wrap: keyFromHex(input.wrap, names.wrap, 16), origin: 'imported-kpw' };
  }
}

/** Seals each key to its record and field, takes its KCV, and zeroes it. */
export function sealTriple(keys: KeyTriple, sealer: RecordSealer, binding: (field: 'wrap' | 'enc' | 'hmac') => string): SealedTriple {
  try {
    return {
      origin: keys.origin,
      wrap: sealer.seal(binding('wrap'), keys.wrap),
      enc: keys.enc && sealer.seal(binding('enc'), keys.enc),
      hmac: keys.hmac && sealer.seal(binding('hmac'), keys.hmac),
      kcvWrap: kcv(keys.wrap, 'aes'),
      kcvEnc: keys.enc && kcv(keys.enc, 'aes'),
      kcvHmac: keys.hmac && kcv(keys.hmac, 'hmac'),
    };
  } finally {
    keys.wrap.fill(0);
    keys.enc?.fill(0);
    keys.hmac?.fill(0);
  }
}
