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
import { openPayloadChunk } from '../msl/payloadChunk.js';
import { RsaCryptoContext } from '../msl/rsaContext.js';
import { SymmetricCryptoContext } from '../msl/symmetricContext.js';
import { Fields } from '../msl/fields.js';
import { decodeBase64 } from '../encoding/base64.js';
import { ServiceError } from './errors.js';
import { entityContext } from './mslEntities.js';
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
  readonly signature: 'valid' | 'invalid' | 'not checked';
  /** Why the signature was not checked or the header not opened (an MSL error code and detail). */
  readonly problem?: string;
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

export class MslInspectService {
  constructor(
    private readonly session: StoreSession,
    private readonly keys: MslInspectKeys,
    private readonly now: () => Date,
  ) {}

  /** Decodes one captured message (a request or a response). Changes nothing in the store. */
  inspect(bytes: Uint8Array): MslInspection {
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
      if ('problem' in found) return { ...base, kind: 'error', sender: entityView(entity), signature: 'not checked', problem: found.problem };
      if (!found.ctx.verify(parsed.errordata, parsed.signature)) return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'invalid' };
      try {
        return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'valid', error: errorView(openErrorHeader(parsed, found.ctx)) };
      } catch (e) {
        return { ...base, kind: 'error', sender: entityView(entity), key: found.key, signature: 'valid', problem: describe(e) };
      }
    }
    if (parsed.entityAuth !== undefined) {
      const found = this.entityKey(parsed.entityAuth);
      const sender = entityView(parsed.entityAuth);
      if ('problem' in found) return { ...base, kind: 'message', sender, signature: 'not checked', problem: found.problem };
      return { ...base, kind: 'message', sender, key: found.key, ...this.openWith(parsed, found.ctx, message.chunks) };
    }
    const token = this.tokenView(parsed.masterToken);
    const sender = { kind: 'master-token' as const, token: token.view };
    if (token.session === undefined) return { ...base, kind: 'message', sender, signature: 'not checked', problem: `the master token does not open with this store's token keys: ${token.view.notOpened}` };
    return { ...base, kind: 'message', sender, key: `the master token's session keys (KCVs ${token.view.opened!.sessionKcvs.encryption}/${token.view.opened!.sessionKcvs.hmac})`, ...this.openWith(parsed, token.session, message.chunks) };
  }

  /** Verify, then decrypt and read the header data. */
  private openWith(parsed: ParsedMessageHeader, ctx: MslCryptoContext, chunks: readonly unknown[]): Pick<MslInspection, 'signature' | 'problem' | 'header' | 'chunks' | 'chunkProblem'> {
    if (!ctx.verify(parsed.headerdata, parsed.signature)) return { signature: 'invalid' };
    let header: { view: MslHeaderView; payloadContext?: MslCryptoContext };
    try {
      header = this.headerView(openHeader(parsed, ctx));
    } catch (e) {
      return { signature: 'valid', problem: describe(e) };
    }
    const payloadContext = header.view.keyResponse === undefined ? ctx : header.payloadContext;
    if (payloadContext === undefined) return { signature: 'valid', header: header.view, ...(chunks.length > 0 ? { chunkProblem: 'the new master token does not open with this store\'s token keys' } : {}) };
    return { signature: 'valid', header: header.view, ...openChunks(chunks, payloadContext) };
  }

  /** The entity's context and a description of its key, or why there is none. */
  private entityKey(entity: EntityAuthData): { ctx: MslCryptoContext; key: string } | { problem: string } {
    if (entity.scheme === 'RSA') {
      const server = this.keys.serverPublicKeys().find((k) => k.keyId === entity.pubkeyid);
      if (server === undefined) return { problem: 'no server identity key with this key id in the store (ENTITY_NOT_FOUND)' };
      return { ctx: new RsaCryptoContext({ publicKey: server.publicKey }), key: `server identity ${server.name} key ${server.keyId} (RSA, thumbprint ${rsaThumbprint(server.publicKey)})` };
    }
    try {
      const store = this.session.store();
      const ctx = entityContext(store, entity.identity, entity.scheme);
      return { ctx, key: this.entityKeyName(entity) };
    } catch (e) {
      return { problem: describe(e) };
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
  private tokenView(token: ReadMasterToken): { view: MslTokenView; session?: SymmetricCryptoContext } {
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
          view: { ...numbers, opened: { identity: opened.identity, tokenKeyGeneration: generations[opened.contextIndex]!.generation, sessionKcvs } },
          session: sessionContext(opened, opened.identity, opened.keys),
        };
      } finally {
        opened.destroy();
      }
    } catch (e) {
      return { view: { ...numbers, notOpened: describe(e) } };
    } finally {
      for (const g of generations) {
        g.encryptionKey.fill(0);
        g.hmacKey.fill(0);
      }
    }
  }
}

/** Each chunk verified, decrypted and inflated (within the message layer's default cap); its data zeroed once measured. */
function openChunks(chunks: readonly unknown[], ctx: MslCryptoContext): Pick<MslInspection, 'chunks' | 'chunkProblem'> {
  const views: MslChunkView[] = [];
  for (const json of chunks) {
    let chunk;
    try {
      chunk = openPayloadChunk(json, ctx, { maxInflated: DEFAULT_PAYLOAD_LIMITS.maxInflated });
    } catch (e) {
      return { chunks: views, chunkProblem: `chunk ${views.length + 1}: ${describe(e)}` };
    }
    views.push({ sequenceNumber: chunk.sequenceNumber, messageId: chunk.messageId, endOfMessage: chunk.endOfMessage, ...(chunk.compression === undefined ? {} : { compression: chunk.compression }), dataBytes: chunk.data.length });
    chunk.data.fill(0);
  }
  return { chunks: views };
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
