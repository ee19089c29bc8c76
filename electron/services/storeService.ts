// Creating, unlocking, locking, re-keying, backing up and restoring the store.

import { secretRandom } from '../jwe/secretBuffer.js';
import { ownKeysFor } from './keyring.js';
import { mslServerFor } from './mslKeys.js';
import { KeyStore, type OpenOptions, type RestoreOptions, type RestoreOutcome } from '../../db/store.js';
import type { BackupPreview } from '../../db/restorePreview.js';
import type { RekeyCounts } from '../../db/rekey.js';
import { storeFiles } from '../../db/files.js';
import { readKeyFile, unwrapStoreKey } from '../../db/keyfile.js';
import type { StoreApi } from './api.js';
import { addActiveGeneration, applyPeerGenerations, readPeerExport } from './issuerKeys.js';
import type { OpenProtection } from './bundles.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import type { StoreSession } from './session.js';
import { diskSpace, type DiskSpace, type StatFs } from './diskSpace.js';
import type { ProgressCallback, StoreStatus, StoreVerification } from './types.js';
import { checkOperatorName, checkReason } from './actor.js';

/**
 * Where the app keeps the last audit head it saw, outside the store (the OS
 * keychain, through Electron's safeStorage): an old copy of the store put back
 * cannot put back this too.
 */
export interface HeadKeeper {
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

export class StoreService implements StoreApi {
  /** The warning of the last unlock, while the store stays unlocked. */
  private rollback: string | undefined;
  private pendingSave: Promise<void> = Promise.resolve();
  /** The last full check's outcome, for the Overview; a restore forgets it (it checked another store). */
  private lastVerified: { at: string; ok: boolean; problems: number } | null = null;
  /** Who acts through the store: the door's actor, or the operator name given at the app's unlock (for the session). */
  private actor: string | null;

  constructor(
    private readonly session: StoreSession,
    private readonly now: () => Date,
    private readonly kdfLogN?: number,
    private readonly open: OpenOptions = {},
    private readonly headKeeper?: HeadKeeper,
    private readonly statfs?: StatFs,
  ) {
    session.onLock(() => this.keepHead());
    this.actor = open.actor ?? null;
  }

  /** The open options with the actor of this session (a name given at unlock wins over the door's). */
  private opening(actor: string | null = this.actor): OpenOptions {
    return { ...this.open, actor };
  }

  /** The actor an unlock (or create) with `operator` records: the name checked, or the door's own. */
  private actorFor(operator: string | undefined, passphrase: string): string | null {
    return operator === undefined ? this.open.actor ?? null : checkOperatorName(operator, passphrase);
  }

  /** Who acts through the store now (the app's Audit screen offers it as a filter). */
  currentActor(): string | null {
    return this.actor;
  }

  status(): StoreStatus {
    const unlocked = this.session.unlocked;
    return {
      path: storeFiles(this.session.dir).db, exists: KeyStore.exists(this.session.dir), unlocked,
      ...(unlocked && this.rollback ? { rollback: this.rollback } : {}), ...(unlocked && this.actor !== null ? { actor: this.actor } : {}),
    };
  }

  /** Holds the store just unlocked against the head this app saw last, then remembers the current one. */
  private async checkHead(): Promise<void> {
    this.rollback = undefined;
    if (!this.headKeeper) return;
    let kept: string | undefined;
    try {
      kept = await this.headKeeper.load();
    } catch {
      kept = undefined; // the keychain is unavailable: nothing to compare
    }
    const store = this.session.store();
    if (kept !== undefined) {
      try {
        const problems = store.rollbackProblems(store.readAuditCheckpoint(kept));
        if (problems.length > 0) {
          this.rollback = problems.join(' ');
          store.audit.append({ at: this.now().toISOString(), action: 'store.rollback-detected', outcome: 'refused', subject: null, details: { problem: problems[0]!.slice(0, 200) } });
        }
      } catch {
        // A head of another store (the app was pointed at another folder): nothing to compare.
      }
    }
    this.keepHead();
  }

  /** Remembers the current head (best effort: the keychain may be unavailable). */
  private keepHead(): void {
    if (!this.headKeeper || !this.session.unlocked) return;
    const text = JSON.stringify(this.session.store().auditCheckpoint(this.now().toISOString()));
    this.pendingSave = this.headKeeper.save(text).catch(() => undefined);
  }

  /** Resolves once the last head handed to the keeper is saved (tests, quit). */
  headSaved(): Promise<void> {
    return this.pendingSave;
  }

