// Every JOSE algorithm KeyLadder knows, in one table, as jose keeps its own
// (jose/dist/webapi/lib/jwe_algorithms.js, jws_algorithms.js): what each
// name is, which key it takes, whether KeyLadder makes it, whether it accepts
// it on decrypt or verify, and why not. Inspecting, decrypting, verifying and
// encrypting read these entries; nothing else branches on an algorithm's name.
//
// `aesKeyWrap` marks the key management that wraps the CEK with RFC 3394 AES
// key wrap. jose does that through Web Crypto's AES-KW, which Electron's main
// process lacks (electron/electron#41720), so those entries are opened and
// made by KeyLadder's own key management (keyManagement.ts, over
// electron/jwe/aesKeyWrap.ts), on every runtime; everything else goes
// through jose.

import { visible } from '../shared/visibleText.js';

export type AlgorithmKind = 'key-management' | 'content-encryption' | 'signature';

/** What a key for the algorithm is: a JWK's kty, or a passphrase (PBES2). */
export type KeyType = 'RSA' | 'EC' | 'OKP' | 'oct' | 'passphrase';

/** How the key-encryption key of an AES-key-wrap entry is had. */
export type KekSource =
  | { readonly from: 'key' }
  | { readonly from: 'ecdh-es' }
  | { readonly from: 'pbes2'; readonly hash: 'sha256' | 'sha512' };

export interface AesKeyWrapSpec {
  /** The KEK's length: 16, 24 or 32 bytes. */
  readonly kekBytes: 16 | 24 | 32;
  readonly kek: KekSource;
}

export type ContentCipher = { readonly mode: 'gcm' } | { readonly mode: 'cbc-hmac'; readonly hash: 'sha256' | 'sha512' };

interface Common {
  readonly name: string;
  readonly kind: AlgorithmKind;
  /** KeyLadder makes it (encrypts or signs with it). */
  readonly produced: boolean;
  /** KeyLadder opens or verifies it. */
  readonly accepted: boolean;
  /** Said (and, by callers, audited) whenever an accepted entry is used. */
  readonly warning?: string;
  /** Why it is refused; present exactly when `accepted` is false. */
  readonly refusal?: string;
  readonly notes: string;
}

export interface KeyManagementEntry extends Common {
  readonly kind: 'key-management';
  readonly keyType?: KeyType;
  /** Curves an EC key may be on. */
  readonly curves?: readonly string[];
  /** An oct key's length in bytes (A*KW, A*GCMKW); `dir` takes the content cipher's CEK length. */
  readonly keyBytes?: number;
  readonly direct?: boolean;
  readonly aesKeyWrap?: AesKeyWrapSpec;
}

export interface ContentEncryptionEntry extends Common {
  readonly kind: 'content-encryption';
  readonly cekBytes?: number;
  readonly ivBytes?: number;
  readonly tagBytes?: number;
  readonly cipher?: ContentCipher;
}

export interface SignatureEntry extends Common {
  readonly kind: 'signature';
  readonly keyType?: KeyType;
  readonly curves?: readonly string[];
}

export type AlgorithmEntry = KeyManagementEntry | ContentEncryptionEntry | SignatureEntry;

const NOT_IN_USE = "KeyLadder's peers and factories use none of it, so it is left out rather than carried untested";

function refused<K extends AlgorithmKind>(kind: K, name: string, refusal: string) {
  return { name, kind, produced: false, accepted: false, refusal, notes: refusal } as const;
}

const kw = (name: string, kekBytes: 16 | 24 | 32, kek: KekSource, rest: Partial<KeyManagementEntry>): KeyManagementEntry => ({
  name,
  kind: 'key-management',
  produced: false,
  accepted: true,
  aesKeyWrap: { kekBytes, kek },
  notes: 'RFC 3394 key wrap of the CEK, by KeyLadder (Web Crypto AES-KW is missing on Electron).',
  ...rest,
});

