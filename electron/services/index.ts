// Wiring: one StoreSession, and the services over it that every door uses.

import type { RandomSource } from '../jwe/random.js';
import type { KeyLadderServices } from './api.js';
import { AuditService } from './audit.js';
import { ExchangeService } from './exchanges.js';
import { IssuerService } from './issuerKeys.js';
import { DeviceService, GroupService } from './provisioning.js';
import { StoreSession } from './session.js';
import { StoreService, type HeadKeeper } from './storeService.js';
import type { StatFs } from './diskSpace.js';
import { RevocationService } from './revocations.js';
import { KeyringService } from './keyring.js';
import { OverviewService } from './overview.js';
import { JoseToolsService } from './joseTools.js';
import { MslInspectService, storeInspectKeys } from './mslInspect.js';
import { MslSimulateService } from './mslSimulate.js';
import { MslKeyService } from './mslKeys.js';
import { MslSettingsService } from './mslSettings.js';
import { MslTokenService } from './mslTokens.js';
import { MslResponderService, mslServerState } from './mslResponder.js';

export interface ServicesOptions {
  readonly storeDir: string;
  /** scrypt cost (log2 N) for new key files; default 17. */
  readonly kdfLogN?: number;
  /** Batch exchange bookkeeping and audit writes (see exchangeRecorder.ts). Default true. */
  readonly batchExchangeRecords?: boolean;
  /**
   * Checkpoint the store's WAL on a worker thread (db/walCheckpointer.ts), so
   * that no exchange waits for one. For the long-running doors. Default false.
   */
  readonly backgroundCheckpoints?: boolean;
  /** Which door opens the store: the CLI's unlocks get their own audit action ('store.unlock-cli'). */
  readonly door?: 'cli';
  /**
   * Called if the store's database file is found replaced while it is open (db/store.ts,
   * watchOtherWriters); the store has locked itself by then. `serve`'s workers stop on it.
   */
  readonly onStoreReplaced?: () => void;
  /** The app's keeper of the last audit head it saw (the OS keychain), to warn at unlock when the store went back. */
  readonly headKeeper?: HeadKeeper;
  /** For tests: the file system's free space (fs.statfsSync otherwise). */
  readonly statfs?: StatFs;
  /** For tests: a clock and a random source. */
  readonly now?: () => Date;
  readonly random?: RandomSource;
}

export interface KeyLadderRuntime extends KeyLadderServices {
  readonly store: StoreService;
  readonly exchanges: ExchangeService;
  /** `msl inspect`: captured MSL messages decoded with the store's device keys and MSL server keys. */
  readonly mslInspect: MslInspectService;
  /** `msl simulate`: a simulated MSL device against this store's responder or a running one. */
  readonly mslSimulate: MslSimulateService;
  readonly issuers: IssuerService;
  readonly revocations: RevocationService;
  readonly keyring: KeyringService;
  readonly jose: JoseToolsService;
  /** The MSL server's identity and master-token keys, its settings and its token bookkeeping (issue 20). */
  readonly msl: { readonly keys: MslKeyService; readonly settings: MslSettingsService; readonly tokens: MslTokenService };
  /** POST /msl: whole MSL messages answered (issue 20). */
  readonly mslResponder: MslResponderService;
  /** The CLI's audit retention (archive, verify an archive, the exchange policy) as well as AuditApi. */
  readonly audit: AuditService;
  /** Flushes pending records and locks the store. */
  close(): void;
}

export function createServices(options: ServicesOptions): KeyLadderRuntime {
  const now = options.now ?? (() => new Date());
  const session = new StoreSession(options.storeDir);
  const exchanges = new ExchangeService(session, now, options.batchExchangeRecords ?? true, options.random);
  const store = new StoreService(session, now, options.kdfLogN, {
    backgroundCheckpoints: options.backgroundCheckpoints ?? false,
    ...(options.door === 'cli' ? { unlockAction: 'store.unlock-cli' as const } : {}),
    ...(options.onStoreReplaced ? { onReplaced: options.onStoreReplaced } : {}),
  }, options.headKeeper, options.statfs);
  const issuers = new IssuerService(session, now);
  const keyring = new KeyringService(session, now);
  const msl = { keys: new MslKeyService(session, now), settings: new MslSettingsService(session, now), tokens: new MslTokenService(session, now) };
  const mslResponder = new MslResponderService(session, exchanges, mslServerState(msl), now);
  const mslInspect = new MslInspectService(session, storeInspectKeys(msl.keys), now);
  return {
    store,
    devices: new DeviceService(session, now),
    groups: new GroupService(session, now),
    issuers,
    exchanges,
    mslInspect,
    mslSimulate: new MslSimulateService(session, msl.keys, mslResponder, mslInspect, now),
    audit: new AuditService(session, now),
    revocations: new RevocationService(session, now),
    keyring,
    jose: new JoseToolsService(session, keyring, now),
    msl,
    mslResponder,
    overview: new OverviewService(session, store, issuers, now),
    close: () => session.lock(),
  };
}

export { ServiceError, ServiceErrorCode, describeError } from './errors.js';
export type { KeyLadderServices } from './api.js';
