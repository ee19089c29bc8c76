// Turning an operator's key input into the sealed columns of a device or a
// model group: generate, or import Kpe+Kph (Kpw derived the MSL way), or import
// Kpw alone. The same rule serves model groups (Kde+Kdh, Kdw).

import { timingSafeEqual } from 'node:crypto';
import { deriveWrappingKey } from '../jwe/keyDerivation.js';
import { kcv } from '../jwe/kcv.js';
import { systemRandom } from '../jwe/random.js';
import type { RecordSealer } from '../../db/sealing.js';
import type { KeyOrigin } from '../../db/repositories/devices.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { keyFromHex } from './keyInput.js';
import { deviceBinding } from './storeKeySource.js';

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

/** A device's key input; `check` is a kpw given beside kpe+kph, which must equal the derived one. */
export type DeviceKeyInput = TripleInput & { readonly check?: string };

export const DEVICE_NAMES = { enc: 'kpe', hmac: 'kph', wrap: 'kpw' } as const;
export const GROUP_NAMES = { enc: 'kde', hmac: 'kdh', wrap: 'kdw' } as const;

export function keysFromInput(input: TripleInput, names: TripleNames): KeyTriple {
  switch (input.kind) {
    case 'generate': {
      // From the responder's random pool (a bulk import generates 200,000
      // keys); the pool's bytes are zeroed once copied into the keys' own buffers.
      const drawn = systemRandom.take(48);
      const enc = Buffer.alloc(16);
      const hmac = Buffer.alloc(32);
      drawn.copy(enc, 0, 0, 16);
      drawn.copy(hmac, 0, 16, 48);
      drawn.fill(0);
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

/** A device's keys, with a kpw given beside kpe+kph checked against the derived one. The caller zeroes them. */
export function deviceKeys(input: DeviceKeyInput): KeyTriple {
  const keys = keysFromInput(input, DEVICE_NAMES);
  if (input.check !== undefined) {
    let agree = false;
    try {
      const given = keyFromHex(input.check, 'kpw', 16);
      agree = timingSafeEqual(given, keys.wrap);
      given.fill(0);
    } finally {
      if (!agree) for (const k of [keys.wrap, keys.enc, keys.hmac]) k?.fill(0);
    }
    if (!agree) throw new ServiceError(ServiceErrorCode.INVALID_KEY, 'kpw does not match the Kpw derived from kpe and kph.');
  }
  return keys;
}

/** A device's sealed key columns and KCVs, from its key input. */
export function sealDeviceKeys(sealer: RecordSealer, identity: string, input: DeviceKeyInput): SealedTriple {
  return sealTriple(deviceKeys(input), sealer, (f) => deviceBinding(identity, DEVICE_NAMES[f]));
}
