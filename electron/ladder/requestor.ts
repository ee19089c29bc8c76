// The device side of JWE_LADDER, on Web Crypto only: it runs unchanged in
// Node and in a browser. KeyLadder uses it to simulate devices (test exchanges,
// `keyladder simulate`, the HTTP ladder tests) and to check responses.
//
// The key unwrap is pluggable (KeyUnwrapper, jweDecrypt.ts). By default it is
// Web Crypto's AES-KW, and the requestor uses nothing but Web Crypto. The
// main process, whose Web Crypto has no AES-KW on Electron, passes its own
// unwrapper (electron/jwe/nodeKeyUnwrap.ts); Kwrap is then the unwrapper's key
// type, and everything else stays the same code.
//
// It ends with non-extractable CryptoKeys (AES-KW, AES-CBC, HMAC-SHA256). The
// raw key bytes exist only between decryption and import, and are zeroed then.
// (The JWK's base64url text is a JS string and cannot be zeroed; it is left to
// the garbage collector.)

import { decodeBase64Url, encodeBase64 } from '../encoding/base64.js';
import { fromUtf8, type Bytes } from '../encoding/bytes.js';
import { LadderError, MslErrorCode } from './errors.js';
import type { KeyUnwrapper } from '../jwe/keyUnwrapper.js';
import { decryptJwe, defaultUnwrapper, webCryptoUnwrapper } from './jweDecrypt.js';
import { KEY_KINDS, type JweProfileName, type KeyKind } from '../jwe/keyKinds.js';
import { keyRequestDataJson, parseKeyResponseEnvelope, type Mechanism } from './messages.js';

export interface DeviceKeys<K = CryptoKey> {
  readonly kwrap: K;
  readonly kenc: CryptoKey;
  readonly khmac: CryptoKey;
  readonly wrapdata: Uint8Array;
  /** The kid MSL's responder puts on the Kwrap JWK (absent in rfc7516). */
  readonly kid?: string;
  readonly kcv: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
}

const subtle = () => globalThis.crypto.subtle;
const invalidJwk = (reason: string, message: string): LadderError => new LadderError(MslErrorCode.INVALID_JWK, reason, message);

const hex6 = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes).subarray(0, 3), (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();

/** KCV on Web Crypto: AES-CBC with a zero IV over one zero block is AES-ECB of that block. */
async function aesKcv(raw: Bytes): Promise<string> {
  const probe = await subtle().importKey('raw', raw, 'AES-CBC', false, ['encrypt']);
  return hex6(await subtle().encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, probe, new Uint8Array(16)));
}

async function hmacKcv(key: CryptoKey): Promise<string> {
  return hex6(await subtle().sign('HMAC', key, new Uint8Array(0)));
}

/** Imports a raw Kpw, Kdw or Kwrap as a non-extractable AES-KW key, and zeroes `raw`. */
export const importWrappingKey = (raw: Bytes): Promise<CryptoKey> => webCryptoUnwrapper.importWrappingKey(raw);

/** A KCV of a raw wrapping key, for devices that hold their Kpw as bytes. */
export const wrappingKeyKcv = (raw: Bytes): Promise<string> => aesKcv(raw);

interface ImportedKey<T> {
  readonly key: T;
  readonly kcv: string;
  readonly kid?: string;
}

/**
 * Checks a decrypted JWK against what its kind must be, imports it
 * non-extractable, zeroes it. Kwrap goes to the unwrapper (it wraps the next
 * rung's CEKs); Kenc and Khmac become Web Crypto keys.
 */
