// Files the commands read: keys, recipients' JWKs, exports, import files. A
// file that cannot be read names its role and path; a file that is not what
// its role needs says so without quoting it (it may hold keys).

import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { DeviceKeyInput, GroupKeyInput } from '../services/api.js';
import type { OpenProtection } from '../services/bundles.js';
import type { BundleProtection } from '../services/types.js';
import type { Context } from './command.js';
import { CliError, CliErrorCode, unreadable } from './errors.js';
import type { CliIo } from './io.js';
import { readNewPassphrase, readPassphrase } from './passphrase.js';
import { checkAdHocRecipient, unsignedRefused } from '../services/bundles.js';
import { readStrictJson } from '../services/strictJsonInput.js';
import { visible } from '../shared/visibleText.js';

/** The text of `path` ("-": stdin), as the file of `role`. */
export function readTextFile(path: string, role: string, io?: CliIo): string {
  try {
    return path === '-' && io ? io.readStdin() : readFileSync(path, 'utf8');
  } catch {
    throw unreadable(role, path === '-' ? 'stdin' : path);
  }
}

/**
 * Refuses now, with FILE_UNREADABLE (exit 2) as every other missing file,
 * a file a service will read itself (a backup, an audit archive): missing,
 * not a regular file, or not readable by us. Checked before any prompt, so
 * a typo costs no passphrase; the service still refuses what it cannot open.
 */
export function checkReadableFile(path: string, role: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!fstatSync(fd).isFile()) throw new Error('not a regular file');
  } catch {
    throw unreadable(role, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A JSON object from `path`, read strictly as requests are (a member named
 * twice is DUPLICATE_MEMBER, naming the member and where; deeper than
 * MAX_JSON_DEPTH is JSON_TOO_DEEP); what is wrong with it is said without
 * its content.
 */
export function readJsonObject(path: string, role: string, io?: CliIo): Record<string, unknown> {
  const text = readTextFile(path, role, io);
  const shown = path === '-' ? 'stdin' : `'${path}'`;
  const parsed = readStrictJson(text, `${role} file ${shown}`, () => new CliError(CliErrorCode.FILE_INVALID, `The ${role} file '${path}' is not valid JSON.`));
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  throw new CliError(CliErrorCode.FILE_INVALID, `The ${role} file '${path}' must hold one JSON object.`);
}

type KeyTriple = { kind: 'generate' } | { kind: 'pair'; enc: string; hmac: string } | { kind: 'wrap'; wrap: string };

/** Reads {enc,hmac} (the wrapping key is derived) or {wrap} from a keys file; devices and groups name them differently. */
function keyTriple(keys: Record<string, unknown> | undefined, names: { enc: string; hmac: string; wrap: string }, what: string): KeyTriple {
  if (!keys) return { kind: 'generate' };
  const { enc, hmac, wrap } = names;
  const incomplete = (message: string) => new CliError(CliErrorCode.KEYS_INCOMPLETE, message);
  const extra = Object.keys(keys).filter((k) => ![enc, hmac, wrap].includes(k));
  if (extra.length) throw incomplete(`The keys file has unknown members (${extra.slice(0, 5).map((k) => visible(k, 20)).join(', ')}); a ${what} takes ${enc}+${hmac}, or ${wrap}.`);
  const has = (k: string) => keys[k] !== undefined;
  if (has(enc) || has(hmac)) {
    if (has(wrap)) throw incomplete(`Give ${enc}+${hmac} (${wrap} is derived from them) or ${wrap}, not both.`);
    if (!has(hmac)) throw incomplete(`${enc} needs ${hmac}: the keys file has ${enc} but not its partner ${hmac}.`);
    if (!has(enc)) throw incomplete(`${hmac} needs ${enc}: the keys file has ${hmac} but not its partner ${enc}.`);
    return { kind: 'pair', enc: String(keys[enc]), hmac: String(keys[hmac]) };
  }
  if (has(wrap)) return { kind: 'wrap', wrap: String(keys[wrap]) };
  throw incomplete(`The keys file needs ${enc}+${hmac}, or ${wrap}.`);
}

/** --keys FILE for a device: generated keys when there is none. */
export function deviceKeys(ctx: Context): DeviceKeyInput {
  const t = keyTriple(ctx.values.keys === undefined ? undefined : readJsonObject(ctx.values.keys, 'keys', ctx.io), { enc: 'kpe', hmac: 'kph', wrap: 'kpw' }, 'device');
  return t.kind === 'pair' ? { kind: 'kpe-kph', kpe: t.enc, kph: t.hmac } : t.kind === 'wrap' ? { kind: 'kpw', kpw: t.wrap } : t;
}

export function groupKeys(ctx: Context): GroupKeyInput {
  const t = keyTriple(ctx.values.keys === undefined ? undefined : readJsonObject(ctx.values.keys, 'keys', ctx.io), { enc: 'kde', hmac: 'kdh', wrap: 'kdw' }, 'group');
  return t.kind === 'pair' ? { kind: 'kde-kdh', kde: t.enc, kdh: t.hmac } : t.kind === 'wrap' ? { kind: 'kdw', kdw: t.wrap } : t;
}

const bundlePassphrase = (ctx: Context) => ({ files: [{ flag: 'bundle-passphrase-file', path: ctx.values['bundle-passphrase-file'] }], env: ['KEYLADDER_BUNDLE_PASSPHRASE'], what: 'bundle passphrase' });

/**
 * How an export is protected: signed and encrypted to the keyring recipient
 * --to, to --recipient's public RSA key file (checked here, before the store
 * is unlocked, as the keyring checks keys), or to a new passphrase.
 */
export async function protection(ctx: Context): Promise<BundleProtection> {
  const { to, recipient } = ctx.values;
  const others = [recipient !== undefined && '--recipient', ctx.values['bundle-passphrase-file'] !== undefined && '--bundle-passphrase-file'].filter(Boolean);
  if (to !== undefined) {
    if (others.length) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `--to names the recipient; ${others.join(' and ')} cannot go with it.`);
    return { kind: 'recipient', kid: to };
  }
  if (recipient !== undefined) {
    if (others.length > 1) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, '--recipient and --bundle-passphrase-file cannot go together: the export is to one or the other.');
    const text = readTextFile(recipient, 'recipient key');
    // A JWK that is not even JSON is a file problem, said without its content, as for every JSON file.
    return { kind: 'rsa', publicJwk: checkAdHocRecipient(text.trim().startsWith('-----BEGIN') ? text : JSON.stringify(readJsonObject(recipient, 'recipient key'))) };
  }
  // The store's passphrase first, then the new one for the bundle: each prompt says which it is.
  await ctx.unlock();
  return { kind: 'passphrase', passphrase: await readNewPassphrase({ ...bundlePassphrase(ctx), what: 'new bundle passphrase (whoever opens this bundle needs it)' }, ctx.io) };
}

