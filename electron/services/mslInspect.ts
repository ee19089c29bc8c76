// `keyladder msl inspect`: a captured MSL message decoded with the keys the
// store holds, for an operator who wants to know what a device sent or what
// the responder answered (issue 20 item 5).
//
// It reads: who speaks (entity auth data and scheme, or the master token's
// numbers), which key verified the header (named by KCV or RFC 7638
// thumbprint, never shown), whether the signature is valid, the header data
// (message id, time, flags, capabilities, key requests, the key response and
// the master token it carries), an error header's codes, and the payload
// chunks' count and sizes. It never returns a key or payload bytes.
//
// Keys, by sender:
// - PSK/MGK entity auth: the device's Kpe/Kph, or its model group's Kde/Kdh
//   (mslEntities.ts, the responder's own lookup);
// - RSA entity auth (the server's answer to a first contact or an error
//   header): the server identity's public key with that key id;
// - a master token (a later request, or the answer to one): the token opened
//   with the store's master-token keys gives the session keys the header is
//   under; a token the store cannot open is reported as such.
//
// Order as everywhere in electron/msl: signature verified before anything is
// decrypted; a header whose signature fails is not decrypted. Nothing is
// written to the store.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { MAX_MSL_FILE, MAX_MSL_TEXT } from '../shared/mslCaptureLimits.js';
import { encodeBase64Url } from '../encoding/base64.js';
import { kcv } from '../jwe/kcv.js';
import type { MslCryptoContext } from '../msl/cryptoContext.js';
import type { EntityAuthData } from '../msl/entityAuth.js';
import { openErrorHeader, type ErrorData } from '../msl/errorHeader.js';
import { MslError } from '../msl/errors.js';
import { openHeader, type ParsedMessageHeader } from '../msl/header.js';
import type { HeaderData } from '../msl/headerData.js';
import { parseKeyResponse } from '../msl/keyExchange.js';
import { isExpired, isRenewable, openMasterToken, sessionContext, type ReadMasterToken } from '../msl/masterToken.js';
import { DEFAULT_PAYLOAD_LIMITS, parseMessage, type ParsedMessage } from '../msl/message.js';
import { openPayloadChunk, PayloadSequence } from '../msl/payloadChunk.js';
import { RsaCryptoContext } from '../msl/rsaContext.js';
import { SymmetricCryptoContext } from '../msl/symmetricContext.js';
import { Fields, type JsonObject } from '../msl/fields.js';
import { decodeBase64 } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { withheldPayload, type Withheld } from '../jose/keyMembers.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkTokenIdentity, entityContext, identityEpoch, tokenEpoch } from './mslEntities.js';
import type { MslKeyService } from './mslKeys.js';
import type { StoreSession } from './session.js';

/** What the inspector needs of the store's MSL server state (the MSL key service provides it). */
export interface MslInspectKeys {
  /** The server identities' RSA public keys, by key id (a rotated identity's old key too). */
  serverPublicKeys(): readonly { readonly name: string; readonly keyId: string; readonly publicKey: KeyObject }[];
  /** The server identity's name: the key id of the master-token key envelopes. */
  serverName(): string;
  /** Master-token key generations, newest first: copies the inspector zeroes. */
  tokenKeys(): { readonly generation: number; readonly encryptionKey: Buffer; readonly hmacKey: Buffer }[];
}

/** The store's MSL server state, from the MSL key service: every identity key not destroyed (a rotated one's too), the token key generations. */
export function storeInspectKeys(keys: MslKeyService): MslInspectKeys {
  return {
    serverPublicKeys: () =>
      keys.identities().filter((i) => i.status !== 'destroyed').map((i) => ({ name: i.name, keyId: i.keyId, publicKey: createPublicKey({ key: Buffer.from(i.spki, 'base64'), format: 'der', type: 'spki' }) })),
    serverName: () => keys.identity().name,
    tokenKeys: () => keys.tokenKeys(),
  };
}

