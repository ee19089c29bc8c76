// The MSL responder: one whole MSL message in (POST /msl), one out, as MSL's
// own server answers its example client (MslControl's receive and respond
// paths, ResponseMessageBuilder; test/vectors/msl-messages/SERVER-CHECKLIST.md
// §5–§11). The application behind it echoes the payload, as MSL's example
// server does.
//
// The steps, each refused with an MSL error header (HTTP 200), never an HTTP error:
// 1. split and parse the message (bounded), structure only;
// 2. find the sender's keys: PSK/MGK entity auth from the device's keys
//    (mslEntities.ts), or the master token opened with the store's token keys,
//    its identity still provisioned and not revoked;
// 3. verify the header signature, then decrypt it; check the token's times
//    (expired → MESSAGE_EXPIRED unless the message renews), the handshake's
//    needs, the non-replayable id (per serial, in the store);
// 4. open the payload chunks (verified before decrypted, in sequence, bounded inflation);
// 5. key exchange when the request is renewable with key request data and
//    (no token, or its renewal window has opened, or it expired): JWE_LADDER
//    through ExchangeService.answerMslKeyRequest (the /v1/keyx answer path)
//    and a new master token carrying the same session keys (new serial on
//    first contact; same serial, sequence + 1 on renewal);
// 6. the response: header under the server's RSA identity (request without a
//    token) or the request token's session keys; payload under the new session
//    keys when there is a key response, else the header's; a handshake gets none.
//
// Audit: one `msl` record per message (ok or refused) through the exchange
// recorder, never the payload, keys or tokens' bytes. Fail closed: when the
// record cannot be written there is no MSL answer (503).

import type { KeyObject } from 'node:crypto';
import { utf8 } from '../encoding/bytes.js';
import { LadderError } from '../ladder/errors.js';
import type { KeyRequestData } from '../ladder/messages.js';
import type { ResponderResult } from '../ladder/responder.js';
import type { MslCryptoContext } from '../msl/cryptoContext.js';
import type { EntityAuthData } from '../msl/entityAuth.js';
import { errorMessageId, writeErrorHeader } from '../msl/errorHeader.js';
import { MslError } from '../msl/errors.js';
import { openHeader, writeMessageHeader, type HeaderSender, type ParsedMessageHeader } from '../msl/header.js';
import { nextMessageId, type HeaderData } from '../msl/headerData.js';
import { fromLadderError, keyResponseDataJson, selectKeyRequest } from '../msl/keyExchange.js';
import { issueMasterToken, isExpired, isRenewable, openMasterToken, sessionContext, type OpenedMasterToken } from '../msl/masterToken.js';
import { openPayloads, parseMessage, payloadChunkTexts, writeMessage } from '../msl/message.js';
import { RsaCryptoContext } from '../msl/rsaContext.js';
import { SymmetricCryptoContext } from '../msl/symmetricContext.js';
import type { MslApi, MslMessageSummary, MslOutcome } from './api.js';
import { describeError, ServiceError, ServiceErrorCode } from './errors.js';
import { zeroSessionKeys, type ExchangeService, type MslAuditContext, type MslIssued } from './exchanges.js';
import type { MslTokenService } from './mslTokens.js';
import { checkTokenIdentity, entityContext, epochIssuerData, identityEpoch } from './mslEntities.js';
import type { StoreSession } from './session.js';

