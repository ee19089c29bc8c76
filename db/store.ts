// The encrypted key store: one SQLCipher 4 database under a random 256-bit
// store key, and a key file that holds that key wrapped under the operator's
// passphrase. This is the only module that opens SQLite.
//
// Unlocking never writes before the passphrase and the database have both
// proved themselves: a wrong passphrase, a foreign file, a damaged or altered
// database, or one from a newer KeyLadder leaves every byte as it was.

import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUSY_TIMEOUT_MS, openForWriting, probe, type Db } from './connection.js';
import { StoreError, StoreErrorCode, fromSqliteError, isDiskFull, storeReplacedError } from './errors.js';
import { DB_FILE, KEY_FILE, asUnwritable, checkOutput, keepPrevious, keepPrivate, keepStorePrivate, openNewFile, publishFile, removeIfExists, storeFiles, type PreviousFile } from './files.js';
import { StoreHold } from './storeHold.js';
import { describeBackupDatabase, otherStoreError, type BackupPreview } from './restorePreview.js';
import { keepReplacedStore } from './safetyCopy.js';
import { closeJournal, finishSwap, markReady, needsSwap, owedRestore, type RestoreMarker } from './restoreJournal.js';
import { checkPassphrase, newScryptParams, DEFAULT_LOG_N } from './kdf.js';
import { parseKeyFile, readKeyFile, unwrapStoreKey, wrapStoreKey, writeKeyFile, type KeyFile } from './keyfile.js';
import { LATEST_VERSION, migrate, refuseNewer } from './migrations/index.js';
import { AuditRepository, type BackupStamp, stampBackup, stampRestore, takeBackupStamp, type AuditRecord } from './repositories/audit.js';
import { DeviceRepository } from './repositories/devices.js';
import { GroupRepository } from './repositories/groups.js';
import { IssuerRepository } from './repositories/issuers.js';
import { WrapdataRepository } from './repositories/wrapdata.js';
import { RevocationRepository } from './repositories/revocations.js';
import { KeyringRepository } from './repositories/keyring.js';
import { MslIdentityRepository } from './repositories/mslIdentities.js';
import { MslTokenKeyRepository } from './repositories/mslTokenKeys.js';
import { MslTokenRepository } from './repositories/mslTokens.js';
import { TombstoneRepository } from './repositories/tombstones.js';
import { issuerBinding, RecordSealer, deriveSubkey } from './sealing.js';
import { makeCheckpoint, readCheckpoint, rollbackProblems, type AuditCheckpoint } from './checkpoint.js';
import { WalCheckpointer } from './walCheckpointer.js';
import { copyResealed, type RekeyCounts } from './rekey.js';

export interface OpenOptions {
  /**
   * Checkpoint the WAL on a worker thread instead of in whichever commit fills
   * it (see walCheckpointer.ts). For the long-running doors: the HTTP
   * responder and the app.
   */
  readonly backgroundCheckpoints?: boolean;
  /**
   * The audit action of a successful unlock: the CLI unlocks once per command
   * and records 'store.unlock-cli', which `audit list` leaves out by default.
   */
  readonly unlockAction?: 'store.unlock' | 'store.unlock-cli';
  /**
   * Called once if the database file is found replaced under this open store
   * (see watchOtherWriters): the store has locked itself by then. `serve`'s
   * workers stop on it.
   */
  readonly onReplaced?: () => void;
  /**
   * Who acts through this store (issue 22): every audit record it appends
   * carries this actor unless the record names its own (a responder's: none).
   * The CLI's user@host, the app's operator name; none if not given.
   */
  readonly actor?: string | null;
}

/** Who asked for a destructive change, and why: carried into its audit record. */
export interface Attribution {
  readonly actor?: string | null;
  readonly reason?: string | null;
}

export interface CreateOptions extends OpenOptions {
  /** scrypt cost as log2(N); at least 17 (OWASP). */
  readonly kdfLogN?: number;
}

export interface IntegrityReport {
  readonly ok: boolean;
  readonly problems: string[];
}

const BACKUP_MAGIC = Buffer.from('KEYLADDER-BACKUP-1\n', 'latin1');

const now = (): string => new Date().toISOString();
/** How often a store looks for commits of other processes (see watchOtherWriters). */
const OTHER_WRITERS_CHECK_MS = 1000;

/**
 * SQLite's page cache (decrypted pages), per connection: 16 MiB for the
 * audit log's tail and the small tables, plus room for every device's working
 * set: its row, its identity index entry and counters (about 335 bytes on
 * disk) and its last three wrapdata tags with their index (about 270 bytes),
 * so 640 bytes a device with the cache's own overhead; at most 1 GiB.
 * With 64 MiB for all, a store of 1,000,000 devices (306 MB) kept only its
 * identity index in memory, and nearly every lookup decrypted and
 * authenticated a 4 KiB page: 20 us at the p50 against 6 us at 10,000 devices
 * (issue 14; docs/benchmarks.md). SQLite fills the cache only with pages it
 * reads or writes, and a small fleet's cache is smaller than before, so a
 * responder's memory levels off within its first minute (the soak). The pages
 * hold sealed records only: no key is in the clear in this memory.
 */
const BASE_CACHE_KIB = 16 * 1024;
const CACHE_BYTES_PER_DEVICE = 640;
const MAX_CACHE_KIB = 1024 * 1024;
export const cacheKibFor = (devices: number): number => Math.min(MAX_CACHE_KIB, BASE_CACHE_KIB + Math.ceil((devices * CACHE_BYTES_PER_DEVICE) / 1024));


