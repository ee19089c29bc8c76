// The app's own log file: JSON lines (pino) in <userData>/logs/keyladder.log,
// rotated by size (rotating-file-stream, classical numbering: keyladder.log.1
// is the newest rotated file, keyladder.log.N the oldest, and nothing older is
// kept). A packaged app has no console: this file is where main's events go.
// Electron-free, so it is tested under plain Node; main.ts only opens it.
//
// What it logs: the app's start and quit, store create/unlock/lock (outcome and
// error code, never a passphrase), the responder's start and stop lines and its
// access entries (the fields serve's --log-format json writes), and errors with
// their codes. Never key material, by two rules:
// - structural: a line holds only allow-listed fields (ALLOWED_FIELDS), each a
//   string, number or boolean; anything else (a nested object, a Buffer, a
//   field nobody listed) is dropped before it is written;
// - pino's redact paths, for a key-like name that got onto the list by mistake.
// A long run of hex in a string (a 128-bit key or more) is blanked as well.
// The folder is owner-only (0700), the files too (0600): they name devices.

import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { createStream } from 'rotating-file-stream';
import type { AccessEntry } from './server/httpResponder.js';

export const LOG_FOLDER = 'logs';
export const LOG_FILE = 'keyladder.log';
/** A file is rotated once it reaches this size (5 MiB). */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
/** Rotated files kept besides the live one: at most 6 files, 30 MiB in all. */
export const DEFAULT_ROTATED_FILES = 5;

/**
 * Lines waiting for the disk beyond this (1 MiB) are dropped, and counted in a line of their own
 * once the disk catches up: a responder under load must not grow main's memory (as serve's
 * access log, server/accessLog.ts).
 */
export const DEFAULT_MAX_PENDING_BYTES = 1 << 20;

export type AppLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What happened: the line's `msg`. */
export type AppLogEvent =
  | 'app.start' | 'app.quit' | 'app.start-failed'
  | 'store.create' | 'store.unlock' | 'store.lock' | 'store.rekey' | 'store.restore' | 'store.passphrase-change'
  | 'responder' | 'request'
  | 'ipc.refused' | 'ipc.untrusted-sender' | 'ipc.error'
  | 'keychain' | 'error' | 'log.dropped';

/** The only fields a line may carry (besides pino's level, time, pid and msg). */
export const ALLOWED_FIELDS: ReadonlySet<string> = new Set([
  // the app and its runtime
  'version', 'electron', 'node', 'platform', 'arch', 'logFile',
  // outcomes and errors: a stable code, and a message our errors write without secrets
  'outcome', 'code', 'message', 'reason', 'channel', 'sender',
  // the responder: its own lines, and the access entry's fields (AccessEntry)
  'line', 'reqId', 'addr', 'method', 'url', 'status', 'ms', 'detail',
  // the log's own note of lines it dropped
  'dropped',
]);

/** Key-like names, censored wherever they sit, should one ever get onto ALLOWED_FIELDS. */
const KEY_LIKE = ['passphrase', 'password', 'secret', 'token', 'authorization', 'key', 'keys', 'privateJwk', 'jwk', 'kpw', 'kpe', 'kph', 'kde', 'kdh', 'kdw', 'kissuer', 'storeKey'];
export const REDACT_PATHS: readonly string[] = KEY_LIKE.flatMap((name) => [name, `*.${name}`]);

const MAX_STRING = 500;
/** 32 hex digits or more: a 128-bit key written in hex. */
const LONG_HEX = /[0-9a-fA-F]{32,}/g;

type Field = string | number | boolean;
export type AppLogFields = Readonly<Record<string, unknown>>;

/** The structural rule: allow-listed fields with primitive values only, strings bounded and without long hex. */
export function allowListed(fields: AppLogFields): Record<string, Field> {
  const out: Record<string, Field> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!ALLOWED_FIELDS.has(name)) continue;
    if (typeof value === 'string') out[name] = value.slice(0, MAX_STRING).replace(LONG_HEX, '[hex]');
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') out[name] = value;
  }
  return out;
}

/** An error as a line's fields: its stable code (INTERNAL_ERROR when it has none) and its message. */
export function errorFields(error: unknown): { code: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    code: typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'INTERNAL_ERROR',
    message: error instanceof Error ? error.message : String(error),
  };
}

