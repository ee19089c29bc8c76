// The in-app responder's last MSL messages, for the Responder screen's live
// list: a bounded ring in main's memory, gone at a restart or a lock (the
// audit log is the durable record). Each row is what the responder audited
// for the message (services/mslResponder.ts hands its audit details back in
// MslOutcome.summary: nothing is parsed twice) plus what it sent back and how
// long it took. A row holds no key material and no payload bytes.
//
// The request's bytes are kept for the row's detail (decoded on demand by
// mslInspect), within two caps: one message's bytes are kept only up to
// MSL_LOG_MESSAGE_BYTES, and all kept bytes together stay under
// MSL_LOG_TOTAL_BYTES by letting go of the oldest rows' bytes first. A row
// whose bytes were not kept says why.

import type { MslOutcome } from './services/api.js';

/** Rows kept: the newest ones. */
export const MSL_LOG_ROWS = 200;
/** A request larger than this is listed, but its bytes are not kept. */
export const MSL_LOG_MESSAGE_BYTES = 64 * 1024;
/** All kept request bytes together. */
export const MSL_LOG_TOTAL_BYTES = 8 * 1024 * 1024;

/** What a message was, for the list and the charts. */
export type MslMessageKind = 'key-exchange' | 'data' | 'handshake' | 'refused' | 'unavailable';

export interface MslMessageRow {
  /** Increasing from 1 for the app's run: the list's cursor. */
  readonly id: number;
  readonly at: string;
  readonly identity: string | null;
  /** PSK, MGK (entity auth) or MASTERTOKEN with the presented token's serial and sequence; null when the header did not parse. */
  readonly entityAuth: { readonly scheme: string; readonly serial?: number; readonly sequence?: number } | null;
  /**
   * The JWE_LADDER key request the message carried (its mechanism), and whether the responder
   * answered it (MSL answers one only on first contact, once the token's renewal window has
   * opened, or when it expired); null when it carried none.
   */
  readonly keyExchange: { readonly mechanism: string; readonly answered: boolean } | null;
  readonly handshake: boolean;
  /** The request's application data (once opened); null when refused before it was read. */
  readonly payloadBytesIn: number | null;
  readonly payloadBytesOut: number;
  /** The whole request's size as it arrived. */
  readonly requestBytes: number;
  readonly outcome: 'answered' | 'refused' | 'unavailable';
  /** A refusal: the MSL error's name and internal code (or, unavailable, the store's code), and a reason code when there is one. */
  readonly error?: { readonly name: string; readonly internalCode?: number; readonly reason?: string };
  /** The master token the key exchange issued. */
  readonly issued?: { readonly serial: number; readonly sequence: number };
  readonly kind: MslMessageKind;
  /** The services' time to answer, in milliseconds. */
  readonly latencyMs: number;
  /** Whether the request's bytes are kept for the detail; when not, why. */
  readonly kept: boolean;
  readonly notKept?: 'message-cap' | 'total-cap';
}

export interface MslMessagePage {
  /** Rows newer than the cursor asked for, newest first. */
  readonly rows: readonly MslMessageRow[];
  /** The oldest held row's id (null when empty): a screen drops the rows it shows that are older. */
  readonly oldest: number | null;
  /** The newest row's id: pass it back to get only what is newer. */
  readonly cursor: number;
  /** Rows the list holds now, and at most. */
  readonly held: number;
  readonly capacity: number;
  /** Ids of the held rows whose bytes were let go of since they were listed (the screen marks them). */
  readonly released: readonly number[];
}