export interface MslTokenView {
  readonly serialNumber: number;
  readonly sequenceNumber: number;
  readonly renewalWindow: string;
  readonly expiration: string;
  /** Against the inspector's clock: renewable once the window has opened, expired past the expiration. */
  readonly state: 'current' | 'renewable' | 'expired';
  /** Opened with the store's token keys: the identity inside and its session keys' KCVs. */
  readonly opened?: { readonly identity: string; readonly tokenKeyGeneration: number; readonly sessionKcvs: { readonly encryption: string; readonly hmac: string } };
  /** Why it was not opened (an MSL error code). */
  readonly notOpened?: string;
  /**
   * Whether this store issued it: opened with one of its token-key generations
   * AND its serial is in the store's token bookkeeping for that identity.
   * 'keys-only': it opens with the store's token keys but the store has no
   * record of the serial (a token of the MSL server whose keys were imported,
   * or one whose serial was forgotten after its retention).
   * 'identity-mismatch': the serial is recorded for another identity.
   * 'deleted-device': issued here to a device since deleted (its epoch is not
   * its identity's now; mslEntities.ts), whatever device holds the identity now.
   */
  readonly issued?: { readonly byThisStore: 'yes' | 'keys-only' | 'identity-mismatch' | 'deleted-device'; readonly newestSequence?: number };
  /**
   * Why the responder would refuse a message under this token now, though it
   * opens (mslEntities.ts checkTokenIdentity): its identity revoked or gone
   * from this store, or its device deleted (MASTERTOKEN_IDENTITY_REVOKED, with the detail).
   */
  readonly refusedNow?: string;
}

export interface MslHeaderView {
  readonly messageId: number;
  readonly timestamp?: string;
  readonly renewable: boolean;
  readonly handshake: boolean;
  readonly nonReplayableId?: number;
  readonly capabilities?: { readonly compression: readonly string[]; readonly languages: readonly string[]; readonly encoderFormats: readonly string[] };
  readonly sender?: string;
  /** Key request entries: scheme and, for JWE_LADDER, the mechanism (a WRAP request's wrapdata is key material: only its size). */
  readonly keyRequests: readonly { readonly scheme: string; readonly mechanism?: string; readonly wrapdataBytes?: number }[];
  readonly keyResponse?: { readonly scheme: string; readonly members: readonly string[]; readonly masterToken: MslTokenView };
  readonly serviceTokens: number;
}

export interface MslErrorView {
  readonly messageId: number;
  readonly responseCode: number;
  readonly internalCode?: number;
  readonly errorMsg?: string;
  readonly userMsg?: string;
  readonly timestamp?: string;
}

/** What the operator asked to see. */
export interface MslInspectOptions {
  /**
   * The application data, as text, when it is UTF-8, at most
   * MAX_SHOWN_PAYLOAD bytes and holds no key material (the JOSE inspector's
   * rule, jose/keyMembers.ts). Otherwise only its length and why it is withheld.
   */
  readonly showPayload?: boolean;
}

/** The most application data shown as text; more is withheld ('too-large'). */
export const MAX_SHOWN_PAYLOAD = 64 * 1024;

/** Why the inspector says the signature was not checked with a key: the store holds none for this sender. */
export type MslSignatureVerdict = 'valid' | 'invalid' | 'no key' | 'not checked';

export interface MslPayloadView {
  /** The application data's size, every chunk inflated and joined. */
  readonly bytes: number;
  /** The data, when it may be shown. */
  readonly text?: string;
  /** Why it is not shown; `members`: its top-level member names when it is JSON. */
  readonly withheld?: { readonly reason: Withheld['reason'] | 'binary' | 'too-large'; readonly members: readonly string[] };
}

