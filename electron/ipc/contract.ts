// The one IPC contract: every channel the renderer may call, with the zod
// schema main validates its argument against and the type of what it returns.
//
// Main imports this module for the schemas. The renderer and the preload
// import its TYPES only (`import type`), so zod never reaches the renderer
// bundle. Channel names are "namespace.method"; the preload turns each into
// window.keyladder.namespace.method(request).
//
// Nothing here returns key material. Key material travels inbound only, and
// only where an operator types it: the Kpe/Kph/Kpw of one device and the
// Kde/Kdh/Kdw of one model group. Files that hold keys (bulk imports, bundles,
// peer exports) are read and written by main, never handed to the renderer.

import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_IDENTITY_LENGTH } from '../ladder/messages.js';
import type {
  AuditAction, AuditEntry, AuditVerification, DevicePage, DeviceSelector, DeviceSummary, GroupSummary, ImportReport, IssuerGeneration,
  SelectionCount, SimulationReport, StoreOverview, StoreStatus, StoreVerification,
} from '../services/types.js';
import type { ResponderMetrics } from '../responderMetrics.js';
import type { MslMessageDetail } from '../appResponder.js';
import type { MslMessagePage, MslMessageRow } from '../mslMessageLog.js';
import type { MslSimulationReport } from '../services/mslSimulate.js';
import type { ExchangeOutcome, ResponseCheck } from '../services/api.js';
import type { ClonePolicy } from '../../db/repositories/wrapdata.js';
import type { SignerRole } from '../../db/repositories/keyring.js';
import type { PeerList } from '../services/revocations.js';
import type { RekeyCounts } from '../../db/rekey.js';
import type { OwnKeySummary, RecipientSummary } from '../services/keyring.js';
import { MAX_JOSE_TEXT, type JoseDecryption, type JoseInspection, type JoseVerification } from '../services/joseTools.js';
import type { MslInspection } from '../services/mslInspect.js';
import { MAX_MSL_TEXT } from '../shared/mslCaptureLimits.js';
import { AUDIT_ACTIONS, CHANNELS, PASSIVE_CHANNELS, type Channel } from './channels.js';
import type { MslIdentityView, MslTokenKeyView } from '../services/mslKeys.js';
import { MAX_MSL_TIME_SECONDS, MAX_NON_REPLAYABLE_WINDOW, type MslSettings } from '../services/mslSettings.js';

// ---------------------------------------------------------------- building blocks

const hexKey = (bytes: number, name: string) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), { error: `${name} must be ${bytes * 2} hex digits (${bytes} bytes).` });

const identity = z
  .string()
  .min(1, { error: 'The identity is empty.' })
  .max(MAX_IDENTITY_LENGTH, { error: `The identity is longer than ${MAX_IDENTITY_LENGTH} characters.` })
  .regex(/^[\x21-\x7e]+$/, { error: 'The identity must be printable ASCII without spaces.' });

const groupName = z
  .string()
  .min(1, { error: 'The group name is empty.' })
  .max(128, { error: 'The group name is longer than 128 characters.' })
  .regex(/^[\x21-\x7e]+$/, { error: 'The group name must be printable ASCII without spaces.' });

const passphrase = z.string().min(1, { error: 'The passphrase is empty.' }).max(1024, { error: 'The passphrase is longer than 1024 characters.' });
const generation = z.number().int().min(1);
/** Control and format characters, and line or paragraph separators (services/actor.ts refuses them too). */
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;
/** The operator's name, asked at unlock and create: the actor of every record of the session (the service also refuses the passphrase itself). */
const operatorName = z.string().trim()
  .min(1, { error: 'Type your name: the audit log records it with each action of this session.' })
  .max(64, { error: 'The name is longer than 64 characters.' })
  .regex(PRINTABLE, { error: 'The name holds control characters.' });
