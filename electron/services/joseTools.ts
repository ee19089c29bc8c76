// The JOSE workbench the CLI (`keyladder jose ...`) and the app's JOSE screen
// share: inspect any JOSE object, decrypt or verify it with a key KeyLadder
// holds (or one the operator hands in), and encrypt to a keyring recipient.
//
// Keys from the store (own private keys, a device's Kpw, a group's Kdw) are
// opened for one call and exist as JWKs only inside it, in main. A decrypted
// JWK or JWKS comes back as metadata and a KCV or thumbprint
// (summarizePlaintext), never as bytes; other plaintexts come back as bytes
// for the CLI to write where the operator asked, and as a preview only when
// they hold no key members (the app shows nothing more).
//
// Decrypting is a key operation: each attempt is audited ('jose.decrypt',
// refused ones with their step), and when the audit cannot be written the
// plaintext is not answered. The table's warnings (RSA-OAEP's migration
// warning) go into the record.

import type { JWK } from 'jose';
import type { KeyStore } from '../../db/store.js';
import { deviceBinding, groupBinding } from '../../db/sealing.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { JoseRefusal, type JoseRefusalCode, type Skipped } from '../jose/errors.js';
import { describeJose, parseJose, type JoseView, type ParsedJose } from '../jose/inspect.js';
import { decryptJose, verifyJose } from '../jose/open.js';
import type { JoseKey } from '../jose/keys.js';
import { encryptToRecipient } from '../jose/produce.js';
import { summarizePlaintext, withholds, type PlaintextSummary } from '../jose/plaintextSummary.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkGroupName, checkIdentity } from './keyInput.js';
import { signerByThumbprint, type KeyringService } from './keyring.js';
import type { StoreSession } from './session.js';

/** Where the key to decrypt or verify with comes from. */
export type JoseKeySource =
  /** This KeyLadder's own keys, chosen by the object's kid (and, to verify, the keyring's signing keys). */
  | { readonly kind: 'own' }
  /** A device's Kpw: the wrapping key of its ladder answers (PSK). */
  | { readonly kind: 'device'; readonly identity: string }
  /** A model group's Kdw: the wrapping key of its devices' MGK answers. */
  | { readonly kind: 'group'; readonly name: string }
  /** A key file the door read (never from the renderer). */
  | { readonly kind: 'jwk'; readonly jwk: Readonly<Record<string, unknown>> }
  | { readonly kind: 'passphrase'; readonly passphrase: string };

/** Who holds the key a recipient or signature names by kid. */
export interface KidHolder {
  readonly index: number;
  readonly kid: string;
  /** 'own': this KeyLadder opens (or made) it; 'recipient': made for (or signed by) a keyring key. */
  readonly holder: 'own' | 'recipient' | 'none';
  readonly use?: 'enc' | 'sig';
  readonly label?: string | null;
}

export interface JoseInspection {
  readonly view: JoseView;
  /** By kid, when the store is unlocked (null when it is locked). */
  readonly holders: readonly KidHolder[] | null;
  /** What opens it when no kid says: MSL's JWE is opened with a device's Kpw, a group's Kdw or a Kwrap. */
  readonly hint?: string;
}

export interface OpenedPlaintext {
  readonly summary: PlaintextSummary;
  /** UTF-8 JSON with no key members anywhere, shortened: what the app may show. */
  readonly preview?: string;
}

export interface JoseDecryption extends OpenedPlaintext {
  readonly type: 'jwe' | 'msl-jwe';
  readonly index: number;
  readonly alg: string;
  readonly enc: string;
  readonly kid?: string;
  readonly source: JoseKeySource['kind'];
  readonly warnings: readonly string[];
  readonly skipped: readonly Skipped[];
  /** Absent for a JWK or JWKS (key material: its summary says what it is). The caller zeroes it. */
  readonly plaintext?: Uint8Array;
}

export interface JoseVerification extends OpenedPlaintext {
  readonly index: number;
  readonly alg: string;
  readonly kid?: string;
  /** Who signed it, found by the verifying key's thumbprint: this KeyLadder, a keyring signer (its kid), or the key file's holder. */
  readonly signer: { readonly kind: 'own' | 'recipient' | 'key-file'; readonly kid?: string; readonly thumbprint?: string };
  readonly warnings: readonly string[];
  readonly skipped: readonly Skipped[];
  readonly payload?: Uint8Array;
}

