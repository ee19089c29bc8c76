// The one API that the CLI, the Electron IPC handlers and the HTTP responder
// call. The doors hold no logic of their own: they parse, call one of these,
// and format. Every method that fails throws a ServiceError (or a LadderError
// for exchanges) with a stable `code`.

import type { MslKeyService } from './mslKeys.js';
import type { MslSettingsService } from './mslSettings.js';
import type { OpenProtection } from './bundles.js';
import type { SignedAuditExport } from './audit.js';
import type { Delivery } from './delivery.js';
import type { KeyringService } from './keyring.js';
import type {
  AuditEntry, AuditQuery, AuditVerification, BundleProtection, DeviceCursorPage, DevicePage, DeviceSummary, GroupSummary, ImportReport,
  IssuerGeneration, JweProfileName, Mechanism, ProgressCallback, SimulationReport, StoreStatus, StoreVerification,
  DeviceSelector, SelectionCount, StoreOverview,
} from './types.js';
import type { ClonePolicy } from '../../db/repositories/wrapdata.js';
import type { AuditCheckpoint } from '../../db/checkpoint.js';
import type { RekeyCounts } from '../../db/rekey.js';
import type { RestoreOptions, RestoreOutcome } from '../../db/store.js';
import type { BackupPreview } from '../../db/restorePreview.js';
import type { PeerList } from './revocations.js';
import type { JoseToolsService } from './joseTools.js';
import type { MslInspectService } from './mslInspect.js';
import type { MslSimulationReport } from './mslSimulate.js';

/** Key material as it arrives from an operator's JSON file: hex strings. */
export type DeviceKeyInput =
  | { readonly kind: 'generate' }
  | { readonly kind: 'kpe-kph'; readonly kpe: string; readonly kph: string }
  | { readonly kind: 'kpw'; readonly kpw: string };

export type GroupKeyInput =
  | { readonly kind: 'generate' }
  | { readonly kind: 'kde-kdh'; readonly kde: string; readonly kdh: string }
  | { readonly kind: 'kdw'; readonly kdw: string };

export interface ProvisionRequest {
  readonly identity: string;
  readonly group?: string | null;
  readonly keys: DeviceKeyInput;
  /** Provision an identity whose device was deleted (its tombstone stays, its old wrapdata stays refused). */
  readonly reuseIdentity?: boolean;
}

export type ImportFormat = 'csv' | 'json';

export interface ExchangeOutcome {
  readonly ok: boolean;
  /** The response JSON to hand back to the device, or `{"error":{code,reason,message}}`. */
  readonly json: string;
  /** When refused: the error code (MSL's name, or a store code such as STORE_LOCKED). */
  readonly code?: string;
  /** When refused: KeyLadder's finer reason, if the error has one. */
  readonly reason?: string;
  /** When answered or refused for a parsed request: the identity, for access logs. */
  readonly identity?: string;
  /** Refused, and `json` is a decoy answer under random keys (asked for with `caller.uniform`). */
  readonly decoy?: boolean;
}

/**
 * The answer to one POST /msl (services/mslResponder.ts). MSL's client reads
 * an MSL message from any 200 and treats every other status as a transport
 * failure, so an MSL-level refusal is an error header answered with 200.
 */
export interface MslOutcome {
  /**
   * `answered`: an MSL message; `error-header`: an MSL error header (both 200);
   * `unavailable`: no MSL answer at all (the store is locked, the audit cannot
   * be written): `body` is `{"error":{code,message}}`, sent with 503.
   */
  readonly kind: 'answered' | 'error-header' | 'unavailable';
  readonly body: Uint8Array;
  /** The error code (MSL's name, or a store/service code), for the access log. */
  readonly code?: string;
  /** The sender's identity when known, for the access log. */
  readonly identity?: string;
  /** What the message's audit record said, for the app's live list of MSL messages (appResponder.ts). Never keys or payload bytes. */
  readonly summary?: MslMessageSummary;
}

/** One MSL message as the responder read and answered it: its audit details plus what went back. */
export interface MslMessageSummary {
  /** The `msl` audit record's details (scheme, serial, sequence, mechanism, payloadBytes, code, internalCode...). */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  /** Application data bytes echoed back (0 for a handshake or a refusal). */
  readonly payloadBytesOut: number;
  /** The JWE_LADDER key request the (renewable) message carried, answered or not: its mechanism. */
  readonly keyRequest?: string;
  /** The master token a key exchange issued: its serial and sequence. */
  readonly issued?: { readonly serial: number; readonly sequence: number };
}

export interface MslApi {
  /** One whole MSL message (the request body's bytes) in, one MSL message out. */
  answer(body: Uint8Array, caller?: { readonly client: string; readonly test?: boolean }): MslOutcome;
}