async function importJwk(plaintext: Bytes, kind: 'wrap', profile: JweProfileName, wrapKeys: KeyUnwrapper<unknown>): Promise<ImportedKey<unknown>>;
async function importJwk(plaintext: Bytes, kind: 'enc' | 'hmac', profile: JweProfileName, wrapKeys: undefined, sessionKeys: SessionKeyImport): Promise<ImportedKey<CryptoKey>>;
async function importJwk(plaintext: Bytes, kind: KeyKind, profile: JweProfileName, wrapKeys?: KeyUnwrapper<unknown>, sessionKeys: SessionKeyImport = 'non-extractable'): Promise<ImportedKey<unknown>> {
  const spec = KEY_KINDS[kind];
  let raw: Bytes | undefined;
  try {
    const text = fromUtf8(plaintext);
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text ?? '');
    } catch {
      throw invalidJwk('JWK_MALFORMED', 'The decrypted key is not a JSON Web Key.');
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalidJwk('JWK_MALFORMED', 'The decrypted key is not a JSON Web Key.');
    if (jwk['kty'] !== 'oct') throw invalidJwk('JWK_KTY', 'The JWK must be a symmetric ("oct") key.');
    if (jwk['alg'] !== spec.jwkAlg) throw invalidJwk('JWK_ALG', `The ${kind} JWK must have alg ${spec.jwkAlg}.`);
    const keyOps = jwk['key_ops'];
    const opsMatch = Array.isArray(keyOps) && keyOps.length === spec.keyOps.length && spec.keyOps.every((op) => keyOps.includes(op));
    if (profile === 'msl') {
      // MSL's requestor takes `use`, or `key_ops` instead of it.
      if (jwk['use'] !== undefined ? jwk['use'] !== spec.mslUse : !opsMatch) throw invalidJwk('JWK_USAGE', `The ${kind} JWK has the wrong use.`);
      if (jwk['extractable'] !== undefined && jwk['extractable'] !== false) throw invalidJwk('JWK_EXTRACTABLE', 'The JWK must be marked non-extractable.');
    } else {
      if (!opsMatch) throw invalidJwk('JWK_USAGE', `The ${kind} JWK has the wrong key_ops.`);
      if (jwk['ext'] !== false) throw invalidJwk('JWK_EXTRACTABLE', 'The JWK must carry "ext": false.');
    }
    raw = typeof jwk['k'] === 'string' ? decodeBase64Url(jwk['k']) : undefined;
    if (raw === undefined) throw invalidJwk('JWK_K', 'The JWK has no base64url "k".');
    if (raw.length !== spec.length) throw invalidJwk('JWK_LENGTH', `The ${kind} key must be ${spec.length} bytes.`);
    let key: unknown;
    let kcv: string;
    if (kind === 'wrap' && wrapKeys !== undefined) {
      kcv = await aesKcv(raw);
      key = await wrapKeys.importWrappingKey(raw);
    } else {
      const imported = await subtle().importKey('raw', raw, spec.webCrypto, sessionKeys === 'extractable', [...spec.keyOps]);
      kcv = spec.kcv === 'hmac' ? await hmacKcv(imported) : await aesKcv(raw);
      key = imported;
    }
    const kid = typeof jwk['kid'] === 'string' ? jwk['kid'] : undefined;
    return kid === undefined ? { key, kcv } : { key, kcv, kid };
  } finally {
    raw?.fill(0);
    plaintext.fill(0);
  }
}

/**
 * How Kenc and Khmac become Web Crypto keys. A device keeps them
 * non-extractable (the default, as MSL's JWKs say). KeyLadder's own MSL client
 * runs in main and must hand them to node:crypto's AES-CBC and HMAC for its
 * session context: it asks for extractable keys and exports them once
 * (KeyObject.from() of a non-extractable CryptoKey is deprecated from Node 24,
 * DEP0204, the line Electron embeds).
 */
export type SessionKeyImport = 'non-extractable' | 'extractable';

/**
 * Unwraps a key response (bare keyresponsedata or its envelope) with the key
 * the request was made under: Kpw for PSK, Kdw for MGK, the last Kwrap for WRAP.
 * `unwrapper` holds that key's kind (Web Crypto AES-KW unless given).
 */