export interface MslInspection {
  readonly bytes: number;
  /** The message's structure was refused: the MSL error code and detail. Nothing else is filled in. */
  readonly unreadable?: { readonly code: string; readonly detail?: string };
  readonly kind?: 'message' | 'error';
  readonly sender?:
    | { readonly kind: 'entity'; readonly scheme: string; readonly identity: string; readonly pubkeyid?: string }
    | { readonly kind: 'master-token'; readonly token: MslTokenView };
  /** The key the header was checked with: a description with its KCVs or thumbprint, never the key. */
  readonly key?: string;
  /** 'no key': the store holds no key for this sender (unknown entity, no server key with that id, a master token its token keys do not open). */
  readonly signature: MslSignatureVerdict;
  /** Why the signature was not checked or the header not opened (an MSL error code and detail). */
  readonly problem?: string;
  /** `problem`'s MSL error name alone (the responder's name for it, msl/errors.ts). */
  readonly problemCode?: string;
  readonly header?: MslHeaderView;
  readonly error?: MslErrorView;
  /** Payload chunks as they travel (encrypted payload sizes): the application data is never shown. */
  readonly payload: { readonly chunks: number; readonly encryptedBytes: readonly number[] };
  /**
   * The chunks opened (verified, then decrypted and inflated) under the keys
   * the header names: the request's own, or the new master token's session
   * keys when the message carries a key response. Sizes only.
   */
  readonly chunks?: readonly MslChunkView[];
  /** Why the chunks were not opened (an MSL error code and detail). */
  readonly chunkProblem?: string;
  /** `chunkProblem`'s MSL error name alone. */
  readonly chunkProblemCode?: string;
  /** The application data, only when asked (MslInspectOptions.showPayload) and the chunks opened. */
  readonly payloadData?: MslPayloadView;
}

export interface MslChunkView {
  readonly sequenceNumber: number;
  readonly messageId: number;
  readonly endOfMessage: boolean;
  readonly compression?: string;
  /** The application data's size once inflated. */
  readonly dataBytes: number;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

const describe = (e: unknown): string =>
  e instanceof MslError ? `${e.code}${e.detail === undefined ? '' : ` (${e.detail})`}` : e instanceof ServiceError ? e.code : 'INTERNAL_EXCEPTION';
const codeOf = (e: unknown): string => (e instanceof MslError || e instanceof ServiceError ? e.code : 'INTERNAL_EXCEPTION');

/** MSL errors that mean the store holds no key for the sender (signature 'no key'), rather than a refusal of what it holds. */
const NO_KEY_CODES: ReadonlySet<string> = new Set(['ENTITY_NOT_FOUND', 'MASTERTOKEN_UNTRUSTED']);
type Problem = { problem: string; problemCode: string };
const problemOf = (e: unknown): Problem => ({ problem: describe(e), problemCode: codeOf(e) });
const unchecked = (p: Problem): { signature: MslSignatureVerdict } & Problem => ({ signature: NO_KEY_CODES.has(p.problemCode) ? 'no key' : 'not checked', ...p });

/** RFC 7638 thumbprint of an RSA public key (SHA-256, base64url). */
function rsaThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return encodeBase64Url(createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest());
}

function payloadSizes(message: ParsedMessage): { chunks: number; encryptedBytes: number[] } {
  const encryptedBytes = message.chunks.map((chunk) => {
    const payload = chunk['payload'];
    return typeof payload === 'string' ? (decodeBase64(payload)?.length ?? -1) : -1;
  });
  return { chunks: message.chunks.length, encryptedBytes };
}


const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * A capture as an operator has it: the HTTP body itself (MSL's JSON objects
 * one after another, so its first non-blank byte is '{'), or that body in
 * Base64 (standard or URL-safe, line breaks allowed), as a proxy or a log
 * shows it. Anything else is handed on as it is, and the reader says why it is
 * no MSL message (MSL_PARSE_ERROR, MESSAGE_FORMAT_ERROR...).
 */
export function captureBytes(capture: Uint8Array): Uint8Array {
  let i = 0;
  while (i < capture.length && isSpace(capture[i]!)) i++;
  if (i === capture.length || capture[i] === 0x7b /* { */) return capture;
  const text = Buffer.from(capture.buffer, capture.byteOffset, capture.length).toString('latin1').replace(/\s+/g, '');
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = standard.length % 4 === 0 ? standard : standard + '='.repeat(4 - (standard.length % 4));
  const decoded = decodeBase64(padded);
  return decoded !== undefined && decoded.length > 0 ? decoded : capture;
}


