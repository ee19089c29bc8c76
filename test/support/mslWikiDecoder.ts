// An independent reader of MSL messages, written from Netflix's MSL wiki
// (Messages, Error Messages, Token Issuance & Protection, the JWE ladder page)
// with node:crypto and node:zlib only: nothing of electron/msl or
// electron/ladder, so a shared misreading of MSL cannot make both the
// responder and its check agree. The tests open the responder's answers with it.
//
// Version 1 ciphertext envelope: {"keyid","iv","ciphertext","sha256"},
// AES-128-CBC/PKCS#5; signatures are the raw HMAC-SHA256 (or SHA256withRSA)
// over the Base64-decoded field bytes. JWEs of the key response are MSL's JSON
// serialization: recipients[0] {header, encrypted_key, integrity_value},
// initialization_vector, ciphertext; A128KW + A128GCM, AAD = ASCII
// "header.encrypted_key.initialization_vector".

import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, verify as rsaVerify, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

type Json = Record<string, any>;

/** The top-level JSON objects of a message, by brace depth outside strings. */
export function splitObjects(bytes: Uint8Array): Json[] {
  const text = Buffer.from(bytes).toString('utf8');
  const out: Json[] = [];
  let depth = 0, start = -1, inString = false, escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Json);
    } else if (depth === 0 && !/\s/.test(c)) throw new Error(`garbage at ${i}`);
  }
  if (depth !== 0) throw new Error('truncated');
  return out;
}

const b64 = (s: string): Buffer => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('not standard padded Base64');
  return Buffer.from(s, 'base64');
};
const b64url = (s: string): Buffer => Buffer.from(s, 'base64url');

export interface SymmetricKeys {
  readonly enc: Buffer;
  readonly hmac: Buffer;
}

function hmacOk(key: Buffer, data: Buffer, signature: Buffer): boolean {
  const mac = createHmac('sha256', key).update(data).digest();
  return mac.length === signature.length && timingSafeEqual(mac, signature);
}

/** Verifies the HMAC over the envelope bytes, then decrypts the envelope; returns the plaintext and the envelope's keyid. */
export function openSymmetric(keys: SymmetricKeys, envelopeBytes: Buffer, signature: Buffer): { plaintext: Buffer; keyid: string } {
  if (!hmacOk(keys.hmac, envelopeBytes, signature)) throw new Error('HMAC does not verify');
  const env = JSON.parse(envelopeBytes.toString('utf8')) as { keyid: string; iv: string; ciphertext: string };
  const d = createDecipheriv('aes-128-cbc', keys.enc, b64(env.iv));
  return { plaintext: Buffer.concat([d.update(b64(env.ciphertext)), d.final()]), keyid: env.keyid };
}

/** RFC 3394 unwrap with AES-128 in ECB (BoringSSL has no key wrap cipher). */
export function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  const n = wrapped.length / 8 - 1;
  let a = Buffer.from(wrapped.subarray(0, 8));
  const r = Array.from({ length: n }, (_, i) => Buffer.from(wrapped.subarray(8 * (i + 1), 8 * (i + 2))));
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      const t = BigInt(n * j + i);
      const ax = Buffer.from(a);
      ax.writeBigUInt64BE(ax.readBigUInt64BE() ^ t);
      const d = createDecipheriv('aes-128-ecb', kek, null).setAutoPadding(false);
      const b = Buffer.concat([d.update(Buffer.concat([ax, r[i - 1]!])), d.final()]);
      a = b.subarray(0, 8);
      r[i - 1] = b.subarray(8);
    }
  }
  if (!a.equals(Buffer.alloc(8, 0xa6))) throw new Error('AES-KW integrity check failed');
  return Buffer.concat(r);
}

/** A JWE of the key response (Base64 of MSL's JSON serialization) opened with `kek`: the JWK inside. */
export function openJwe(base64: string, kek: Buffer): Json {
  const jwe = JSON.parse(b64(base64).toString('utf8')) as Json;
  const recipient = jwe['recipients'][0] as Json;
  const header = JSON.parse(b64url(recipient['header']).toString('utf8')) as Json;
  if (header['alg'] !== 'A128KW' || header['enc'] !== 'A128GCM') throw new Error(`JWE algorithms ${header['alg']}/${header['enc']}`);
  const cek = aesKeyUnwrap(kek, b64url(recipient['encrypted_key']));
  const aad = Buffer.from(`${recipient['header']}.${recipient['encrypted_key']}.${jwe['initialization_vector']}`, 'ascii');
  const d = createDecipheriv('aes-128-gcm', cek, b64url(jwe['initialization_vector']));
  d.setAAD(aad);
  d.setAuthTag(b64url(recipient['integrity_value']));
  return JSON.parse(Buffer.concat([d.update(b64url(jwe['ciphertext'])), d.final()]).toString('utf8')) as Json;
}