const KEY_MANAGEMENT: readonly KeyManagementEntry[] = [
  {
    name: 'RSA-OAEP-256',
    kind: 'key-management',
    keyType: 'RSA',
    produced: true,
    accepted: true,
    notes: 'RSAES-OAEP with SHA-256: what KeyLadder encrypts to RSA recipients.',
  },
  {
    name: 'RSA-OAEP',
    kind: 'key-management',
    keyType: 'RSA',
    produced: false,
    accepted: true,
    warning: 'RSA-OAEP (SHA-1) is accepted for migration only; KeyLadder never produces it. Ask the sender for RSA-OAEP-256.',
    notes: 'RSAES-OAEP with SHA-1 and MGF1-SHA-1: decrypt only, with a warning.',
  },
  refused('key-management', 'RSA1_5', "PKCS#1 v1.5 padding invites Bleichenbacher's oracle, and jose 6 removed it"),
  refused('key-management', 'RSA-OAEP-384', NOT_IN_USE),
  refused('key-management', 'RSA-OAEP-512', NOT_IN_USE),
  kw('A128KW', 16, { from: 'key' }, { keyType: 'oct', keyBytes: 16 }),
  kw('A192KW', 24, { from: 'key' }, { keyType: 'oct', keyBytes: 24 }),
  kw('A256KW', 32, { from: 'key' }, { keyType: 'oct', keyBytes: 32 }),
  { name: 'A128GCMKW', kind: 'key-management', keyType: 'oct', keyBytes: 16, produced: false, accepted: true, notes: 'AES-GCM key wrap (iv and tag in the header).' },
  refused('key-management', 'A192GCMKW', NOT_IN_USE),
  { name: 'A256GCMKW', kind: 'key-management', keyType: 'oct', keyBytes: 32, produced: false, accepted: true, notes: 'AES-GCM key wrap (iv and tag in the header).' },
  { name: 'dir', kind: 'key-management', keyType: 'oct', direct: true, produced: false, accepted: true, notes: 'The shared key is the CEK; its length is the content cipher\'s.' },
  { name: 'ECDH-ES', kind: 'key-management', keyType: 'EC', curves: ['P-256', 'P-384'], produced: false, accepted: true, notes: 'Ephemeral-static ECDH, Concat KDF to the CEK itself.' },
  kw('ECDH-ES+A128KW', 16, { from: 'ecdh-es' }, { keyType: 'EC', curves: ['P-256', 'P-384'] }),
  refused('key-management', 'ECDH-ES+A192KW', NOT_IN_USE),
  kw('ECDH-ES+A256KW', 32, { from: 'ecdh-es' }, { keyType: 'EC', curves: ['P-256', 'P-384'], produced: true, notes: 'Ephemeral-static ECDH, Concat KDF to a KEK, RFC 3394 wrap by KeyLadder: what KeyLadder encrypts to EC recipients.' }),
  kw('PBES2-HS256+A128KW', 16, { from: 'pbes2', hash: 'sha256' }, { keyType: 'passphrase' }),
  refused('key-management', 'PBES2-HS384+A192KW', NOT_IN_USE),
  kw('PBES2-HS512+A256KW', 32, { from: 'pbes2', hash: 'sha512' }, { keyType: 'passphrase', notes: "PBKDF2-HMAC-SHA512 to a KEK, RFC 3394 wrap by KeyLadder: passphrase exports (electron/jwe/pbes2.ts makes them)." }),
];

const CONTENT_ENCRYPTION: readonly ContentEncryptionEntry[] = [
  { name: 'A128GCM', kind: 'content-encryption', cekBytes: 16, ivBytes: 12, tagBytes: 16, cipher: { mode: 'gcm' }, produced: false, accepted: true, notes: 'AES-128-GCM.' },
  refused('content-encryption', 'A192GCM', NOT_IN_USE),
  { name: 'A256GCM', kind: 'content-encryption', cekBytes: 32, ivBytes: 12, tagBytes: 16, cipher: { mode: 'gcm' }, produced: true, accepted: true, notes: 'AES-256-GCM: what KeyLadder encrypts with.' },
  { name: 'A128CBC-HS256', kind: 'content-encryption', cekBytes: 32, ivBytes: 16, tagBytes: 16, cipher: { mode: 'cbc-hmac', hash: 'sha256' }, produced: false, accepted: true, notes: 'AES-128-CBC with HMAC-SHA-256 (RFC 7518 5.2).' },
  refused('content-encryption', 'A192CBC-HS384', NOT_IN_USE),
  { name: 'A256CBC-HS512', kind: 'content-encryption', cekBytes: 64, ivBytes: 16, tagBytes: 32, cipher: { mode: 'cbc-hmac', hash: 'sha512' }, produced: false, accepted: true, notes: 'AES-256-CBC with HMAC-SHA-512 (RFC 7518 5.2).' },
];

