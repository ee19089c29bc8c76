// Per-record sealing: every key in the store is encrypted once more, with
// AES-256-GCM under a key derived from the store key, and bound (as AAD) to
// the record and field it belongs to. A query result never holds a raw key,
// and a sealed key copied into another row, or another column, fails to open.
//
// Sealed layout: 0x01 | nonce (12) | ciphertext | tag (16).

import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import { StoreError, StoreErrorCode } from './errors.js';
import { secretCopy } from '../electron/jwe/secretBuffer.js';

const VERSION = 0x01;
const NONCE = 12;
const TAG = 16;
/** Nonces are drawn from a pool: one randomFillSync per 341 seals instead of one each (a bulk import seals 300,000 keys). */
const NONCE_POOL = 4092;

/** Subkeys of the store key, each for one purpose (HKDF-SHA256). */
export function deriveSubkey(storeKey: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', storeKey, Buffer.alloc(0), `keyladder ${purpose} v1`, 32));
}

/** The bindings (AAD) that tie each sealed key to its record and field. */
export const deviceBinding = (identity: string, field: 'kpw' | 'kpe' | 'kph'): string => `device/${identity}/${field}`;
export const groupBinding = (name: string, field: 'kdw' | 'kde' | 'kdh'): string => `group/${name}/${field}`;
export const issuerBinding = (generation: number): string => `issuer/${generation}/key`;
export const ownKeyBinding = (kid: string): string => `own/${kid}/private`;
/** The MSL server identity's RSA private key (PKCS #8) of one generation. */
export const mslIdentityBinding = (generation: number): string => `msl-identity/${generation}/private`;
/** One of a master-token key generation's two keys (MSL's msl.key.enc and msl.key.hmac). */
export const mslTokenKeyBinding = (generation: number, field: 'enc' | 'hmac'): string => `msl-token-key/${generation}/${field}`;

/** How many opened keys `unsealRemembered` keeps: Kissuer generations in use are few. */
const REMEMBERED = 8;

export class RecordSealer {
  private readonly key: Buffer;
  /**
   * Opened keys by binding, with the sealed bytes they came from. Only the
   * Kissuer generations use this: every exchange needs the active one (and a
   * WRAP the one that made the wrapdata), and opening it each time costs an
   * AES-GCM decryption. Device keys are never remembered.
   */
  private readonly remembered = new Map<string, { sealed: Buffer; plain: Buffer }>();
  // Nonces are public, so the pool needs no zeroing; each is used once.
  private readonly nonces = Buffer.alloc(NONCE_POOL);
  private nonceOffset = NONCE_POOL;

  /** `key` is the sealing subkey, which the sealer owns from now on and zeroes on destroy. */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('The sealing key is 32 bytes.');
    this.key = key;
  }

  /** The store's sealer: its key is a subkey of the store key. */
  static forStore(storeKey: Uint8Array): RecordSealer {
    return new RecordSealer(deriveSubkey(storeKey, 'record seal'));
  }

  /**
   * A copy of the sealing key, for the bulk import's worker threads in this
   * same process (electron/services/sealPool.ts), which seal with it and zero
   * it when they stop. Nothing else takes the key out of the sealer.
   */
  sealingKeyForWorkers(): Buffer {
    // Its own memory, not a slice of Node's shared pool: posting a slice to a
    // worker would copy the whole pool with it.
    return secretCopy(this.key);
  }

  seal(binding: string, plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(1 + NONCE + plaintext.length + TAG);
    out[0] = VERSION;
    if (this.nonceOffset + NONCE > NONCE_POOL) {
      randomFillSync(this.nonces);
      this.nonceOffset = 0;
    }
    const nonce = out.subarray(1, 1 + NONCE);
    this.nonces.copy(nonce, 0, this.nonceOffset, this.nonceOffset + NONCE);
    this.nonceOffset += NONCE;
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(binding, 'utf8'));
    cipher.update(plaintext).copy(out, 1 + NONCE);
    cipher.final();
    cipher.getAuthTag().copy(out, 1 + NONCE + plaintext.length);
    return out;
  }

  /** The caller zeroes the result once done. */
  unseal(binding: string, sealed: Uint8Array): Buffer {
    if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) throw this.invalid(binding);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 1 + NONCE), { authTagLength: TAG });
    decipher.setAAD(Buffer.from(binding, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG));
    try {
      decipher.final();
    } catch {
      plain.fill(0);
      throw this.invalid(binding);
    }
    return plain;
  }

  /**
   * As `unseal`, for a key opened again and again. The opened key is kept
   * (zeroed on `destroy`) and reused while the record's sealed bytes are the
   * same, so a rotated, imported or restored key is opened afresh: equal
   * sealed bytes under the same binding can only open to the same key. The
   * caller gets a copy, and zeroes it once done.
   */
  unsealRemembered(binding: string, sealed: Uint8Array): Buffer {
    const known = this.remembered.get(binding);
    if (known !== undefined && known.sealed.equals(sealed)) return secretCopy(known.plain);
    const plain = this.unseal(binding, sealed);
    this.forget(binding);
    if (this.remembered.size >= REMEMBERED) this.forgetOldest();
    // Off the V8 heap, where a garbage collection would move it and leave the old bytes behind:
    // zeroing it on forget must wipe the key (secretBuffer.ts).
    this.remembered.set(binding, { sealed: Buffer.from(sealed), plain: secretCopy(plain) });
    return plain;
  }

  /** Drops a remembered key (its record was destroyed or retired). */
  forget(binding: string): void {
    this.remembered.get(binding)?.plain.fill(0);
    this.remembered.delete(binding);
  }

  /** The bindings of the keys held open now (never the keys). */
  rememberedBindings(): string[] {
    return [...this.remembered.keys()];
  }

  private forgetOldest(): void {
    const oldest = this.remembered.keys().next();
    if (oldest.done !== true) this.forget(oldest.value);
  }

  destroy(): void {
    this.key.fill(0);
    for (const { plain } of this.remembered.values()) plain.fill(0);
    this.remembered.clear();
  }

  private invalid(binding: string): StoreError {
    const record = binding.split('/').slice(0, 2).join('/');
    return new StoreError(StoreErrorCode.RECORD_SEAL_INVALID, `The sealed key of ${record} does not open: the record was altered or moved. Restore from a backup.`);
  }
}