/** The server's signing identity (the store's active MSL identity). */
export interface MslServerSigner {
  readonly name: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Master-token keys, newest (the issuing one) first: copies the caller zeroes. */
export interface MslTokenKeyCopy {
  readonly encryptionKey: Buffer;
  readonly hmacKey: Buffer;
}

export type MslRenewal = { readonly ok: true; readonly sequence: number } | { readonly ok: false; readonly error: 'MASTERTOKEN_SEQUENCE_NUMBER_OUT_OF_SYNC' };

/** What the responder needs of the store's MSL state (services/mslKeys.ts, mslTokens.ts, mslSettings.ts). */
export interface MslServerState {
  serverSigner(): MslServerSigner;
  tokenKeys(): MslTokenKeyCopy[];
  /** The store's master-token times, in seconds from issue. */
  times(): { readonly renewalWindow: number; readonly expiration: number };
  /** A first contact's serial, drawn only: its row is written with the exchange's batched record. */
  drawSerial(): number;
  /** The serial's next sequence, recorded; a serial without a row (the token verified) is adopted. */
  recordRenewal(serial: number, identity: string, presented: number, expiresAt: Date): MslRenewal;
  /** MSL's acceptNonReplayableId, adopting a verified token's unknown serial at its sequence. */
  acceptNonReplayableId(serial: number, identity: string, id: number, sequence: number, expiresAt: Date): string;
}

/** The store's MSL services (mslKeys.ts, mslSettings.ts, mslTokens.ts) as the responder uses them. */
export function mslServerState(msl: {
  readonly keys: { serverSigner(): MslServerSigner; tokenKeys(): MslTokenKeyCopy[] };
  readonly settings: { get(): { readonly renewalWindow: number; readonly expiration: number }; nonReplayableWindow(): number };
  readonly tokens: MslTokenService;
}): MslServerState {
  return {
    serverSigner: () => msl.keys.serverSigner(),
    tokenKeys: () => msl.keys.tokenKeys(),
    times: () => msl.settings.get(),
    drawSerial: () => msl.tokens.drawSerial(),
    recordRenewal: (serial, identity, presented, expiresAt) => msl.tokens.recordRenewal(serial, identity, presented, expiresAt, { adoptUnknown: true }),
    acceptNonReplayableId: (serial, identity, id, sequence, expiresAt) => msl.tokens.acceptNonReplayableId(serial, identity, id, { adoptUnknown: true, sequence, expiresAt, window: msl.settings.nonReplayableWindow() }),
  };
}

export interface MslResponderLimits {
  /** The largest message (the door's cap). */
  readonly maxMessageBytes: number;
  /** The most application data one message may carry once uncompressed (a GZIP bomb stops here). */
  readonly maxPayloadBytes: number;
}

/** Echoes shorter than this are never compressed (see process()). */
export const MIN_COMPRESSED_ECHO = 512;

export const DEFAULT_MSL_LIMITS: MslResponderLimits = { maxMessageBytes: 1024 * 1024, maxPayloadBytes: 4 * 1024 * 1024 };

/** One run's overrides of the store's master-token times (serve --msl-renewal-window, --msl-expiration). */
export interface MslTimeOverrides {
  readonly renewalWindowSeconds?: number;
  readonly expirationSeconds?: number;
}

/** What one message's audit record says, gathered as the message is read. */
type Details = Record<string, string | number | boolean | null>;

/** What the answer carried back, and the key request read on the way, for the app's live list (MslOutcome.summary). */
interface Sent {
  payloadBytesOut: number;
  keyRequest?: string;
  issued?: { serial: number; sequence: number };
}

export class MslResponderService implements MslApi {
  constructor(
    private readonly session: StoreSession,
    private readonly exchanges: ExchangeService,
    private readonly state: MslServerState,
    private readonly now: () => Date,
    private readonly limits: MslResponderLimits = DEFAULT_MSL_LIMITS,
    private readonly overrides: MslTimeOverrides = {},
  ) {}

  /** The same responder with this run's overrides (serve's flags). */
  withOverrides(overrides: MslTimeOverrides, limits: Partial<MslResponderLimits> = {}): MslResponderService {
    return new MslResponderService(this.session, this.exchanges, this.state, this.now, { ...this.limits, ...limits }, overrides);
  }