export interface OpenedToken {
  readonly tokendata: Json;
  readonly session: Json;
  readonly keys: SymmetricKeys;
}

/** A master token opened with the server's token keys (msl.key.enc / msl.key.hmac). */
export function openToken(token: Json, serverKeys: SymmetricKeys): OpenedToken {
  const tokendataBytes = b64(token['tokendata']);
  if (!hmacOk(serverKeys.hmac, tokendataBytes, b64(token['signature']))) throw new Error('master token signature does not verify');
  const tokendata = JSON.parse(tokendataBytes.toString('utf8')) as Json;
  const env = JSON.parse(b64(tokendata['sessiondata']).toString('utf8')) as { iv: string; ciphertext: string };
  const d = createDecipheriv('aes-128-cbc', serverKeys.enc, b64(env.iv));
  const session = JSON.parse(Buffer.concat([d.update(b64(env.ciphertext)), d.final()]).toString('utf8')) as Json;
  return { tokendata, session, keys: { enc: b64(session['encryptionkey']), hmac: b64(session['signaturekey'] ?? session['hmackey']) } };
}

export interface DecodedResponse {
  readonly kind: 'message' | 'error';
  readonly header: Json;
  /** message: the decrypted header data; error: the error data. */
  readonly data: Json;
  readonly keyResponse?: { readonly token: OpenedToken; readonly kwrap: Buffer; readonly kenc: Buffer; readonly khmac: Buffer; readonly wrapdata: string; readonly kid?: string };
  readonly payload?: { readonly data: Buffer; readonly compression?: string; readonly chunks: Json[] };
}

export interface DecoderKeys {
  /** The server's RSA public key (its entity authentication). */
  readonly serverPublicKey: KeyObject;
  /** The server's master-token keys. */
  readonly tokenKeys: SymmetricKeys;
  /** The key that wraps the new Kwrap: Kpw (PSK), Kdw (MGK), or the previous Kwrap (WRAP). */
  readonly kprev?: Buffer;
  /** The session keys of the token the request carried, when it had one. */
  readonly requestSession?: SymmetricKeys;
}

