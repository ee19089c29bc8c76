// The names of the IPC channels and events, with no dependencies, so the
// preload (bundled on its own) and the contract share one list. contract.ts
// must define exactly these channels: the compiler checks it.

export const CHANNELS = [
  'app.info', 'app.setIdleLockMinutes', 'app.touch',
  'store.status', 'store.create', 'store.unlock', 'store.lock', 'store.changePassphrase', 'store.verify',
  'devices.list', 'devices.get', 'devices.provision', 'devices.importFile', 'devices.revoke', 'devices.exportBundle',
  'groups.list', 'groups.add',
  'issuers.list', 'issuers.rotate', 'issuers.retire', 'issuers.destroy', 'issuers.exportToPeer', 'issuers.importFromPeer',
  'exchanges.simulate', 'exchanges.respond', 'exchanges.checkResponse',
  'audit.list', 'audit.verify',
] as const;

export type Channel = (typeof CHANNELS)[number];

/** What main sends to the renderer on its own. */
export const EVENTS = {
  progress: 'keyladder:progress',
  locked: 'keyladder:locked',
} as const;

export interface ProgressEvent {
  readonly channel: Channel;
  readonly done: number;
  readonly total: number;
}

export interface LockedEvent {
  readonly reason: 'idle';
}
