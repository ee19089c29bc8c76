// The header data of a message header (MSL's MessageHeader), once verified and
// decrypted: a JSON object of the members MSL defines.
//
// Malformed members (wrong type, missing `messageid`/`renewable`) are
// MSL_PARSE_ERROR, as MSL's encoder exceptions are; a value out of range has
// MSL's own code (MESSAGE_ID_OUT_OF_RANGE, NONREPLAYABLE_ID_OUT_OF_RANGE); a
// member MSL does not define is HEADER_DATA_INVALID. Every failure after
// `messageid` was read carries it, so the error header can answer it + 1.
//
// User authentication is refused (USERAUTH_FACTORY_NOT_FOUND): MSL's
// MessageHeader hands `userauthdata` to a user authentication factory and
// verifies a `useridtoken` under the master token; KeyLadder has neither
// factory nor user ID tokens, and ignoring them would let a client believe a
// user was authenticated when none was. The peer-to-peer members are ignored,
// as MSL's MessageHeader ignores them outside peer-to-peer mode. Key request
// data, key response data and service tokens are returned as parsed JSON:
// keyExchange.ts reads the first two; service tokens are kept opaque (KeyLadder
// issues none and a client may echo another server's).

import { randomBytes } from 'node:crypto';
import { MslError } from './errors.js';
import { Fields, printable, type JsonObject } from './fields.js';

export interface Capabilities {
  readonly compressionAlgos: readonly string[];
  readonly languages: readonly string[];
  readonly encoderFormats: readonly string[];
}

export interface HeaderData {
  readonly messageId: number;
  readonly timestamp?: number;
  readonly renewable: boolean;
  readonly handshake: boolean;
  readonly nonReplayableId?: number;
  /** MSL's legacy flag; MSL itself no longer reads it. */
  readonly nonReplayable?: boolean;
  readonly capabilities?: Capabilities;
  /** The raw `keyrequestdata` entries, in order (keyExchange.ts selectKeyRequest reads them). */
  readonly keyRequestData: readonly unknown[];
  /** The raw `keyresponsedata` object (keyExchange.ts parseKeyResponse reads it). */
  readonly keyResponseData?: JsonObject;
  readonly serviceTokens: readonly unknown[];
  readonly sender?: string;
}

const MEMBERS = ['messageid', 'timestamp', 'renewable', 'handshake', 'nonreplayableid', 'nonreplayable', 'capabilities', 'keyrequestdata', 'keyresponsedata', 'servicetokens', 'sender', 'userauthdata', 'useridtoken', 'peermastertoken', 'peeruseridtoken', 'peerservicetokens'];

function parseCapabilities(value: JsonObject): Capabilities {
  const caps = new Fields(value, 'MSL_PARSE_ERROR', 'capabilities').only(['compressionalgos', 'languages', 'encoderformats']);
  return {
    compressionAlgos: caps.has('compressionalgos') ? caps.strings('compressionalgos') : [],
    languages: caps.has('languages') ? caps.strings('languages') : [],
    encoderFormats: caps.has('encoderformats') ? caps.strings('encoderformats') : [],
  };
}

/** Reads decrypted header data (a JSON object already parsed strictly). */
export function parseHeaderData(value: JsonObject): HeaderData {
  const f = new Fields(value, 'MSL_PARSE_ERROR', 'headerdata');
  const messageId = f.integer('messageid', 'MESSAGE_ID_OUT_OF_RANGE');
  try {
    for (const key of Object.keys(value)) if (!MEMBERS.includes(key)) throw f.fail(`unknown member "${printable(key)}"`, 'HEADER_DATA_INVALID');
    if (f.has('userauthdata') || f.has('useridtoken')) throw f.fail('user authentication is not supported', 'USERAUTH_FACTORY_NOT_FOUND');
    const capabilities = f.optObject('capabilities');
    const keyResponseData = f.optObject('keyresponsedata');
    const data: HeaderData = {
      messageId,
      renewable: f.boolean('renewable'),
      // MSL: "FIXME: make handshake required"; absent means false.
      handshake: f.optBoolean('handshake') ?? false,
      keyRequestData: f.optArray('keyrequestdata') ?? [],
      serviceTokens: f.optArray('servicetokens') ?? [],
      ...opt('timestamp', f.optInteger('timestamp')),
      ...opt('nonReplayableId', f.optInteger('nonreplayableid', 'NONREPLAYABLE_ID_OUT_OF_RANGE')),
      ...opt('nonReplayable', f.optBoolean('nonreplayable')),
      ...opt('capabilities', capabilities && parseCapabilities(capabilities)),
      ...opt('keyResponseData', keyResponseData),
      ...opt('sender', f.optString('sender')),
    };
    return data;
  } catch (e) {
    throw e instanceof MslError ? e.withMessageId(messageId) : e;
  }
}

/** `{ [key]: value }` when value is defined, else nothing (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** What a writer puts in header data. `keyResponseDataJson` is JSON text (the key response, written by keyExchange.ts). */
export interface HeaderDataOut {
  readonly messageId: number;
  readonly timestamp?: number;
  readonly renewable: boolean;
  readonly handshake: boolean;
  readonly nonReplayableId?: number;
  readonly capabilities?: Capabilities;
  readonly keyRequestData?: readonly unknown[];
  readonly keyResponseDataJson?: string;
  readonly serviceTokens?: readonly unknown[];
  readonly sender?: string;
}

function checkInteger(name: string, n: number | undefined): void {
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`${name} must be a safe integer ≥ 0.`);
}

/** The header data JSON text (UTF-8 of it is what gets encrypted and signed). */
export function headerDataJson(h: HeaderDataOut): string {
  checkInteger('messageId', h.messageId);
  checkInteger('timestamp', h.timestamp);
  checkInteger('nonReplayableId', h.nonReplayableId);
  const members: string[] = [];
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) members.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  };
  put('messageid', h.messageId);
  put('timestamp', h.timestamp);
  put('renewable', h.renewable);
  put('handshake', h.handshake);
  put('nonreplayableid', h.nonReplayableId);
  if (h.capabilities) put('capabilities', { compressionalgos: h.capabilities.compressionAlgos, languages: h.capabilities.languages, encoderformats: h.capabilities.encoderFormats });
  if (h.keyRequestData && h.keyRequestData.length > 0) put('keyrequestdata', h.keyRequestData);
  if (h.keyResponseDataJson !== undefined) members.push(`"keyresponsedata":${h.keyResponseDataJson}`);
  if (h.serviceTokens && h.serviceTokens.length > 0) put('servicetokens', h.serviceTokens);
  put('sender', h.sender);
  return `{${members.join(',')}}`;
}

/** MSL's next message id: + 1, wrapping to 0 past the largest id (our bound: 2^53 - 1). */
export const nextMessageId = (messageId: number): number => (messageId >= Number.MAX_SAFE_INTEGER ? 0 : messageId + 1);

/** A fresh random message id in 0..2^53 - 1 (MSL's clients and servers pick them at random). */
export function randomMessageId(): number {
  const b = randomBytes(8);
  b[0] = 0;
  b[1]! &= 0x1f;
  const id = Number(b.readBigUInt64BE(0));
  b.fill(0);
  return Math.min(id, Number.MAX_SAFE_INTEGER);
}
