// The store itself: create, check, back up, restore, passphrase and key.

import { checkOutput } from '../../../db/files.js';
import type { Command, Context } from '../command.js';
import { confirmed, reasonOf } from '../command.js';
import { CliError, CliErrorCode } from '../errors.js';
import { EXIT } from '../exitStatus.js';
import { checkReadableFile, peerProtection, readExport, readTextFile } from '../inputs.js';
import { generationLine, rekeyedLine, restorePreviewText } from '../lines.js';
import { readNewPassphrase, readPassphrase, storePassphrase } from '../passphrase.js';
import { progressBar } from '../progress.js';
import type { IssuerStatus, StoreOverview } from '../../services/types.js';

const STORE = 'Store' as const;

/** What `status` shows of the store's overview (issue 22, item 8): what an operator wants at a glance. */
function storeGlance(o: StoreOverview) {
  const countOf = (s: IssuerStatus) => o.generations.filter((g) => g.status === s).length;
  const active = o.generations.find((g) => g.status === 'active');
  return {
    devices: { active: o.devices.active, revoked: o.devices.revoked, deleted: o.devices.deleted },
    generations: { active: countOf('active'), grace: countOf('grace'), retired: countOf('retired'), destroyed: countOf('destroyed') },
    activeKissuer: active === undefined ? null : { generation: active.generation, kcv: active.kcv },
    auditHead: o.auditHead,
    lastBackup: o.lastBackup,
  };
}

const glanceText = (path: string, g: ReturnType<typeof storeGlance>): string => [
  `Store: ${path} (unlocked for this command; locked again when it ends)`,
  `Devices: ${g.devices.active} active, ${g.devices.revoked} revoked, ${g.devices.deleted} deleted`,
  `Kissuer generations: ${g.generations.active} active, ${g.generations.grace} in grace, ${g.generations.retired} retired, ${g.generations.destroyed} destroyed`,
  `Active Kissuer: ${g.activeKissuer === null ? 'none' : `gen ${g.activeKissuer.generation}, KCV ${g.activeKissuer.kcv}`}`,
  `Audit head: #${g.auditHead.seq}, MAC ${g.auditHead.macPrefix}…`,
  `Last backup: ${g.lastBackup === null ? 'none recorded' : `${g.lastBackup.at}${g.lastBackup.file === null ? '' : ` to ${g.lastBackup.file}`}`}`,
].join('\n');

/**
 * init's new passphrase: --new-passphrase-file, else --passphrase-file (as
 * before), else $KEYLADDER_NEW_PASSPHRASE, else $KEYLADDER_PASSPHRASE, else
 * asked twice on a terminal. Files before the environment: an explicit flag wins.
 */
const initPassphrase = (ctx: Context) => readNewPassphrase({
  files: [{ flag: 'new-passphrase-file', path: ctx.values['new-passphrase-file'] }, { flag: 'passphrase-file', path: ctx.values['passphrase-file'] }],
  env: ['KEYLADDER_NEW_PASSPHRASE', 'KEYLADDER_PASSPHRASE'],
  what: 'new store passphrase',
}, ctx.io);

const changedPassphrase = (ctx: Context) => readNewPassphrase({
  files: [{ flag: 'new-passphrase-file', path: ctx.values['new-passphrase-file'] }],
  env: ['KEYLADDER_NEW_PASSPHRASE'],
  what: 'new passphrase',
}, ctx.io);