/**
 * A capture file's bytes, read by main (the app's dialog, the file never
 * crosses to the renderer): at most MAX_MSL_FILE, and one byte past it is
 * refused without reading the rest, whatever size the file claims.
 */
export async function readCaptureFile(file: string): Promise<Uint8Array> {
  const unreadable = () => new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Cannot read that file.');
  // A regular file only: a FIFO would hold main's open() until something writes to it, a directory fails on read.
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw unreadable();
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    throw unreadable();
  }
  try {
    const buffer = Buffer.alloc(MAX_MSL_FILE + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length).catch(() => {
        throw unreadable();
      });
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_MSL_FILE) throw new ServiceError(ServiceErrorCode.MSL_CAPTURE_TOO_LARGE, `That file is larger than ${MAX_MSL_FILE} bytes, the most an MSL message may be here.`);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } finally {
    await handle.close();
  }
}

export class MslInspectService {
  constructor(
    private readonly session: StoreSession,
    private readonly keys: MslInspectKeys,
    private readonly now: () => Date,
  ) {}

  /** A pasted capture (captureBytes: the body's text, or its Base64), decoded as inspect() does. */
  inspectText(text: string, options: MslInspectOptions = {}): MslInspection {
    if (text.length > MAX_MSL_TEXT) throw new ServiceError(ServiceErrorCode.MSL_CAPTURE_TOO_LARGE, `The pasted MSL message is longer than ${MAX_MSL_TEXT / 1024 / 1024} MiB: choose it as a file instead.`);
    return this.inspectCapture(new Uint8Array(Buffer.from(text, 'utf8')), options);
  }

  /** A capture's bytes as a file holds them (captureBytes: the body, or its Base64), decoded as inspect() does. */
  inspectCapture(capture: Uint8Array, options: MslInspectOptions = {}): MslInspection {
    return this.inspect(captureBytes(capture), options);
  }