export async function acceptKeyResponse<K = CryptoKey>(response: unknown, kprev: K, profile: JweProfileName = 'msl', unwrapper: KeyUnwrapper<K> = defaultUnwrapper<K>(), sessionKeys: SessionKeyImport = 'non-extractable'): Promise<DeviceKeys<K>> {
  const data = parseKeyResponseEnvelope(response);
  const kwrap = (await importJwk(await decryptJwe(data.wrapkey, kprev, profile, unwrapper), 'wrap', profile, unwrapper)) as ImportedKey<K>;
  const kenc = await importJwk(await decryptJwe(data.encryptionkey, kwrap.key, profile, unwrapper), 'enc', profile, undefined, sessionKeys);
  const khmac = await importJwk(await decryptJwe(data.hmackey, kwrap.key, profile, unwrapper), 'hmac', profile, undefined, sessionKeys);
  return {
    kwrap: kwrap.key,
    kenc: kenc.key,
    khmac: khmac.key,
    wrapdata: data.wrapdata,
    ...(kwrap.kid === undefined ? {} : { kid: kwrap.kid }),
    kcv: { kwrap: kwrap.kcv, kenc: kenc.kcv, khmac: khmac.kcv },
  };
}

/** The request JSON of `respond` and POST /v1/keyx. */
export interface ExchangeRequestJson {
  identity: string;
  keyrequestdata: { scheme: string; keydata: Record<string, string> };
}

/**
 * A simulated device that climbs the ladder: PSK (or MGK) first, then WRAP
 * with the wrapdata of its last rung. It keeps only CryptoKeys and wrapdata.
 */
export class LadderRequestor<K = CryptoKey> {
  private rung: DeviceKeys<K> | undefined;
  /** Wrapdata the device held before this run (resume), until the next rung replaces it. */
  private resumed: { readonly wrapdata: Uint8Array; readonly kwrap: K } | undefined;
  private pending: { mechanism: Mechanism; kprev: K } | undefined;

  constructor(
    readonly identity: string,
    private readonly longTermKey: K,
    private readonly longTermMechanism: 'PSK' | 'MGK' = 'PSK',
    readonly profile: JweProfileName = 'msl',
    private readonly unwrapper: KeyUnwrapper<K> = defaultUnwrapper<K>(),
    private readonly sessionKeys: SessionKeyImport = 'non-extractable',
  ) {}

  /** The keys of the last rung climbed, if any. */
  get current(): DeviceKeys<K> | undefined {
    return this.rung;
  }

  /** Forget the last rung, so the next request starts again from PSK or MGK. */
  fallBack(): void {
    this.rung = undefined;
    this.resumed = undefined;
  }

  /** Starts from wrapdata the device already holds, and the Kwrap it came with: the next request is a WRAP. */
  resume(wrapdata: Uint8Array, kwrap: K): void {
    this.rung = undefined;
    this.resumed = { wrapdata, kwrap };
  }

  nextRequest(): ExchangeRequestJson {
    const last = this.rung ?? this.resumed;
    const mechanism: Mechanism = last ? 'WRAP' : this.longTermMechanism;
    const kprev = last ? last.kwrap : this.longTermKey;
    this.pending = { mechanism, kprev };
    const keyrequestdata = keyRequestDataJson(last ? { mechanism, wrapdata: last.wrapdata } : { mechanism });
    return { identity: this.identity, keyrequestdata };
  }

  async accept(response: unknown): Promise<DeviceKeys<K>> {
    const pending = this.pending;
    if (!pending) throw new LadderError(MslErrorCode.KEYX_RESPONSE_REQUEST_MISMATCH, 'NO_PENDING_REQUEST', 'No request is waiting for this response.');
    this.pending = undefined;
    this.rung = await acceptKeyResponse(response, pending.kprev, this.profile, this.unwrapper, this.sessionKeys);
    this.resumed = undefined;
    return this.rung;
  }
}

export const wrapdataBase64 = (keys: DeviceKeys<unknown>): string => encodeBase64(keys.wrapdata);