/** Why, for a destructive action: recorded in its audit entry (REASON_INVALID in the service otherwise). */
const reason = z.string().max(1000, { error: 'The reason is longer than 1,000 characters.' }).regex(PRINTABLE, { error: 'The reason holds control characters: one line of text.' }).optional();
const graceDays = z.number().int().min(0).max(3650);
const profile = z.enum(['msl', 'rfc7516']);
const jsonText = z.string().min(1, { error: 'The JSON text is empty.' }).max(1_000_000, { error: 'The JSON text is too long.' });
const noArgs = z.strictObject({}).optional();

/** Where a bundle or a peer export is encrypted to: a passphrase, or an RSA public JWK. */
/**
 * RSA keys never travel through the renderer: `rsa-key-file` makes main ask
 * for the key file in its own dialog and read it (a recipient's public JWK for
 * exports, our private JWK for a peer import).
 */
const protection = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('passphrase'), passphrase }),
  z.strictObject({ kind: z.literal('rsa-key-file') }),
]);

/**
 * How a peer's export is opened: its passphrase, our RSA private key (a file main reads), or this
 * KeyLadder's own key by the JWE's kid (the keyring; the signer is checked). `unsigned`: the operator
 * accepts an export that nothing signed (audited).
 */
const peerProtection = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('passphrase'), passphrase }),
  z.strictObject({ kind: z.literal('rsa-key-file') }),
  z.strictObject({ kind: z.literal('keyring') }),
]);

/** A keyring entry's kid, as the keyring itself checks it. */
const kid = z.string().regex(/^[\x21-\x7e]{1,128}$/, { error: 'A kid is 1 to 128 printable characters, no spaces.' });
const keyUse = z.enum(['sig', 'enc']);
const label = z.string().max(200, { error: 'A label is at most 200 characters.' }).regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'A label has no control characters.' });

/** A device bundle or a Kissuer export may also go to a keyring recipient, by kid: signed by this KeyLadder, then encrypted to it. */
const bundleProtection = z.discriminatedUnion('kind', [...protection.options, z.strictObject({ kind: z.literal('recipient'), kid })]);

/** A JOSE object as pasted (main reads chosen files itself, jose.inspectFile). */
const joseText = z.string().min(1, { error: 'Paste a JWE or JWS first.' }).max(MAX_JOSE_TEXT, { error: 'The JOSE object is longer than 1 MiB.' });

/** A captured MSL message as pasted; a larger one is chosen as a file (msl.inspectFile). */
const mslText = z
  .string()
  .min(1, { error: 'Paste an MSL message first.' })
  .max(MAX_MSL_TEXT, { error: `The pasted MSL message is longer than ${MAX_MSL_TEXT / 1024 / 1024} MiB: choose it as a file instead.` });

/**
 * The key to open a JOSE object with. Keys never travel through the renderer:
 * own keys, a device's Kpw and a group's Kdw stay in the store, and
 * `key-file` makes main ask for the JWK file in its own dialog and read it.
 */
const joseKey = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('own') }),
  z.strictObject({ kind: z.literal('device'), identity }),
  z.strictObject({ kind: z.literal('group'), name: groupName }),
  z.strictObject({ kind: z.literal('key-file') }),
  z.strictObject({ kind: z.literal('passphrase'), passphrase }),
]);

/** Which devices an export means: main resolves the rule, so 100,000 identities need not cross. */
const deviceSelector = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('prefix'), prefix: z.string().min(1, { error: 'The prefix is empty.' }).max(MAX_IDENTITY_LENGTH, { error: `The prefix is longer than ${MAX_IDENTITY_LENGTH} characters.` }) }),
  z.strictObject({ kind: z.literal('group'), group: groupName }),
  z.strictObject({ kind: z.literal('identities'), identities: z.array(identity).min(1, { error: 'Select at least one device.' }).max(100_000, { error: 'Select at most 100,000 devices.' }) }),
]) satisfies z.ZodType<DeviceSelector>;