  /**
   * `caller.test`: the operator's simulated device (msl simulate in process), not the real one:
   * audited as `exchange.test` (with `msl: true`, as every operator's test: issue 21; stores
   * written before it hold `msl.test` records), and left out of what describes the device (the wrapdata registry, its
   * exchange count and last exchange, the issuing generation's count), as `exchange simulate` is.
   */
  answer(body: Uint8Array, caller?: { readonly client: string; readonly test?: boolean }): MslOutcome {
    if (!this.session.unlocked) return unavailable('STORE_LOCKED', 'The store is locked.');
    const details: Details = { ...(caller?.test ? { msl: true } : {}), bytes: body.length };
    const audit = (): MslAuditContext => ({ details, ...(caller ? { client: caller.client } : {}), ...(caller?.test ? { test: true } : {}) });
    let requestId: number | undefined;
    let identity: string | undefined;
    // What went back, for the app's live list (the summary reuses the audit's details, read once).
    const sent: Sent = { payloadBytesOut: 0 };
    const summary = (): MslMessageSummary => ({
      details: { ...details },
      payloadBytesOut: sent.payloadBytesOut,
      ...(sent.keyRequest === undefined ? {} : { keyRequest: sent.keyRequest }),
      ...(sent.issued ? { issued: { ...sent.issued } } : {}),
    });
    try {
      const answered = this.process(body, details, audit, (id) => (requestId = id), (who) => (identity = who), sent);
      return { kind: 'answered', body: answered, ...(identity === undefined ? {} : { identity }), summary: summary() };
    } catch (error) {
      const down = unavailableOf(error);
      if (down !== undefined) return down;
      const refusal = asMslError(error);
      details['code'] = refusal.code;
      details['internalCode'] = refusal.internalCode;
      // Only a reason code goes to the audit: some details quote the caller's text (an unknown scheme's name).
      if (refusal.detail !== undefined && /^[A-Z][A-Z0-9_]{0,63}$/.test(refusal.detail)) details['reason'] = refusal.detail;
      // Key exchange refusals were audited by the exchange service already.
      if (!(error instanceof AuditedRefusal)) this.exchanges.recordMslMessage('refused', identity ?? null, audit());
      try {
        // Request + 1 once the header data opened; before that a random id, as MSL's server answers.
        const messageId = errorMessageId(requestId === undefined ? refusal : refusal.withMessageId(requestId));
        return { kind: 'error-header', body: this.errorHeader(refusal, messageId), code: refusal.code, ...(identity === undefined ? {} : { identity }), summary: summary() };
      } catch (e) {
        return unavailableOf(e) ?? unavailable('MSL_NOT_CONFIGURED', 'The MSL server identity is not usable; see keyladder msl identity.');
      }
    }
  }

