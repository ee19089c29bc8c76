// The shapes the services hand to their three doors (CLI, IPC, HTTP). None of
// them holds key material: keys travel only as KCVs. The renderer imports these
// types (never the code) through the IPC contract.

import type { JweProfileName } from '../jwe/keyKinds.js';
import type { Mechanism } from '../ladder/messages.js';
import type { WrapdataFormat } from '../ladder/wrapdata.js';

export type { JweProfileName, Mechanism, WrapdataFormat };

/** ISO 8601 UTC timestamps throughout. */
export type Timestamp = string;

export type DeviceStatus = 'active' | 'revoked';
export type IssuerStatus = 'active' | 'grace' | 'retired' | 'destroyed';
export type KeyOrigin = 'generated' | 'imported-kpe-kph' | 'imported-kpw';

export interface StoreStatus {
  readonly path: string;
  readonly exists: boolean;
  readonly unlocked: boolean;
  /**
   * Set after an unlock when the store's audit chain is behind (or not a
   * continuation of) the head this app saw last: an old copy of the database
   * was put back. The app keeps that head in the OS keychain.
   */
  readonly rollback?: string;
  /** Who the session's records name (actor.ts), while unlocked: the app's operator name, the CLI's user@host. */
  readonly actor?: string;
}

export interface DeviceSummary {
  readonly identity: string;
  readonly group: string | null;
  readonly status: DeviceStatus;
  readonly origin: KeyOrigin;
  /** KCVs of Kpw, and of Kpe/Kph when the store holds them. */
  readonly kcv: { readonly kpw: string; readonly kpe?: string; readonly kph?: string };
  readonly createdAt: Timestamp;
  readonly revokedAt: Timestamp | null;
  readonly lastExchangeAt: Timestamp | null;
  readonly lastMechanism: Mechanism | null;
  readonly lastGeneration: number | null;
  readonly exchangeCount: number;
  /**
   * Set when wrapdata older than the latest issued to this device came back
   * (a replay or a cloned device): since when, and how often.
   */
  readonly possibleClone: { readonly since: Timestamp; readonly events: number } | null;
  /**
   * MSL (devices.get only): the last master token issued or renewed for the
   * device (serial, sequence, expiry), and its last MSL message (time, outcome,
   * the MSL error name when refused).
   */
  readonly msl?: {
    readonly lastToken: { readonly serial: number; readonly sequence: number; readonly at: Timestamp; readonly expiresAt: Timestamp } | null;
    readonly lastMessage: { readonly at: Timestamp; readonly outcome: string; readonly code: string | null } | null;
  };
}

export interface DevicePage {
  readonly total: number;
  readonly offset: number;
  readonly items: readonly DeviceSummary[];
}

/** A page by cursor: `next` is the `after` of the next page, null after the last. */
export interface DeviceCursorPage {
  readonly items: readonly DeviceSummary[];
  readonly next: string | null;
}

export interface GroupSummary {
  readonly name: string;
  readonly origin: KeyOrigin;
  readonly kcv: { readonly kdw: string; readonly kde?: string; readonly kdh?: string };
  readonly createdAt: Timestamp;
  readonly deviceCount: number;
}

export interface IssuerGeneration {
  readonly generation: number;
  readonly status: IssuerStatus;
  readonly format: WrapdataFormat;
  readonly origin: 'generated' | 'imported-msl' | 'imported-peer';
  /** Null once destroyed. */
  readonly kcv: string | null;
  readonly createdAt: Timestamp;
  readonly activatedAt: Timestamp | null;
  /** While in grace: the end of the grace period. */
  readonly graceUntil: Timestamp | null;
  readonly retiredAt: Timestamp | null;
  readonly destroyedAt: Timestamp | null;
  readonly exchangeCount: number;
}

export type AuditAction =
  | 'store.create' | 'store.unlock' | 'store.unlock-cli' | 'store.unlock-failed' | 'store.passphrase-change' | 'store.backup' | 'store.restore' | 'store.recovery-key' | 'store.rollback-detected' | 'store.rekey'
  | 'device.provision' | 'device.import' | 'device.revoke' | 'device.export' | 'device.clone-cleared' | 'device.delete'
  | 'group.add' | 'group.export' | 'policy.clone' | 'policy.migration'
  | 'issuer.create' | 'issuer.rotate' | 'issuer.retire' | 'issuer.destroy' | 'issuer.import-msl' | 'issuer.export' | 'issuer.import-peer'
  | 'exchange' | 'exchange.summary' | 'exchange.test' | 'exchange.check' | 'msl' | 'msl.test' | 'audit.checkpoint' | 'audit.export' | 'audit.archive' | 'audit.policy' | 'revocation.export' | 'revocation.import'
  | 'recipient.add' | 'recipient.remove' | 'recipient.list' | 'recipient.show' | 'recipient.jwks' | 'identity.create' | 'identity.rotate' | 'identity.list' | 'identity.jwks'
  | 'jose.decrypt' | 'jose.encrypt'
  | 'msl.identity-create' | 'msl.identity-rotate' | 'msl.identity-import' | 'msl.identity-retire' | 'msl.identity-destroy'
  | 'msl.keys-create' | 'msl.keys-rotate' | 'msl.keys-import' | 'msl.keys-retire' | 'msl.keys-destroy' | 'msl.settings';

