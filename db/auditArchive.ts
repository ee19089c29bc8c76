// Audit archive files (audit archive, issue 19 item 8): the entries moved out
// of the store before a trim, with their chain MACs, so that the file proves
// itself under the store's audit key, and its SHA-256 is named by the
// audit.archive record that stays in the store's chain.
//
// The file is JSON Lines, written to a temporary file, fsynced, then moved in
// place (db/files.ts publishFile, which fsyncs the folder):
//   {"format":"keyladder-audit-archive","version":2,"storeId","from","to","prev","createdAt"}
//   {"seq","at","action","outcome","subject","details","actor"?,"reason"?,"mac"}   one per entry, in order
// Version 2 (schema 11) adds an entry's actor and reason, when it has them, which its MAC covers;
// a version 1 file (no actors) is read as before.
//   {"end":true,"entries","mac"}
// `prev` is the MAC the first entry chains from (zeros for entry 1, else the
// last entry of the archive before), `mac` the last entry's: the store's cut.
// An archive never replaces a file: an older archive is never overwritten.

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { StoreError, StoreErrorCode } from './errors.js';
import { asUnwritable, checkOutput, openNewFile, publishFile } from './files.js';
import type { AuditDetails, AuditRepository } from './repositories/audit.js';

export const ARCHIVE_FORMAT = 'keyladder-audit-archive';
/** What this KeyLadder writes; it reads 1 (before actors) too. */
const ARCHIVE_VERSION = 2;

export interface ArchiveRange {
  readonly from: number;
  readonly to: number;
  /** The MAC entry `from` chains from. */
  readonly prev: Buffer;
}

export interface WrittenArchive {
  readonly entries: number;
  /** The last entry's MAC: where the kept chain will start. */
  readonly mac: Buffer;
  readonly sha256: string;
}

/** Writes entries range.from..range.to of `audit` to a new file at `path`, fsynced before it appears there. */
export function writeAuditArchive(audit: AuditRepository, storeId: string, range: ArchiveRange, path: string, createdAt: string): WrittenArchive {
  checkOutput(path, false);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const digest = createHash('sha256');
  let entries = 0;
  let mac = range.prev;
  try {
    const fd = openNewFile(tmp);
    try {
      let pending: string[] = [];
      const put = (value: unknown) => {
        pending.push(`${JSON.stringify(value)}\n`);
        if (pending.length >= 1000) drain();
      };
      const drain = () => {
        const bytes = Buffer.from(pending.join(''), 'utf8');
        pending = [];
        writeSync(fd, bytes);
        digest.update(bytes);
      };
      put({ format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, storeId, from: range.from, to: range.to, prev: range.prev.toString('hex'), createdAt });
      for (const row of audit.chained(range.from, range.to)) {
        if (row.seq !== range.from + entries) throw new Error(`audit entry ${range.from + entries} is missing`);
        put({
          seq: row.seq, at: row.at, action: row.action, outcome: row.outcome, subject: row.subject, details: row.details,
          ...(row.actor !== null ? { actor: row.actor } : {}), ...(row.reason !== null ? { reason: row.reason } : {}), mac: row.mac.toString('hex'),
        });
        mac = row.mac;
        entries += 1;
      }
      if (entries !== range.to - range.from + 1) throw new Error(`audit entries ${range.from} to ${range.to} are not all there`);
      put({ end: true, entries, mac: mac.toString('hex') });
      drain();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    publishFile(tmp, path, false);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // Not made, or already moved in place.
    }
    throw asUnwritable(e, path);
  }
  return { entries, mac, sha256: digest.digest('hex') };
}

export interface ArchiveCheck {
  readonly ok: boolean;
  readonly from: number;
  readonly to: number;
  readonly entries: number;
  /** The last entry's MAC (hex), and the file's SHA-256 (hex). */
  readonly mac: string;
  readonly sha256: string;
  /** Whether every entry's MAC was recomputed under this store's audit key (not after a rekey). */
  readonly macsChecked: boolean;
  readonly problem?: string;
}

const invalid = (message: string) => new StoreError(StoreErrorCode.ARCHIVE_INVALID, message);