/** What an export's report adds when it went to a keyring recipient: who can open it, and that it is signed. */
export function recipientNote(p: BundleProtection): { text: string; machine: { to?: string; signed?: true } } {
  return p.kind === 'recipient'
    ? { text: ` Signed by this KeyLadder (identity jwks) and encrypted to ${p.kid}.`, machine: { to: p.kid, signed: true } }
    : { text: '', machine: {} };
}

/** The kid in a compact JWE's protected header, if it names one. */
function kidOf(jwe: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(jwe.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/** How a peer's export is opened, for the import commands' help. */
export const IMPORT_DETAILS = 'An export that names a kid (made --to this KeyLadder\'s key) is opened with the own key of that kid, and its\n' +
  'signature must verify with a sig key the keyring pins (recipient add FILE --use sig). A passphrase export\n' +
  '(--bundle-passphrase-file or $KEYLADDER_BUNDLE_PASSPHRASE) or one to an RSA key (--private-key) is not signed:\n' +
  'it needs --unsigned, and the audit log records it (SIGNATURE_REQUIRED otherwise).';

/**
 * How a peer's export is opened: --private-key's private RSA JWK, the
 * passphrase of --bundle-passphrase-file, this KeyLadder's keyring when the
 * JWE names a kid, or else a passphrase (environment or prompt). Anything
 * but a signed nested JWT needs --unsigned.
 */
export async function peerProtection(ctx: Context, jwe: string): Promise<OpenProtection> {
  const unsigned = ctx.values.unsigned === true;
  if (ctx.values['private-key'] !== undefined) return { kind: 'rsa', privateJwk: readJsonObject(ctx.values['private-key'], 'private key'), unsigned };
  if (ctx.values['bundle-passphrase-file'] === undefined && kidOf(jwe) !== undefined) return { kind: 'keyring', unsigned };
  // Refused before a prompt asks for a passphrase that would open nothing.
  if (!unsigned) throw unsignedRefused('A passphrase export');
  return { kind: 'passphrase', passphrase: await readPassphrase({ ...bundlePassphrase(ctx), what: 'export passphrase' }, ctx.io), unsigned };
}

/** A compact JWE export from a file (issuer import, revocation import, init --join). */
export const readExport = (path: string, role: string): string => readTextFile(path, role).trim();