export interface StoreApi {
  status(): StoreStatus;
  /** Creates the store; `join` starts it from a peer's Kissuer export instead of a new generation. */
  create(passphrase: string, join?: { readonly jwe: string; readonly protection: { readonly kind: 'passphrase'; readonly passphrase: string } | { readonly kind: 'rsa'; readonly privateJwk: Readonly<Record<string, unknown>> } }, operator?: string): Promise<void>;
  /** `operator`: the name the app asks for at unlock (actor.ts), recorded as the actor of the session's records. */
  unlock(passphrase: string, operator?: string): Promise<void>;
  lock(): void;
  changePassphrase(current: string, next: string): Promise<void>;
  /** A new store key (and, with `next`, a new passphrase): old key files and recovery keys open nothing. Audited. */
  rekey(passphrase: string, next?: string, reason?: string): Promise<RekeyCounts>;
  /** Writes a backup to a new file; an existing one is replaced only with `force`, a symbolic link never. */
  backup(file: string, onProgress?: ProgressCallback, force?: boolean): Promise<void>;
  /** Replaces the store with a backup (`reason` recorded; `operator`: the app's restore from the unlock screen names who restores, the session's actor otherwise); another store's backup only with `otherStore`. The replaced store is kept: `safetyCopy` names its folder. */
  restore(file: string, passphrase: string, options?: RestoreOptions & { readonly reason?: string; readonly operator?: string }): Promise<RestoreOutcome>;
  /** What restore would put in place (date, store id, counts, audit head), read without touching the store; another store's backup refused as restore refuses it. */
  previewRestore(file: string, passphrase: string, options?: RestoreOptions): Promise<BackupPreview>;
  /** Every page, the invariants and the audit chain; with `checkpointText`, also whether the store went back behind it. */
  verify(checkpointText?: string): StoreVerification;
}

export interface DeviceApi {
  provision(request: ProvisionRequest): DeviceSummary;
  /** `reuseIdentity`: rows may name identities of deleted devices (else each such row is DEVICE_DELETED). */
  import(text: string, format: ImportFormat, onProgress?: ProgressCallback, options?: { readonly reuseIdentity?: boolean }): Promise<ImportReport>;
  list(query?: { readonly prefix?: string; readonly offset?: number; readonly limit?: number }): DevicePage;
  /** Up to `limit` (1 to 1,000) devices of every device, a prefix or a group, after identity `after`; `next` pages on. */
  pageAfter(query?: { readonly selector?: DeviceSelector; readonly after?: string | null; readonly limit?: number }): DeviceCursorPage;
  get(identity: string): DeviceSummary;
  revoke(identity: string, reason?: string): DeviceSummary;
  /** Clears a device's "possible clone" mark once the operator has looked into it (audited). */
  clearPossibleClone(identity: string): DeviceSummary;
  /**
   * A compact JWE of the devices' keys, for a factory; with `delivery`, audited only once delivered. A
   * passphrase bundle into a delivery with writeChunks (a file) is written as made, up to 1,000,000
   * devices, and '' is returned; otherwise up to 100,000 devices, and the JWE is returned.
   */
  exportBundle(identities: readonly string[], protection: BundleProtection, delivery?: Delivery): Promise<string>;
  /** How many devices a selector holds (revoked ones counted apart), before an export. */
  countSelection(selector: DeviceSelector): SelectionCount;
  /**
   * The identities a selector holds, in identity order (1 to `max` of them, default 100,000, else
   * INVALID_ARGUMENT); a list naming an identity not provisioned is DEVICE_NOT_FOUND (DEVICE_DELETED
   * when every one of them was deleted), nothing matched is DEVICE_NOT_FOUND.
   */
  select(selector: DeviceSelector, max?: number): string[];
  /** Revokes every active device of the selection (up to 1,000,000) in one transaction, one audit row each. */
  revokeSelected(selector: DeviceSelector, reason?: string): { readonly revoked: number; readonly alreadyRevoked: number };
  /**
   * Deletes the selection's devices (up to 1,000,000) in one transaction: keys and registry entries
   * gone, a tombstone each (their wrapdata refused from then on), one audit row each with the KCVs.
   */
  deleteSelected(selector: DeviceSelector, reason?: string): { readonly deleted: number; readonly wrapdataRefused: number };
}

export interface GroupApi {
  add(name: string, keys: GroupKeyInput): GroupSummary;
  list(): GroupSummary[];
  /** A compact JWE of the groups' keys (Kdw, and Kde+Kdh when the group has them), for a factory; audited (with `delivery`, once delivered). */
  exportBundle(names: readonly string[], protection: BundleProtection, delivery?: Delivery): Promise<string>;
}

