// The IPC handlers: each one calls the services and nothing else (plus, for
// the channels that read or write a file, the file dialog main supplies). No
// business logic lives here; validation happened in the wrapper.

import type { OpenProtection } from '../services/bundles.js';
import { existsSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { AppResponder } from '../appResponder.js';
import type { KeyLadderServices } from '../services/api.js';
import { ServiceError, ServiceErrorCode } from '../services/errors.js';
import type { BundleProtection } from '../services/types.js';
import { fileDelivery, type Delivery } from '../services/delivery.js';
import { MAX_JOSE_TEXT } from '../services/joseTools.js';
import { MAX_SELECTION } from '../services/provisioning.js';
import { readCaptureFile } from '../services/mslInspect.js';
import { parseStrictJson } from '../encoding/strictJson.js';
import { tooDeep } from '../services/strictJsonInput.js';
import type { AppSettings, MslIdentityEntry } from './contract.js';
import { mslClientConfigLines, type MslIdentityView } from '../services/mslKeys.js';
import { MAX_MSL_CONFIG_BYTES } from '../services/mslServerConfig.js';
import { AppError } from './errors.js';
import { UnlockBackoff } from '../security/unlockBackoff.js';
import { isLoopbackHost, RESPONDER_DEFAULT_HOST } from '../shared/responderHost.js';
import { restorePreviewText } from '../services/restorePreviewText.js';
import type { Handlers } from './register.js';

export interface FileFilter {
  readonly name: string;
  readonly extensions: readonly string[];
}

/** What the handlers need from the app around them; main supplies Electron's, the e2e bridge its own. */
export interface AppDeps {
  readonly version: string;
  readonly settings: {
    get(): AppSettings;
    setIdleLockMinutes(minutes: number): AppSettings;
  };
  /** Asks the operator for a file to read; null when they cancel. */
  openFile(options: { readonly title: string; readonly filters: readonly FileFilter[] }): Promise<string | null>;
  /** Asks the operator where to write a file; null when they cancel. */
  saveFile(options: { readonly title: string; readonly defaultName: string; readonly filters: readonly FileFilter[] }): Promise<string | null>;
  /** Asks the operator a yes-or-no question in a native dialog; true only for an explicit yes. */
  confirm(options: { readonly title: string; readonly message: string; readonly detail: string; readonly yes: string }): Promise<boolean>;
  /** Paces failed unlocks (its own clock in tests). */
  readonly unlockBackoff?: UnlockBackoff;
  /** The in-app HTTP responder (electron/appResponder.ts), over the same services. */
  readonly responder: Pick<AppResponder, 'status' | 'start' | 'stop' | 'chooseTls' | 'chooseTokenFile' | 'chooseClientCa' | 'metrics' | 'mslMessages' | 'mslMessage'>;
}

const JWE_FILTERS: readonly FileFilter[] = [{ name: 'JWE (compact)', extensions: ['jwe', 'txt'] }];
const PEM_FILTERS: readonly FileFilter[] = [
  { name: 'PEM files', extensions: ['pem', 'crt', 'cer', 'key'] },
  { name: 'All files', extensions: ['*'] },
];

const BACKUP_FILTERS: readonly FileFilter[] = [
  { name: 'KeyLadder backups', extensions: ['klbackup'] },
  { name: 'All files', extensions: ['*'] },
];

const JOSE_FILTERS: readonly FileFilter[] = [
  { name: 'JWE or JWS', extensions: ['jwe', 'jws', 'jwt', 'json', 'txt'] },
  { name: 'All files', extensions: ['*'] },
];

const MSL_CAPTURE_FILTERS: readonly FileFilter[] = [
  { name: 'MSL messages (HTTP body, or its Base64)', extensions: ['bin', 'msl', 'json', 'txt', 'b64'] },
  { name: 'All files', extensions: ['*'] },
];

const PUBLIC_KEY_FILTERS: readonly FileFilter[] = [
  { name: 'Public keys (JWK, JWKS, PEM)', extensions: ['jwk', 'json', 'pem', 'pub'] },
  { name: 'All files', extensions: ['*'] },
];

/** No public key file, JWKS included, comes near this; a bigger file is not read. */
const MAX_PUBLIC_KEY_FILE = 256 * 1024;

const JWK_FILTERS: readonly FileFilter[] = [
  { name: 'JSON Web Key', extensions: ['jwk', 'json'] },
  { name: 'All files', extensions: ['*'] },
];

/** A JWK file main read itself; the renderer never holds an RSA key. */
async function readJwkFile(file: string, role: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, `Cannot read ${role} file.`);
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok && parsed.problem === 'too-deep') throw tooDeep(`${role.replace(/^the /, '')} file`);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, `${role[0]!.toUpperCase()}${role.slice(1)} file is not a JSON Web Key.`);
  }
  return parsed.value as Record<string, unknown>;
}