export interface AuditEntry {
  readonly seq: number;
  readonly at: Timestamp;
  readonly action: AuditAction;
  readonly outcome: 'ok' | 'refused';
  /** The device identity, group name or generation the entry is about. */
  readonly subject: string | null;
  /** Never key material: codes, counts, KCVs, generations, mechanisms. */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * Who acted (actor.ts): user@host for the CLI, the operator name given at
   * the app's unlock, serve:user@host for serve's own rows; null for a
   * device's exchange or MSL message, and for entries written before actors
   * were recorded (schema 11).
   */
  readonly actor: string | null;
  /** Why, as given with --reason (or in the app's dialog) for a destructive action; null when none. */
  readonly reason: string | null;
}

export interface AuditQuery {
  readonly action?: AuditAction;
  /** Leave these actions out. */
  readonly excludeActions?: readonly AuditAction[];
  readonly subject?: string;
  /** Entries of this actor only (exactly as recorded). */
  readonly actor?: string;
  readonly outcome?: 'ok' | 'refused';
  /** Newest first; page with `beforeSeq`. */
  readonly beforeSeq?: number;
  readonly limit?: number;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** The first sequence number where the chain breaks. */
  readonly brokenAt?: number;
  /** A trimmed log (audit archive): the entries up to this one are in archive files. */
  readonly archivedThrough?: number;
  readonly problem?: string;
}

export interface StoreVerification {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly audit: AuditVerification;
}

export interface ImportRowError {
  /** Where the row is: its line in a CSV file (the header is line 1), or its 1-based position in a JSON array. */
  readonly row: number;
  readonly identity: string | null;
  readonly code: string;
  readonly message: string;
}

export interface ImportReport {
  readonly total: number;
  readonly imported: number;
  readonly failed: readonly ImportRowError[];
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  /** Long work in stages says which one it is in. */
  readonly phase?: 'checking' | 'writing' | 'copying';
}
export type ProgressCallback = (p: Progress) => void;

/** Where a provisioning bundle or a peer export is protected to. Never plain text. */
export type BundleProtection =
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  | { readonly kind: 'rsa'; readonly publicJwk: Readonly<Record<string, unknown>> }
  /** A keyring recipient, by kid: a nested JWT, signed by this KeyLadder and encrypted to the recipient. */
  | { readonly kind: 'recipient'; readonly kid: string };

export interface RungReport {
  readonly rung: number;
  readonly mechanism: Mechanism;
  readonly profile: JweProfileName;
  readonly issuedGeneration: number;
  readonly openedGeneration: number | null;
  readonly responder: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
  readonly device: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
  readonly match: boolean;
  readonly micros: number;
}

export interface SimulationReport {
  readonly identity: string;
  readonly rungs: readonly RungReport[];
  readonly allMatch: boolean;
}

/** Which devices an export (or its preview) means, resolved by the services so that no long list need travel. */
export type DeviceSelector =
  | { readonly kind: 'all' }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'identities'; readonly identities: readonly string[] };

/** What a selector holds: provisioned devices, how many of them are revoked, and (for a list) identities not provisioned. */
export interface SelectionCount {
  readonly total: number;
  readonly revoked: number;
  readonly missing: number;
}

/** The store at a glance, for the Overview screen. */
export interface StoreOverview {
  /** Bytes of database pages in use. */
  readonly fileBytes: number;
  /**
   * The store's file system: free and total bytes, and `low` (with the
   * warning) below max(1 GiB, 10% of it), long before a full disk makes the
   * audit log refuse every exchange. Null where it cannot be read.
   */
  readonly disk: { readonly freeBytes: number; readonly totalBytes: number; readonly thresholdBytes: number; readonly low: boolean; readonly warning?: string } | null;
  /** The last full check in this session, if one ran. */
  readonly lastVerify: { readonly at: Timestamp; readonly ok: boolean; readonly problems: number } | null;
  readonly generations: readonly IssuerGeneration[];
  readonly devices: {
    readonly total: number;
    readonly active: number;
    readonly revoked: number;
    /** Deleted devices (tombstones) whose identity was not provisioned again. */
    readonly deleted: number;
    /** Largest first; `group` null for devices without a model group. */
    readonly byGroup: ReadonlyArray<{ readonly group: string | null; readonly count: number }>;
  };
  /** Refused exchanges since `since` (the last 24 hours), by code, most frequent first. */
  readonly refusals: { readonly since: Timestamp; readonly total: number; readonly byCode: ReadonlyArray<{ readonly code: string; readonly count: number }> };
  /** MSL messages (POST /msl) since `since` (the last 24 hours), and the refused ones by MSL error name, most frequent first. */
  readonly msl: { readonly since: Timestamp; readonly messages: number; readonly refused: number; readonly byError: ReadonlyArray<{ readonly code: string; readonly count: number }> };
  /** The audit chain's head: its last entry, and the first 8 bytes of its MAC (hex), to compare with a checkpoint's. */
  readonly auditHead: { readonly seq: number; readonly macPrefix: string };
  /** The last backup the audit log records (`file`: its absolute path; null in records from before it was kept), or null. */
  readonly lastBackup: { readonly at: Timestamp; readonly file: string | null } | null;
}