/** Bounds on what the doors hand in: JOSE objects and plaintexts of at most 1 MiB. */
export const MAX_JOSE_TEXT = 1024 * 1024;

const STEP: Record<JoseRefusalCode, { code: ServiceErrorCode; reason: string }> = {
  PARSE: { code: ServiceErrorCode.JOSE_PARSE, reason: 'parse' },
  UNSUPPORTED_ALG: { code: ServiceErrorCode.JOSE_UNSUPPORTED_ALG, reason: 'unsupported-alg' },
  NO_KEY_FOR_KID: { code: ServiceErrorCode.NO_KEY_FOR_KID, reason: 'no-key-for-kid' },
  KEY_SIZE: { code: ServiceErrorCode.INVALID_KEY, reason: 'key-size' },
  INTEGRITY: { code: ServiceErrorCode.JOSE_INTEGRITY, reason: 'integrity' },
  BAD_KEY: { code: ServiceErrorCode.RECIPIENT_KEY_INVALID, reason: 'bad-key' },
  TOO_DEEP: { code: ServiceErrorCode.JSON_TOO_DEEP, reason: 'json-too-deep' },
  PBES2_BUDGET: { code: ServiceErrorCode.PBES2_BUDGET_EXCEEDED, reason: 'pbes2-budget' },
};

/** A JoseRefusal as a service error: the code and reason name the step; details list what was skipped and why. */
export function joseError(refusal: JoseRefusal): ServiceError {
  const step = STEP[refusal.code];
  return new ServiceError(step.code, refusal.message, { skipped: refusal.skipped }, step.reason);
}

async function refusalsAsErrors<T>(step: () => Promise<T> | T): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw error instanceof JoseRefusal ? joseError(error) : error;
  }
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_JOSE_TEXT) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `The ${what} is 1 byte to 1 MiB of text.`);
  return text;
}

const MAX_PREVIEW = 4000;

/** JSON that holds no key (keyMembers.ts judged it for the summary) may be previewed; nothing else is. */
function preview(bytes: Uint8Array, summary: PlaintextSummary): { preview?: string } {
  if (summary.kind !== 'json' || withholds(summary)) return {};
  const text = fromUtf8(bytes)!;
  return { preview: text.length > MAX_PREVIEW ? `${text.slice(0, MAX_PREVIEW)}…` : text };
}

/** What may be said of opened bytes, and the bytes themselves unless they are a key (then they are zeroed here). */
async function opened(bytes: Uint8Array): Promise<OpenedPlaintext & { bytes?: Uint8Array }> {
  const summary = await summarizePlaintext(bytes);
  if (summary.kind === 'jwk' || summary.kind === 'jwks') {
    bytes.fill(0);
    return { summary };
  }
  return { summary, ...preview(bytes, summary), bytes };
}

/** A raw wrapping key as the oct JWK jose's side takes; the raw buffer is zeroed (the JWK's string cannot be). */
function octJwk(raw: Buffer): JWK {
  try {
    return { kty: 'oct', k: raw.toString('base64url') };
  } finally {
    raw.fill(0);
  }
}