const deviceKeys = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('generate') }),
  z.strictObject({ kind: z.literal('kpe-kph'), kpe: hexKey(16, 'Kpe'), kph: hexKey(32, 'Kph') }),
  z.strictObject({ kind: z.literal('kpw'), kpw: hexKey(16, 'Kpw') }),
]);

const groupKeys = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('generate') }),
  z.strictObject({ kind: z.literal('kde-kdh'), kde: hexKey(16, 'Kde'), kdh: hexKey(32, 'Kdh') }),
  z.strictObject({ kind: z.literal('kdw'), kdw: hexKey(16, 'Kdw') }),
]);

/** Where the in-app responder listens: an IP literal or `localhost`, never a name to resolve. */
const responderHost = z
  .string()
  .max(64, { error: 'The host is longer than 64 characters.' })
  .refine((h) => h === 'localhost' || isIP(h) !== 0, { error: 'The host must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::1) or localhost.' });

/**
 * Starting the responder. It binds 127.0.0.1 unless `host` says otherwise. A
 * host reachable from other machines is confirmed by the operator in main's
 * own dialog, never by a flag the renderer sends.
 */
const responderStart = z.strictObject({
  host: responderHost.optional(),
  port: z.number().int({ error: 'The port is a whole number.' }).min(0, { error: 'The port is 1 to 65535 (or 0 for any free port).' }).max(65535, { error: 'The port is 1 to 65535 (or 0 for any free port).' }).optional(),
  profile: profile.optional(),
  /** Serve HTTPS with the certificate and key chosen through responder.chooseTls. */
  tls: z.boolean().optional(),
  /** Require the bearer token of the file chosen through responder.chooseTokenFile. */
  token: z.boolean().optional(),
  /** Require client certificates issued by the CA chosen through responder.chooseClientCa (needs tls). */
  clientCa: z.boolean().optional(),
});

// Fails to compile if the services grow an audit action this list lacks.
const everyAuditAction: Exclude<AuditAction, (typeof AUDIT_ACTIONS)[number]> extends never ? true : never = true;
void everyAuditAction;

// ---------------------------------------------------------------- results that are the app's own

export interface AppSettings {
  /** Minutes without IPC activity after which main locks the store. */
  readonly idleLockMinutes: number;
}

export interface AppInfo {
  readonly version: string;
  readonly settings: AppSettings;
}

/** The in-app HTTP responder, as the Responder screen shows it. No key material, ever. */
export interface ResponderStatus {
  readonly state: 'stopped' | 'listening' | 'draining';
  /** Where devices reach it, e.g. http://127.0.0.1:8420 (POST /v1/keyx); null unless listening or draining. */
  readonly address: string | null;
  /** The host, port and profile of the current (or last) run. */
  readonly host: string | null;
  readonly port: number | null;
  readonly profile: 'msl' | 'rfc7516' | null;
  /** True when the host is reachable from other machines (not loopback). */
  readonly remote: boolean;
  /** Whether the current (or last) run serves HTTPS. */
  readonly tls: boolean;
  /** The certificate and key files chosen for TLS (their names only), if any. */
  readonly tlsFiles: { readonly cert: string; readonly key: string } | null;
  /** Client authentication files chosen (names only): a bearer token file, a client CA for mutual TLS. */
  readonly tokenFile: string | null;
  readonly clientCaFile: string | null;
  /** Whether the current (or last) run required the token, or client certificates. */
  readonly token: boolean;
  readonly clientCa: boolean;
  readonly startedAt: string | null;
  /** Counts of the current (or last) run. */
  readonly exchanges: number;
  readonly refused: number;
  readonly inFlight: number;
  /** Why and when the last run stopped: the operator, the store locking, or the app quitting. */
  readonly stopped: { readonly reason: 'operator' | 'store-locked' | 'quit'; readonly at: string } | null;
}

/** The Overview screen: the store at a glance, and the in-app responder's state. */
export interface AppOverview extends StoreOverview {
  readonly responder: ResponderStatus;
}

