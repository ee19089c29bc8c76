// The key file: the random 256-bit store key, wrapped (AES-256-GCM) under a key
// derived from the operator's passphrase. The AAD binds the wrap to the store's
// id and to the KDF parameters, so neither can be swapped or weakened without
// the unwrap failing. Changing the passphrase rewrites this file only.

import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StoreError, StoreErrorCode } from './errors.js';
import { checkParams, deriveKek, type ScryptParams } from './kdf.js';
import { writeFileAtomic } from './files.js';

export const KEYFILE_FORMAT = 'keyladder-keyfile';
export const KEYFILE_VERSION = 1;

export interface KeyFile {
  readonly format: typeof KEYFILE_FORMAT;
  readonly version: number;
  readonly storeId: string;
  readonly createdAt: string;
  readonly kdf: ScryptParams;
  readonly wrappedStoreKey: { readonly alg: 'A256GCM'; readonly iv: string; readonly ciphertext: string; readonly tag: string };
}

function aad(file: Pick<KeyFile, 'format' | 'version' | 'storeId' | 'kdf'>): Buffer {
  const { name, logN, r, p, salt } = file.kdf;
  return Buffer.from(JSON.stringify([file.format, file.version, file.storeId, name, logN, r, p, salt]), 'utf8');
}

export function parseKeyFile(text: string): KeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreError(StoreErrorCode.NOT_A_STORE, 'The key file is not JSON: this folder does not hold a KeyLadder store.');
  }
  const f = value as Partial<KeyFile> | null;
  if (!f || f.format !== KEYFILE_FORMAT) throw new StoreError(StoreErrorCode.NOT_A_STORE, 'The key file is not a KeyLadder key file.');
  if (f.version !== KEYFILE_VERSION) throw new StoreError(StoreErrorCode.STORE_TOO_NEW, `The key file has version ${String(f.version)}; this KeyLadder reads version ${KEYFILE_VERSION}. Use a newer KeyLadder.`);
  const w = f.wrappedStoreKey;
  const b64 = (x: unknown) => typeof x === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(x);
  if (typeof f.storeId !== 'string' || typeof f.createdAt !== 'string' || !f.kdf || !w || w.alg !== 'A256GCM' || !b64(w.iv) || !b64(w.ciphertext) || !b64(w.tag) || !b64(f.kdf.salt)) {
    throw new StoreError(StoreErrorCode.KEYFILE_CORRUPT, 'The key file is damaged. Restore the store from a backup.');
  }
  try {
    checkParams(f.kdf);
  } catch {
    throw new StoreError(StoreErrorCode.KEYFILE_CORRUPT, 'The key file names KDF parameters this KeyLadder refuses. Restore the store from a backup.');
  }
  return f as KeyFile;
}

export function readKeyFile(path: string): KeyFile {
  return parseKeyFile(readFileSync(path, 'utf8'));
}

/** A store id as wrapStoreKey makes it (randomUUID): what a peer's revocation list may name as its source. */
export const STORE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function wrapStoreKey(storeKey: Buffer, passphrase: string, kdf: ScryptParams, storeId: string = randomUUID(), createdAt = new Date().toISOString()): Promise<KeyFile> {
  const kek = await deriveKek(passphrase, kdf);
  try {
    const base = { format: KEYFILE_FORMAT, version: KEYFILE_VERSION, storeId, kdf } as const;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kek, iv);
    cipher.setAAD(aad(base));
    const ciphertext = Buffer.concat([cipher.update(storeKey), cipher.final()]);
    return { ...base, createdAt, wrappedStoreKey: { alg: 'A256GCM', iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') } };
  } finally {
    kek.fill(0);
  }
}

/** Returns the store key, or throws WRONG_PASSPHRASE. The caller zeroes the key. */
export async function unwrapStoreKey(file: KeyFile, passphrase: string): Promise<Buffer> {
  const kek = await deriveKek(passphrase, file.kdf);
  try {
    const w = file.wrappedStoreKey;
    // The tag length is pinned: without it, GCM takes a tag cut to 4 bytes and checks only those.
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(w.iv, 'base64'), { authTagLength: 16 });
    decipher.setAAD(aad(file));
    decipher.setAuthTag(Buffer.from(w.tag, 'base64'));
    const key = Buffer.concat([decipher.update(Buffer.from(w.ciphertext, 'base64')), decipher.final()]);
    if (key.length !== 32) throw new Error('bad length');
    return key;
  } catch {
    throw new StoreError(StoreErrorCode.WRONG_PASSPHRASE, 'Wrong passphrase. Nothing was changed; try again.');
  } finally {
    kek.fill(0);
  }
}

export function writeKeyFile(path: string, file: KeyFile): void {
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
}
