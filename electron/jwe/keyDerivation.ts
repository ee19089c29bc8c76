// MSL's derivation of a pre-shared wrapping key from an encryption and an HMAC
// key (MslTestUtils.deriveWrappingKey, and JsonWebEncryptionLadderExchange's
// deriveWrappingKey): Kpw = HMAC-SHA256(HMAC-SHA256(SALT, Kpe||Kph), INFO)[0..16).
// The same rule gives a model group's Kdw from Kde and Kdh.

import { createHmac } from 'node:crypto';

const SALT = Buffer.from('027617984f6227539a630b897c017d69', 'hex');
const INFO = Buffer.from('809f82a7addf548d3ea9dd067ff9bb91', 'hex');

export function deriveWrappingKey(encryptionKey: Uint8Array, hmacKey: Uint8Array): Buffer {
  if (encryptionKey.length !== 16) throw new RangeError('The encryption key must be 16 bytes (AES-128).');
  if (hmacKey.length !== 32) throw new RangeError('The HMAC key must be 32 bytes (HMAC-SHA256).');
  const intermediate = createHmac('sha256', SALT).update(encryptionKey).update(hmacKey).digest();
  const full = createHmac('sha256', intermediate).update(INFO).digest();
  intermediate.fill(0);
  const kpw = Buffer.from(full.subarray(0, 16));
  full.fill(0);
  return kpw;
}