export class KeyStore {
  readonly devices: DeviceRepository;
  readonly groups: GroupRepository;
  readonly issuers: IssuerRepository;
  readonly audit: AuditRepository;
  readonly wrapdata: WrapdataRepository;
  readonly revocations: RevocationRepository;
  readonly keyring: KeyringRepository;
  readonly mslIdentities: MslIdentityRepository;
  readonly mslTokenKeys: MslTokenKeyRepository;
  readonly mslTokens: MslTokenRepository;
  /** Deleted devices (migration 010). */
  readonly tombstones: TombstoneRepository;
  private open = true;
  private checkpointer: WalCheckpointer | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private replacedFile = false;
  /** The database file this store opened (device and inode), to notice it replaced (fileReplaced). */
  private readonly opened: { dev: number; ino: number };
  /** Prepared once: read on every MSL message (dataVersion). */
  private readonly dataVersionStmt: { get(): unknown };

  private constructor(
    readonly dir: string,
    private readonly db: Db,
    readonly sealer: RecordSealer,
    private readonly auditKey: Buffer,
    private keyFile: KeyFile,
    private hold: StoreHold,
  ) {
    const { dev, ino } = statSync(storeFiles(dir).db);
    this.opened = { dev, ino };
    this.devices = new DeviceRepository(db);
    this.groups = new GroupRepository(db);
    this.issuers = new IssuerRepository(db);
    this.audit = new AuditRepository(db, auditKey, keyFile.storeId);
    this.wrapdata = new WrapdataRepository(db);
    this.revocations = new RevocationRepository(db);
    this.keyring = new KeyringRepository(db);
    this.mslIdentities = new MslIdentityRepository(db);
    this.mslTokenKeys = new MslTokenKeyRepository(db);
    this.mslTokens = new MslTokenRepository(db);
    this.tombstones = new TombstoneRepository(db);
    this.dataVersionStmt = db.prepare('PRAGMA data_version').pluck();
  }

  /** Whether `dir` holds a store (its key file). */
  static exists(dir: string): boolean {
    return existsSync(storeFiles(dir).key);
  }

  /**
   * Creates a store in `dir` and returns it unlocked. `initialize` runs in the
   * same transaction as the schema (the first Kissuer generation, say), so a
   * store is never seen half made. The key file is written last: a folder with
   * a database and no key file is an interrupted create, and is made again.
   */
  static async create(dir: string, passphrase: string, initialize: (store: KeyStore) => void, options: CreateOptions = {}): Promise<KeyStore> {
    checkPassphrase(passphrase);
    const files = storeFiles(dir);
    if (existsSync(files.key)) throw new StoreError(StoreErrorCode.STORE_EXISTS, `A store already exists in ${dir}. Unlock it, or choose another folder.`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const storeKey = randomBytes(32);
    const hold = StoreHold.shared(dir);
    try {
      for (const f of [files.db, files.wal, files.shm]) removeIfExists(f);
      const keyFile = await wrapStoreKey(storeKey, passphrase, newScryptParams(options.kdfLogN ?? DEFAULT_LOG_N));
      const store = KeyStore.openUnlocked(dir, storeKey, keyFile, true, options, hold);
      try {
        store.transaction(() => {
          initialize(store);
          store.audit.append({ at: now(), action: 'store.create', outcome: 'ok', subject: null, details: { schema: LATEST_VERSION, kdf: 'scrypt', kdfLogN: keyFile.kdf.logN } });
        });
        store.db.pragma('wal_checkpoint(TRUNCATE)');
        writeKeyFile(files.key, keyFile);
        return store;
      } catch (e) {
        store.lock();
        for (const f of [files.db, files.wal, files.shm]) removeIfExists(f);
        throw e;
      }
    } catch (e) {
      hold.release(); // idempotent: lock() let go of it already if the store opened
      throw e;
    } finally {
      storeKey.fill(0);
    }
  }

  static async unlock(dir: string, passphrase: string, options: OpenOptions = {}): Promise<KeyStore> {
    const files = storeFiles(dir);
    // Nothing is made in a folder that holds no store (not even the lock file).
    if (!existsSync(files.key) && !existsSync(files.restore)) throw storeNotFound(dir);
    const hold = KeyStore.holdAfterSwap(dir);
    try {
      return await KeyStore.unlockHeld(dir, passphrase, options, hold);
    } catch (e) {
      hold.release(); // idempotent: lock() let go of it already if the store opened
      throw e;
    }
  }

  /**
   * The shared hold of an opener (db/storeHold.ts), taken once no journaled
   * swap is left half done: one is finished first, holding the store alone
   * (it waits for a restore or rekey under way in another process, up to the
   * busy timeout). The journal is looked at again under the shared hold,
   * since a swap may have been staged between the two.
   */
  private static holdAfterSwap(dir: string): StoreHold {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (needsSwap(dir)) {
        const alone = StoreHold.exclusive(dir, 'unlock again', BUSY_TIMEOUT_MS);
        try {
          finishSwap(dir);
        } finally {
          alone.release();
        }
      }
      const hold = StoreHold.shared(dir);
      if (!needsSwap(dir)) return hold;
      hold.release();
    }
    throw new StoreError(StoreErrorCode.STORE_IN_USE, 'Another process keeps restoring or rekeying this store. Try again when it has finished.');
  }