export interface AppLogOptions {
  /** Rotate at this many bytes (default DEFAULT_MAX_BYTES). */
  readonly maxBytes?: number;
  /** Rotated files kept (default DEFAULT_ROTATED_FILES). */
  readonly rotatedFiles?: number;
  readonly level?: AppLogLevel;
  /** Bytes that may wait for the disk before lines are dropped (default DEFAULT_MAX_PENDING_BYTES). */
  readonly maxPendingBytes?: number;
  /** Where to say that the log itself failed (a full disk): main's stderr. */
  readonly onFailure?: (error: Error) => void;
}

export interface AppLog {
  /** The live file: <userData>/logs/keyladder.log. */
  readonly file: string;
  debug(event: AppLogEvent, fields?: AppLogFields): void;
  info(event: AppLogEvent, fields?: AppLogFields): void;
  warn(event: AppLogEvent, fields?: AppLogFields): void;
  error(event: AppLogEvent, fields?: AppLogFields): void;
  /** A failure: its code and message, at `level` (error by default). */
  failure(event: AppLogEvent, error: unknown, fields?: AppLogFields, level?: AppLogLevel): void;
  /** One request of the app's responder, as serve's JSON access log writes it (warn for a 503, error for another 5xx). */
  request(entry: AccessEntry): void;
  /** Writes what is queued and closes the file (before the app quits). */
  close(): Promise<void>;
}

/** Owner-only: the folder 0700, every log file in it 0600 (files left by an older build or a looser umask included). */
function ownerOnly(dir: string, rotatedFiles: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (let i = 0; i <= rotatedFiles; i++) {
    const file = path.join(dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`);
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/** Opens (or creates) the log in `<userData>/logs`, appending to the live file. */
export function openAppLog(userData: string, options: AppLogOptions = {}): AppLog {
  const dir = path.join(userData, LOG_FOLDER);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const rotatedFiles = options.rotatedFiles ?? DEFAULT_ROTATED_FILES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError('maxBytes is a positive integer.');
  if (!Number.isInteger(rotatedFiles) || rotatedFiles < 1) throw new RangeError('rotatedFiles is a positive integer.');
  ownerOnly(dir, rotatedFiles);
  // rotate: N is logrotate's numbering (the live name never changes); mode: new files are 0600
  // (a rotation renames, which keeps the mode).
  // As a plain Writable: its typed event map leans on a WritableEventMap that @types/node 22 lacks.
  const stream: Writable = createStream(LOG_FILE, { path: dir, size: `${maxBytes}B`, rotate: rotatedFiles, mode: 0o600 });
  let failed = false;
  stream.on('error', (error: Error) => {
    // The stream destroys itself: the app goes on without its log, and says so once.
    if (!failed) options.onFailure?.(error);
    failed = true;
  });
  const maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  let dropped = 0;
  // Written as pino would write it (the note itself is never dropped).
  const dropNote = (): string => `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), pid: process.pid, msg: 'log.dropped', dropped })}\n`;
  const write = (line: string): void => {
    if (failed || stream.destroyed) return;
    if (stream.writableLength > maxPending) {
      dropped += 1;
      return;
    }
    if (dropped > 0) {
      stream.write(dropNote());
      dropped = 0;
    }
    stream.write(line);
  };
  const logger: Logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (fields) => allowListed(fields) },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    { write },
  );
  const at = (level: AppLogLevel) => (event: AppLogEvent, fields: AppLogFields = {}) => logger[level](fields, event);
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return {
    file: path.join(dir, LOG_FILE),
    ...log,
    failure(event, error, fields = {}, level = 'error') {
      log[level](event, { ...fields, ...errorFields(error) });
    },
    request(entry) {
      const level = entry.status === 503 ? 'warn' : entry.status >= 500 ? 'error' : 'info';
      log[level]('request', { reqId: entry.requestId, addr: entry.addr, method: entry.method, url: entry.url, status: entry.status, ms: entry.ms, detail: entry.detail });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (stream.destroyed || stream.writableFinished) return resolve();
        // The last word on lines lost, so that it is not lost with the process.
        if (dropped > 0) {
          stream.write(dropNote());
          dropped = 0;
        }
        stream.once('close', () => resolve());
        stream.once('error', () => resolve());
        stream.end();
      });
    },
  };
}