/** Opens a response (or error) message the way the wiki says a client must, every signature checked. */
export function decodeResponse(bytes: Uint8Array, keys: DecoderKeys): DecodedResponse {
  const [header, ...chunks] = splitObjects(bytes);
  if (header === undefined) throw new Error('empty message');
  const field = header['errordata'] !== undefined ? 'errordata' : 'headerdata';
  const dataBytes = b64(header[field]);
  const signature = b64(header['signature']);
  let data: Json;
  if (header['entityauthdata'] !== undefined) {
    if (header['entityauthdata']['scheme'] !== 'RSA') throw new Error('the server speaks with its RSA entity authentication');
    if (!rsaVerify('sha256', dataBytes, keys.serverPublicKey, signature)) throw new Error('RSA signature does not verify');
    data = JSON.parse(dataBytes.toString('utf8')) as Json;
  } else {
    if (keys.requestSession === undefined) throw new Error('a token-protected response to a request without a token');
    data = JSON.parse(openSymmetric(keys.requestSession, dataBytes, signature).plaintext.toString('utf8')) as Json;
  }
  if (field === 'errordata') return { kind: 'error', header, data };
  let keyResponse: DecodedResponse['keyResponse'];
  let payloadKeys = keys.requestSession;
  const kr = data['keyresponsedata'] as Json | undefined;
  if (kr !== undefined) {
    if (kr['scheme'] !== 'JWE_LADDER') throw new Error(`key response scheme ${kr['scheme']}`);
    if (keys.kprev === undefined) throw new Error('no previous key to open the key response with');
    const token = openToken(kr['mastertoken'], keys.tokenKeys);
    const wrapJwk = openJwe(kr['keydata']['wrapkey'], keys.kprev);
    const kwrap = b64url(wrapJwk['k']);
    const kenc = b64url(openJwe(kr['keydata']['encryptionkey'], kwrap)['k']);
    const khmac = b64url(openJwe(kr['keydata']['hmackey'], kwrap)['k']);
    keyResponse = { token, kwrap, kenc, khmac, wrapdata: kr['keydata']['wrapdata'], ...(wrapJwk['kid'] === undefined ? {} : { kid: wrapJwk['kid'] }) };
    payloadKeys = { enc: kenc, hmac: khmac };
  }
  let payload: DecodedResponse['payload'];
  if (chunks.length > 0) {
    if (payloadKeys === undefined) throw new Error('payload chunks without keys to open them');
    const parts: Buffer[] = [];
    const opened: Json[] = [];
    let compression: string | undefined;
    for (const [i, chunk] of chunks.entries()) {
      const p = JSON.parse(openSymmetric(payloadKeys, b64(chunk['payload']), b64(chunk['signature'])).plaintext.toString('utf8')) as Json;
      if (p['sequencenumber'] !== i + 1) throw new Error('chunk out of sequence');
      if (p['messageid'] !== data['messageid']) throw new Error('chunk of another message');
      compression = p['compressionalgo'];
      const raw = b64(p['data']);
      parts.push(compression === 'GZIP' ? gunzipSync(raw) : raw);
      opened.push(p);
    }
    payload = { data: Buffer.concat(parts), chunks: opened, ...(compression === undefined ? {} : { compression }) };
  }
  return { kind: 'message', header, data, ...(keyResponse ? { keyResponse } : {}), ...(payload ? { payload } : {}) };
}

/** Encrypts and signs like MSL's symmetric context (for building altered requests in tests). */
export function sealSymmetric(keys: SymmetricKeys, keyid: string, plaintext: Buffer, iv: Buffer): { envelope: Buffer; signature: Buffer } {
  const c = createCipheriv('aes-128-cbc', keys.enc, iv);
  const envelope = Buffer.from(JSON.stringify({ keyid, iv: iv.toString('base64'), ciphertext: Buffer.concat([c.update(plaintext), c.final()]).toString('base64'), sha256: 'AA==' }));
  return { envelope, signature: createHmac('sha256', keys.hmac).update(envelope).digest() };
}

export type RequestSender =
  | { readonly kind: 'entity'; readonly scheme: 'PSK' | 'MGK'; readonly identity: string; readonly keys: SymmetricKeys; readonly keyid?: string }
  | { readonly kind: 'token'; readonly token: Json; readonly identity: string; readonly sequence: number; readonly keys: SymmetricKeys };

export interface RequestParts {
  readonly headerdata: Json;
  /** Payload chunks' plaintext objects (data as bytes); none for a handshake. */
  readonly chunks?: ReadonlyArray<{ readonly sequencenumber: number; readonly messageid: number; readonly endofmsg?: boolean; readonly compressionalgo?: string; readonly data: Buffer }>;
}

/** A request as an MSL client writes it (wiki: Messages), every part sealed with the sender's keys. */
export function buildRequest(sender: RequestSender, parts: RequestParts): Buffer {
  const keyid = sender.kind === 'entity' ? sender.keyid ?? sender.identity : `${sender.identity}_${sender.sequence}`;
  const iv = () => Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256)));
  const header = sealSymmetric(sender.keys, keyid, Buffer.from(JSON.stringify(parts.headerdata)), iv());
  const who = sender.kind === 'entity' ? { entityauthdata: { scheme: sender.scheme, authdata: { identity: sender.identity } } } : { mastertoken: sender.token };
  const objects: string[] = [JSON.stringify({ ...who, headerdata: header.envelope.toString('base64'), signature: header.signature.toString('base64') })];
  for (const chunk of parts.chunks ?? []) {
    const { data, ...rest } = chunk;
    const sealed = sealSymmetric(sender.keys, keyid, Buffer.from(JSON.stringify({ ...rest, data: data.toString('base64') })), iv());
    objects.push(JSON.stringify({ payload: sealed.envelope.toString('base64'), signature: sealed.signature.toString('base64') }));
  }
  return Buffer.from(objects.join(''));
}