  private process(
    body: Uint8Array,
    details: Details,
    audit: () => MslAuditContext,
    setRequestId: (id: number) => void,
    setIdentity: (who: string) => void,
    sent: Sent,
  ): Uint8Array {
    const store = this.session.store();
    const nowMs = this.now().getTime();
    const nowSeconds = Math.floor(nowMs / 1000);
    // Fail closed before anything is looked up or written.
    this.exchanges.ensureAuditable();
    const message = parseMessage(body, { maxMessageBytes: this.limits.maxMessageBytes });
    if (message.header.kind !== 'message') throw new MslError('MESSAGE_FORMAT_ERROR', 'ERROR_HEADER_SENT_TO_SERVER');
    const parsed: ParsedMessageHeader = message.header;

    // 2–3. The sender's keys, then the header.
    let token: OpenedMasterToken | undefined;
    let headerCtx: MslCryptoContext;
    let header: HeaderData;
    let identity: string;
    // The identity's epoch the sender proved (mslEntities.ts): the new token carries it.
    let epoch: number;
    try {
      if (parsed.entityAuth !== undefined) {
        const entity = parsed.entityAuth;
        identity = entity.identity;
        setIdentity(identity);
        details['scheme'] = entity.scheme;
        if (entity.scheme !== 'PSK' && entity.scheme !== 'MGK') throw new MslError('ENTITYAUTH_FACTORY_NOT_FOUND', entity.scheme);
        // Before the keys, not after (identityEpoch says why).
        epoch = identityEpoch(store, identity);
        headerCtx = entityContext(store, identity, entity.scheme);
      } else {
        details['scheme'] = 'MASTERTOKEN';
        details['serial'] = parsed.masterToken.serialNumber;
        details['sequence'] = parsed.masterToken.sequenceNumber;
        token = this.openToken(parsed);
        identity = token.identity;
        setIdentity(identity);
        epoch = checkTokenIdentity(store, token);
        headerCtx = sessionContext(token, identity, token.keys);
      }
      header = openHeader(parsed, headerCtx);
      setRequestId(header.messageId);
      details['messageId'] = header.messageId;
      this.checkHeader(header, token, identity, nowSeconds);

      // 4. The application data.
      const payload = this.openPayloads(message.chunks, headerCtx, header.messageId);
      details['payloadBytes'] = payload.data.length;
      details['handshake'] = header.handshake;

      // 5. Key exchange, when MSL's ResponseMessageBuilder would.
      const keyRequest = header.renewable ? selectKeyRequest(header.keyRequestData) : undefined;
      if (keyRequest !== undefined) sent.keyRequest = keyRequest.mechanism;
      const rekey = keyRequest !== undefined && (token === undefined || isRenewable(token, nowSeconds) || isExpired(token, nowSeconds));
      if (!rekey && token === undefined) {
        // Without a token and without a new one, the only protection left is the server's RSA
        // signature, which does not encrypt: the echo would go back in the clear.
        throw new MslError('RESPONSE_REQUIRES_MASTERTOKEN', 'NO_KEY_REQUEST');
      }
      const responseId = nextMessageId(header.messageId);
      // The signer read once for both (each read checks the store's data_version).
      const signer = token === undefined ? this.state.serverSigner() : undefined;
      const sender: HeaderSender = signer === undefined ? { masterToken: token!.json } : { entityAuth: this.serverEntity(signer) };
      const senderCtx: MslCryptoContext = signer === undefined ? headerCtx : this.serverContext(signer);
      const base = { messageId: responseId, timestamp: nowSeconds, renewable: false, handshake: false };
      // GZIP only where it can win: below a few hundred bytes its 18-byte frame and the envelope's
      // block padding eat the gain, and trying cost 4% of a first contact's time.
      const compression = header.capabilities?.compressionAlgos.includes('GZIP') && payload.data.length >= MIN_COMPRESSED_ECHO ? ('GZIP' as const) : undefined;
      if (!rekey) {
        this.exchanges.recordMslMessage('ok', identity, audit());
        const headerText = writeMessageHeader(sender, base, senderCtx);
        const answer = writeMessage(headerText, header.handshake ? [] : this.chunks(responseId, payload.data, compression, headerCtx));
        sent.payloadBytesOut = header.handshake ? 0 : payload.data.length;
        return answer;
      }
      const issued = this.keyExchange(identity, epoch, keyRequest!, token, nowMs, details, audit);
      try {
        const headerText = writeMessageHeader(sender, { ...base, keyResponseDataJson: issued.keyResponseDataJson }, senderCtx);
        const chunks = header.handshake ? [] : this.chunks(responseId, payload.data, compression, issued.context);
        const answer = writeMessage(headerText, chunks);
        sent.payloadBytesOut = header.handshake ? 0 : payload.data.length;
        sent.issued = issued.token;
        return answer;
      } finally {
        issued.destroy();
      }
    } finally {
      token?.destroy();
    }
  }

  /** The token, opened with the store's token keys (the issuing one first). */
  private openToken(parsed: ParsedMessageHeader & { masterToken: object }): OpenedMasterToken {
    const keys = this.state.tokenKeys();
    try {
      const name = this.state.serverSigner().name;
      const contexts = keys.map((k) => this.tokenContext(k, name));
      return openMasterToken({ tokendata: parsed.masterToken.json.tokendata, signature: parsed.masterToken.json.signature }, contexts);
    } finally {
      for (const k of keys) {
        k.encryptionKey.fill(0);
        k.hmacKey.fill(0);
      }
    }
  }