export interface IssuerApi {
  list(): IssuerGeneration[];
  rotate(graceDays?: number): IssuerGeneration;
  retire(generation: number, reason?: string): IssuerGeneration;
  destroy(generation: number, reason?: string): IssuerGeneration;
  /** Adds a bare-MSL generation from a hex Kissuer; it becomes active. */
  importMsl(kissuerHex: string, graceDays?: number): IssuerGeneration;
  exportToPeer(generations: readonly number[], protection: BundleProtection, delivery?: Delivery): Promise<string>;
  /** `protection.unsigned`: accept an export nothing signed (audited); otherwise only a signed one, by a signer the keyring pins. */
  importFromPeer(jwe: string, protection: OpenProtection): Promise<IssuerGeneration[]>;
}

export interface ExchangeApi {
  /**
   * Answers request JSON text as `keyladder respond` and POST /v1/keyx do.
   * `caller.client` (the HTTP door) is the caller's address: past a threshold,
   * its refusals are recorded as one aggregate row a minute.
   */
  respond(requestJson: string, profile?: JweProfileName, caller?: { readonly client: string; readonly uniform?: boolean }): ExchangeOutcome;
  /** Runs the device-side requestor against this store's responder; with `wrapdata` (base64), its first rung is a WRAP with it. */
  simulate(identity: string, options?: { readonly mechanism?: Exclude<Mechanism, 'WRAP'>; readonly rungs?: number; readonly profile?: JweProfileName; readonly wrapdata?: string }): Promise<SimulationReport>;
  /**
   * Checks a response against the request it answers: unwraps it with the key
   * the request names (the device's Kpw or Kdw, or the Kwrap inside the
   * request's wrapdata) and reports the KCVs of what it holds.
   */
  checkResponse(requestJson: string, responseJson: string, profile?: JweProfileName): Promise<ResponseCheck>;
  /** What a WRAP with wrapdata older than the device's latest gets: answered and flagged, or refused. */
  clonePolicy(): ClonePolicy;
  setClonePolicy(policy: ClonePolicy): ClonePolicy;
}

export interface ResponseCheck {
  readonly ok: boolean;
  readonly kcv?: { readonly kwrap: string; readonly kenc: string; readonly khmac: string };
  readonly error?: { readonly code: string; readonly reason?: string; readonly message: string };
}

export interface AuditApi {
  list(query?: AuditQuery): AuditEntry[];
  verify(): AuditVerification;
  /** A MACed record of the chain's head, to keep outside the store (audited; with `delivery`, only if delivered). */
  checkpoint(delivery?: Delivery): AuditCheckpoint;
  /** Entries signed by this KeyLadder (a compact JWS), for anyone with its public JWKS (audited; a `delivery` that fails adds a "refused" record). */
  exportSigned(range?: { readonly from?: number; readonly to?: number }, delivery?: Delivery): Promise<SignedAuditExport>;
}

export interface RevocationApi {
  /** When each peer's revocation list came last (imports happen through the CLI). */
  peerLists(): PeerList[];
}

export interface OverviewApi {
  /** Store size and health, Kissuer generations, device counts and the last day's refusals, each counted in SQL. */
  get(): StoreOverview;
}

/** The JOSE workbench (joseTools.ts): inspect, decrypt, verify, encrypt to a recipient. */
export type JoseApi = Pick<JoseToolsService, 'inspect' | 'decrypt' | 'verify' | 'encrypt'>;

/** The keyring (keyring.ts): recipients' public keys, and this KeyLadder's own key pairs by their public halves. */
export type KeyringApi = Pick<KeyringService, 'addRecipient' | 'recipients' | 'recipient' | 'removeRecipient' | 'ownKeys' | 'identityJwks' | 'rotateOwnKey'>;

/** The simulated MSL device (mslSimulate.ts), in process: the app's "Simulated MSL device" (issue 21). */
export interface MslSimulateApi {
  simulate(identity: string, options?: { readonly mechanism?: 'PSK' | 'MGK'; readonly rungs?: number }): Promise<MslSimulationReport>;
}

export interface KeyLadderServices {
  readonly store: StoreApi;
  readonly devices: DeviceApi;
  readonly groups: GroupApi;
  readonly issuers: IssuerApi;
  readonly exchanges: ExchangeApi;
  readonly audit: AuditApi;
  readonly revocations: RevocationApi;
  readonly overview: OverviewApi;
  readonly jose: JoseApi;
  /** The MSL message inspector (issue 21 item 3): captures decoded with the store's keys. */
  readonly mslInspect: Pick<MslInspectService, 'inspectText' | 'inspectCapture'>;
  readonly keyring: KeyringApi;
  readonly mslSimulate: MslSimulateApi;
  /** The MSL server's identity, master-token keys and settings (the app's MSL server screen, issue 21). */
  readonly msl: { readonly keys: MslKeyService; readonly settings: MslSettingsService };
}