/** Reads `path` line by line (an archive may hold millions of entries). */
function* linesOf(path: string, digest: ReturnType<typeof createHash>): IterableIterator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw invalid(`Cannot read the archive file ${path}.`);
  }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let rest = '';
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      digest.update(chunk.subarray(0, n));
      const text = rest + chunk.toString('utf8', 0, n);
      const lines = text.split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

const parse = (line: string, what: string): Record<string, unknown> => {
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw invalid(`The archive's ${what} is not a JSON object: the file is damaged or altered.`);
};

/**
 * Reads an archive file of this store and checks that its entries follow
 * each other and end where its last line says. With `checkMacs`, every
 * entry's MAC is computed again under `audit`'s key: the archive proves
 * itself. (After a rekey the key is another one; then only its SHA-256,
 * named by the chain, ties it to the store.) A damaged file is a finding, not
 * an error: ok false and the problem.
 */
export function checkAuditArchive(path: string, audit: AuditRepository, storeId: string, checkMacs: boolean): ArchiveCheck {
  const digest = createHash('sha256');
  let header: Record<string, unknown> | undefined;
  let end: Record<string, unknown> | undefined;
  let from = 0;
  let to = 0;
  let entries = 0;
  let prev = Buffer.alloc(32);
  let problem: string | undefined;
  for (const line of linesOf(path, digest)) {
    if (problem !== undefined) continue; // read on, for the digest
    if (header === undefined) {
      header = parse(line, 'first line');
      if (header['format'] !== ARCHIVE_FORMAT || (header['version'] !== 1 && header['version'] !== ARCHIVE_VERSION)) throw invalid('This is no KeyLadder audit archive.');
      if (header['storeId'] !== storeId) throw invalid('The archive belongs to another store.');
      from = Number(header['from']);
      to = Number(header['to']);
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from || typeof header['prev'] !== 'string' || !/^[0-9a-f]{64}$/.test(header['prev'])) {
        problem = 'The archive\'s first line is altered.';
        continue;
      }
      prev = Buffer.from(header['prev'], 'hex');
      continue;
    }
    if (end !== undefined) {
      problem = 'The archive goes on after its last line.';
      continue;
    }
    const row = parse(line, `line ${entries + 2}`);
    if (row['end'] === true) {
      end = row;
      continue;
    }
    const seq = from + entries;
    if (row['seq'] !== seq) {
      problem = `Entry ${seq} is missing from the archive (the next one is ${String(row['seq'])}).`;
      continue;
    }
    if (typeof row['mac'] !== 'string' || !/^[0-9a-f]{64}$/.test(row['mac'])) {
      problem = `Entry ${seq} of the archive has no MAC.`;
      continue;
    }
    const mac = Buffer.from(row['mac'], 'hex');
    if (checkMacs) {
      // An entry without an actor or a reason is MACed without them (AuditRepository's canonical form).
      const record = {
        seq, at: row['at'] as string, action: row['action'] as string, outcome: row['outcome'] as 'ok' | 'refused', subject: row['subject'] as string | null, details: row['details'] as AuditDetails,
        actor: (row['actor'] ?? null) as string | null, reason: (row['reason'] ?? null) as string | null,
      };
      if (!audit.macOf(prev, record).equals(mac)) {
        problem = `Entry ${seq} of the archive does not match the chain: it, or an entry before it, was edited, or the archive is not this store's.`;
        continue;
      }
    }
    prev = mac;
    entries += 1;
  }
  if (header === undefined) throw invalid('The archive file is empty.');
  const sha256 = digest.digest('hex');
  const mac = prev.toString('hex');
  if (problem === undefined && end === undefined) problem = 'The archive has no last line: it was cut short.';
  if (problem === undefined && (entries !== to - from + 1 || end!['entries'] !== entries || end!['mac'] !== mac)) {
    problem = `The archive holds ${entries} entries ending in another MAC than its last line names: entries were removed or added.`;
  }
  return { ok: problem === undefined, from, to, entries, mac, sha256, macsChecked: checkMacs, ...(problem === undefined ? {} : { problem }) };
}