  /** Decodes one captured message (a request or a response). Changes nothing in the store. */
  inspect(bytes: Uint8Array, options: MslInspectOptions = {}): MslInspection {
    let message: ParsedMessage;
    try {
      message = parseMessage(bytes);
    } catch (e) {
      if (!(e instanceof MslError)) throw e;
      return { bytes: bytes.length, unreadable: { code: e.code, ...(e.detail === undefined ? {} : { detail: e.detail }) }, signature: 'not checked', payload: { chunks: 0, encryptedBytes: [] } };
    }
    const base = { bytes: bytes.length, payload: payloadSizes(message) };
    const parsed = message.header;
    if (parsed.kind === 'error') {
      const entity = parsed.entityAuth;
      const found = this.entityKey(entity);
      if ('problem' in found) return { ...base, kind: 'error', sender: entityView(entity), ...unchecked(found) };
      if (!found.ctx.verify(parsed.errordata, parsed.signature)) {
        return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'invalid', problem: 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED (error header)', problemCode: 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED' };
      }
      try {
        return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'valid', error: errorView(openErrorHeader(parsed, found.ctx)) };
      } catch (e) {
        return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'valid', ...problemOf(e) };
      }
    }
    if (parsed.entityAuth !== undefined) {
      const found = this.entityKey(parsed.entityAuth);
      const sender = entityView(parsed.entityAuth);
      if ('problem' in found) return { ...base, kind: 'message', sender, ...unchecked(found) };
      return { ...base, kind: 'message', sender, key: found.key, ...this.openWith(parsed, found.ctx, message.chunks, options) };
    }
    const token = this.tokenView(parsed.masterToken);
    const sender = { kind: 'master-token' as const, token: token.view };
    if (token.session === undefined) {
      return { ...base, kind: 'message', sender, ...unchecked({ problem: `the master token does not open with this store's token keys: ${token.view.notOpened}`, problemCode: token.notOpenedCode ?? 'INTERNAL_EXCEPTION' }) };
    }
    return { ...base, kind: 'message', sender, key: `the master token's session keys (KCVs ${token.view.opened!.sessionKcvs.encryption}/${token.view.opened!.sessionKcvs.hmac})`, ...this.openWith(parsed, token.session, message.chunks, options) };
  }

  /** Verify, then decrypt and read the header data. */
  private openWith(
    parsed: ParsedMessageHeader,
    ctx: MslCryptoContext,
    chunks: readonly unknown[],
    options: MslInspectOptions,
  ): Pick<MslInspection, 'signature' | 'problem' | 'problemCode' | 'header' | 'chunks' | 'chunkProblem' | 'chunkProblemCode' | 'payloadData'> {
    if (!ctx.verify(parsed.headerdata, parsed.signature)) {
      // The responder's names for it (msl/header.ts openHeader).
      const code = parsed.masterToken ? 'MESSAGE_MASTERTOKENBASED_VERIFICATION_FAILED' : 'MESSAGE_ENTITYDATABASED_VERIFICATION_FAILED';
      return { signature: 'invalid', problem: code, problemCode: code };
    }
    let header: { view: MslHeaderView; payloadContext?: MslCryptoContext };
    try {
      header = this.headerView(openHeader(parsed, ctx));
    } catch (e) {
      return { signature: 'valid', ...problemOf(e) };
    }
    const payloadContext = header.view.keyResponse === undefined ? ctx : header.payloadContext;
    if (payloadContext === undefined) {
      return {
        signature: 'valid',
        header: header.view,
        ...(chunks.length > 0 ? { chunkProblem: 'the new master token does not open with this store\'s token keys', chunkProblemCode: 'MASTERTOKEN_UNTRUSTED' } : {}),
      };
    }
    return { signature: 'valid', header: header.view, ...openChunks(chunks, payloadContext, header.view.messageId, options.showPayload === true) };
  }

  /** The entity's context and a description of its key, or why there is none. */
  private entityKey(entity: EntityAuthData): { ctx: MslCryptoContext; key: string } | Problem {
    if (entity.scheme === 'RSA') {
      const server = this.keys.serverPublicKeys().find((k) => k.keyId === entity.pubkeyid);
      if (server === undefined) return { problem: 'no server identity key with this key id in the store (ENTITY_NOT_FOUND)', problemCode: 'ENTITY_NOT_FOUND' };
      return { ctx: new RsaCryptoContext({ publicKey: server.publicKey }), key: `server identity ${server.name} key ${server.keyId} (RSA, thumbprint ${rsaThumbprint(server.publicKey)})` };
    }
    try {
      const store = this.session.store();
      const ctx = entityContext(store, entity.identity, entity.scheme);
      return { ctx, key: this.entityKeyName(entity) };
    } catch (e) {
      return problemOf(e);
    }
  }

  /** The KCVs of the device's Kpe/Kph (PSK) or of its group's Kde/Kdh (MGK), as the store records them. */
  private entityKeyName(entity: { scheme: 'PSK' | 'MGK'; identity: string }): string {
    const store = this.session.store();
    const device = store.devices.get(entity.identity);
    if (entity.scheme === 'PSK') return `device ${entity.identity}'s Kpe/Kph (KCVs ${device?.kcv_kpe ?? '?'}/${device?.kcv_kph ?? '?'})`;
    const group = device?.group_name == null ? undefined : store.groups.get(device.group_name);
    return `model group ${group?.name ?? '?'}'s Kde/Kdh (KCVs ${group?.kcv_kde ?? '?'}/${group?.kcv_kdh ?? '?'})`;
  }

  /** The responder's refusal of the token's identity (a revoked or unknown device), if any. */
  private refusedNow(token: { identity: string; issuerdata?: JsonObject }): { refusedNow?: string } {
    try {
      checkTokenIdentity(this.session.store(), token);
      return {};
    } catch (e) {
      if (!(e instanceof MslError)) throw e;
      return { refusedNow: describe(e) };
    }
  }

  /** Whether the store's token bookkeeping records this serial for this identity (mslTokens.ts). */
  private issued(serial: number, token: { identity: string; issuerdata?: JsonObject }): NonNullable<MslTokenView['issued']> {
    const identity = token.identity;
    const store = this.session.store();
    // The serial's bookkeeping outlives the device (it expires with the token); the epoch says whose it was.
    if (tokenEpoch(token.issuerdata) !== identityEpoch(store, identity)) return { byThisStore: 'deleted-device' };
    const row = store.mslTokens.get(serial);
    if (row === undefined) return { byThisStore: 'keys-only' };
    return { byThisStore: row.identity === identity ? 'yes' : 'identity-mismatch', newestSequence: row.sequence };
  }

  /** The header data as shown, and the new master token's session context when it carries a key response the store can open. */
  private headerView(h: HeaderData): { view: MslHeaderView; payloadContext?: MslCryptoContext } {
    const keyRequests = h.keyRequestData.map((entry) => {
      const f = Fields.of(entry, 'MSL_PARSE_ERROR', 'keyrequestdata');
      const scheme = f.string('scheme');
      const keydata = f.obj['keydata'];
      if (scheme !== 'JWE_LADDER' || typeof keydata !== 'object' || keydata === null) return { scheme };
      const k = keydata as Record<string, unknown>;
      const wrapdata = typeof k['wrapdata'] === 'string' ? decodeBase64(k['wrapdata']) : undefined;
      return { scheme, ...(typeof k['mechanism'] === 'string' ? { mechanism: k['mechanism'] } : {}), ...(wrapdata ? { wrapdataBytes: wrapdata.length } : {}) };
    });
    let keyResponse: MslHeaderView['keyResponse'];
    let payloadContext: MslCryptoContext | undefined;
    if (h.keyResponseData !== undefined) {
      const response = parseKeyResponse(h.keyResponseData);
      const token = this.tokenView(response.masterToken);
      payloadContext = token.session;
      keyResponse = { scheme: 'JWE_LADDER', members: Object.keys(response.ladderResponse.keydata as object).sort(), masterToken: token.view };
    }
    const view: MslHeaderView = {
      messageId: h.messageId,
      ...(h.timestamp === undefined ? {} : { timestamp: iso(h.timestamp) }),
      renewable: h.renewable,
      handshake: h.handshake,
      ...(h.nonReplayableId === undefined ? {} : { nonReplayableId: h.nonReplayableId }),
      ...(h.capabilities === undefined ? {} : { capabilities: { compression: h.capabilities.compressionAlgos, languages: h.capabilities.languages, encoderFormats: h.capabilities.encoderFormats } }),
      ...(h.sender === undefined ? {} : { sender: h.sender }),
      keyRequests,
      ...(keyResponse === undefined ? {} : { keyResponse }),
      serviceTokens: h.serviceTokens.length,
    };
    return { view, ...(payloadContext === undefined ? {} : { payloadContext }) };
  }

  /**
   * A token's numbers, and when the store's token keys open it, its identity
   * and session key KCVs, and its session context (the keys live on only in
   * the context's KeyObjects; every buffer here is zeroed).
   */
  private tokenView(token: ReadMasterToken): { view: MslTokenView; session?: SymmetricCryptoContext; notOpenedCode?: string } {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const numbers = {
      serialNumber: token.serialNumber,
      sequenceNumber: token.sequenceNumber,
      renewalWindow: iso(token.renewalWindow),
      expiration: iso(token.expiration),
      state: isExpired(token, nowSeconds) ? ('expired' as const) : isRenewable(token, nowSeconds) ? ('renewable' as const) : ('current' as const),
    };
    const generations = this.keys.tokenKeys();
    try {
      const name = this.keys.serverName();
      const contexts = generations.map((g) => new SymmetricCryptoContext(name, g.encryptionKey, g.hmacKey));
      const opened = openMasterToken(token.json, contexts);
      try {
        const sessionKcvs = { encryption: kcv(opened.keys.encryptionKey, 'aes'), hmac: kcv(opened.keys.hmacKey, 'hmac') };
        return {
          view: {
            ...numbers,
            opened: { identity: opened.identity, tokenKeyGeneration: generations[opened.contextIndex]!.generation, sessionKcvs },
            issued: this.issued(token.serialNumber, opened),
            ...this.refusedNow(opened),
          },
          session: sessionContext(opened, opened.identity, opened.keys),
        };
      } finally {
        opened.destroy();
      }
    } catch (e) {
      return { view: { ...numbers, notOpened: describe(e) }, notOpenedCode: codeOf(e) };
    } finally {
      for (const g of generations) {
        g.encryptionKey.fill(0);
        g.hmacKey.fill(0);
      }
    }
  }
}

