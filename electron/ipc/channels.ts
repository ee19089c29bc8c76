// The names of the IPC channels and events, with no dependencies (the audit
// actions' list it passes on has none either), so the
// preload (bundled on its own) and the contract share one list. contract.ts
// must define exactly these channels: the compiler checks it.

export const CHANNELS = [
  'app.info', 'app.setIdleLockMinutes', 'app.touch',
  'store.status', 'store.create', 'store.unlock', 'store.lock', 'store.changePassphrase', 'store.rekey', 'store.verify', 'store.backup', 'store.restore', 'store.overview',
  'devices.list', 'devices.get', 'devices.provision', 'devices.importFile', 'devices.revoke', 'devices.clearPossibleClone', 'devices.exportBundle', 'devices.countSelection', 'devices.delete',
  'groups.list', 'groups.add',
  'issuers.list', 'issuers.rotate', 'issuers.retire', 'issuers.destroy', 'issuers.exportToPeer', 'issuers.importFromPeer',
  'exchanges.simulate', 'exchanges.respond', 'exchanges.checkResponse', 'exchanges.clonePolicy', 'exchanges.setClonePolicy',
  'audit.list', 'audit.verify',
  'revocations.peerLists',
  'jose.inspect', 'jose.inspectFile', 'jose.decrypt', 'jose.verify', 'jose.encrypt',
  'keyring.recipients', 'keyring.addRecipientFile', 'keyring.removeRecipient', 'keyring.ownKeys', 'keyring.identityJwks', 'keyring.rotateOwnKey',
  'responder.status', 'responder.start', 'responder.stop', 'responder.chooseTls', 'responder.chooseTokenFile', 'responder.chooseClientCa', 'responder.metrics',
  'responder.mslMessages', 'responder.mslMessage',
  // The MSL message inspector (issue 21 item 3).
  'msl.inspect', 'msl.inspectFile',
  // Issue 21, the Test exchange screen's "Simulated MSL device".
  'exchanges.simulateMsl',
  // The MSL server's identity, master-token keys and settings (issue 21, item 4).
  'mslServer.identities', 'mslServer.createIdentity', 'mslServer.rotateIdentity', 'mslServer.importIdentity', 'mslServer.retireIdentity', 'mslServer.destroyIdentity',
  'mslServer.tokenKeys', 'mslServer.rotateTokenKeys', 'mslServer.importTokenKeys', 'mslServer.retireTokenKeys', 'mslServer.destroyTokenKeys',
  'mslServer.settings', 'mslServer.setSettings',
] as const;

export type Channel = (typeof CHANNELS)[number];

/**
 * Calls the renderer makes on its own, not on the operator's behalf: the
 * Responder screen asks for the server's status and traffic every second while
 * it shows. They do not count as activity, so they never hold off the idle lock.
 */
export const PASSIVE_CHANNELS: ReadonlySet<Channel> = new Set<Channel>(['responder.status', 'responder.metrics', 'responder.mslMessages']);

/** What main sends to the renderer on its own. */
export const EVENTS = {
  progress: 'keyladder:progress',
  locked: 'keyladder:locked',
} as const;

export interface ProgressEvent {
  readonly channel: Channel;
  readonly done: number;
  readonly total: number;
  /** Long work in stages says which one it is in. */
  readonly phase?: string;
}

export interface LockedEvent {
  /** idle: no activity for the idle time; system: the screen locked or the machine went to sleep. */
  readonly reason: 'idle' | 'system';
}

/** Every audit action (defined with the services, which write them), for the IPC contract's audit filter. */
export { AUDIT_ACTIONS } from '../services/auditActions.js';