interface Entry {
  row: MslMessageRow;
  bytes: Uint8Array | undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The row's fields from the responder's outcome (its audit details). */
export function describeMslMessage(outcome: MslOutcome): Pick<MslMessageRow, 'identity' | 'entityAuth' | 'keyExchange' | 'handshake' | 'payloadBytesIn' | 'payloadBytesOut' | 'outcome' | 'error' | 'issued' | 'kind'> {
  const d = outcome.summary?.details ?? {};
  const scheme = str(d['scheme']);
  const serial = num(d['serial']);
  const sequence = num(d['sequence']);
  // details.mechanism: the exchange the responder ran; summary.keyRequest: what the message asked for.
  const mechanism = str(d['mechanism']);
  const requested = outcome.summary?.keyRequest ?? mechanism;
  const handshake = d['handshake'] === true;
  const answered = outcome.kind === 'answered';
  const name = answered ? undefined : (str(d['code']) ?? outcome.code ?? 'UNKNOWN');
  const internalCode = num(d['internalCode']);
  const reason = str(d['reason']);
  const kind: MslMessageKind = outcome.kind === 'unavailable' ? 'unavailable' : !answered ? 'refused' : handshake ? 'handshake' : mechanism !== undefined ? 'key-exchange' : 'data';
  const issued = outcome.summary?.issued;
  return {
    identity: outcome.identity ?? null,
    entityAuth: scheme === undefined ? null : { scheme, ...(serial === undefined ? {} : { serial }), ...(sequence === undefined ? {} : { sequence }) },
    keyExchange: requested === undefined ? null : { mechanism: requested, answered: answered && mechanism !== undefined },
    handshake,
    payloadBytesIn: num(d['payloadBytes']) ?? null,
    payloadBytesOut: outcome.summary?.payloadBytesOut ?? 0,
    outcome: answered ? 'answered' : outcome.kind === 'error-header' ? 'refused' : 'unavailable',
    ...(name === undefined ? {} : { error: { name, ...(internalCode === undefined ? {} : { internalCode }), ...(reason === undefined ? {} : { reason }) } }),
    ...(answered && issued ? { issued: { serial: issued.serial, sequence: issued.sequence } } : {}),
    kind,
  };
}

export class MslMessageLog {
  readonly #entries: Entry[] = [];
  #nextId = 1;
  #keptBytes = 0;
  /** Rows whose bytes went for the total cap after they were added (named in every page while they are held). */
  readonly #released = new Set<number>();

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly limits: { readonly rows: number; readonly messageBytes: number; readonly totalBytes: number } = { rows: MSL_LOG_ROWS, messageBytes: MSL_LOG_MESSAGE_BYTES, totalBytes: MSL_LOG_TOTAL_BYTES },
  ) {}

  /** One message the responder answered (or refused): listed, its bytes copied when the caps allow. */
  add(request: Uint8Array, outcome: MslOutcome, latencyMs: number): MslMessageRow {
    const fitsOne = request.length <= this.limits.messageBytes && request.length <= this.limits.totalBytes;
    const row: MslMessageRow = {
      id: this.#nextId++,
      at: this.now().toISOString(),
      ...describeMslMessage(outcome),
      requestBytes: request.length,
      latencyMs: Math.round(latencyMs * 1000) / 1000,
      kept: fitsOne,
      ...(fitsOne ? {} : { notKept: 'message-cap' as const }),
    };
    const entry: Entry = { row, bytes: fitsOne ? Uint8Array.from(request) : undefined };
    this.#entries.push(entry);
    if (entry.bytes) this.#keptBytes += entry.bytes.length;
    while (this.#entries.length > this.limits.rows) this.#drop(this.#entries.shift()!);
    // Over the total: the oldest rows' bytes go first (the rows stay listed).
    for (let i = 0; this.#keptBytes > this.limits.totalBytes && i < this.#entries.length; i++) {
      const old = this.#entries[i]!;
      if (old.bytes === undefined) continue;
      this.#keptBytes -= old.bytes.length;
      old.bytes = undefined;
      old.row = { ...old.row, kept: false, notKept: 'total-cap' };
      this.#released.add(old.row.id);
    }
    return row;
  }

  #drop(entry: Entry): void {
    if (entry.bytes) this.#keptBytes -= entry.bytes.length;
    this.#released.delete(entry.row.id);
  }

  /** Rows newer than `after` (all with 0), newest first. */
  page(after = 0): MslMessagePage {
    const rows: MslMessageRow[] = [];
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const row = this.#entries[i]!.row;
      if (row.id <= after) break;
      rows.push(row);
    }
    return { rows, oldest: this.#entries[0]?.row.id ?? null, cursor: this.#nextId - 1, held: this.#entries.length, capacity: this.limits.rows, released: [...this.#released] };
  }

  /** One held row and a copy of its kept bytes (undefined when not kept), or undefined when the row is no longer held. */
  get(id: number): { row: MslMessageRow; bytes: Uint8Array | undefined } | undefined {
    const entry = this.#entries.find((e) => e.row.id === id);
    return entry === undefined ? undefined : { row: entry.row, bytes: entry.bytes === undefined ? undefined : Uint8Array.from(entry.bytes) };
  }

  /** Bytes kept now (for tests and the cap). */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Forgets everything (the store locked); ids keep increasing so a screen's cursor stays valid. */
  clear(): void {
    for (const e of this.#entries) e.bytes?.fill(0);
    this.#entries.length = 0;
    this.#keptBytes = 0;
    this.#released.clear();
  }
}
