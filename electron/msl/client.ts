// KeyLadder's own MSL client: what a device running MSL does against
// `POST /msl`, for `keyladder msl simulate`, the responder's tests and ours.
// It follows MSL's example client (MslControl + MessageBuilder) where the
// server can tell the difference, and checks what MSL's client checks:
// - a response to a request without a master token is under the server's
//   entity authentication (RSA, a public key it trusts by key id);
// - a response to a request with one echoes that token (serial, sequence,
//   expiration) and is under its session keys;
// - messageid = request's + 1 (error headers of FAIL, TRANSIENT_FAILURE,
//   ENTITY_REAUTH, ENTITYDATA_REAUTH excepted, as MSL);
// - a key response answers the key request it sent (the ladder requestor
//   unwraps it with Kpw/Kdw or the last Kwrap), and the payload must open
//   under the new session keys: the client cannot open the master token, so
//   that is how it learns the server put the same keys in it.
// The server's clock is taken from each response's timestamp (an offset); a
// client that has none yet treats its token as renewable, as MSL's does.
//
// Keys: the long-term pair is held by a SymmetricCryptoContext (KeyObjects)
// and Kpw/Kdw and each Kwrap as secret KeyObjects; session keys as raw bytes
// only while a context is built from them, then zeroed. The ladder requestor
// yields Kenc/Khmac as Web Crypto keys, extractable for this client alone
// (SessionKeyImport), exported once for the node:crypto session context.
// (KeyObject.from() of a non-extractable CryptoKey warns from Node 24 on.)
//
// Replaying captured exchanges: `adoptRequest(bytes)` takes a request that
// this client's keys open (a captured one) as if it had just sent it, so the
// responses MSL's server gave can be accepted without reproducing the random
// bytes of the original client.

import { KeyObject } from 'node:crypto';
type NodeKeyObject = KeyObject;
import type { Bytes } from '../encoding/bytes.js';
import { constantTimeEqual } from '../encoding/bytes.js';
import { deriveWrappingKey } from '../jwe/keyDerivation.js';
import { nodeKeyUnwrapper } from '../jwe/nodeKeyUnwrap.js';
import { LadderError } from '../ladder/errors.js';
import { LadderRequestor, type DeviceKeys } from '../ladder/requestor.js';
import type { MslCryptoContext } from './cryptoContext.js';
import { openErrorHeader, type ErrorData } from './errorHeader.js';
import { MslError, ResponseCode } from './errors.js';
import { openHeader, writeMessageHeader, type ParsedMessageHeader } from './header.js';
import { nextMessageId, randomMessageId, type Capabilities, type HeaderData } from './headerData.js';
import { fromLadderError, parseKeyResponse, selectKeyRequest } from './keyExchange.js';
import { isExpired, isRenewable, readMasterToken, sameMasterToken, sessionContext, type ReadMasterToken } from './masterToken.js';
import { openPayloads, parseMessage, payloadChunkTexts, writeMessage, type Compression, type PayloadLimits } from './message.js';
import { RsaCryptoContext } from './rsaContext.js';
import type { SplitLimits } from './reader.js';
import { SymmetricCryptoContext } from './symmetricContext.js';

export interface MslClientOptions {
  readonly identity: string;
  /** PSK (Kpe, Kph) or MGK (Kde, Kdh): 16 and 32 bytes. Copied; the caller zeroes its own. */
  readonly longTerm: { readonly mechanism: 'PSK' | 'MGK'; readonly encryptionKey: Uint8Array; readonly hmacKey: Uint8Array };
  /** The server RSA public keys this client trusts, by key id (MSL's `msl.rsa.*`). */
  readonly trustedServerKeys: ReadonlyMap<string, NodeKeyObject>;
  /** Local clock in seconds (tests pin it). */
  readonly now?: () => number;
  readonly limits?: Partial<SplitLimits & PayloadLimits>;
}

export interface RequestOptions {
  readonly payload?: Uint8Array;
  /** A handshake: no payload, renewable, with key request data. */
  readonly handshake?: boolean;
  readonly nonReplayable?: boolean;
  /**
   * Ask for new keys: by the long-term keys ('PSK'/'MGK', MSL's first
   * contact), by the last wrap key ('WRAP'), or not (false). Undefined does
   * what MSL's client does: renew when it has no token, no server clock yet,
   * or the token is renewable by server time.
   */
  readonly renew?: 'PSK' | 'MGK' | 'WRAP' | false;
  readonly compression?: Compression;
}