/**
 * Each chunk verified, decrypted and inflated (within the message layer's
 * default cap), then taken in order as the responder takes it (PayloadSequence:
 * the header's message id, sequence numbers from 1, nothing after endofmsg, at
 * most 16 MiB in all), so that what it refuses is named as the responder names
 * it; its data zeroed once measured. `show`: the application data is kept (up
 * to MAX_SHOWN_PAYLOAD bytes) to be judged by payloadView.
 */
function openChunks(chunks: readonly unknown[], ctx: MslCryptoContext, messageId: number, show: boolean): Pick<MslInspection, 'chunks' | 'chunkProblem' | 'chunkProblemCode' | 'payloadData'> {
  const sequence = new PayloadSequence(messageId, DEFAULT_PAYLOAD_LIMITS.maxData);
  const views: MslChunkView[] = [];
  const kept: Uint8Array[] = [];
  let total = 0;
  try {
    for (const json of chunks) {
      let chunk;
      try {
        chunk = openPayloadChunk(json, ctx, { maxInflated: DEFAULT_PAYLOAD_LIMITS.maxInflated });
      } catch (e) {
        return { chunks: views, chunkProblem: `chunk ${views.length + 1}: ${describe(e)}`, chunkProblemCode: codeOf(e) };
      }
      views.push({ sequenceNumber: chunk.sequenceNumber, messageId: chunk.messageId, endOfMessage: chunk.endOfMessage, ...(chunk.compression === undefined ? {} : { compression: chunk.compression }), dataBytes: chunk.data.length });
      try {
        sequence.accept(chunk);
      } catch (e) {
        chunk.data.fill(0);
        return { chunks: views, chunkProblem: `chunk ${views.length}: ${describe(e)}`, chunkProblemCode: codeOf(e) };
      }
      total += chunk.data.length;
      if (show && total <= MAX_SHOWN_PAYLOAD) kept.push(chunk.data);
      else chunk.data.fill(0);
    }
    return { chunks: views, ...(show ? { payloadData: payloadView(kept, total) } : {}) };
  } finally {
    for (const data of kept) data.fill(0);
  }
}