  /** MSL's receive-side checks of a header that verified (MessageInputStream). */
  private checkHeader(header: HeaderData, token: OpenedMasterToken | undefined, identity: string, nowSeconds: number): void {
    const fail = (code: ConstructorParameters<typeof MslError>[0], detail?: string) => new MslError(code, detail, header.messageId);
    if (header.handshake && (!header.renewable || header.keyRequestData.length === 0)) throw fail('HANDSHAKE_DATA_MISSING');
    if (token !== undefined) {
      if (header.sender !== undefined && header.sender !== identity) throw fail('UNEXPECTED_MESSAGE_SENDER');
      if (isExpired(token, nowSeconds) && (!header.renewable || header.keyRequestData.length === 0)) throw fail('MESSAGE_EXPIRED');
    }
    if (header.nonReplayableId !== undefined) {
      if (token === undefined) throw fail('NONREPLAYABLE_MESSAGE_REQUIRES_MASTERTOKEN');
      const verdict = this.state.acceptNonReplayableId(token.serialNumber, identity, header.nonReplayableId, token.sequenceNumber, new Date(token.expiration * 1000));
      if (verdict !== 'accepted') throw fail(verdict as ConstructorParameters<typeof MslError>[0]);
    }
  }

  /**
   * The JWE_LADDER answer and the new master token carrying its session keys.
   * The token's bookkeeping (a new serial, or the serial's next sequence,
   * recorded atomically so two workers cannot both renew one token) runs only
   * once the ladder has answered, inside the exchange's record: a refused
   * exchange writes nothing but its audit row. The exchange service audits
   * refusals itself; they come back as AuditedRefusal.
   */
  private keyExchange(identity: string, epoch: number, keyRequest: KeyRequestData, token: OpenedMasterToken | undefined, nowMs: number, details: Details, audit: () => MslAuditContext) {
    const times = this.times();
    const nowSeconds = Math.floor(nowMs / 1000);
    const expiresAt = new Date((nowSeconds + times.expiration) * 1000);
    const messageId = details['messageId'] as number | undefined;
    details['mechanism'] = keyRequest.mechanism;
    let numbers: { renewalWindow: number; expiration: number; sequenceNumber: number; serialNumber: number } | undefined;
    const issue = (): MslIssued => {
      let serialNumber: number;
      let sequenceNumber: number;
      let newSerial: MslIssued['newSerial'];
      if (token !== undefined) {
        const renewal = this.state.recordRenewal(token.serialNumber, identity, token.sequenceNumber, expiresAt);
        if (!renewal.ok) throw new MslError(renewal.error, undefined, messageId);
        serialNumber = token.serialNumber;
        sequenceNumber = renewal.sequence;
      } else {
        serialNumber = this.state.drawSerial();
        sequenceNumber = 0;
        newSerial = { serial: serialNumber, expiresAt: expiresAt.toISOString() };
      }
      numbers = { renewalWindow: nowSeconds + times.renewalWindow, expiration: nowSeconds + times.expiration, sequenceNumber, serialNumber };
      return { details: { newSerial: serialNumber, newSequence: sequenceNumber }, ...(newSerial ? { newSerial } : {}) };
    };
    let result: ResponderResult;
    try {
      result = this.exchanges.answerMslKeyRequest(identity, keyRequest, audit(), issue);
    } catch (error) {
      throw new AuditedRefusal(error, messageId);
    }
    const keys = result.sessionKeys!;
    const tokenKeys = this.state.tokenKeys();
    try {
      const issuing = tokenKeys[0];
      if (issuing === undefined) throw new MslError('INTERNAL_EXCEPTION', 'NO_TOKEN_KEYS');
      const sessionKeys = { encryptionKey: keys.kenc, hmacKey: keys.khmac };
      const issued = issueMasterToken(numbers!, identity, sessionKeys, this.tokenContext(issuing), epochIssuerData(epoch));
      const context = sessionContext(numbers!, identity, sessionKeys);
      return {
        keyResponseDataJson: keyResponseDataJson(issued.text, result.keydataJson),
        context,
        token: { serial: numbers!.serialNumber, sequence: numbers!.sequenceNumber },
        destroy: () => zeroSessionKeys(result),
      };
    } catch (error) {
      zeroSessionKeys(result);
      throw error;
    } finally {
      for (const k of tokenKeys) {
        k.encryptionKey.fill(0);
        k.hmacKey.fill(0);
      }
    }
  }