  /**
   * Creates the store and its first Kissuer generation, in one step. A
   * responder joining a network of peers starts instead from the generations
   * of a peer's export (`join`), so that both name them alike.
   */
  async create(passphrase: string, join?: { readonly jwe: string; readonly protection: OpenProtection }, operator?: string): Promise<void> {
    const actor = this.actorFor(operator, passphrase);
    const joined = join && (await readPeerExport(join.jwe, join.protection));
    if (joined && !joined.generations.some((g) => g['status'] === 'active')) throw new ServiceError(ServiceErrorCode.BUNDLE_INVALID, 'To join, the export must hold the peer\'s active generation.');
    const [addOwnKeys, addMslServer] = await Promise.all([ownKeysFor(this.now()), mslServerFor(this.now())]);
    const store = await KeyStore.create(this.session.dir, passphrase, (s) => {
      if (joined) applyPeerGenerations(s, joined.generations, this.now(), joined.opened.signer);
      else addActiveGeneration(s, secretRandom(16), 'keyladder-v1', 'generated', this.now(), 0);
      addOwnKeys(s);
      addMslServer(s);
    }, this.kdfLogN === undefined ? this.opening(actor) : { ...this.opening(actor), kdfLogN: this.kdfLogN });
    this.actor = actor;
    this.session.set(store);
    this.rollback = undefined;
    this.keepHead();
  }

  async unlock(passphrase: string, operator?: string): Promise<void> {
    // The name is checked before the passphrase is tried: a bad one changes nothing, not even the failed-unlock note.
    const actor = this.actorFor(operator, passphrase);
    this.session.set(await KeyStore.unlock(this.session.dir, passphrase, this.opening(actor)));
    this.actor = actor;
    await this.checkHead();
  }

  lock(): void {
    this.session.lock();
    // The name given at unlock was for that session: the next one names its own.
    this.actor = this.open.actor ?? null;
  }

  async changePassphrase(current: string, next: string): Promise<void> {
    await this.session.store().changePassphrase(current, next, this.kdfLogN);
  }

  /**
   * A new store key (db/store.ts, rekey), with the passphrase kept or changed
   * to `next`; the store is unlocked again afterwards. Old key files and
   * recovery keys open nothing from then on.
   */
  async rekey(passphrase: string, next?: string, reasonInput?: string): Promise<RekeyCounts> {
    const reason = checkReason(reasonInput);
    this.session.flushPending();
    const counts = await this.session.store().rekey(passphrase, next, this.kdfLogN, reason);
    this.session.set(await KeyStore.unlock(this.session.dir, next ?? passphrase, this.opening()));
    this.rollback = undefined;
    this.keepHead();
    return counts;
  }

  async backup(file: string, onProgress?: ProgressCallback, force = false): Promise<void> {
    this.session.store().backup(file, (done, total) => onProgress?.({ done, total, phase: 'copying' }), force);
  }

  /**
   * The raw SQLCipher key, for recovery and forensics with a SQLCipher 4 tool.
   * Only the command line offers this (never the app's IPC); it needs the
   * passphrase again and leaves an audit record. The caller zeroes the result.
   */
  async recoveryKey(passphrase: string): Promise<Buffer> {
    const store = this.session.store();
    const key = await unwrapStoreKey(readKeyFile(storeFiles(this.session.dir).key), passphrase);
    store.audit.append({ at: this.now().toISOString(), action: 'store.recovery-key', outcome: 'ok', subject: null, details: {} });
    return key;
  }

  /**
   * Restoring replaces the store: it is locked once held alone, and stays
   * locked. A restore refused before that (the backup's passphrase, or
   * STORE_IN_USE while `serve` has the store open) leaves the store as it was:
   * unlocked, its responder answering, if it was.
   */
  async restore(file: string, passphrase: string, options: RestoreOptions & { readonly reason?: string; readonly operator?: string } = {}): Promise<RestoreOutcome> {
    const reason = checkReason(options.reason);
    // From the app's unlock screen (no session), the operator names themself as at an unlock.
    const actor = options.operator === undefined ? this.actor : checkOperatorName(options.operator, passphrase);
    const outcome = await KeyStore.restore(this.session.dir, file, passphrase, () => this.session.lockAlone('restore'), { ...(options.otherStore === undefined ? {} : { otherStore: options.otherStore }) }, { actor, reason });
    // The restore locks the store: its session, and the name given at its unlock, end.
    this.actor = this.open.actor ?? null;
    this.lastVerified = null;
    return outcome;
  }

  /** What restore would put in place; the store (locked or not) is not touched. */
  previewRestore(file: string, passphrase: string, options: RestoreOptions = {}): Promise<BackupPreview> {
    return KeyStore.previewRestore(this.session.dir, file, passphrase, options);
  }

  lastVerification(): { at: string; ok: boolean; problems: number } | null {
    return this.lastVerified;
  }

  /** Free space on the store's file system, and whether it is low (diskSpace.ts); undefined where it cannot be read. */
  diskSpace(): DiskSpace | undefined {
    return diskSpace(this.session.dir, this.statfs);
  }

  /** The database's size in bytes (pages in use), for the status view and the benchmarks. */
  sizeBytes(): number {
    return this.session.store().fileSize();
  }

  verify(checkpointText?: string): StoreVerification {
    this.session.flushPending();
    const store = this.session.store();
    const checkpoint = checkpointText === undefined ? undefined : store.readAuditCheckpoint(checkpointText);
    const result = store.verify();
    const checked = checkpoint ? [...result.problems, ...store.rollbackProblems(checkpoint)] : result.problems;
    this.lastVerified = { at: this.now().toISOString(), ok: checked.length === 0, problems: checked.length };
    return checkpoint ? { ...result, ok: checked.length === 0, problems: checked } : result;
  }
}
