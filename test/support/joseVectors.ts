// The JOSE vectors in test/vectors/jose, typed in from the RFCs (the
// repository carries its own copies, so no test reads outside the checkout).
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import type { JoseRefusalCode } from '../../electron/jose/errors.js';

export interface JoseVector {
  readonly section: string;
  readonly title: string;
  readonly expect: 'decrypts' | 'verifies' | 'refused';
  /** A name in the file's keys, or a passphrase (PBES2). */
  readonly key?: string;
  readonly passphrase?: string;
  readonly kid?: string;
  readonly code?: JoseRefusalCode;
  /** The recipient or signature that opens it. */
  readonly recipient?: number;
  readonly skips?: readonly { readonly index: number; readonly alg: string }[];
  readonly plaintext?: string;
  readonly iv_bytes?: readonly number[];
  readonly jwe?: string;
  readonly jws?: string;
}

export interface JoseVectorFile {
  readonly source: string;
  readonly keys: Readonly<Record<string, JWK>>;
  readonly vectors: readonly JoseVector[];
}

export const joseVectors = (name: string): JoseVectorFile => JSON.parse(readFileSync(new URL(`../vectors/jose/${name}`, import.meta.url), 'utf8')) as JoseVectorFile;