  private static async unlockHeld(dir: string, passphrase: string, options: OpenOptions, hold: StoreHold): Promise<KeyStore> {
    const files = storeFiles(dir);
    if (!existsSync(files.key)) throw storeNotFound(dir);
    if (!existsSync(files.db)) throw new StoreError(StoreErrorCode.STORE_CORRUPT, `The store in ${dir} has a key file but no database. Restore it from a backup.`);
    // An older KeyLadder's store may have its files at 0644: tighten them before anything is read
    // (a mode, never a byte: a refused unlock still leaves the files byte-identical).
    keepStorePrivate(dir);
    const keyFile = readKeyFile(files.key);
    let storeKey: Buffer;
    try {
      storeKey = await unwrapStoreKey(keyFile, passphrase);
    } catch (e) {
      // The database cannot be opened without the key, so a wrong passphrase is
      // noted beside it (time only) and entered into the audit log next time.
      // A KDF that broke (INTERNAL_ERROR) is no failed unlock and is not noted.
      if (e instanceof StoreError && e.code === StoreErrorCode.WRONG_PASSPHRASE) {
        try {
          appendFileSync(files.failedUnlocks, `${now()}\n`, { mode: 0o600 });
          keepPrivate(files.failedUnlocks);
        } catch {
          // A read-only folder cannot take the note; the refusal stands anyway.
        }
      }
      throw e;
    }
    try {
      refuseNewer(probe(files.db, storeKey));
      const store = KeyStore.openUnlocked(dir, storeKey, keyFile, false, options, hold);
      // A restore swapped in and not yet recorded (its own unlock, or a crash before it): its record
      // is written here, in the unlock's transaction, once (the shared hold keeps the journal still).
      const owed = owedRestore(dir);
      try {
        store.transaction(() => {
          if (owed !== undefined && !store.audit.recordsRestore(owed.restoreId)) {
            store.audit.append({
              at: now(), action: 'store.restore', outcome: 'ok', subject: null,
              details: { bytes: owed.bytes, restoreId: owed.restoreId, restoredAt: owed.restoredAt, ...(owed.backupId !== undefined ? { backupId: owed.backupId } : {}) },
              // Who restored and why, as the journal kept them (an older journal: whoever unlocks now).
              ...(owed.actor !== undefined ? { actor: owed.actor } : {}), reason: owed.reason ?? null,
            });
          }
          store.audit.append(...store.takeFailedUnlocks(), { at: now(), action: options.unlockAction ?? 'store.unlock', outcome: 'ok', subject: null, details: {} });
        });
      } catch (e) {
        store.lock();
        throw e;
      }
      if (owed !== undefined) closeJournal(dir);
      removeIfExists(files.failedUnlocks);
      removeStaleKeyFileCopies(dir);
      return store;
    } finally {
      storeKey.fill(0);
    }
  }

  private static openUnlocked(dir: string, storeKey: Buffer, keyFile: KeyFile, create: boolean, options: OpenOptions, hold: StoreHold): KeyStore {
    const path = storeFiles(dir).db;
    const db = openForWriting(path, storeKey, create);
    try {
      migrate(db);
    } catch (e) {
      db.close();
      throw e instanceof StoreError ? e : fromSqliteError(e, 'The database file', path);
    }
    let store: KeyStore;
    try {
      store = new KeyStore(dir, db, RecordSealer.forStore(storeKey), deriveSubkey(storeKey, 'audit mac'), keyFile, hold);
    } catch (e) {
      db.close();
      throw e;
    }
    // Before the unlock's own record, which names who unlocked.
    store.audit.actor = options.actor ?? null;
    if (options.backgroundCheckpoints === true) store.checkpointer = WalCheckpointer.start(db, path, storeKey);
    store.sizeCacheToFleet();
    store.watchOtherWriters(options.onReplaced);
    return store;
  }

  /**
   * Another process (the CLI beside the app, another \`serve\` worker) may
   * destroy a Kissuer generation whose opened key this one holds. Nothing here
   * would otherwise look at that generation again (a bare-MSL one is never
   * asked for by number), so once a second this process checks whether any
   * other connection committed (PRAGMA data_version, which costs no I/O), and
   * if so forgets and zeroes the opened keys of destroyed generations.
   *
   * And it checks that the database file is still the one it opened: a
   * process that went on answering from a file a restore had replaced would
   * answer for devices revoked since, and record its exchanges where nobody
   * reads them (issue 19, item 1). A restore or rekey cannot replace the file
   * while this store holds it (db/storeHold.ts); this is the defence behind
   * that, for a file replaced by other means (a copy by hand, an older
   * KeyLadder). The store then locks itself (STORE_REPLACED from then on) and
   * calls `onReplaced`. SQLite itself, seeing the file moved, neither
   * checkpoints into nor deletes the new file's -wal and -shm when this
   * connection closes.
   */
  private watchOtherWriters(onReplaced?: () => void): void {
    let seen = this.db.pragma('data_version', { simple: true }) as number;
    this.watcher = setInterval(() => {
      if (!this.open) return;
      if (this.fileReplaced()) {
        this.replacedFile = true;
        this.lock();
        onReplaced?.();
        return;
      }
      // The fleet may have grown here or in another process (an import).
      this.sizeCacheToFleet();
      try {
        const version = this.db.pragma('data_version', { simple: true }) as number;
        if (version !== seen) {
          seen = version;
          this.forgetDestroyedIssuers();
        }
      } catch {
        // Busy or closing: the next tick looks again.
      }
    }, OTHER_WRITERS_CHECK_MS);
    this.watcher.unref();
  }

  private cacheKib = 0;
  /** Prepared once: it runs every second. */
  private fleetSizeStmt: { get(): unknown } | undefined;

