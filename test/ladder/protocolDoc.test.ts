// docs/protocol.md states the Kpw derivation's SALT and INFO so that a device
// maker can derive Kpw without reading our code or MSL's: the constants it
// prints (spaced hex, hex strings, Base64) and the derivation it describes must
// give MSL's vector and the very key KeyLadder derives.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveWrappingKey } from '../../electron/jwe/keyDerivation.js';
import { ROOT } from '../support/cli.js';

const DOC = readFileSync(join(ROOT, 'docs', 'protocol.md'), 'utf8');
const VECTOR = JSON.parse(readFileSync(join(ROOT, 'test', 'vectors', 'msl', 'psk-derive-wrapping-key.json'), 'utf8')) as Record<string, string>;

/** The constant as the doc's byte table prints it: `NAME = 02 76 …`. */
function constant(name: 'SALT' | 'INFO'): Buffer {
  const match = new RegExp(`^\\s*${name} = ((?:[0-9a-f]{2} ){15}[0-9a-f]{2})\\s`, 'm').exec(DOC);
  expect(match, `docs/protocol.md has no "${name} = xx xx …" line of 16 bytes`).not.toBeNull();
  return Buffer.from(match![1]!.replaceAll(' ', ''), 'hex');
}

/** The derivation as the doc states it: PRK = HMAC(key SALT, Kpe‖Kph); Kpw = HMAC(key PRK, INFO)[0..16). */
function derivedAsDocumented(kpe: Buffer, kph: Buffer): Buffer {
  const prk = createHmac('sha256', constant('SALT')).update(Buffer.concat([kpe, kph])).digest();
  return createHmac('sha256', prk).update(constant('INFO')).digest().subarray(0, 16);
}

describe('docs/protocol.md: the Kpw derivation', () => {
  it("prints SALT and INFO as MSL's vector has them, in each of its forms", () => {
    for (const [name, hexKey] of [['SALT', 'salt_hex'], ['INFO', 'info_hex']] as const) {
      const bytes = constant(name);
      expect(bytes.toString('hex')).toBe(VECTOR[hexKey]);
      expect(DOC).toContain(`\`${bytes.toString('hex')}\``);
      expect(DOC).toContain(`\`${bytes.toString('base64')}\``);
    }
  });

  it("gives MSL's Kpw for its PSK device, and the Kpw KeyLadder derives for any keys", () => {
    expect(derivedAsDocumented(Buffer.from(VECTOR['kpe_hex']!, 'hex'), Buffer.from(VECTOR['kph_hex']!, 'hex')).toString('hex')).toBe(VECTOR['kpw_hex']);
    expect(DOC).toContain(`Kpw\n\`${VECTOR['kpw_hex']}\``);
    for (let i = 0; i < 20; i++) {
      const kpe = randomBytes(16);
      const kph = randomBytes(32);
      expect(derivedAsDocumented(kpe, kph).equals(deriveWrappingKey(kpe, kph))).toBe(true);
    }
  });
});