export interface AcceptResult {
  readonly payload: Bytes;
  readonly handshake: boolean;
  /** A key response was accepted: new token, new session keys. */
  readonly renewed: boolean;
  readonly masterToken?: { readonly serial: number; readonly sequence: number };
  /** KCVs of the keys the key response gave (never the keys). */
  readonly kcvs?: DeviceKeys<unknown>['kcv'];
  readonly chunks: number;
  readonly compressed: boolean;
  /** The server answered with an error header. */
  readonly error?: ErrorData;
}

interface Session {
  readonly token: ReadMasterToken;
  readonly context: SymmetricCryptoContext;
}

interface Pending {
  readonly messageId: number;
  /** The session the request was sent under (undefined: entity authentication). */
  readonly session: Session | undefined;
  readonly keyRequested: boolean;
  readonly handshake: boolean;
}

/** MSL's capabilities, as its example client sends them. */
export const CLIENT_CAPABILITIES: Capabilities = { compressionAlgos: ['GZIP', 'LZW'], languages: ['en-US'], encoderFormats: ['JSON'] };

const MAX_MESSAGE_ID = Number.MAX_SAFE_INTEGER;

export class MslClient {
  readonly identity: string;
  private readonly entity: SymmetricCryptoContext;
  private readonly requestor: LadderRequestor<NodeKeyObject>;
  private readonly mechanism: 'PSK' | 'MGK';
  private readonly trusted: ReadonlyMap<string, NodeKeyObject>;
  private readonly now: () => number;
  private readonly limits: Partial<SplitLimits & PayloadLimits>;
  private session: Session | undefined;
  private clockOffset: number | undefined;
  private pending: Pending | undefined;
  /** After a handshake, MSL's client continues with the response's id + 1. */
  private continuedId: number | undefined;
  private nonReplayableIds = new Map<number, number>();

  private constructor(options: MslClientOptions, kpw: NodeKeyObject) {
    this.identity = options.identity;
    this.mechanism = options.longTerm.mechanism;
    this.entity = new SymmetricCryptoContext(options.identity, options.longTerm.encryptionKey, options.longTerm.hmacKey);
    this.requestor = new LadderRequestor(options.identity, kpw, this.mechanism, 'msl', nodeKeyUnwrapper, 'extractable');
    this.trusted = options.trustedServerKeys;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.limits = options.limits ?? {};
  }

  /** Derives Kpw (or Kdw) from the long-term pair and builds the client. */
  static async create(options: MslClientOptions): Promise<MslClient> {
    const derived = deriveWrappingKey(options.longTerm.encryptionKey, options.longTerm.hmacKey);
    const kpw = Uint8Array.from(derived);
    derived.fill(0);
    // importWrappingKey zeroes kpw.
    return new MslClient(options, await nodeKeyUnwrapper.importWrappingKey(kpw));
  }

  /** The token the client holds, if any (numbers only). */
  get masterToken(): ReadMasterToken | undefined {
    return this.session?.token;
  }

  /**
   * A copy of the wrapdata of the last key response (what the next WRAP
   * request returns), for the simulation's check of the responder's Kwrap.
   */
  wrapdata(): Uint8Array | undefined {
    const current = this.requestor.current;
    return current === undefined ? undefined : Uint8Array.from(current.wrapdata);
  }

  /** Server time as this client knows it, or undefined before the first response. */
  serverNow(): number | undefined {
    return this.clockOffset === undefined ? undefined : this.now() + this.clockOffset;
  }

  /** Forgets the master token (MSL's reaction to ENTITY_REAUTH): the next request uses entity authentication. */
  dropMasterToken(): void {
    this.session = undefined;
  }

  private wantsRenewal(): boolean {
    const token = this.session?.token;
    const serverNow = this.serverNow();
    if (token === undefined || serverNow === undefined) return true;
    return isRenewable(token, serverNow) || isExpired(token, serverNow);
  }

