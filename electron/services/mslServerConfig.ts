// What the app imports from an MSL server's own configuration (mslsrv.cfg in
// MSL's sample: `name value` lines, # comments): its master-token keys
// (msl.key.enc, msl.key.hmac) and its RSA key pairs (msl.rsa.id.N,
// msl.rsa.pub.N, msl.rsa.priv.N). Main reads the file the operator chooses in
// its own dialog; the keys never pass through the renderer. The master-token
// keys may also come as the CLI's {"enc": …, "hmac": …} JSON. Nothing here
// quotes a value in an error: they are keys.

import { parseStrictJson } from '../encoding/strictJson.js';
import { ServiceError, ServiceErrorCode } from './errors.js';

/** No MSL config, nor a key file, comes near this: a bigger one is refused before it is read. */
export const MAX_MSL_CONFIG_BYTES = 256 * 1024;

/** The reason beside INVALID_KEY when master-token keys (msl.key.enc, msl.key.hmac) are missing or malformed. */
export const MSL_TOKEN_KEYS_REASON = 'MSL_TOKEN_KEYS';

/** One RSA key pair of the config, by its index N. */
export interface MslConfigRsaKey {
  readonly index: number;
  readonly keyId?: string;
  readonly publicKey?: string;
  readonly privateKey?: string;
}

const LINE = /^([A-Za-z0-9_.*-]+)[ \t]+(.*)$/;

/** The `name value` settings of an MSL config (the last one wins, as MSL's Properties do). */
function settings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** Whether the text is an MSL config naming any RSA private key (else it is read as a key file). */
export function mslConfigRsaKeys(text: string): MslConfigRsaKey[] {
  const all = settings(text);
  const byIndex = new Map<number, { keyId?: string; publicKey?: string; privateKey?: string }>();
  for (const [name, value] of all) {
    const m = /^msl\.rsa\.(id|pub|priv)\.(\d{1,4})$/.exec(name);
    if (!m) continue;
    const entry = byIndex.get(Number(m[2])) ?? {};
    if (m[1] === 'id') entry.keyId = value;
    else if (m[1] === 'pub') entry.publicKey = value;
    else entry.privateKey = value;
    byIndex.set(Number(m[2]), entry);
  }
  return [...byIndex].filter(([, e]) => e.privateKey !== undefined).sort(([a], [b]) => a - b).map(([index, e]) => ({ index, ...e }));
}

/**
 * The private key to import, the public key its clients pin (when the file says), and its key id:
 * from an MSL config (the pair named `keyId`, or its only pair), or a key file as it is.
 */
export function identityFromText(text: string, keyId?: string): { privateKey: string; publicKey?: string; keyId?: string } {
  if (text.includes('-----BEGIN')) return { privateKey: text, ...(keyId === undefined ? {} : { keyId }) };
  const pairs = mslConfigRsaKeys(text);
  if (pairs.length === 0) return { privateKey: text, ...(keyId === undefined ? {} : { keyId }) };
  // One pair that names no key id (a bare msl.rsa.priv.N line) takes the one given.
  const lone = pairs.length === 1 ? pairs[0] : undefined;
  const chosen = keyId === undefined ? lone : pairs.find((p) => p.keyId === keyId) ?? (lone?.keyId === undefined ? lone : undefined);
  if (chosen === undefined) {
    const ids = pairs.map((p) => p.keyId ?? `#${p.index}`).join(', ');
    throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, keyId === undefined
      ? `The MSL config holds ${pairs.length} RSA key pairs (${ids}): give the key id of the one to import. Nothing was changed.`
      : `The MSL config holds no RSA key pair with that key id (it holds ${ids}). Nothing was changed.`);
  }
  const kid = keyId ?? chosen.keyId;
  return { privateKey: chosen.privateKey!, ...(chosen.publicKey === undefined ? {} : { publicKey: chosen.publicKey }), ...(kid === undefined ? {} : { keyId: kid }) };
}

/** msl.key.enc and msl.key.hmac (hex), from an MSL config or the CLI's {"enc","hmac"} JSON. */
export function tokenKeysFromText(text: string): { enc: string; hmac: string } {
  const incomplete = () => new ServiceError(ServiceErrorCode.INVALID_KEY, 'The file holds no master-token keys: give an MSL server config with msl.key.enc and msl.key.hmac lines, or {"enc":"<32 hex digits>","hmac":"<64 hex digits>"}. Nothing was changed.', undefined, MSL_TOKEN_KEYS_REASON);
  if (text.trimStart().startsWith('{')) {
    const parsed = parseStrictJson(text);
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) throw incomplete();
    const v = parsed.value as Record<string, unknown>;
    if (Object.keys(v).some((k) => k !== 'enc' && k !== 'hmac') || typeof v['enc'] !== 'string' || typeof v['hmac'] !== 'string') throw incomplete();
    return { enc: v['enc'], hmac: v['hmac'] };
  }
  const all = settings(text);
  const enc = all.get('msl.key.enc');
  const hmac = all.get('msl.key.hmac');
  if (enc === undefined || hmac === undefined) throw incomplete();
  return { enc, hmac };
}