export type { ResponderMetrics };

/** The in-app responder's last MSL messages (bounded, in main's memory) and one message's decoded header. */
export type { MslMessageDetail, MslMessagePage, MslMessageRow };

/** A row of the live MSL list: ids count from 1 for the app's run. */
const mslMessageId = z.number({ error: 'The message id is a number.' }).int({ error: 'The message id is a whole number.' }).min(1, { error: 'The message id is 1 or more.' }).max(Number.MAX_SAFE_INTEGER, { error: 'The message id is too large.' });

/** A decryption or verification as the renderer gets it: metadata, a KCV or thumbprint for a key, never plaintext bytes. */
export type JoseDecryptionView = Omit<JoseDecryption, 'plaintext'>;
export type JoseVerificationView = Omit<JoseVerification, 'payload'>;
/** Canceled: the operator closed main's key-file dialog. */
export type KeyedOutcome<T> = { readonly canceled: true } | { readonly canceled: false; readonly result: T };

export type FileOutcome<T> = { readonly canceled: true } | ({ readonly canceled: false; readonly file: string } & T);

// ---------------------------------------------------------------- the MSL server's keys (issue 21, item 4)

/** An MSL generation number, as the services bound it. */
const mslGeneration = z.number({ error: 'A generation is a number.' }).int({ error: 'A generation is a whole number.' }).min(1, { error: 'A generation is 1 or more.' }).max(2 ** 32 - 1, { error: 'No generation is that large.' });
/** An MSL entity identity or key id: written in MSL configs, space-separated. */
const mslName = z.string().regex(/^[\x21-\x7e]{1,128}$/, { error: 'Use 1 to 128 printable ASCII characters without spaces.' });
const mslSeconds = (what: string) => z.number({ error: `${what} is a number of seconds.` }).int({ error: `${what} is a whole number of seconds.` })
  .min(1, { error: `${what} is at least 1 second.` }).max(MAX_MSL_TIME_SECONDS, { error: `${what} is at most a year (${MAX_MSL_TIME_SECONDS} s).` });
const mslGrace = z.number().int({ error: 'The grace period is a whole number of seconds.' }).min(0, { error: 'The grace period is 0 seconds or more.' }).max(MAX_MSL_TIME_SECONDS, { error: 'The grace period is at most a year.' });
/** Destroying asks for the generation typed again, as issuers.destroy does; main refuses a mismatch too. */
const mslDestroy = z.strictObject({ generation: mslGeneration, confirm: mslGeneration, reason }).refine((r) => r.generation === r.confirm, {
  error: 'The typed generation does not match the generation to destroy.',
  path: ['confirm'],
});

/** An identity generation as the app shows it: public forms only (SPKI, PEM, JWK, the client config lines), never the private key. */
export type MslIdentityEntry = MslIdentityView & {
  /** What an MSL client's config takes to authenticate this server (mslcli.cfg lines). */
  readonly clientConfig: string;
};
export type { MslSettings, MslTokenKeyView };

// ---------------------------------------------------------------- the contract

interface ChannelSpec<S extends z.ZodType, R> {
  readonly request: S;
  /** Phantom: carries the result type; never read at run time. */
  readonly result?: R;
}
const channel = <R>() => <S extends z.ZodType>(request: S): ChannelSpec<S, R> => ({ request });