  /** The request's application data: every chunk verified before it is decrypted, in sequence, bounded once inflated. */
  private openPayloads(chunks: readonly unknown[], ctx: MslCryptoContext, messageId: number): { data: Uint8Array } {
    try {
      return openPayloads(chunks, ctx, messageId, { maxInflated: this.limits.maxPayloadBytes, maxData: this.limits.maxPayloadBytes });
    } catch (error) {
      throw error instanceof MslError ? error.withMessageId(messageId) : error;
    }
  }

  /** The echo: one chunk ending the message, compressed when the request's capabilities allow and that is smaller. */
  private chunks(messageId: number, data: Uint8Array, compression: 'GZIP' | undefined, ctx: MslCryptoContext): string[] {
    return payloadChunkTexts(data, ctx, messageId, compression ? { compression } : {});
  }

  private times(): { renewalWindow: number; expiration: number } {
    const stored = this.state.times();
    const renewalWindow = this.overrides.renewalWindowSeconds ?? stored.renewalWindow;
    // An override of one may cross the other's stored value: the expiration never precedes the window.
    const expiration = Math.max(this.overrides.expirationSeconds ?? stored.expiration, renewalWindow);
    return { renewalWindow, expiration };
  }

  /**
   * A master-token key's context. MSL's server names its session-data
   * envelopes with its own identity (001-response: keyid "server1"), so a
   * token it issued opens here when the identity and the keys are shared.
   */
  private tokenContext(keys: MslTokenKeyCopy, name = this.state.serverSigner().name): SymmetricCryptoContext {
    return new SymmetricCryptoContext(name, keys.encryptionKey, keys.hmacKey);
  }

  private serverEntity(signer = this.state.serverSigner()): EntityAuthData {
    return { scheme: 'RSA', identity: signer.name, pubkeyid: signer.keyId };
  }

  private serverContext(signer = this.state.serverSigner()): RsaCryptoContext {
    return new RsaCryptoContext({ publicKey: signer.publicKey, privateKey: signer.privateKey });
  }

  private errorHeader(error: MslError, messageId: number): Uint8Array {
    const text = writeErrorHeader(this.serverEntity(), error, messageId, Math.floor(this.now().getTime() / 1000), this.serverContext());
    return utf8(text);
  }
}

/** A key exchange refusal the exchange service has audited already. */
class AuditedRefusal extends Error {
  constructor(readonly inner: unknown, readonly messageId: number | undefined) {
    super('refused');
  }
}

/** MSL's error for any refusal; anything unexpected is INTERNAL_EXCEPTION (TRANSIENT_FAILURE), its detail only a code. */
function asMslError(error: unknown): MslError {
  if (error instanceof AuditedRefusal) {
    const inner = asMslError(error.inner);
    return error.messageId === undefined ? inner : inner.withMessageId(error.messageId);
  }
  if (error instanceof MslError) return error;
  if (error instanceof LadderError) return fromLadderError(error);
  return new MslError('INTERNAL_EXCEPTION', describeError(error).code);
}

function unavailable(code: string, message: string): MslOutcome {
  return { kind: 'unavailable', body: utf8(JSON.stringify({ error: { code, message } })), code };
}

/** The refusals that mean no MSL answer can be given at all: the store or its audit log is down. */
function unavailableOf(error: unknown): MslOutcome | undefined {
  const inner = error instanceof AuditedRefusal ? error.inner : error;
  const { code, message } = describeError(inner);
  if (code === ServiceErrorCode.AUDIT_UNAVAILABLE || code === 'STORE_LOCKED' || code === 'STORE_REPLACED') return unavailable(code, message);
  if (inner instanceof ServiceError && code === 'MSL_NOT_FOUND') return unavailable('MSL_NOT_CONFIGURED', message);
  return undefined;
}