/** The application data as shown: text only when it is UTF-8, small enough and holds no key material (jose/keyMembers.ts). */
function payloadView(kept: readonly Uint8Array[], total: number): MslPayloadView {
  if (total > MAX_SHOWN_PAYLOAD) return { bytes: total, withheld: { reason: 'too-large', members: [] } };
  const data = Buffer.concat(kept);
  try {
    const text = fromUtf8(data);
    if (text === undefined) return { bytes: total, withheld: { reason: 'binary', members: [] } };
    const withheld = withheldPayload(data);
    if (withheld !== undefined) return { bytes: total, withheld: { reason: withheld.reason, members: withheld.members } };
    return { bytes: total, text };
  } finally {
    data.fill(0);
  }
}

function entityView(entity: EntityAuthData): NonNullable<MslInspection['sender']> {
  return { kind: 'entity', scheme: entity.scheme, identity: entity.identity, ...(entity.scheme === 'RSA' ? { pubkeyid: entity.pubkeyid } : {}) };
}

function errorView(e: ErrorData): MslErrorView {
  return {
    messageId: e.messageId,
    responseCode: e.errorCode,
    ...(e.internalCode === undefined ? {} : { internalCode: e.internalCode }),
    ...(e.errorMsg === undefined ? {} : { errorMsg: e.errorMsg }),
    ...(e.userMsg === undefined ? {} : { userMsg: e.userMsg }),
    ...(e.timestamp === undefined ? {} : { timestamp: iso(e.timestamp) }),
  };
}