  /** Builds the next request message. */
  request(options: RequestOptions = {}): Bytes {
    const handshake = options.handshake === true;
    let renew = options.renew ?? (this.wantsRenewal() ? (this.requestor.current ? 'WRAP' : this.mechanism) : false);
    if (handshake && renew === false) renew = this.requestor.current ? 'WRAP' : this.mechanism;
    if (handshake && options.payload !== undefined) throw new RangeError('A handshake carries no payload.');
    let keyRequestData: unknown[] = [];
    if (renew !== false) {
      if (renew === 'WRAP') {
        if (this.requestor.current === undefined) throw new RangeError('No wrap key yet: renew by PSK or MGK first.');
      } else {
        if (renew !== this.mechanism) throw new RangeError(`This client's long-term keys are ${this.mechanism}.`);
        this.requestor.fallBack();
      }
      keyRequestData = [this.requestor.nextRequest().keyrequestdata];
    }
    const session = this.session;
    if (options.nonReplayable && session === undefined) throw new MslError('NONREPLAYABLE_MESSAGE_REQUIRES_MASTERTOKEN');
    const messageId = this.continuedId ?? randomMessageId();
    this.continuedId = undefined;
    let nonReplayableId: number | undefined;
    if (options.nonReplayable && session) {
      nonReplayableId = ((this.nonReplayableIds.get(session.token.serialNumber) ?? 0) % MAX_MESSAGE_ID) + 1;
      this.nonReplayableIds.set(session.token.serialNumber, nonReplayableId);
    }
    const ctx: MslCryptoContext = session ? session.context : this.entity;
    const header = writeMessageHeader(
      session ? { masterToken: session.token.json } : { entityAuth: { scheme: this.mechanism, identity: this.identity } },
      {
        messageId,
        timestamp: this.now(),
        renewable: renew !== false,
        handshake,
        capabilities: CLIENT_CAPABILITIES,
        keyRequestData,
        ...(nonReplayableId === undefined ? {} : { nonReplayableId }),
        ...(session ? { sender: this.identity } : {}),
      },
      ctx,
    );
    const chunks = handshake ? [] : payloadChunkTexts(options.payload ?? new Uint8Array(0), ctx, messageId, { separateEnd: true, ...(options.compression === undefined ? {} : { compression: options.compression }) });
    this.pending = { messageId, session, keyRequested: renew !== false, handshake };
    return writeMessage(header, chunks);
  }

  /**
   * Takes a request this client's keys open (a captured one) as the request
   * just sent: its message id, the token it was under, its key request (which
   * must be the one this client would send now: the long-term mechanism, or
   * WRAP with the wrapdata of the last key response).
   */
  adoptRequest(bytes: Uint8Array): void {
    const { header } = parseMessage(bytes, this.limits);
    if (header.kind !== 'message') throw new MslError('MESSAGE_FORMAT_ERROR', 'an error header is no request');
    let session: Session | undefined;
    if (header.masterToken) {
      if (!this.session || !sameMasterToken(header.masterToken, this.session.token)) throw new MslError('MASTERTOKEN_UNTRUSTED', 'not the token this client holds');
      session = this.session;
    } else if (header.entityAuth.identity !== this.identity) {
      throw new MslError('INCORRECT_ENTITYAUTH_DATA', 'another identity');
    }
    const data = openHeader(header, session ? session.context : this.entity);
    const keyRequest = selectKeyRequest(data.keyRequestData);
    if (keyRequest) {
      if (keyRequest.mechanism !== 'WRAP') this.requestor.fallBack();
      const sent = this.requestor.nextRequest().keyrequestdata;
      const wrapdata = this.requestor.current?.wrapdata;
      const same = keyRequest.mechanism === sent.keydata['mechanism'] && (keyRequest.mechanism !== 'WRAP' || (wrapdata !== undefined && constantTimeEqual(wrapdata, keyRequest.wrapdata!)));
      if (!same) throw new MslError('KEYX_RESPONSE_REQUEST_MISMATCH', 'the request is not the one this client would send');
    }
    this.pending = { messageId: data.messageId, session, keyRequested: keyRequest !== undefined, handshake: data.handshake };
  }