const SIGNATURE: readonly SignatureEntry[] = [
  { name: 'ES256', kind: 'signature', keyType: 'EC', curves: ['P-256'], produced: true, accepted: true, notes: 'ECDSA P-256 SHA-256: what KeyLadder signs with.' },
  { name: 'ES384', kind: 'signature', keyType: 'EC', curves: ['P-384'], produced: false, accepted: true, notes: 'ECDSA P-384 SHA-384.' },
  refused('signature', 'ES512', 'P-521 is outside the curves KeyLadder accepts (P-256, P-384)'),
  { name: 'EdDSA', kind: 'signature', keyType: 'OKP', curves: ['Ed25519'], produced: false, accepted: true, notes: 'Ed25519.' },
  { name: 'RS256', kind: 'signature', keyType: 'RSA', produced: false, accepted: true, notes: 'RSASSA-PKCS1-v1_5 SHA-256 (signatures are not open to Bleichenbacher\'s attack on encryption).' },
  refused('signature', 'RS384', NOT_IN_USE),
  refused('signature', 'RS512', NOT_IN_USE),
  { name: 'PS256', kind: 'signature', keyType: 'RSA', produced: false, accepted: true, notes: 'RSASSA-PSS SHA-256.' },
  refused('signature', 'PS384', NOT_IN_USE),
  refused('signature', 'PS512', NOT_IN_USE),
  { name: 'HS256', kind: 'signature', keyType: 'oct', produced: false, accepted: true, notes: 'HMAC SHA-256: integrity between holders of one secret, not who made it.' },
  refused('signature', 'HS384', NOT_IN_USE),
  refused('signature', 'HS512', NOT_IN_USE),
  refused('signature', 'none', 'an unsecured JWS has no signature: anyone could have written it'),
];

/** The whole table, in one list (for listings and the README). */
export const ALGORITHMS: readonly AlgorithmEntry[] = [...KEY_MANAGEMENT, ...CONTENT_ENCRYPTION, ...SIGNATURE];

type EntryOf<K extends AlgorithmKind> = Extract<AlgorithmEntry, { kind: K }>;

const byKind = <K extends AlgorithmKind>(entries: readonly EntryOf<K>[]): ReadonlyMap<string, EntryOf<K>> => new Map(entries.map((e) => [e.name, e]));
const TABLES: { readonly [K in AlgorithmKind]: ReadonlyMap<string, EntryOf<K>> } = {
  'key-management': byKind(KEY_MANAGEMENT),
  'content-encryption': byKind(CONTENT_ENCRYPTION),
  signature: byKind(SIGNATURE),
};

/** The entry for `name` as an algorithm of `kind`, or undefined when KeyLadder has never heard of it. */
export function algorithmEntry<K extends AlgorithmKind>(kind: K, name: unknown): EntryOf<K> | undefined {
  return typeof name === 'string' ? TABLES[kind].get(name) : undefined;
}

/** What the inspector says of an algorithm: its name, whether KeyLadder takes it, and why not. */
export interface AlgorithmVerdict {
  readonly name: string;
  readonly kind: AlgorithmKind;
  readonly supported: boolean;
  readonly produced: boolean;
  readonly warning?: string;
  readonly reason?: string;
}

export function algorithmVerdict(kind: AlgorithmKind, name: unknown): AlgorithmVerdict {
  const entry = algorithmEntry(kind, name);
  const shown = typeof name === 'string' ? name : String(JSON.stringify(name));
  if (entry === undefined) return { name: shown, kind, supported: false, produced: false, reason: `"${visible(shown, 80)}" is not an algorithm KeyLadder knows` };
  return {
    name: entry.name,
    kind,
    supported: entry.accepted,
    produced: entry.produced,
    ...(entry.warning === undefined ? {} : { warning: entry.warning }),
    ...(entry.refusal === undefined ? {} : { reason: entry.refusal }),
  };
}

/** The accepted names of a kind: the allow-lists jose is given. */
export const acceptedNames = (kind: AlgorithmKind): string[] => [...TABLES[kind].values()].filter((e) => e.accepted).map((e) => e.name);

/** The entry KeyLadder produces for a kind and a key type (RSA-OAEP-256 for RSA, ECDH-ES+A256KW for EC, ES256 for EC signing). */
export function producedEntry<K extends AlgorithmKind>(kind: K, keyType?: KeyType): EntryOf<K> | undefined {
  return [...TABLES[kind].values()].find((e) => e.produced && (keyType === undefined || ('keyType' in e && e.keyType === keyType)));
}