  /**
   * Sets the page cache to hold the fleet (cacheKibFor); a no-op while the
   * fleet's size is the same. The cache is only a matter of speed: if the
   * store cannot say (busy, or a page that does not authenticate, which every
   * other read will report), the cache stays as it was.
   */
  sizeCacheToFleet(): void {
    try {
      // max(id) is one step down the table's b-tree, where count(*) reads it all; it is the count, or a
      // little more after deletions, which only errs towards a larger cache.
      this.fleetSizeStmt ??= this.db.prepare('SELECT coalesce(max(id), 0) FROM devices').pluck();
      const devices = this.fleetSizeStmt.get() as number;
      const kib = cacheKibFor(devices);
      if (kib === this.cacheKib) return;
      this.db.pragma(`cache_size = -${kib}`);
      this.cacheKib = kib;
    } catch {
      // Next second, again.
    }
  }

  /** The page cache's size in KiB, as set (tests). */
  get pageCacheKib(): number {
    return -(this.db.pragma('cache_size', { simple: true }) as number);
  }

  /** Zeroes and drops the opened keys of generations that are destroyed (here or by another process). */
  forgetDestroyedIssuers(): void {
    const remembered = new Set(this.sealer.rememberedBindings());
    if (remembered.size === 0) return;
    for (const generation of this.issuers.destroyedGenerations()) {
      const binding = issuerBinding(generation);
      if (remembered.has(binding)) this.sealer.forget(binding);
    }
  }