/**
 * Files that hold key material are written for the owner only, crash-safely,
 * never through a symbolic link. The save dialog already asked before
 * replacing an existing file, so replacing is allowed here. As an export's
 * Delivery, the export is audited only once the file is in place, and a
 * failed record puts back the file it replaced.
 */
const privateFile = (file: string): Delivery => fileDelivery(file, true);

export function createHandlers(services: KeyLadderServices, deps: AppDeps): Handlers {
  const { store, devices, groups, issuers, exchanges, audit, jose } = services;
  /** A key file chosen in main's dialog and read here; null when the operator cancels. */
  const chosenKey = async <S>(key: S | { kind: 'key-file' }): Promise<S | { kind: 'jwk'; jwk: Record<string, unknown> } | null> => {
    if ((key as { kind: string }).kind !== 'key-file') return key as S;
    const file = await deps.openFile({ title: 'Choose the key (JWK) to open it with', filters: JWK_FILTERS });
    return file === null ? null : { kind: 'jwk', jwk: await readJwkFile(file, 'the key') };
  };
  const unlockBackoff = deps.unlockBackoff ?? new UnlockBackoff();
  /** An export's protection, with the recipient's public key read from the file the operator picks here; null if they cancel. */
  const exportProtection = async (protection: { kind: 'passphrase'; passphrase: string } | { kind: 'rsa-key-file' } | { kind: 'recipient'; kid: string }): Promise<BundleProtection | null> => {
    if (protection.kind !== 'rsa-key-file') return protection;
    const keyFile = await deps.openFile({ title: 'Choose the recipient’s RSA public key (JWK)', filters: JWK_FILTERS });
    return keyFile === null ? null : { kind: 'rsa', publicJwk: await readJwkFile(keyFile, 'the recipient key') };
  };
  return {
    'app.info': () => ({ version: deps.version, settings: deps.settings.get() }),
    'app.setIdleLockMinutes': ({ minutes }) => deps.settings.setIdleLockMinutes(minutes),
    'app.touch': () => null,

    'store.status': () => store.status(),
    'store.create': async ({ passphrase, operator }) => {
      await store.create(passphrase, undefined, operator);
      return store.status();
    },
    'store.unlock': async ({ passphrase, operator }) => {
      const wait = unlockBackoff.wait();
      if (wait > 0) throw new AppError('UNLOCK_BACKOFF', `Too many wrong passphrases: try again in ${Math.ceil(wait / 1000)} s.`);
      try {
        // The operator's name: the actor of every record until the store locks (services/actor.ts).
        await store.unlock(passphrase, operator);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'WRONG_PASSPHRASE') unlockBackoff.failed();
        throw error;
      }
      unlockBackoff.succeeded();
      return store.status();
    },
    'store.lock': () => {
      store.lock();
      return store.status();
    },
    'store.rekey': ({ passphrase, next, reason }) => store.rekey(passphrase, next, reason),
    'store.changePassphrase': async ({ current, next }) => {
      await store.changePassphrase(current, next);
      return null;
    },
    'store.verify': () => store.verify(),
    'store.backup': async (_request, ctx) => {
      const file = await deps.saveFile({ title: 'Save a backup of the store', defaultName: `keyladder-${new Date().toISOString().slice(0, 10)}.klbackup`, filters: BACKUP_FILTERS });
      if (file === null) return { canceled: true };
      // Never a silent overwrite: an existing file is replaced only on the operator's explicit yes.
      const replace = existsSync(file) && (await deps.confirm({
        title: 'Replace the existing file?',
        message: `${path.basename(file)} already exists. Replace it with a new backup?`,
        detail: 'The file there now is lost: if it is an older backup, it can no longer be restored.',
        yes: 'Replace it',
      }));
      if (existsSync(file) && !replace) return { canceled: true };
      await store.backup(file, ctx.progress, replace);
      return { canceled: false, file };
    },
    'store.restore': async ({ passphrase, reason, operator }) => {
      const file = await deps.openFile({ title: 'Choose the backup to restore', filters: BACKUP_FILTERS });
      if (file === null) return { canceled: true };
      // What is about to be restored, as the CLI shows it; another store's backup is refused here
      // (BACKUP_OTHER_STORE: the app has no --other-store), before the question.
      const preview = await store.previewRestore(file, passphrase);
      const yes = await deps.confirm({
        title: 'Replace the store with this backup?',
        message: `Replace the whole store with the backup ${path.basename(file)}?`,
        detail: `${restorePreviewText(path.basename(file), path.dirname(store.status().path), preview)}\n\nThe store in place now is kept in a replaced-<time> folder beside it. Every device, model group, Kissuer generation and audit entry added since the backup was taken is lost, and revocations and destroyed generations since then come back. The store locks; unlock it afterwards with the backup’s passphrase.`,
        yes: 'Replace the store',
      });
      if (!yes) throw new AppError('NOT_CONFIRMED', 'Nothing was restored: replacing the store was not confirmed.');
      await store.restore(file, passphrase, { ...(reason === undefined ? {} : { reason }), ...(operator === undefined ? {} : { operator }) });
      return { canceled: false, file, status: store.status() };
    },
    'store.overview': () => ({ ...services.overview.get(), responder: deps.responder.status() }),

    'devices.list': (query) => devices.list(query),
    'devices.get': ({ identity }) => devices.get(identity),
    'devices.provision': ({ identity, group, keys, reuseIdentity }) => devices.provision({ identity, group: group ?? null, keys, reuseIdentity: reuseIdentity === true }),
    'devices.importFile': async ({ format, reuseIdentity }, ctx) => {
      const file = await deps.openFile({
        title: 'Import devices',
        filters: [
          { name: 'Device lists (CSV, JSON)', extensions: ['csv', 'json'] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      if (file === null) return { canceled: true };
      const chosen = format === undefined || format === 'auto' ? (file.toLowerCase().endsWith('.json') ? 'json' : 'csv') : format;
      const report = await devices.import(await readFile(file, 'utf8'), chosen, ctx.progress, { reuseIdentity: reuseIdentity === true });
      return { canceled: false, file, report };
    },
    'devices.revoke': ({ identity, reason }) => devices.revoke(identity, reason),
    'devices.clearPossibleClone': ({ identity }) => devices.clearPossibleClone(identity),
    'devices.countSelection': ({ selection }) => devices.countSelection(selection),
    'devices.delete': async ({ selection, confirm, reason }) => {
      // The typed count must be what the selection holds now: one that grew or shrank since the dialog is not what was confirmed.
      const held = devices.select(selection, MAX_SELECTION).length;
      if (held !== confirm) throw new AppError('NOT_CONFIRMED', `Nothing was deleted: the selection holds ${held.toLocaleString('en')} device${held === 1 ? '' : 's'}, not the ${confirm.toLocaleString('en')} typed.`);
      return devices.deleteSelected(selection, reason);
    },
    'devices.exportBundle': async ({ selection, protection }) => {
      // Resolved before any dialog: a selection that holds nothing is refused at once.
      const identities = devices.select(selection);
      const keyed = await exportProtection(protection);
      if (keyed === null) return { canceled: true };
      const file = await deps.saveFile({ title: 'Save the provisioning bundle', defaultName: 'keyladder-bundle.jwe', filters: JWE_FILTERS });
      if (file === null) return { canceled: true };
      await devices.exportBundle(identities, keyed, privateFile(file));
      return { canceled: false, file, count: identities.length };
    },

    'groups.list': () => groups.list(),
    'groups.add': ({ name, keys }) => groups.add(name, keys),

    'issuers.list': () => issuers.list(),
    'issuers.rotate': ({ graceDays }) => issuers.rotate(graceDays),
    'issuers.retire': ({ generation, reason }) => issuers.retire(generation, reason),
    'issuers.destroy': ({ generation, reason }) => issuers.destroy(generation, reason),
    'issuers.exportToPeer': async ({ generations, protection }) => {
      const keyed = await exportProtection(protection);
      if (keyed === null) return { canceled: true };
      const file = await deps.saveFile({ title: 'Save the Kissuer export for the peer', defaultName: 'keyladder-kissuer.jwe', filters: JWE_FILTERS });
      if (file === null) return { canceled: true };
      await issuers.exportToPeer(generations, keyed, privateFile(file));
      return { canceled: false, file, generations };
    },
    'issuers.importFromPeer': async ({ protection, unsigned }) => {
      const file = await deps.openFile({ title: 'Import Kissuer from a peer', filters: JWE_FILTERS });
      if (file === null) return { canceled: true };
      let keyed: OpenProtection;
      if (protection.kind === 'rsa-key-file') {
        const keyFile = await deps.openFile({ title: 'Choose our RSA private key (JWK) that the export was made for', filters: JWK_FILTERS });
        if (keyFile === null) return { canceled: true };
        keyed = { kind: 'rsa', privateJwk: await readJwkFile(keyFile, 'the private key'), unsigned: unsigned === true };
      } else {
        keyed = { ...protection, unsigned: unsigned === true };
      }
      const imported = await issuers.importFromPeer((await readFile(file, 'utf8')).trim(), keyed);
      return { canceled: false, file, imported };
    },

    'jose.inspect': ({ text }) => jose.inspect(text),
    'jose.encrypt': async ({ text, to }) => ({ jwe: await jose.encrypt(text, to) }),
    'jose.inspectFile': async () => {
      const file = await deps.openFile({ title: 'Choose a JWE or JWS to inspect', filters: JOSE_FILTERS });
      if (file === null) return { canceled: true };
      if ((await stat(file)).size > MAX_JOSE_TEXT) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'That file is larger than 1 MiB: no JOSE object KeyLadder reads is.');
      const text = (await readFile(file, 'utf8')).trim();
      // Inspected first: a file that is no JOSE object (a key file, say) is refused here and its text never crosses.
      const inspection = await jose.inspect(text);
      // A JWS whose payload holds key material carries it in its text (base64url hides nothing): that text stays in main.
      const withheld = inspection.view.type === 'jws' && inspection.view.payload.withheld !== undefined;
      return { canceled: false, file, ...(withheld ? {} : { text }), inspection };
    },
    'jose.decrypt': async ({ text, key }) => {
      const source = await chosenKey(key);
      if (source === null) return { canceled: true };
      const { plaintext, ...result } = await jose.decrypt(text, source);
      plaintext?.fill(0);
      return { canceled: false, result };
    },
    'jose.verify': async ({ text, key }) => {
      const source = await chosenKey(key);
      if (source === null) return { canceled: true };
      const { payload, ...result } = await jose.verify(text, source);
      payload?.fill(0);
      return { canceled: false, result };
    },

    'keyring.recipients': () => services.keyring.recipients(),
    'keyring.addRecipientFile': async ({ kid, label, use, roles, source }) => {
      const file = await deps.openFile({ title: 'Choose the recipient’s public key', filters: PUBLIC_KEY_FILTERS });
      if (file === null) return { canceled: true };
      if ((await stat(file)).size > MAX_PUBLIC_KEY_FILE) throw new ServiceError(ServiceErrorCode.RECIPIENT_KEY_INVALID, 'That file is larger than 256 KiB: no public key or JWKS is.', undefined, 'MALFORMED');
      const recipient = await services.keyring.addRecipient(await readFile(file, 'utf8'), { ...(kid === undefined ? {} : { kid }), ...(use === undefined ? {} : { use }), ...(label === undefined ? {} : { label }), ...(roles === undefined ? {} : { roles }), ...(source === undefined ? {} : { source }) });
      return { canceled: false, file, recipient };
    },
    'keyring.removeRecipient': async ({ kid }) => {
      const recipient = services.keyring.recipient(kid);
      const yes = await deps.confirm({
        title: 'Remove this recipient?',
        message: `Remove the recipient "${recipient.kid}" (${recipient.description}, ${recipient.use}) from the keyring?`,
        detail: recipient.use === 'enc'
          ? 'Exports can no longer be made to it until its public key is added again and its thumbprint confirmed with its owner.'
          : 'Imports signed by it are no longer accepted until its public key is added again and its thumbprint confirmed with its owner.',
        yes: 'Remove it',
      });
      if (!yes) throw new AppError('NOT_CONFIRMED', `The recipient "${recipient.kid}" was not removed: removing it was not confirmed.`);
      return services.keyring.removeRecipient(kid);
    },
    'keyring.ownKeys': () => services.keyring.ownKeys(),
    'keyring.identityJwks': async () => `${JSON.stringify(await services.keyring.identityJwks(), null, 2)}\n`,
    'keyring.rotateOwnKey': async ({ use }) => {
      const yes = await deps.confirm({
        title: use === 'sig' ? 'Rotate the signing key?' : 'Rotate the encryption key?',
        message: use === 'sig' ? 'Make a new signing key pair for this KeyLadder?' : 'Make a new encryption key pair for this KeyLadder?',
        detail: use === 'sig'
          ? 'What is signed from now on carries the new key’s kid: hand the new public JWKS to factories and peers, or they refuse what this KeyLadder signs. The old key is kept, retired.'
          : 'Peers should encrypt to the new key from now on: hand them the new public JWKS. The old key is kept, retired, so exports made to it still open.',
        yes: 'Rotate it',
      });
      if (!yes) throw new AppError('NOT_CONFIRMED', 'No key was rotated: rotating it was not confirmed.');
      return services.keyring.rotateOwnKey(use);
    },

    'exchanges.simulate': ({ identity, ...options }) => exchanges.simulate(identity, options),
    'exchanges.respond': ({ requestJson, profile }) => exchanges.respond(requestJson, profile),
    'exchanges.checkResponse': ({ requestJson, responseJson, profile }) => exchanges.checkResponse(requestJson, responseJson, profile),
    'exchanges.clonePolicy': () => exchanges.clonePolicy(),
    'exchanges.setClonePolicy': ({ policy }) => exchanges.setClonePolicy(policy),

    'audit.list': (query) => audit.list(query),
    'audit.verify': () => audit.verify(),
    'revocations.peerLists': () => services.revocations.peerLists(),

    'responder.status': () => deps.responder.status(),
    'responder.start': async (request) => {
      const host = request.host ?? RESPONDER_DEFAULT_HOST;
      if (isLoopbackHost(host)) return deps.responder.start(request);
      // Main asks, in its own dialog: a compromised renderer cannot say yes for the operator.
      const yes = await deps.confirm({
        title: 'Listen beyond this machine?',
        message: `Make the responder reachable from other machines on ${host}?`,
        detail: 'Anyone who can reach this address can send key requests, learn which identities are provisioned, fill the audit log and load this machine. Use it only on a lab network you trust, behind a firewall, preferably with TLS.',
        yes: `Listen on ${host}`,
      });
      if (!yes) throw new AppError('NOT_CONFIRMED', `The responder was not started: listening on ${host} was not confirmed.`);
      return deps.responder.start({ ...request, allowRemote: true });
    },
    'responder.stop': () => deps.responder.stop('operator'),
    'responder.metrics': () => deps.responder.metrics(),
    // The files are chosen and read in main: the renderer sees their names only.
    'responder.chooseTokenFile': async () => {
      const file = await deps.openFile({ title: 'Choose the bearer token file (its first line is the token)', filters: [{ name: 'All files', extensions: ['*'] }] });
      if (file === null) return { canceled: true };
      return { canceled: false, file, status: deps.responder.chooseTokenFile(file) };
    },
    'responder.chooseClientCa': async () => {
      const file = await deps.openFile({ title: 'Choose the CA certificate that issues client certificates (PEM)', filters: PEM_FILTERS });
      if (file === null) return { canceled: true };
      return { canceled: false, file, status: deps.responder.chooseClientCa(file) };
    },
    'responder.chooseTls': async () => {
      const cert = await deps.openFile({ title: 'Choose the TLS certificate (PEM)', filters: PEM_FILTERS });
      if (cert === null) return { canceled: true };
      const key = await deps.openFile({ title: 'Choose the certificate’s private key (PEM)', filters: PEM_FILTERS });
      if (key === null) return { canceled: true };
      return { canceled: false, file: cert, status: deps.responder.chooseTls(cert, key) };
    },

    'responder.mslMessages': (request) => deps.responder.mslMessages(request?.after),
    'responder.mslMessage': ({ id, showPayload }) => deps.responder.mslMessage(id, showPayload === undefined ? {} : { showPayload }),
    // The MSL message inspector: parsing stays here, bounded by the reader's caps; the renderer gets the inspection.
    'msl.inspect': ({ text, showPayload }) => services.mslInspect.inspectText(text, { showPayload: showPayload === true }),
    'msl.inspectFile': async (request) => {
      const file = await deps.openFile({ title: 'Choose a captured MSL message to inspect', filters: MSL_CAPTURE_FILTERS });
      if (file === null) return { canceled: true };
      const bytes = await readCaptureFile(file);
      return { canceled: false, file, inspection: services.mslInspect.inspectCapture(bytes, { showPayload: request?.showPayload === true }) };
    },
    // Issue 21: one WRAP renewal between the PSK/MGK one and the handshake, so each kind of message shows once.
    'exchanges.simulateMsl': ({ identity, mechanism }) => services.mslSimulate.simulate(identity, { ...(mechanism === undefined ? {} : { mechanism }), rungs: 1 }),
    // The MSL server (issue 21, item 4). Key files are chosen and read here: keys never cross to the renderer.
    'mslServer.identities': () => services.msl.keys.identities().map(mslIdentityEntry),
    'mslServer.createIdentity': async ({ name }) => mslIdentityEntry(await services.msl.keys.createIdentity(name)),
    'mslServer.rotateIdentity': async ({ name }) => mslIdentityEntry(await services.msl.keys.rotateIdentity(name)),
    'mslServer.importIdentity': async ({ keyId, name, publicKeyFile }) => {
      const file = await deps.openFile({ title: 'Choose the MSL server’s private key (PEM) or its config (mslsrv.cfg)', filters: MSL_KEY_FILTERS });
      if (file === null) return { canceled: true };
      const text = await readMslKeyFile(file);
      let publicKeyText: string | undefined;
      if (publicKeyFile === true) {
        const pub = await deps.openFile({ title: 'Choose the public key the MSL clients pin (PEM, or the msl.rsa.pub.N line)', filters: MSL_KEY_FILTERS });
        if (pub === null) return { canceled: true };
        publicKeyText = await readMslKeyFile(pub);
      }
      const identity = await services.msl.keys.importIdentityText(text, { ...(keyId === undefined ? {} : { keyId }), ...(name === undefined ? {} : { name }), ...(publicKeyText === undefined ? {} : { publicKeyText }) });
      return { canceled: false, file, identity: mslIdentityEntry(identity) };
    },
    'mslServer.retireIdentity': ({ generation, reason }) => mslIdentityEntry(services.msl.keys.retireIdentity(generation, reason)),
    'mslServer.destroyIdentity': ({ generation, reason }) => mslIdentityEntry(services.msl.keys.destroyIdentity(generation, reason)),
    'mslServer.tokenKeys': () => services.msl.keys.tokenKeyGenerations(),
    'mslServer.rotateTokenKeys': ({ graceSeconds }) => services.msl.keys.rotateTokenKeys(graceSeconds),
    'mslServer.importTokenKeys': async ({ graceSeconds }) => {
      const file = await deps.openFile({ title: 'Choose the MSL server’s config (msl.key.enc, msl.key.hmac)', filters: MSL_CONFIG_FILTERS });
      if (file === null) return { canceled: true };
      const generation = services.msl.keys.importTokenKeysText(await readMslKeyFile(file), graceSeconds);
      return { canceled: false, file, generation };
    },
    'mslServer.retireTokenKeys': ({ generation, reason }) => services.msl.keys.retireTokenKeys(generation, reason),
    'mslServer.destroyTokenKeys': ({ generation, reason }) => services.msl.keys.destroyTokenKeys(generation, reason),
    'mslServer.settings': () => services.msl.settings.all(),
    'mslServer.setSettings': (change) => services.msl.settings.setAll(change),
  };
}

// ---------------------------------------------------------------- the MSL server's key files

const MSL_KEY_FILTERS: readonly FileFilter[] = [
  { name: 'Keys and MSL configs (PEM, cfg)', extensions: ['pem', 'key', 'cfg', 'txt'] },
  { name: 'All files', extensions: ['*'] },
];

const MSL_CONFIG_FILTERS: readonly FileFilter[] = [
  { name: 'MSL configs (cfg, JSON)', extensions: ['cfg', 'json', 'txt'] },
  { name: 'All files', extensions: ['*'] },
];

const mslIdentityEntry = (i: MslIdentityView): MslIdentityEntry => ({ ...i, clientConfig: mslClientConfigLines(i) });

/**
 * A key file or MSL config main reads itself, bounded: at most one byte past the limit is ever read
 * (a file that grows after a size check cannot slip by), and the bytes are zeroed once they are text.
 */
async function readMslKeyFile(file: string): Promise<string> {
  const unreadable = () => new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The chosen file cannot be read. Nothing was changed.');
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    throw unreadable();
  }
  const bytes = Buffer.alloc(MAX_MSL_CONFIG_BYTES + 1);
  try {
    let length = 0;
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(bytes, length, bytes.length - length, null));
      } catch {
        throw unreadable();
      }
      if (n === 0) break;
      length += n;
      if (length > MAX_MSL_CONFIG_BYTES) throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, `That file is larger than ${MAX_MSL_CONFIG_BYTES / 1024} KiB: no key file or MSL config is. Nothing was changed.`);
    }
    return bytes.subarray(0, length).toString('utf8');
  } finally {
    bytes.fill(0);
    await handle.close();
  }
}