export const contract = {
  'app.info': channel<AppInfo>()(noArgs),
  'app.setIdleLockMinutes': channel<AppSettings>()(z.strictObject({ minutes: z.number().int().min(1).max(24 * 60) })),
  /** The renderer reports operator activity (keys, clicks) so the idle timer does not lock a busy operator. */
  'app.touch': channel<null>()(noArgs),

  'store.status': channel<StoreStatus>()(noArgs),
  'store.create': channel<StoreStatus>()(z.strictObject({ passphrase, operator: operatorName })),
  'store.unlock': channel<StoreStatus>()(z.strictObject({ passphrase, operator: operatorName })),
  'store.lock': channel<StoreStatus>()(noArgs),
  'store.changePassphrase': channel<null>()(z.strictObject({ current: passphrase, next: passphrase })),
  /** A new store key; `next` changes the passphrase in the same step. */
  'store.rekey': channel<RekeyCounts>()(z.strictObject({ passphrase, next: passphrase.optional(), reason })),
  'store.verify': channel<StoreVerification>()(noArgs),
  /** Main asks where to save (and, for an existing file, whether to replace it), then copies the store there with progress. */
  'store.backup': channel<FileOutcome<object>>()(noArgs),
  /**
   * Main asks for the backup file, then for the operator's yes in its own
   * dialog, and replaces the store; `passphrase` is the one in force when the
   * backup was taken. The store is locked afterwards, whatever the outcome.
   */
  /** `operator`: from the unlock screen, who restores (the session's name otherwise). */
  'store.restore': channel<FileOutcome<{ readonly status: StoreStatus }>>()(z.strictObject({ passphrase, reason, operator: operatorName.optional() })),
  'store.overview': channel<AppOverview>()(noArgs),

  'devices.list': channel<DevicePage>()(
    z.strictObject({
      prefix: z.string().max(MAX_IDENTITY_LENGTH).optional(),
      offset: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).max(500).optional(),
    }),
  ),
  'devices.get': channel<DeviceSummary>()(z.strictObject({ identity })),
  /** `reuseIdentity`: a deleted device's identity is provisioned again only when the operator ticks it (DEVICE_DELETED otherwise). */
  'devices.provision': channel<DeviceSummary>()(z.strictObject({ identity, group: groupName.nullable().optional(), keys: deviceKeys, reuseIdentity: z.boolean().optional() })),
  /** Main asks for the file (CSV or JSON, by extension unless given), reads it and imports it, reporting progress. */
  'devices.importFile': channel<FileOutcome<{ readonly report: ImportReport }>>()(
    z.strictObject({ format: z.enum(['auto', 'csv', 'json']).optional(), reuseIdentity: z.boolean().optional() }),
  ),
  'devices.revoke': channel<DeviceSummary>()(z.strictObject({ identity, reason })),
  'devices.clearPossibleClone': channel<DeviceSummary>()(z.strictObject({ identity })),
  /** Main asks where to save, and writes the encrypted bundle there: the renderer never holds it. */
  'devices.exportBundle': channel<FileOutcome<{ readonly count: number }>>()(
    z.strictObject({ selection: deviceSelector, protection: bundleProtection }),
  ),
  /** How many devices a selection holds (revoked ones apart), for the count shown before an export. */
  'devices.countSelection': channel<SelectionCount>()(z.strictObject({ selection: deviceSelector })),
  /** `confirm` is the number of devices as the operator typed it; main refuses it unless the selection holds that many now. */
  'devices.delete': channel<{ readonly deleted: number; readonly wrapdataRefused: number }>()(
    z.strictObject({ selection: deviceSelector, confirm: z.number().int().min(1, { error: 'Type the number of devices to delete.' }).max(1_000_000, { error: 'Delete at most 1,000,000 devices at a time.' }), reason }),
  ),

  'groups.list': channel<GroupSummary[]>()(noArgs),
  'groups.add': channel<GroupSummary>()(z.strictObject({ name: groupName, keys: groupKeys })),

  'issuers.list': channel<IssuerGeneration[]>()(noArgs),
  'issuers.rotate': channel<IssuerGeneration>()(z.strictObject({ graceDays: graceDays.optional() })),
  'issuers.retire': channel<IssuerGeneration>()(z.strictObject({ generation, reason })),
  /** `confirm` is the generation number as the operator typed it; main refuses a mismatch too. */
  'issuers.destroy': channel<IssuerGeneration>()(
    z.strictObject({ generation, confirm: generation, reason }).refine((r) => r.generation === r.confirm, {
      error: 'The typed generation does not match the generation to destroy.',
      path: ['confirm'],
    }),
  ),
  'issuers.exportToPeer': channel<FileOutcome<{ readonly generations: number[] }>>()(
    z.strictObject({ generations: z.array(generation).min(1).max(1000), protection: bundleProtection }),
  ),
  'issuers.importFromPeer': channel<FileOutcome<{ readonly imported: IssuerGeneration[] }>>()(
    z.strictObject({ protection: peerProtection, unsigned: z.boolean().optional() }),
  ),

  'exchanges.simulate': channel<SimulationReport>()(
    z.strictObject({ identity, mechanism: z.enum(['PSK', 'MGK']).optional(), rungs: z.number().int().min(1).max(20).optional(), profile: profile.optional() }),
  ),
  'exchanges.respond': channel<ExchangeOutcome>()(z.strictObject({ requestJson: jsonText, profile: profile.optional() })),
  'exchanges.checkResponse': channel<ResponseCheck>()(z.strictObject({ requestJson: jsonText, responseJson: jsonText, profile: profile.optional() })),
  'exchanges.clonePolicy': channel<ClonePolicy>()(noArgs),
  'exchanges.setClonePolicy': channel<ClonePolicy>()(z.strictObject({ policy: z.enum(['flag', 'refuse']) satisfies z.ZodType<ClonePolicy> })),

  'audit.list': channel<AuditEntry[]>()(
    z.strictObject({
      action: z.enum(AUDIT_ACTIONS).optional(),
      excludeActions: z.array(z.enum(AUDIT_ACTIONS)).max(AUDIT_ACTIONS.length).optional(),
      subject: z.string().min(1).max(MAX_IDENTITY_LENGTH).optional(),
      /** Entries by this actor only, exactly as recorded. */
      actor: z.string().min(1).max(200).optional(),
      outcome: z.enum(['ok', 'refused']).optional(),
      beforeSeq: z.number().int().min(1).optional(),
      limit: z.number().int().min(1).max(1000).optional(),
    }),
  ),
  'audit.verify': channel<AuditVerification>()(noArgs),
  /** When each peer's revocation list was last received. */
  'revocations.peerLists': channel<PeerList[]>()(noArgs),

  'jose.inspect': channel<JoseInspection>()(z.strictObject({ text: joseText })),
  /** Main asks for the file and reads it; its text crosses only when it is a JOSE object. */
  /** `text` is absent when the object is a JWS whose payload holds key material: it does not cross. */
  'jose.inspectFile': channel<FileOutcome<{ readonly text?: string; readonly inspection: JoseInspection }>>()(noArgs),
  'jose.decrypt': channel<KeyedOutcome<JoseDecryptionView>>()(z.strictObject({ text: joseText, key: joseKey })),
  'jose.verify': channel<KeyedOutcome<JoseVerificationView>>()(
    z.strictObject({ text: joseText, key: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('own') }), z.strictObject({ kind: z.literal('key-file') })]) }),
  ),

  /** Text the operator typed, to a keyring recipient's encryption key: the answer is the compact JWE. */
  'jose.encrypt': channel<{ readonly jwe: string }>()(z.strictObject({ text: z.string().min(1, { error: 'Type or paste what to encrypt first.' }).max(MAX_JOSE_TEXT, { error: 'At most 1 MiB.' }), to: kid })),

  'keyring.recipients': channel<RecipientSummary[]>()(noArgs),
  /** Main asks for the public key file (JWK, JWKS or PEM) and reads it; the answer carries the thumbprint to confirm out of band. */
  'keyring.addRecipientFile': channel<FileOutcome<{ readonly recipient: RecipientSummary }>>()(
    // roles: what a sig key may sign (revocations by default; issuer-export only when the operator says so).
    // source: the peer store id whose revocation lists a sig key speaks for (checked by the service).
    z.strictObject({ kid: kid.optional(), label: label.optional(), use: keyUse.optional(), roles: z.array(z.enum(['revocations', 'issuer-export'] as const satisfies readonly SignerRole[])).max(2).optional(), source: z.string().max(64).optional() }),
  ),
  /** Main asks for the operator's yes in its own dialog first. */
  'keyring.removeRecipient': channel<RecipientSummary>()(z.strictObject({ kid })),
  'keyring.ownKeys': channel<OwnKeySummary[]>()(noArgs),
  /** The public halves of this KeyLadder's keys, as JWKS text to hand out: no private member ever. */
  'keyring.identityJwks': channel<string>()(noArgs),
  /** Main asks for the operator's yes in its own dialog first. */
  'keyring.rotateOwnKey': channel<OwnKeySummary>()(z.strictObject({ use: keyUse })),

  'responder.status': channel<ResponderStatus>()(noArgs),
  'responder.start': channel<ResponderStatus>()(responderStart),
  /** Stops accepting, drains requests in flight, then answers with the final status. */
  'responder.stop': channel<ResponderStatus>()(noArgs),
  /** Main asks for a certificate file and then its private key file, checks that they pair, and keeps their names. */
  'responder.chooseTls': channel<FileOutcome<{ readonly status: ResponderStatus }>>()(noArgs),
  /** Main asks for the bearer token file, checks it, and keeps its name; the token never reaches the renderer. */
  'responder.chooseTokenFile': channel<FileOutcome<{ readonly status: ResponderStatus }>>()(noArgs),
  /** Main asks for the client CA certificate (PEM) for mutual TLS, checks it, and keeps its name. */
  'responder.chooseClientCa': channel<FileOutcome<{ readonly status: ResponderStatus }>>()(noArgs),
  /** Exchanges per second and a latency histogram over the last minutes (polled while the Responder screen shows). */
  'responder.metrics': channel<ResponderMetrics>()(noArgs),

  /** The last MSL messages, newest first; `after` (a page's cursor) asks only for newer ones. Polled while the Responder screen shows. */
  'responder.mslMessages': channel<MslMessagePage>()(
    z.strictObject({ after: z.number({ error: 'The cursor is a number.' }).int({ error: 'The cursor is a whole number.' }).min(0, { error: 'The cursor is 0 or more.' }).max(Number.MAX_SAFE_INTEGER, { error: 'The cursor is too large.' }).optional() }).optional(),
  ),
  /**
   * One listed message and its header decoded with the store's keys (KCVs and thumbprints only; the payload as
   * its length). `showPayload`: the application data too, when it is text and holds no key members (mslInspect's rule).
   */
  'responder.mslMessage': channel<MslMessageDetail>()(z.strictObject({ id: mslMessageId, showPayload: z.boolean().optional() })),

  // ---------------------------------------------------------------- the MSL message inspector (issue 21 item 3)
  /**
   * A pasted capture (the HTTP body, or its Base64), decoded in main with the store's keys. `showPayload`: the
   * application data as text, only when it holds no key material. The answer has KCVs and thumbprints, never a key.
   */
  'msl.inspect': channel<MslInspection>()(z.strictObject({ text: mslText, showPayload: z.boolean().optional() })),
  /** Main asks for the capture file and reads it (at most 16 MiB): its bytes never cross, only the inspection. */
  'msl.inspectFile': channel<FileOutcome<{ readonly inspection: MslInspection }>>()(z.strictObject({ showPayload: z.boolean().optional() }).optional()),
  // ---------------------------------------------------------------- issue 21: simulated MSL device
  /**
   * The six MSL steps against this store's responder, in process (never a URL: main sends nothing
   * anywhere for the renderer). Audited as exchange.test; the report carries names and KCVs, no key.
   */
  'exchanges.simulateMsl': channel<MslSimulationReport>()(z.strictObject({ identity, mechanism: z.enum(['PSK', 'MGK']).optional() })),
  // The MSL server (issue 21, item 4). Keys travel inbound only through files main reads in its own dialog.
  /** Every identity generation, newest first: public forms only. */
  'mslServer.identities': channel<MslIdentityEntry[]>()(noArgs),
  /** The first identity of a store that has none: RSA 2048. */
  'mslServer.createIdentity': channel<MslIdentityEntry>()(z.strictObject({ name: mslName.optional() })),
  /** A new key pair signs from now on; the one before is kept as retiring until retired. */
  'mslServer.rotateIdentity': channel<MslIdentityEntry>()(z.strictObject({ name: mslName.optional() })),
  /**
   * Main asks for the private key file (PEM, or an MSL server config with msl.rsa.priv.N), and, with
   * `publicKeyFile`, for the public key its clients pin; it reads both: the private key never crosses.
   * `keyId`: the key id clients pin (a config's msl.rsa.id.N otherwise).
   */
  'mslServer.importIdentity': channel<FileOutcome<{ readonly identity: MslIdentityEntry }>>()(
    z.strictObject({ keyId: mslName.optional(), name: mslName.optional(), publicKeyFile: z.boolean().optional() }),
  ),
  'mslServer.retireIdentity': channel<MslIdentityEntry>()(z.strictObject({ generation: mslGeneration, reason })),
  'mslServer.destroyIdentity': channel<MslIdentityEntry>()(mslDestroy),
  /** Master-token key generations: KCVs only. */
  'mslServer.tokenKeys': channel<MslTokenKeyView[]>()(noArgs),
  /** `graceSeconds`: how long the generation before still verifies tokens (default: the master-token expiration). */
  'mslServer.rotateTokenKeys': channel<MslTokenKeyView>()(z.strictObject({ graceSeconds: mslGrace.optional() })),
  /** Main asks for an MSL server config (msl.key.enc, msl.key.hmac) or the CLI's {"enc","hmac"} JSON, and reads it. */
  'mslServer.importTokenKeys': channel<FileOutcome<{ readonly generation: MslTokenKeyView }>>()(z.strictObject({ graceSeconds: mslGrace.optional() })),
  'mslServer.retireTokenKeys': channel<MslTokenKeyView>()(z.strictObject({ generation: mslGeneration, reason })),
  'mslServer.destroyTokenKeys': channel<MslTokenKeyView>()(mslDestroy),
  'mslServer.settings': channel<MslSettings>()(noArgs),
  /** Checked again in main as a whole (the expiration at least the renewal window), audited. */
  'mslServer.setSettings': channel<MslSettings>()(
    z.strictObject({
      renewalWindow: mslSeconds('The renewal window').optional(),
      expiration: mslSeconds('The expiration').optional(),
      nonReplayableWindow: z.number({ error: 'The window is a number.' }).int({ error: 'The window is a whole number.' }).min(1, { error: 'The window is at least 1.' }).max(MAX_NON_REPLAYABLE_WINDOW, { error: `The window is at most ${MAX_NON_REPLAYABLE_WINDOW}.` }).optional(),
    }),
  ),
} as const satisfies { readonly [C in Channel]: ChannelSpec<z.ZodType, unknown> };

export type Contract = typeof contract;
export { AUDIT_ACTIONS, CHANNELS, PASSIVE_CHANNELS, type Channel };

export type RequestOf<C extends Channel> = z.input<Contract[C]['request']>;
export type ParsedRequestOf<C extends Channel> = z.output<Contract[C]['request']>;
export type ResultOf<C extends Channel> = Exclude<Contract[C]['result'], undefined>;

export interface ReplyError {
  readonly code: string;
  /** A finer, stable name beside the code, when the service gives one (MSL_KEY_INVALID's PUBLIC_KEY_MISMATCH, say). */
  readonly reason?: string;
  readonly message: string;
}
export type Reply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ReplyError };

export { EVENTS, type LockedEvent, type ProgressEvent } from './channels.js';