export const storeCommands: readonly Command[] = [
  {
    name: 'init', section: STORE, arity: [0, 0], options: ['new-passphrase-file', 'kdf-log-n', 'join', 'private-key', 'bundle-passphrase-file', 'unsigned'],
    summary: 'create the store and its first Kissuer generation (with --join: from a peer\'s Kissuer export)',
    details: 'The new passphrase comes from --new-passphrase-file, else --passphrase-file, else $KEYLADDER_NEW_PASSPHRASE,\n' +
      'else $KEYLADDER_PASSPHRASE, else it is asked twice on a terminal.',
    async run(ctx) {
      const { services, values, out } = ctx;
      const jwe = values.join === undefined ? undefined : readExport(values.join, 'Kissuer export');
      const join = jwe === undefined ? undefined : { jwe, protection: await peerProtection(ctx, jwe) };
      await services.store.create(await initPassphrase(ctx), join);
      const gens = services.issuers.list();
      out.print(`Created the store in ${services.store.status().path}\nKissuer ${gens.map(generationLine).join('\n        ')}`, { store: services.store.status(), issuer: gens[0], issuers: gens });
      return 0;
    },
  },
  {
    name: 'status', section: STORE, arity: [0, 0], options: [],
    summary: 'the store at a glance: locked or not, device and generation counts, the active Kissuer, audit head, last backup',
    details: 'It unlocks the store, as every command does, when a passphrase is at hand (--passphrase-file, $KEYLADDER_PASSPHRASE,\n' +
      'or a terminal to ask on); without one it says the store is locked, and where it is.',
    async run(ctx) {
      const { services, out } = ctx;
      const status = services.store.status();
      if (!status.exists) {
        out.print(`Store: ${status.path} (not created)`, { ...status, locked: true });
        return 0;
      }
      try {
        await ctx.unlock();
      } catch (error) {
        // No passphrase to be had is an answer here: the store is locked. A passphrase file that cannot be read, or a wrong passphrase, stays an error.
        if (!(error instanceof CliError && error.code === CliErrorCode.NO_PASSPHRASE)) throw error;
        out.print(`Store: ${status.path} (locked: give its passphrase, with --passphrase-file or $KEYLADDER_PASSPHRASE, to see inside)`, { ...services.store.status(), locked: true });
        return 0;
      }
      const glance = storeGlance(services.overview.get());
      out.print(glanceText(services.store.status().path, glance), { ...services.store.status(), locked: false, ...glance });
      return 0;
    },
  },
  {
    name: 'verify', section: STORE, arity: [0, 0], options: ['checkpoint'],
    summary: 'check every page, the invariants and the audit chain (and, with a checkpoint, that the store did not go back)',
    async run(ctx) {
      const checkpoint = ctx.values.checkpoint === undefined ? undefined : readTextFile(ctx.values.checkpoint, 'checkpoint');
      await ctx.unlock();
      const result = ctx.services.store.verify(checkpoint);
      ctx.out.print(result.ok ? `The store verifies: every page authenticates, and ${result.audit.entries} audit entries chain.` : `The store does NOT verify:\n${result.problems.join('\n')}`, result);
      return result.ok ? EXIT.OK : EXIT.FAILED;
    },
  },
  {
    name: 'backup', section: STORE, params: 'FILE', arity: [1, 1], options: ['force'],
    summary: 'write an encrypted, consistent backup to a new file',
    details: 'The backup opens with the passphrase in force now. FILE must not exist yet, unless --force.',
    async run(ctx) {
      const file = ctx.args[0]!;
      // Checked before the unlock too, so that a refusal changes nothing; the store checks it again.
      checkOutput(file, ctx.values.force === true);
      await ctx.unlock();
      const bar = progressBar(ctx.io, 'Backing up');
      await ctx.services.store.backup(file, (p) => bar.update(p.done, p.total), ctx.values.force === true);
      bar.stop();
      ctx.out.print(`Backed up to ${file}. Restore it with the passphrase in force now.`, { file });
      return 0;
    },
  },
  {
    name: 'restore', section: STORE, params: 'FILE', arity: [1, 1], options: ['yes', 'other-store', 'reason'],
    summary: 'replace the store with a backup, opened with the passphrase in force when it was made',
    details: 'It first shows what it is about to restore (the backup\'s date, its store id and whether it is this store\'s,\n' +
      'device and generation counts, the audit head), then asks; --yes answers for a script, and without a terminal\n' +
      'it is needed. A backup of another store is refused unless --other-store. The replaced store is kept, owner-only,\n' +
      'in a replaced-<time>/ folder of the store folder (named in the output; `--store` opens it) until you delete it.\n' +
      'It needs the store alone: refused with STORE_IN_USE, changing nothing, while keyladder serve, the app or another\n' +
      'command has it open. The store is locked afterwards; audit verify then shows the restore\'s record.',
    async run(ctx) {
      const file = ctx.args[0]!;
      const reason = reasonOf(ctx);
      const { services, io } = ctx;
      const otherStore = ctx.values['other-store'] === true;
      // A missing backup is FILE_UNREADABLE, exit 2, like every missing file (issue 22, item 8), before any question.
      checkReadableFile(file, 'backup');
      // Refused before the passphrase is asked: no terminal and no --yes can only end in a refusal.
      if (!io.isTty || io.askLine === undefined) confirmed(ctx, `restore replaces the store in ${ctx.storeDir} with ${file}.`);
      const passphrase = await readPassphrase({ ...storePassphrase(ctx.values['passphrase-file']), what: 'passphrase of the backup' }, io);
      // Refuses another store's backup without --other-store (BACKUP_OTHER_STORE), before any question.
      const preview = await services.store.previewRestore(file, passphrase, { otherStore });
      io.stderr(`${restorePreviewText(file, ctx.storeDir, preview)}\n`);
      if (ctx.values.yes !== true) {
        const answer = await io.askLine!('Replace the store with this backup? [y/N]');
        if (!/^y(es)?$/i.test(answer.trim())) {
          ctx.out.print('Not restored: the store is as it was.', { file, restored: false, preview });
          return EXIT.FAILED;
        }
      }
      const outcome = await services.store.restore(file, passphrase, { otherStore, ...(reason === undefined ? {} : { reason }) });
      const kept = outcome.safetyCopy === null ? '' : `\nThe replaced store is kept in ${outcome.safetyCopy} (owner-only; keyladder --store that folder opens it). Delete it when you no longer need it.`;
      ctx.out.print(`Restored ${file} into ${services.store.status().path}.${kept}`, { file, store: services.store.status(), restored: true, preview, safetyCopy: outcome.safetyCopy });
      return 0;
    },
  },
  {
    name: 'passphrase change', section: STORE, arity: [0, 0], options: ['new-passphrase-file', 'rekey', 'kdf-log-n', 'reason'],
    summary: 're-wrap the store key under a new passphrase (--rekey: and give the store a new key, as rekey does)',
    async run(ctx) {
      if (ctx.values.reason !== undefined && ctx.values.rekey !== true) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, '--reason goes with --rekey (a passphrase change alone destroys nothing).');
      const reason = reasonOf(ctx);
      const current = await ctx.unlock();
      const next = await changedPassphrase(ctx);
      if (ctx.values.rekey === true) {
        const counts = await ctx.services.store.rekey(current, next, reason);
        ctx.out.print(`The passphrase is changed, and the store has a new key: ${rekeyedLine(counts)}`, { changed: true, rekeyed: counts });
        return 0;
      }
      await ctx.services.store.changePassphrase(current, next);
      ctx.out.print('The passphrase is changed. The store key was re-wrapped; the database was not rewritten: old key files and recovery keys still open it (use --rekey, or keyladder rekey).', { changed: true });
      return 0;
    },
  },
  {
    name: 'rekey', section: STORE, arity: [0, 0], options: ['kdf-log-n', 'reason'],
    summary: 'a new store key: every page, sealed key and audit MAC under it; old key files and recovery keys open nothing',
    async run(ctx) {
      const reason = reasonOf(ctx);
      const counts = await ctx.services.store.rekey(await ctx.unlock(), undefined, reason);
      ctx.out.print(`The store has a new key: ${rekeyedLine(counts)}`, { rekeyed: counts });
      return 0;
    },
  },
  {
    name: 'recovery-key', section: STORE, arity: [0, 0], options: ['yes'],
    summary: 'print the raw store key, for SQLCipher 4 tools (audited)',
    async run(ctx) {
      confirmed(ctx, 'recovery-key prints the raw key that decrypts the whole store; keep what it prints offline.');
      const passphrase = await ctx.unlock();
      const key = await ctx.services.store.recoveryKey(passphrase);
      const hex = key.toString('hex');
      key.fill(0);
      ctx.out.print(`${hex}\nOpen ${ctx.services.store.status().path} in a SQLCipher 4 tool with this raw key (see README: Recovery and forensics).`, { storeKey: hex, cipher: 'sqlcipher', compatibility: 4 });
      return 0;
    },
  },
];