function checkJwk(jwk: unknown): JWK {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof (jwk as { kty?: unknown }).kty !== 'string') {
    throw new ServiceError(ServiceErrorCode.INVALID_KEY, 'The key file holds no JWK (a JSON object with "kty").');
  }
  return jwk as JWK;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The JOSE object in `text`, or in its standard base64: MSL carries its JWEs
 * base64-encoded (a ladder answer's wrapkey, encryptionkey, hmackey), so an
 * operator pastes them as they come.
 */
function parseInput(text: string, what: string): ParsedJose {
  const checked = checkText(text, what).trim();
  try {
    return parseJose(checked);
  } catch (error) {
    const decoded = BASE64.test(checked) ? fromUtf8(Buffer.from(checked, 'base64')) : undefined;
    if (decoded === undefined || !decoded.trimStart().startsWith('{')) throw error;
    return parseJose(decoded);
  }
}

const kidsOf = (parsed: ParsedJose): { index: number; kid: string }[] => {
  const headers = parsed.type === 'jwe' ? parsed.recipients.map((r) => r.joseHeader) : parsed.type === 'jws' ? parsed.signatures.map((s) => s.joseHeader) : [];
  return headers.flatMap((h, index) => (typeof h['kid'] === 'string' ? [{ index, kid: h['kid'] }] : []));
};

export class JoseToolsService {
  constructor(private readonly session: StoreSession, private readonly keyring: KeyringService, private readonly now: () => Date) {}

  /** Every part decoded, each algorithm with the table's verdict, and (store unlocked) who holds the keys its kids name. */
  async inspect(text: string): Promise<JoseInspection> {
    const parsed = await refusalsAsErrors(() => parseInput(text, 'JOSE object'));
    const view = describeJose(parsed);
    const hint = parsed.type === 'msl-jwe' ? "MSL's JWE names no kid: a ladder answer's wrapkey opens with the device's Kpw (PSK) or its group's Kdw (MGK); its encryptionkey and hmackey with the Kwrap inside wrapkey." : undefined;
    return { view, holders: this.session.unlocked ? this.holders(parsed) : null, ...(hint === undefined ? {} : { hint }) };
  }

  private holders(parsed: ParsedJose): KidHolder[] {
    const store = this.session.store();
    const wanted = parsed.type === 'jws' ? 'sig' : 'enc';
    return kidsOf(parsed).map(({ index, kid }) => {
      const own = store.keyring.ownKey(kid);
      if (own && own.use === wanted) return { index, kid, holder: 'own', use: own.use };
      const recipient = store.keyring.recipient(kid);
      if (recipient && recipient.use === wanted) return { index, kid, holder: 'recipient', use: recipient.use, label: recipient.label };
      return { index, kid, holder: 'none' };
    });
  }

  /** Decrypts a JWE (any serialization, or MSL's) with the key the source names; audited, refused attempts too. */
  async decrypt(text: string, source: JoseKeySource): Promise<JoseDecryption> {
    const parsed = await refusalsAsErrors(() => parseInput(text, 'JWE'));
    const store = this.session.store();
    const { keys, subject, zero } = await this.keysFor(store, source, parsed);
    let decrypted;
    try {
      decrypted = await decryptJose(parsed, keys);
    } catch (error) {
      if (error instanceof JoseRefusal) {
        this.audit(store, 'refused', subject, { source: source.kind, step: STEP[error.code].reason });
        throw joseError(error);
      }
      throw error;
    } finally {
      zero();
    }
    const { plaintext, protectedHeader: _header, ...rest } = decrypted;
    try {
      this.audit(store, 'ok', subject, { source: source.kind, alg: rest.alg, enc: rest.enc, kid: rest.kid ?? null, warning: rest.warnings.join(' ') || null });
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
    const { bytes, ...shown } = await opened(plaintext);
    return { ...rest, source: source.kind, ...shown, ...(bytes === undefined ? {} : { plaintext: bytes }) };
  }

  /** Verifies a JWS with this KeyLadder's and the keyring's signing keys (by kid), or a key file's. */
  async verify(text: string, source: Extract<JoseKeySource, { kind: 'own' | 'jwk' }>): Promise<JoseVerification> {
    const parsed = await refusalsAsErrors(() => parseInput(text, 'JWS'));
    const keys: JoseKey[] = source.kind === 'jwk' ? [{ kind: 'jwk', jwk: checkJwk(source.jwk) }] : await this.signingKeys();
    const verified = await refusalsAsErrors(() => verifyJose(parsed, keys));
    const { payload, protectedHeader: _header, ...rest } = verified;
    const signer = await this.signerOf(source.kind, rest.thumbprint);
    const { bytes, ...shown } = await opened(payload);
    return { ...rest, signer, ...shown, ...(bytes === undefined ? {} : { payload: bytes }) };
  }

  /**
   * Who signed, from the key that verified (its RFC 7638 thumbprint), never from the header's kid:
   * a keyring key given this KeyLadder's kid once made a stranger's JWS read as this KeyLadder's.
   */
  private async signerOf(source: 'own' | 'jwk', thumbprint: string | undefined): Promise<JoseVerification['signer']> {
    const print = thumbprint === undefined ? {} : { thumbprint };
    if (source === 'jwk') return { kind: 'key-file', ...print };
    const who = await signerByThumbprint(this.session.store(), thumbprint);
    if (who === undefined) throw new ServiceError(ServiceErrorCode.SIGNER_UNKNOWN, 'The key that verified is neither this KeyLadder\'s nor one the keyring pins.');
    return who.kind === 'own' ? { kind: 'own', ...print } : { kind: 'recipient', kid: who.row.kid, ...print };
  }

  /** A compact JWE of `plaintext` to the keyring's encryption recipient `kid` (RSA-OAEP-256 or ECDH-ES+A256KW, A256GCM). Audited. */
  async encrypt(plaintext: Uint8Array | string, recipientKid: string): Promise<string> {
    const bytes = typeof plaintext === 'string' ? utf8(checkText(plaintext, 'plaintext')) : plaintext;
    if (bytes.length === 0 || bytes.length > MAX_JOSE_TEXT) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The plaintext is 1 byte to 1 MiB.');
    const recipient = this.keyring.recipientKey(recipientKid, 'enc');
    const jwe = await refusalsAsErrors(() => encryptToRecipient(bytes, recipient, recipientKid));
    const store = this.session.store();
    store.transaction(() => store.audit.append({ at: this.now().toISOString(), action: 'jose.encrypt', outcome: 'ok', subject: recipientKid, details: { length: bytes.length } }));
    return jwe;
  }

  private audit(store: KeyStore, outcome: 'ok' | 'refused', subject: string | null, details: Record<string, string | null>): void {
    store.transaction(() => store.audit.append({ at: this.now().toISOString(), action: 'jose.decrypt', outcome, subject, details }));
  }

  /** The keys a source names, the audit record's subject, and how to forget them. */
  private async keysFor(store: KeyStore, source: JoseKeySource, parsed: ParsedJose): Promise<{ keys: JoseKey[]; subject: string | null; zero: () => void }> {
    const none = () => {};
    switch (source.kind) {
      case 'own': {
        const kids = kidsOf(parsed).map((k) => k.kid);
        const keys: JoseKey[] = [];
        for (const kid of new Set(kids)) {
          const own = await this.keyring.ownPrivateKey('enc', kid);
          if (own) keys.push({ kind: 'jwk', jwk: { ...(own.key.export({ format: 'jwk' }) as JWK), kid: own.kid }, kid: own.kid });
        }
        return { keys, subject: kids[0] ?? null, zero: none };
      }
      case 'device': {
        const identity = checkIdentity(source.identity);
        const row = store.devices.keys(identity);
        if (!row) throw new ServiceError(ServiceErrorCode.DEVICE_NOT_FOUND, `No device "${identity}" is provisioned.`);
        return { keys: [{ kind: 'jwk', jwk: octJwk(store.sealer.unseal(deviceBinding(identity, 'kpw'), row.kpw)) }], subject: identity, zero: none };
      }
      case 'group': {
        const name = checkGroupName(source.name);
        const sealed = store.groups.sealedKeys(name);
        if (!sealed) throw new ServiceError(ServiceErrorCode.GROUP_NOT_FOUND, `No model group "${name}".`);
        return { keys: [{ kind: 'jwk', jwk: octJwk(store.sealer.unseal(groupBinding(name, 'kdw'), sealed.kdw)) }], subject: name, zero: none };
      }
      case 'jwk':
        return { keys: [{ kind: 'jwk', jwk: checkJwk(source.jwk) }], subject: null, zero: none };
      case 'passphrase': {
        if (typeof source.passphrase !== 'string' || source.passphrase === '') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The passphrase is empty.');
        const passphrase = utf8(source.passphrase);
        return { keys: [{ kind: 'passphrase', passphrase }], subject: null, zero: () => passphrase.fill(0) };
      }
    }
  }

  /** Public halves of this KeyLadder's signing keys and the keyring's signers, by kid. */
  private async signingKeys(): Promise<JoseKey[]> {
    const own = (await this.keyring.ownPublicJwks()).keys.filter((k) => k.use === 'sig');
    const pinned = this.session.store().keyring.recipients().filter((r) => r.use === 'sig').map((r) => ({ ...(JSON.parse(r.public_jwk) as JWK), kid: r.kid }));
    return [...own, ...pinned].map((jwk) => ({ kind: 'jwk', jwk, ...(jwk.kid === undefined ? {} : { kid: jwk.kid }) }));
  }
}