  /** Reads the response to the last request, with every check MSL's client makes. */
  async accept(bytes: Uint8Array): Promise<AcceptResult> {
    const pending = this.pending;
    if (pending === undefined) throw new MslError('UNEXPECTED_RESPONSE_MESSAGE_ID', 'no request is waiting');
    const { header, chunks } = parseMessage(bytes, this.limits);
    if (header.kind === 'error') {
      this.pending = undefined;
      return this.acceptError(openErrorHeader(header, this.serverContext(header.entityAuth)), pending);
    }
    const headerContext = this.responseContext(header, pending);
    const data = openHeader(header, headerContext);
    if (data.messageId !== nextMessageId(pending.messageId)) throw new MslError('UNEXPECTED_RESPONSE_MESSAGE_ID', undefined, data.messageId);
    this.pending = undefined;
    if (data.timestamp !== undefined) this.clockOffset = data.timestamp - this.now();
    let payloadContext: MslCryptoContext = headerContext;
    let renewal: { session: Session; keys: DeviceKeys<NodeKeyObject> } | undefined;
    if (data.keyResponseData) {
      if (!pending.keyRequested) throw new MslError('KEYX_RESPONSE_REQUEST_MISMATCH', 'a key response to no key request');
      renewal = await this.acceptKeyResponse(data);
      payloadContext = renewal.session.context;
    }
    // The payload opens under the new session keys only if the server used the keys it gave.
    const payload = openPayloads(chunks, payloadContext, data.messageId, this.limits);
    if (renewal) this.session = renewal.session;
    if (pending.handshake) this.continuedId = nextMessageId(data.messageId);
    const token = this.session?.token;
    return {
      payload: payload.data,
      chunks: payload.chunks,
      compressed: payload.compressed,
      handshake: data.handshake,
      renewed: renewal !== undefined,
      ...(token ? { masterToken: { serial: token.serialNumber, sequence: token.sequenceNumber } } : {}),
      ...(renewal ? { kcvs: renewal.keys.kcv } : {}),
    };
  }

  /** The server's entity context: RSA under a key id this client trusts. */
  private serverContext(entity: { scheme: string; identity: string; pubkeyid?: string }): MslCryptoContext {
    if (entity.scheme !== 'RSA' || entity.pubkeyid === undefined) throw new MslError('ENTITYAUTH_FACTORY_NOT_FOUND', `the server may not use ${entity.scheme}`);
    const key = this.trusted.get(entity.pubkeyid);
    if (key === undefined) throw new MslError('ENTITYAUTH_VERIFICATION_FAILED', 'untrusted server key id');
    return new RsaCryptoContext({ publicKey: key });
  }

  private responseContext(header: ParsedMessageHeader, pending: Pending): MslCryptoContext {
    if (header.masterToken) {
      // MSL's client finds the keys by the token (serial, sequence, expiration): only the one it sent.
      if (!pending.session || !sameMasterToken(header.masterToken, pending.session.token)) throw new MslError('MASTERTOKEN_UNTRUSTED', 'not the token of the request');
      return pending.session.context;
    }
    return this.serverContext(header.entityAuth);
  }

  private async acceptKeyResponse(data: HeaderData): Promise<{ session: Session; keys: DeviceKeys<NodeKeyObject> }> {
    const response = parseKeyResponse(data.keyResponseData);
    let keys: DeviceKeys<NodeKeyObject>;
    try {
      keys = await this.requestor.accept(response.ladderResponse);
    } catch (e) {
      throw e instanceof LadderError ? fromLadderError(e) : e;
    }
    const encryptionKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', keys.kenc));
    const hmacKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', keys.khmac));
    try {
      const token = readMasterToken(response.masterToken.json);
      return { session: { token, context: sessionContext(token, this.identity, { encryptionKey, hmacKey }) }, keys };
    } finally {
      encryptionKey.fill(0);
      hmacKey.fill(0);
    }
  }

  private acceptError(error: ErrorData, pending: Pending): AcceptResult {
    const unchecked: number[] = [ResponseCode.FAIL, ResponseCode.TRANSIENT_FAILURE, ResponseCode.ENTITY_REAUTH, ResponseCode.ENTITYDATA_REAUTH];
    if (!unchecked.includes(error.errorCode) && error.messageId !== nextMessageId(pending.messageId)) throw new MslError('UNEXPECTED_RESPONSE_MESSAGE_ID', 'error header');
    if (error.errorCode === ResponseCode.ENTITY_REAUTH || error.errorCode === ResponseCode.ENTITYDATA_REAUTH) this.dropMasterToken();
    const token = this.session?.token;
    return {
      payload: new Uint8Array(0),
      chunks: 0,
      compressed: false,
      handshake: false,
      renewed: false,
      error,
      ...(token ? { masterToken: { serial: token.serialNumber, sequence: token.sequenceNumber } } : {}),
    };
  }
}
