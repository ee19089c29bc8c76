// Keys and contexts for the tests of electron/msl's message layer (headers,
// master tokens, key exchange, the client), built from the sample
// configurations beside the captured exchanges.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MslCryptoContext } from '../../electron/msl/cryptoContext.js';
import type { ParsedHeader } from '../../electron/msl/header.js';
import { openMasterToken, sessionContext } from '../../electron/msl/masterToken.js';
import { RsaCryptoContext } from '../../electron/msl/rsaContext.js';
import { SymmetricCryptoContext } from '../../electron/msl/symmetricContext.js';
import { mslRefusal } from './mslRefusal.js';
import { client1Psk, MSL_VECTORS, pskOf, server1Rsa } from './mslVectors.js';

function cfgValue(key: string): string {
  const line = readFileSync(join(MSL_VECTORS, 'mslsrv.cfg'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key} `));
  if (line === undefined) throw new Error(`mslsrv.cfg: no ${key}`);
  return line.slice(key.length).trim();
}

/** MSL's server's master token keys, msl.key.enc and msl.key.hmac. */
export const tokenKeys = (): { enc: Uint8Array; hmac: Uint8Array } => ({
  enc: new Uint8Array(Buffer.from(cfgValue('msl.key.enc'), 'hex')),
  hmac: new Uint8Array(Buffer.from(cfgValue('msl.key.hmac'), 'hex')),
});

/** The token context of MSL's server: a symmetric context named by its identity, server1. */
export function tokenContext(): SymmetricCryptoContext {
  const k = tokenKeys();
  return new SymmetricCryptoContext('server1', k.enc, k.hmac);
}

/** client9: the identity MSL's server does not know (client9.psk: identity, Kpe, Kph in Base64). */
export function client9Psk(): { identity: string; kpe: Uint8Array; kph: Uint8Array } {
  const [identity, kpe, kph] = readFileSync(join(MSL_VECTORS, 'client9.psk'), 'utf8').trim().split('\n');
  return { identity: identity!, kpe: new Uint8Array(Buffer.from(kpe!, 'base64')), kph: new Uint8Array(Buffer.from(kph!, 'base64')) };
}

export function pskContext(identity: string): SymmetricCryptoContext {
  const psk = identity === 'client9' ? client9Psk() : identity === 'client2' ? pskOf('client2') : client1Psk();
  return new SymmetricCryptoContext(psk.identity, psk.kpe, psk.kph);
}

export const serverRsaContext = (): RsaCryptoContext => new RsaCryptoContext(server1Rsa());
export const serverRsaVerifier = (): RsaCryptoContext => new RsaCryptoContext({ publicKey: server1Rsa().publicKey });

/** The server's entity auth data as MSL's server writes it. */
export const SERVER_ENTITY = { scheme: 'RSA', identity: 'server1', pubkeyid: 'rsakeyid1' } as const;

/** The MslError code `f` throws (mslRefusal: anything else, or not throwing, fails). */
export const codeOf = (f: () => unknown): string => mslRefusal(f).code;

/** The context a header is under, as the other side finds it: PSK keys, the server's RSA key, or the master token's session keys. */
export function contextFor(parsed: ParsedHeader): MslCryptoContext {
  if (parsed.kind === 'message' && parsed.masterToken) {
    const token = openMasterToken(parsed.masterToken.json, [tokenContext()]);
    return sessionContext(token, token.identity, token.keys);
  }
  return parsed.entityAuth!.scheme === 'RSA' ? serverRsaVerifier() : pskContext(parsed.entityAuth!.identity);
}

