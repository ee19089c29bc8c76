// Who acted, and why (issue 22 item 3): the audit record of every operator
// action names its actor, and a destructive one may carry the operator's
// reason. Both are covered by the chain's MAC (db/repositories/audit.ts).
//
//   - The CLI: the OS user and host (user@host), read once per process.
//   - `serve`: its own rows (each worker's unlock) name `serve:user@host`;
//     the exchanges and MSL messages it answers are a device's doing and carry
//     no actor.
//   - The app: the operator name typed at unlock, kept in main for the session.

import { hostname, userInfo } from 'node:os';
import { ServiceError, ServiceErrorCode } from './errors.js';

/** Longest --reason accepted (characters). */
export const MAX_REASON_LENGTH = 1000;
/** Longest operator name accepted (characters). */
export const MAX_OPERATOR_NAME_LENGTH = 64;
/** Longest actor recorded (a long host name is cut, with a marker). */
const MAX_ACTOR_LENGTH = 128;

/** Control and format characters (C0, DEL, C1, bidi overrides, zero-width...), and line or paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export interface OsIdentity {
  userInfo(): { username: string; uid: number };
  hostname(): string;
}

const nodeOs: OsIdentity = { userInfo: () => userInfo(), hostname };

/** Keeps what is printable of a name the OS gave (never refused: it names who acted, as well as it can). */
const printable = (text: string): string => [...text].map((c) => (UNPRINTABLE.test(c) ? '?' : c)).join('');

/**
 * `user@host` of this process. userInfo() throws where the uid has no passwd
 * entry (a container run with --user 12345, say): the uid is recorded then,
 * marked as such (`uid:12345@host`), never a name taken from the environment,
 * which anyone can set.
 */
export function osActor(os: OsIdentity = nodeOs): string {
  let user: string;
  try {
    user = printable(os.userInfo().username) || `uid:${process.getuid?.() ?? '?'}`;
  } catch {
    user = `uid:${process.getuid?.() ?? '?'}`;
  }
  let host: string;
  try {
    host = printable(os.hostname()) || 'unknown-host';
  } catch {
    host = 'unknown-host';
  }
  const actor = `${user}@${host}`;
  return [...actor].length > MAX_ACTOR_LENGTH ? `${[...actor].slice(0, MAX_ACTOR_LENGTH - 1).join('')}…` : actor;
}

/** What `serve`'s own rows carry (its workers' unlocks): the server and who started it. */
export const serveActor = (os: OsIdentity = nodeOs): string => `serve:${osActor(os)}`;

/**
 * The operator name the app asks for at unlock: 1 to 64 printable
 * characters, spaces at either end dropped. It goes into every record of the
 * session in the clear, so it must not be the passphrase (typed into the
 * wrong field): refused, like any bad name, before the store is touched.
 */
export function checkOperatorName(name: unknown, passphrase?: string): string {
  const bad = (why: string) => new ServiceError(ServiceErrorCode.OPERATOR_NAME_INVALID, `The operator name ${why}. Nothing was changed.`);
  if (typeof name !== 'string') throw bad('must be text');
  const trimmed = name.trim();
  if (trimmed === '') throw bad('is empty: type the name the audit log should record for you');
  if ([...trimmed].length > MAX_OPERATOR_NAME_LENGTH) throw bad(`is longer than ${MAX_OPERATOR_NAME_LENGTH} characters`);
  if (UNPRINTABLE.test(trimmed)) throw bad('holds control characters');
  if (passphrase !== undefined && (trimmed === passphrase || trimmed === passphrase.trim())) throw bad('is the passphrase: type your name in the name field, and never a secret');
  // A run of 32 hex digits or more is what a key (Kpw, a KCV never is) looks like pasted into the wrong field.
  if (/[0-9a-f]{32,}/i.test(trimmed)) throw bad('looks like key material (32 or more hex digits): type your name, never a secret');
  return trimmed;
}

/**
 * A destructive command's --reason: recorded in its audit row as given, so
 * at most 1,000 characters and nothing unprintable (a newline or an escape
 * sequence would forge lines in `audit list`). Empty or absent: none.
 */
export function checkReason(reason: unknown): string | null {
  if (reason === undefined || reason === null || reason === '') return null;
  if (typeof reason !== 'string') throw new ServiceError(ServiceErrorCode.REASON_INVALID, 'The reason must be text. Nothing was changed.');
  if ([...reason].length > MAX_REASON_LENGTH) throw new ServiceError(ServiceErrorCode.REASON_INVALID, `The reason is ${[...reason].length.toLocaleString('en-US')} characters long; at most ${MAX_REASON_LENGTH.toLocaleString('en-US')} are recorded. Nothing was changed.`);
  if (UNPRINTABLE.test(reason)) throw new ServiceError(ServiceErrorCode.REASON_INVALID, 'The reason holds control characters (a newline, a tab, an escape sequence): give it on one line of printable text. Nothing was changed.');
  return reason;
}
