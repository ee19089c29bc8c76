// The captured MSL exchanges (test/vectors/msl-messages/) and the sample keys
// of MSL's example client and server, for the tests of electron/msl/.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObject, splitMessage } from '../../electron/msl/reader.js';

export const MSL_VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'msl-messages');

export const EXCHANGES = ['001', '002', '003', '004', '005', '006', '007', '008'] as const;
export type Exchange = (typeof EXCHANGES)[number];
export type Direction = 'request' | 'response';

export const messageBytes = (exchange: Exchange, direction: Direction): Uint8Array => new Uint8Array(readFileSync(join(MSL_VECTORS, `${exchange}-${direction}.bin`)));

export const decoded = (exchange: Exchange, direction: Direction): any => JSON.parse(readFileSync(join(MSL_VECTORS, `${exchange}-${direction}.decoded.json`), 'utf8'));

/** `summary.txt`'s object count of each message. */
export function summaryObjectCount(exchange: Exchange, direction: Direction): number {
  const line = readFileSync(join(MSL_VECTORS, 'summary.txt'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${exchange} ${direction} `));
  const count = /objs=(\d+)/.exec(line ?? '')?.[1];
  if (count === undefined) throw new Error(`no summary line for ${exchange} ${direction}`);
  return Number(count);
}

function config(file: 'mslcli.cfg' | 'mslsrv.cfg'): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(join(MSL_VECTORS, file), 'utf8').split('\n')) {
    const m = /^([^#\s]\S*)\s+(\S+)/.exec(line);
    if (m) entries.set(m[1]!, m[2]!);
  }
  return entries;
}

const required = (cfg: Map<string, string>, key: string): string => {
  const value = cfg.get(key);
  if (value === undefined) throw new Error(`missing ${key}`);
  return value;
};

/** A client's pre-shared keys, Kpe (16 bytes) and Kph (32 bytes), from mslcli.cfg (client1 and client2). */
export function pskOf(identity: 'client1' | 'client2'): { identity: string; kpe: Uint8Array; kph: Uint8Array } {
  const cfg = config('mslcli.cfg');
  const index = identity === 'client1' ? 0 : 1;
  if (required(cfg, `entity.psk.id.${index}`) !== identity) throw new Error(`mslcli.cfg: entity.psk.id.${index} is not ${identity}`);
  return {
    identity,
    kpe: new Uint8Array(Buffer.from(required(cfg, `entity.psk.enc.${index}`), 'hex')),
    kph: new Uint8Array(Buffer.from(required(cfg, `entity.psk.hmac.${index}`), 'hex')),
  };
}

export const client1Psk = (): ReturnType<typeof pskOf> => pskOf('client1');

/** server1's RSA key pair `rsakeyid1` from mslsrv.cfg (PKCS#1 DER private key, SPKI public key). */
export function server1Rsa(): { keyId: string; publicKey: KeyObject; privateKey: KeyObject } {
  const cfg = config('mslsrv.cfg');
  return {
    keyId: required(cfg, 'msl.rsa.id.0'),
    publicKey: createPublicKey({ key: Buffer.from(required(cfg, 'msl.rsa.pub.0'), 'base64'), format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: Buffer.from(required(cfg, 'msl.rsa.priv.0'), 'base64'), format: 'der', type: 'pkcs1' }),
  };
}

/** The message's top-level objects, split and parsed by electron/msl/reader.ts. */
export const messageObjects = (exchange: Exchange, direction: Direction): any[] => splitMessage(messageBytes(exchange, direction)).map(parseObject);

/** client9's keys (client9.psk: identity, Kpe and Kph in Base64), an identity MSL's server does not know. */
export function client9Psk(): { identity: string; kpe: Uint8Array; kph: Uint8Array } {
  const [identity, kpe, kph] = readFileSync(join(MSL_VECTORS, 'client9.psk'), 'utf8').trim().split(/\s+/);
  return { identity: identity!, kpe: new Uint8Array(Buffer.from(kpe!, 'base64')), kph: new Uint8Array(Buffer.from(kph!, 'base64')) };
}

/**
 * The keys that protect a captured message's payload chunks, as MSL chooses
 * them: a response carrying a key response uses the new master token's session
 * keys; otherwise a message with a master token uses that token's; otherwise
 * the entity's pre-shared keys. Session keys come from the decoded token's
 * session data (opened with mslsrv.cfg's key); their envelope key id is MSL's
 * `<identity>_<sequencenumber>`.
 */
export function chunkKeys(exchange: Exchange, direction: Direction): { keyId: string; kpe: Uint8Array; kph: Uint8Array } {
  const view = decoded(exchange, direction);
  const token = view.headerdata?.keyresponsedata?.mastertoken?.tokendata ?? view.mastertoken?.tokendata;
  if (token === undefined) {
    const identity = view.entityauthdata.authdata.identity;
    const keys = identity === 'client9' ? client9Psk() : pskOf(identity);
    return { keyId: identity, kpe: keys.kpe, kph: keys.kph };
  }
  const session = token.sessiondata.plaintext;
  return {
    keyId: `${session.identity}_${token.sequencenumber}`,
    kpe: new Uint8Array(Buffer.from(session.encryptionkey, 'base64')),
    kph: new Uint8Array(Buffer.from(session.hmackey, 'base64')),
  };
}