  /**
   * The failed unlocks noted since the last unlock, less those already in the
   * audit log: the note is removed only after the unlock commits, so another
   * process unlocking meanwhile (a worker of `serve --workers N`) may have
   * entered them already. Call inside the unlock's transaction.
   */
  private takeFailedUnlocks(): AuditRecord[] {
    const path = storeFiles(this.dir).failedUnlocks;
    if (!existsSync(path)) return [];
    const noted = readFileSync(path, 'utf8').split('\n').filter((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(line));
    const entered = new Map<string, number>();
    for (const at of this.audit.timesOf('store.unlock-failed', noted)) entered.set(at, (entered.get(at) ?? 0) + 1);
    return noted.filter((at) => {
      const n = entered.get(at) ?? 0;
      if (n > 0) entered.set(at, n - 1);
      return n === 0;
    // Nobody known made these attempts (the note holds a time only): no actor.
    }).map((at) => ({ at, action: 'store.unlock-failed', outcome: 'refused' as const, subject: null, details: { reason: 'WRONG_PASSPHRASE' }, actor: null }));
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Whether this store locked itself because its database file was replaced (watchOtherWriters). */
  get replaced(): boolean {
    return this.replacedFile;
  }

  /** Whether the path this store opened now names another file, or none. */
  fileReplaced(): boolean {
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(storeFiles(this.dir).db, { throwIfNoEntry: false });
    } catch {
      return false; // the folder cannot be looked at just now (permissions, a network share): next second, again
    }
    return now === undefined || now.ino !== this.opened.ino || now.dev !== this.opened.dev;
  }

  private ensureOpen(): void {
    if (this.replacedFile) throw storeReplacedError();
    if (!this.open) throw new StoreError(StoreErrorCode.STORE_LOCKED, 'The store is locked. Unlock it first.');
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction (nested calls join the outer one). Commits
   * are fsynced (synchronous=FULL). `relaxed` is for batches of exchange
   * records only: in WAL mode synchronous=NORMAL still never corrupts, and a
   * process crash loses nothing, but a power cut may lose the last commits.
   */
  transaction<T>(fn: () => T, durability: 'full' | 'relaxed' = 'full', wait: 'wait' | 'no-wait' = 'wait'): T {
    this.ensureOpen();
    if (this.db.inTransaction) return fn();
    if (durability === 'relaxed') this.db.pragma('synchronous = NORMAL');
    // `no-wait`: when another process holds the write lock, fail at once (SQLITE_BUSY) instead of
    // blocking this thread for up to the busy timeout: a responder's event loop must never wait.
    if (wait === 'no-wait') this.db.pragma('busy_timeout = 0');
    try {
      // IMMEDIATE: take the write lock at BEGIN. Another process (the CLI while the app is
      // open) may write to the same store; a deferred transaction that read first would then
      // fail on its first write (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn.
      return this.db.transaction(fn).immediate();
    } catch (e) {
      // A damaged page or a full disk gets its own code; anything else (busy, a bug) goes up as it is.
      // Only SQLite's own full disk names the database: an ENOSPC thrown by `fn` (an export's file
      // written inside the transaction) is that file's failure, which its caller reports as such.
      throw isSqliteCorruption(e) || (isSqliteError(e) && isDiskFull(e, storeFiles(this.dir).db)) ? fromSqliteError(e, 'The database file') : e;
    } finally {
      if (durability === 'relaxed') this.db.pragma('synchronous = FULL');
      if (wait === 'no-wait') this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /**
   * SQLite's PRAGMA data_version: a number that changes exactly when ANOTHER
   * connection (another process, a serve worker, the CLI beside the app)
   * committed since the last look; this connection's own commits leave it
   * unchanged. No I/O: it reads the WAL index. Services cache what they read
   * from the store on it (storeVersionCache.ts) and forget the cache
   * themselves when they write.
   */
  dataVersion(): number {
    this.ensureOpen();
    return this.dataVersionStmt.get() as number;
  }

  /**
   * Moves the WAL into the database file and truncates it, so that page images
   * holding erased data (a destroyed Kissuer) do not linger in the WAL.
   * secure_delete zeroes the freed bytes inside the database file itself.
   */
  checkpoint(): void {
    this.ensureOpen();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Forgets every key held in memory and closes the database. */
  lock(): void {
    if (!this.open) return;
    // A checkpointing thread that did not close in time is being terminated: the hold covers its
    // connection until it is really closed (a restore must not swap the files under it).
    const closing = this.close();
    if (closing !== undefined) this.hold.releaseAfter(closing);
    this.hold.release();
  }

  /**
   * Locks this store holding it alone (db/storeHold.ts), for a restore by the
   * process that has it open (the app): its shared hold is traded for the
   * exclusive one first, as rekey does, and a refusal (STORE_IN_USE: `serve`
   * or another process has it open) leaves it open and unchanged. `beforeLock`
   * runs once the store is known to be alone, while it is still open. The
   * caller releases the returned hold.
   */
  async lockAlone(then: string, beforeLock: () => void = () => {}): Promise<StoreHold> {
    this.ensureOpen();
    this.hold.release();
    let alone: StoreHold;
    try {
      alone = StoreHold.exclusive(this.dir, then);
    } catch (e) {
      this.hold = StoreHold.shared(this.dir);
      throw e;
    }
    try {
      beforeLock();
    } finally {
      const closing = this.close();
      // The checkpointing thread's connection is closed before anything is swapped.
      if (closing !== undefined) await closing;
    }
    return alone;
  }

  /** Closes the database and forgets the keys; the hold is the caller's. Returns a promise while the checkpointing thread is still closing. */
  private close(): Promise<void> | undefined {
    this.open = false;
    clearInterval(this.watcher);
    const closing = this.checkpointer?.stop();
    this.checkpointer = undefined;
    try {
      // Not into a file that has been replaced: nobody reads it any more.
      if (!this.replacedFile) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Nothing to checkpoint, or a reader holds it; SQLite will do it next time.
    }
    this.db.close();
    this.sealer.destroy();
    this.auditKey.fill(0);
    return closing;
  }

  /** Re-wraps the store key only; the database is not rewritten. */
  async changePassphrase(current: string, next: string, kdfLogN?: number): Promise<void> {
    this.ensureOpen();
    checkPassphrase(next);
    const files = storeFiles(this.dir);
    const onDisk = readKeyFile(files.key);
    const storeKey = await unwrapStoreKey(onDisk, current);
    try {
      const rewrapped = await wrapStoreKey(storeKey, next, newScryptParams(kdfLogN ?? Math.max(onDisk.kdf.logN, DEFAULT_LOG_N)), onDisk.storeId, onDisk.createdAt);
      writeKeyFile(files.key, rewrapped);
      this.keyFile = rewrapped;
      this.audit.append({ at: now(), action: 'store.passphrase-change', outcome: 'ok', subject: null, details: { kdf: 'scrypt', kdfLogN: rewrapped.kdf.logN } });
    } finally {
      storeKey.fill(0);
    }
  }

  /**
   * A new random store key for the whole store (db/rekey.ts): every page,
   * every sealed record and every audit MAC under keys derived from it, and a
   * new key file (under `next`, or the same passphrase). Afterwards an old key
   * file or an old recovery key opens nothing. Needs the store to itself: no
   * other process may have it open (their connections would go on writing to
   * the replaced file). Locks this store; unlock it again with the passphrase.
   */
  async rekey(passphrase: string, next?: string, kdfLogN?: number, reason?: string | null): Promise<RekeyCounts> {
    this.ensureOpen();
    if (next !== undefined) checkPassphrase(next);
    // The passphrase proves the operator: the key file is about to be replaced.
    const currentKey = await unwrapStoreKey(this.keyFile, passphrase);
    try {
      return await this.rekeyAlone(currentKey, passphrase, next, kdfLogN, reason ?? null);
    } finally {
      currentKey.fill(0);
    }
  }

  private async rekeyAlone(currentKey: Buffer, passphrase: string, next: string | undefined, kdfLogN: number | undefined, reason: string | null): Promise<RekeyCounts> {
    const files = storeFiles(this.dir);
    // The WAL checkpointer's connection would count as another one; it comes back if the rekey is refused.
    const checkpointing = this.checkpointer !== undefined;
    const closing = this.checkpointer?.stop();
    this.checkpointer = undefined;
    // Its connection must be closed before the hold is traded (see lock()).
    if (closing !== undefined) await closing;
    // The test restore uses too (db/storeHold.ts): this store's own shared hold is traded for the
    // exclusive one, held until the swap is done. Between the two calls (the same tick of this
    // thread) another process could only take the store alone if nobody else held it; it would then
    // get it instead, this rekey would be refused, and the watcher would see the file replaced.
    this.hold.release();
    let alone: StoreHold;
    try {
      alone = StoreHold.exclusive(this.dir, 'rekey');
    } catch (e) {
      this.hold = StoreHold.shared(this.dir);
      if (checkpointing) this.checkpointer = WalCheckpointer.start(this.db, files.db, currentKey);
      throw e;
    }
    const resume = () => {
      alone.release();
      this.hold = StoreHold.shared(this.dir);
      if (checkpointing) this.checkpointer = WalCheckpointer.start(this.db, files.db, currentKey);
    };
    // And leaving WAL mode needs every other connection closed: SQLite's own test, which also sees
    // an older KeyLadder that takes no hold.
    const inUse = new StoreError(StoreErrorCode.STORE_IN_USE, 'Another process has the store open (the app, keyladder serve, or another command): stop it, then rekey. Nothing was changed.');
    let mode: string;
    try {
      mode = String(this.db.pragma('journal_mode = DELETE', { simple: true })).toLowerCase();
    } catch (e) {
      resume();
      if ((e as { code?: unknown }).code === 'SQLITE_BUSY') throw inUse;
      throw e;
    }
    if (mode !== 'delete') {
      resume();
      throw inUse;
    }
    let counts: RekeyCounts;
    // The write lock, held to the end: nothing changes under the copy.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      removeIfExists(files.restore);
      mkdirSync(files.restore, { mode: 0o700 });
      const newKey = randomBytes(32);
      try {
        const to = openForWriting(join(files.restore, DB_FILE), newKey, true);
        const newSealer = RecordSealer.forStore(newKey);
        const newAuditKey = deriveSubkey(newKey, 'audit mac');
        try {
          migrate(to);
          counts = to.transaction(() => copyResealed(this.db, to, this.sealer, newSealer, newAuditKey, this.keyFile.storeId, (c) => ({
            at: now(), action: 'store.rekey', outcome: 'ok', subject: null,
            details: { devices: c.devices, groups: c.groups, generations: c.generations, auditEntries: c.auditEntries, passphraseChanged: next !== undefined },
            actor: this.audit.actor, reason,
          }))).immediate();
          to.pragma('wal_checkpoint(TRUNCATE)');
        } finally {
          to.close();
          newSealer.destroy();
          newAuditKey.fill(0);
        }
        const keyFile = await wrapStoreKey(newKey, next ?? passphrase, newScryptParams(kdfLogN ?? Math.max(this.keyFile.kdf.logN, DEFAULT_LOG_N)), this.keyFile.storeId);
        writeKeyFile(join(files.restore, KEY_FILE), keyFile);
      } finally {
        newKey.fill(0);
      }
      // From here a crash rolls the rekey forward at the next unlock; before, it is discarded.
      markReady(this.dir, { kind: 'rekey' });
    } catch (e) {
      this.db.exec('ROLLBACK');
      removeIfExists(files.restore);
      this.db.pragma('journal_mode = WAL');
      resume();
      throw e;
    }
    this.db.exec('ROLLBACK'); // nothing was written to the old database
    try {
      this.lock();
      finishSwap(this.dir);
    } finally {
      alone.release();
    }
    return counts;
  }

  /**
   * Writes a consistent, still-encrypted copy of the store to one file: the key
   * file, then a VACUUM INTO copy of the database (SQLite3MC encrypts it under
   * the same key; its backup API refuses, which is what we want).
   */
  backup(file: string, onProgress?: (done: number, total: number) => void, force = false): void {
    this.ensureOpen();
    // Before any work: an existing file is replaced only with --force, a symbolic link never.
    checkOutput(file, force);
    // Names this backup: its copy carries the id (writeBackup), and so does its audit record.
    const backupId = randomBytes(16).toString('hex');
    const tmpDb = `${file}.db-tmp-${process.pid}`;
    removeIfExists(tmpDb);
    let size: number;
    let previous: PreviousFile;
    try {
      try {
        previous = keepPrevious(file);
      } catch (e) {
        throw asUnwritable(e, file);
      }
      try {
        size = this.writeBackup(file, tmpDb, force, { backupId, at: now() }, onProgress);
      } catch (e) {
        previous.forget();
        throw asUnwritable(e, file);
      }
      try {
        this.audit.append({ at: now(), action: 'store.backup', outcome: 'ok', subject: null, details: { bytes: size, backupId, file: resolve(file) } });
      } catch (e) {
        // No record, no backup: a file the audit log does not know of is taken back, and the file
        // it replaced (with --force, kept aside by keepPrevious) comes back rather than vanishing.
        previous.putBack();
        throw e;
      }
      previous.forget();
    } finally {
      removeIfExists(tmpDb);
      removeIfExists(`${file}.tmp-${process.pid}`);
    }
  }

  /** The backup file itself (see backup); returns the database's size. */
  private writeBackup(file: string, tmpDb: string, force: boolean, stamp: BackupStamp, onProgress?: (done: number, total: number) => void): number {
    const quoted = `'${tmpDb.replace(/'/g, "''")}'`;
    this.db.exec(`VACUUM INTO ${quoted}`);
    // The copy alone is stamped (audit.ts, BackupStamp), through this connection: attached without a
    // key, the copy is opened under the store's own, which this process keeps only sealed.
    this.db.exec(`ATTACH DATABASE ${quoted} AS backup_copy`);
    try {
      // Nothing of the stamp may stay in a -wal beside the copy: only the copy's file is read below.
      this.db.pragma('backup_copy.journal_mode = DELETE');
      stampBackup(this.db, 'backup_copy', stamp);
    } finally {
      this.db.exec('DETACH DATABASE backup_copy');
    }
    const keyFileBytes = Buffer.from(JSON.stringify(this.keyFile), 'utf8');
    const size = statSync(tmpDb).size;
    const digest = createHash('sha256');
    const header = Buffer.alloc(8);
    header.writeUInt32BE(keyFileBytes.length, 0);
    removeIfExists(`${file}.tmp-${process.pid}`);
    const out = openNewFile(`${file}.tmp-${process.pid}`);
    try {
      for (const part of [BACKUP_MAGIC, header, keyFileBytes]) {
        writeSync(out, part);
        digest.update(part);
      }
      const chunk = Buffer.alloc(1 << 20);
      const input = openSync(tmpDb, 'r');
      try {
        let done = 0;
        for (;;) {
          const n = readSync(input, chunk, 0, chunk.length, null);
          if (n === 0) break;
          writeSync(out, chunk, 0, n);
          digest.update(chunk.subarray(0, n));
          done += n;
          onProgress?.(done, size);
        }
      } finally {
        closeSync(input);
      }
      writeSync(out, digest.digest());
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    publishFile(`${file}.tmp-${process.pid}`, file, force);
    return size;
  }

  /**
   * Replaces the store in `dir` with a backup, after proving that `passphrase`
   * opens it. Refused with STORE_IN_USE, changing nothing, while any process
   * (this one included: lock its store first, or pass `holdAlone`, which
   * locks it with lockAlone) has the store open; the store is
   * held alone from that test to the end of the swap (db/storeHold.ts). The
   * restored database is stamped with the restore's id before the swap, and
   * the swap is journaled (db/restoreJournal.ts): a crash after READY rolls
   * forward at the next unlock, which writes the `store.restore` record; a
   * stamped store whose log lacks that record does not verify.
   */
  static async restore(dir: string, file: string, passphrase: string, holdAlone: () => Promise<StoreHold> = async () => StoreHold.exclusive(dir, 'restore'), options: RestoreOptions = {}, by: Attribution = {}): Promise<RestoreOutcome> {
    const { keyFileText, dbBytes } = readBackup(file);
    const keyFile = parseKeyFile(keyFileText);
    // Before the passphrase's KDF: another store's backup is refused without --other-store, at no cost.
    refuseOtherStore(dir, keyFile.storeId, options.otherStore === true);
    const storeKey = await unwrapStoreKey(keyFile, passphrase);
    let alone: StoreHold;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The app passes its own (KeyStore.lockAlone): it locks its store only once it holds it alone.
      alone = await holdAlone();
    } catch (e) {
      storeKey.fill(0);
      throw e;
    }
    let safetyCopy: string | null;
    try {
      // Looked at again holding the store alone: the store in place now is the one replaced.
      refuseOtherStore(dir, keyFile.storeId, options.otherStore === true);
      // The replaced store is kept (owner-only) before the staging is marked READY: from READY on, a
      // crash rolls the swap forward, and the store it replaces must already be kept by then.
      try {
        safetyCopy = keepReplacedStore(dir, now());
      } catch (e) {
        throw asUnwritable(e, join(dir, 'replaced-*'));
      }
      try {
        KeyStore.stageRestore(dir, keyFile, dbBytes, storeKey, by);
      } catch (e) {
        // Refused before READY (a backup that does not authenticate, a full disk): the store stays in
        // place, so the copy kept of it goes (a refusal leaves the store folder as it was).
        if (safetyCopy !== null) removeIfExists(safetyCopy);
        throw e;
      }
      finishSwap(dir);
    } finally {
      storeKey.fill(0);
      alone.release();
    }
    // The unlock writes the restore's record (owedRestore), as it would after a crash here.
    const store = await KeyStore.unlock(dir, passphrase, { actor: by.actor ?? null });
    store.lock();
    return { safetyCopy };
  }

  /**
   * What restore(dir, file, passphrase) would put in place (db/restorePreview.ts),
   * read without touching the store: for the operator to confirm first.
   * Another store's backup is refused (BACKUP_OTHER_STORE) unless `otherStore`.
   */
  static async previewRestore(dir: string, file: string, passphrase: string, options: RestoreOptions = {}): Promise<BackupPreview> {
    const { keyFileText, dbBytes } = readBackup(file);
    const keyFile = parseKeyFile(keyFileText);
    // Refused here as restore would refuse it: no question is asked about a restore that cannot happen.
    refuseOtherStore(dir, keyFile.storeId, options.otherStore === true);
    const storeKey = await unwrapStoreKey(keyFile, passphrase);
    try {
      const currentStoreId = currentStoreIdOf(dir);
      return { ...describeBackupDatabase(dbBytes, storeKey), storeId: keyFile.storeId, currentStoreId, sameStore: currentStoreId === keyFile.storeId };
    } finally {
      storeKey.fill(0);
    }
  }

  /** Stages the backup in restore-pending/, stamped, and marks it READY. Call holding the store alone. */
  private static stageRestore(dir: string, keyFile: KeyFile, dbBytes: Buffer, storeKey: Buffer, by: Attribution): void {
    const files = storeFiles(dir);
    removeIfExists(files.restore);
    mkdirSync(files.restore, { mode: 0o700 });
    try {
      const stagedDb = join(files.restore, DB_FILE);
      const fd = openSync(stagedDb, 'w', 0o600);
      try {
        writeSync(fd, dbBytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let version: number;
      try {
        version = probe(stagedDb, storeKey);
      } catch (e) {
        // The checksum only catches accidents; pages that do not authenticate are an altered backup.
        if (e instanceof StoreError && e.code === StoreErrorCode.STORE_CORRUPT) throw new StoreError(StoreErrorCode.BACKUP_INVALID, 'The database in this backup does not authenticate under its key: the backup is damaged or was altered. Nothing was changed.');
        throw e;
      }
      refuseNewer(version);
      const restoreId = randomBytes(16).toString('hex');
      const restoredAt = now();
      const staged = openForWriting(stagedDb, storeKey, false);
      let marker: RestoreMarker;
      try {
        // The backup's stamp is taken out (a store still carrying one was copied in by hand, and does
        // not verify) and its id goes into this restore's stamp and record, in one transaction.
        marker = staged.transaction(() => {
          const backup = takeBackupStamp(staged);
          const m: RestoreMarker = {
            kind: 'restore', restoreId, restoredAt, bytes: dbBytes.length, ...(backup !== undefined ? { backupId: backup.backupId } : {}),
            // Its record is written at the next unlock, maybe another process's after a crash: the journal keeps who and why.
            actor: by.actor ?? null, ...(by.reason ? { reason: by.reason } : {}),
          };
          stampRestore(staged, { restoreId, restoredAt, bytes: m.bytes, ...(backup !== undefined ? { backupId: backup.backupId } : {}) });
          return m;
        })();
        staged.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        staged.close();
      }
      writeKeyFile(join(files.restore, KEY_FILE), keyFile);
      markReady(dir, marker);
    } catch (e) {
      removeIfExists(files.restore);
      throw e;
    }
  }

  /** Full check: every page's HMAC and SQLite's structure, then the audit chain. */
  verify(): IntegrityReport & { audit: ReturnType<AuditRepository['verify']> } {
    this.ensureOpen();
    const problems: string[] = [];
    try {
      const result = this.db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
      for (const row of result) if (row.integrity_check !== 'ok') problems.push(row.integrity_check);
      const fk = this.db.pragma('foreign_key_check') as unknown[];
      if (fk.length > 0) problems.push(`${fk.length} rows refer to missing model groups.`);
      const active = this.issuers.activeCount();
      if (active !== 1) problems.push(`There are ${active} active Kissuer generations; there must be exactly one.`);
    } catch (e) {
      problems.push(fromSqliteError(e, 'The database file').message);
      return { ok: false, problems, audit: { ok: false, entries: 0, problem: 'The database could not be read.' } };
    }
    let audit: ReturnType<AuditRepository['verify']>;
    try {
      audit = this.audit.verify();
    } catch (e) {
      // A page of the log that does not authenticate is a finding, not a crash.
      audit = { ok: false, entries: 0, problem: fromSqliteError(e, 'The audit log').message };
    }
    if (!audit.ok) problems.push(audit.problem ?? 'The audit log does not verify.');
    return { ok: problems.length === 0, problems, audit };
  }

  /** A MACed record of the audit chain's head, for the operator to keep outside the store (db/checkpoint.ts). */
  auditCheckpoint(at: string): AuditCheckpoint {
    this.ensureOpen();
    return makeCheckpoint(this.auditKey, this.keyFile.storeId, this.audit.head(), at);
  }

  /** Reads a checkpoint made by this store; CHECKPOINT_INVALID if it is not one. */
  readAuditCheckpoint(text: string): AuditCheckpoint {
    this.ensureOpen();
    return readCheckpoint(text, this.auditKey, this.keyFile.storeId);
  }

  /** How this store stands against an earlier head of its chain: problems if it went back or forked. */
  rollbackProblems(checkpoint: Pick<AuditCheckpoint, 'seq' | 'mac' | 'at'>): string[] {
    this.ensureOpen();
    return rollbackProblems(checkpoint, this.audit.head(), (seq) => this.audit.macAt(seq), this.audit.cut()?.seq ?? 0);
  }

  get storeId(): string {
    return this.keyFile.storeId;
  }

  /** Sizes for the benchmarks and the operator's status view. */
  fileSize(): number {
    this.ensureOpen();
    const { page_count: pages, page_size: size } = { page_count: this.db.pragma('page_count', { simple: true }) as number, page_size: this.db.pragma('page_size', { simple: true }) as number };
    return pages * size;
  }

  /** For tests and forensics only: raw SQL against the open database. */
  unsafeDatabase(): Db {
    this.ensureOpen();
    return this.db;
  }
}

/**
 * A crash during a passphrase change can leave writeFileAtomic's temporary
 * copy of the key file (`keyladder.key.json.tmp-<pid>`, the store key wrapped
 * under the passphrase being set). Once the store has unlocked, copies whose
 * process is gone are removed; a live process's copy is left alone.
 */
function removeStaleKeyFileCopies(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = /^keyladder\.key\.json\.tmp-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as { code?: string }).code === 'EPERM';
      }
    }
    if (!alive) removeIfExists(join(dir, name));
  }
}

function storeNotFound(dir: string): StoreError {
  return new StoreError(StoreErrorCode.STORE_NOT_FOUND, `No KeyLadder store in ${dir}: create one there, or choose the folder that holds it.`);
}

function isSqliteError(e: unknown): boolean {
  return ((e as { code?: unknown } | null)?.code as string | undefined)?.startsWith?.('SQLITE_') === true;
}

function isSqliteCorruption(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code ?? '';
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

export interface RestoreOptions {
  /** The backup may be of another store than the one it replaces (the CLI's --other-store). */
  readonly otherStore?: boolean;
}

export interface RestoreOutcome {
  /** The folder that keeps the replaced store (db/safetyCopy.ts); null when there was none. */
  readonly safetyCopy: string | null;
}

/** The id of the store in `dir`, or null when there is none (or its key file cannot be read: nothing to compare). */
function currentStoreIdOf(dir: string): string | null {
  const path = storeFiles(dir).key;
  if (!existsSync(path)) return null;
  try {
    return readKeyFile(path).storeId;
  } catch {
    return null;
  }
}

/** A backup of another store replaces this one only when the operator said so (BACKUP_OTHER_STORE). */
function refuseOtherStore(dir: string, backupStoreId: string, allowed: boolean): void {
  const current = currentStoreIdOf(dir);
  if (current === null || current === backupStoreId || allowed) return;
  throw otherStoreError(dir, backupStoreId, current);
}

function readBackup(file: string): { keyFileText: string; dbBytes: Buffer } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new StoreError(StoreErrorCode.BACKUP_INVALID, `Cannot read the backup file ${file}.`);
  }
  const invalid = () => new StoreError(StoreErrorCode.BACKUP_INVALID, 'This is not a KeyLadder backup, or it is truncated or altered.');
  if (bytes.length < BACKUP_MAGIC.length + 8 + 32 || !bytes.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) throw invalid();
  const keyLength = bytes.readUInt32BE(BACKUP_MAGIC.length);
  const keyStart = BACKUP_MAGIC.length + 8;
  const dbStart = keyStart + keyLength;
  const dbEnd = bytes.length - 32;
  if (dbStart > dbEnd) throw invalid();
  if (!createHash('sha256').update(bytes.subarray(0, dbEnd)).digest().equals(bytes.subarray(dbEnd))) throw invalid();
  return { keyFileText: bytes.subarray(keyStart, dbStart).toString('utf8'), dbBytes: Buffer.from(bytes.subarray(dbStart, dbEnd)) };
}

