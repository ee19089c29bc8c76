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

const readVectorFile = (name: string): unknown => JSON.parse(readFileSync(new URL(`../vectors/jose/${name}`, import.meta.url), 'utf8'));

export const joseVectors = (name: string): JoseVectorFile => readVectorFile(name) as JoseVectorFile;

/** One JWE of test/vectors/jose/jose-matrix.json (build/make-jose-matrix.mjs): its key is a name in the file's keys, or a passphrase. */
export interface JoseMatrixVector {
  readonly alg: string;
  readonly enc: string;
  readonly kid: string;
  readonly key?: string;
  readonly passphrase?: string;
  readonly jwe: string;
}

export interface JoseMatrixFile {
  readonly source: string;
  readonly plaintext: string;
  readonly keys: Readonly<Record<string, JWK>>;
  readonly vectors: readonly JoseMatrixVector[];
}

export const joseMatrix = (): JoseMatrixFile => readVectorFile('jose-matrix.json') as JoseMatrixFile;

/** One JWS of test/vectors/jose/jws-matrix.json (build/make-jws-matrix.mjs): `key` verifies it, `wrongKey` (same kind) must not. */
export interface JwsMatrixVector {
  readonly alg: string;
  readonly kid: string;
  readonly key: string;
  readonly wrongKey: string;
  readonly jws: string;
}

export interface JwsMatrixFile {
  readonly source: string;
  readonly payload: string;
  readonly keys: Readonly<Record<string, JWK>>;
  readonly vectors: readonly JwsMatrixVector[];
}

export const jwsMatrix = (): JwsMatrixFile => readVectorFile('jws-matrix.json') as JwsMatrixFile;
