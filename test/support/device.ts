// The device side for tests: the requestor, with the key unwrap this process
// can do. Devices are browsers and set-top boxes with Web Crypto AES-KW, so
// under plain Node the tests' devices use exactly that (the requestor as it
// ships to browsers). Under the model of Electron's crypto, Web Crypto has no
// AES-KW, so the same requestor code unwraps with the main process's
// unwrapper; the Web Crypto path itself is covered by the plain-Node run.

import type { KeyObject } from 'node:crypto';
import type { Bytes } from '../../electron/encoding/bytes.js';
import type { KeyUnwrapper } from '../../electron/jwe/keyUnwrapper.js';
import { decryptJwe as decrypt, webCryptoUnwrapper } from '../../electron/ladder/jweDecrypt.js';
import { LadderRequestor as Requestor, acceptKeyResponse as accept, type DeviceKeys } from '../../electron/ladder/requestor.js';
import type { JweProfileName } from '../../electron/jwe/keyKinds.js';
import { nodeKeyUnwrapper } from '../../electron/jwe/nodeKeyUnwrap.js';
import { underElectronCryptoModel } from './runtime.js';

export type DeviceKey = CryptoKey | KeyObject;

export const deviceUnwrapper: KeyUnwrapper<DeviceKey> = (underElectronCryptoModel() ? nodeKeyUnwrapper : webCryptoUnwrapper) as KeyUnwrapper<DeviceKey>;

/** A raw Kpw, Kdw or Kwrap as this runtime's device holds it; zeroes `raw`. */
export const importWrappingKey = (raw: Bytes): Promise<DeviceKey> => deviceUnwrapper.importWrappingKey(raw);

export const acceptKeyResponse = (response: unknown, kprev: DeviceKey, profile: JweProfileName = 'msl'): Promise<DeviceKeys<DeviceKey>> =>
  accept(response, kprev, profile, deviceUnwrapper);

export class LadderRequestor extends Requestor<DeviceKey> {
  constructor(identity: string, longTermKey: DeviceKey, longTermMechanism: 'PSK' | 'MGK' = 'PSK', profile: JweProfileName = 'msl') {
    super(identity, longTermKey, longTermMechanism, profile, deviceUnwrapper);
  }
}

/** Decrypts one ladder JWE as this runtime's device would (see decryptJwe). */
export const decryptJwe = (serialization: Uint8Array, kek: DeviceKey, profile: JweProfileName): Promise<Bytes> => decrypt(serialization, kek, profile, deviceUnwrapper);
