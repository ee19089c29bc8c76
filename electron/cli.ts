// The `keyladder` command: the command-line door onto the services. It parses
// arguments, finds the passphrase and key files, calls one service, and prints
// the result (human text, or JSON with --json). It holds no logic of its own.
//
// Key material is never taken from the command line (other users can read a
// process list): it comes from a JSON file, or from stdin when the file is "-".

import { readFileSync } from 'node:fs';
import { writeNewFile } from '../db/files.js';
import type { RekeyCounts } from '../db/rekey.js';
import { extname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createServices, type KeyLadderRuntime } from './services/index.js';
import { describeError, ServiceError, ServiceErrorCode } from './services/errors.js';
import type { BundleProtection, DeviceSummary, IssuerGeneration, JweProfileName, RungReport } from './services/types.js';
import type { DeviceKeyInput, GroupKeyInput } from './services/api.js';
import type { OpenProtection } from './services/bundles.js';
import { defaultStoreDir } from './paths.js';
import { CliUsageError, helpText, type Output } from './cli/output.js';
import { readPassphrase, readNewPassphrase } from './cli/passphrase.js';
import { progressBar } from './cli/progress.js';

const OPTIONS = {
  store: { type: 'string' },
  'passphrase-file': { type: 'string' },
  'new-passphrase-file': { type: 'string' },
  'bundle-passphrase-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  keys: { type: 'string' },
  group: { type: 'string' },
  out: { type: 'string' },
  recipient: { type: 'string' },
  'private-key': { type: 'string' },
  format: { type: 'string' },
  prefix: { type: 'string' },
  offset: { type: 'string' },
  limit: { type: 'string' },
  'grace-days': { type: 'string' },
  profile: { type: 'string' },
  mechanism: { type: 'string' },
  rungs: { type: 'string' },
  action: { type: 'string' },
  subject: { type: 'string' },
  outcome: { type: 'string' },
  'kdf-log-n': { type: 'string' },
  join: { type: 'string' },
  yes: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  checkpoint: { type: 'string' },
  rekey: { type: 'boolean', default: false },
  host: { type: 'string' },
  port: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'token-file': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  'uniform-refusals': { type: 'boolean', default: false },
  'rate-limit': { type: 'string' },
  workers: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => string;
  readonly isTty: boolean;
  readonly env: NodeJS.ProcessEnv;
}

const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0, 'utf8'),
  isTty: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  env: process.env,
});

function int(value: string | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliUsageError(`--${name} takes a whole number.`);
  return Number(value);
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliUsageError(`--${name} is one of: ${allowed.join(', ')}.`);
  return value as T;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] });
  } catch (e) {
    io.stderr(`keyladder: ${(e as Error).message}\nRun \`keyladder --help\` for usage.\n`);
    return 2;
  }
  const json = values.json === true;
  const out: Output = {
    json,
    print: (human, machine) => io.stdout(json ? `${JSON.stringify(machine)}\n` : `${human}\n`),
  };
  if (values.help || positionals.length === 0) {
    io.stdout(helpText());
    return 0;
  }
  const storeDir = storeDirFor(values, io);
  const services = createServices({
    storeDir,
    ...(values['kdf-log-n'] !== undefined ? { kdfLogN: int(values['kdf-log-n'], 'kdf-log-n')! } : {}),
    // A one-shot command writes its records before it exits anyway, and needs no checkpointing
    // thread. (`serve` runs its responders in worker processes, which open the store themselves.)
    batchExchangeRecords: false,
    backgroundCheckpoints: false,
  });
  const [command, sub, ...rest] = positionals;
  try {
    return await run(command!, sub, rest, values, services, io, out);
  } catch (error) {
    const described = error instanceof CliUsageError ? { code: 'USAGE', message: error.message } : describeError(error);
    if (json) io.stdout(`${JSON.stringify({ error: described })}\n`);
    else io.stderr(`keyladder: ${described.message} [${described.code}${'reason' in described && described.reason ? `/${described.reason}` : ''}]\n`);
    return error instanceof CliUsageError ? 2 : 1;
  } finally {
    services.close();
  }
}

const storeDirFor = (values: Values, io: CliIo): string => values.store ?? io.env['KEYLADDER_STORE'] ?? defaultStoreDir();

async function unlock(services: KeyLadderRuntime, values: Values, io: CliIo): Promise<void> {
  await services.store.unlock(await readPassphrase(values['passphrase-file'], io));
}

function readTextFile(file: string, role: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new CliUsageError(`Cannot read the ${role} file ${file}.`);
  }
}

function readKeysFile(file: string | undefined, io: CliIo): Record<string, unknown> {
  if (file === undefined) throw new CliUsageError('--keys FILE is required (a JSON file with hex keys, or - for stdin).');
  let text: string;
  try {
    text = file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
  } catch {
    throw new CliUsageError(`Cannot read the keys file ${file}.`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the usage error, which does not echo the file
  }
  throw new CliUsageError('The keys file must be a JSON object with hex values, such as {"kpe":"…","kph":"…"} or {"kpw":"…"}.');
}

type KeyTriple = { kind: 'generate' } | { kind: 'pair'; enc: string; hmac: string } | { kind: 'wrap'; wrap: string };

/** Reads {enc,hmac} (the wrapping key is derived) or {wrap} from a keys file; devices and groups name them differently. */
function keyTriple(keys: Record<string, unknown> | undefined, names: { enc: string; hmac: string; wrap: string }, what: string): KeyTriple {
  if (!keys) return { kind: 'generate' };
  const { enc, hmac, wrap } = names;
  const extra = Object.keys(keys).filter((k) => ![enc, hmac, wrap].includes(k));
  if (extra.length) throw new CliUsageError(`The keys file has unknown members (${extra.join(', ')}); a ${what} takes ${enc}+${hmac}, or ${wrap}.`);
  if (keys[enc] !== undefined || keys[hmac] !== undefined) {
    if (keys[wrap] !== undefined) throw new CliUsageError(`Give ${enc}+${hmac} (${wrap} is derived) or ${wrap}, not both.`);
    return { kind: 'pair', enc: String(keys[enc] ?? ''), hmac: String(keys[hmac] ?? '') };
  }
  if (keys[wrap] !== undefined) return { kind: 'wrap', wrap: String(keys[wrap]) };
  throw new CliUsageError(`The keys file needs ${enc}+${hmac}, or ${wrap}.`);
}

function deviceKeys(keys: Record<string, unknown> | undefined): DeviceKeyInput {
  const t = keyTriple(keys, { enc: 'kpe', hmac: 'kph', wrap: 'kpw' }, 'device');
  return t.kind === 'pair' ? { kind: 'kpe-kph', kpe: t.enc, kph: t.hmac } : t.kind === 'wrap' ? { kind: 'kpw', kpw: t.wrap } : t;
}

function groupKeys(keys: Record<string, unknown> | undefined): GroupKeyInput {
  const t = keyTriple(keys, { enc: 'kde', hmac: 'kdh', wrap: 'kdw' }, 'group');
  return t.kind === 'pair' ? { kind: 'kde-kdh', kde: t.enc, kdh: t.hmac } : t.kind === 'wrap' ? { kind: 'kdw', kdw: t.wrap } : t;
}

async function protection(values: Values, io: CliIo): Promise<BundleProtection> {
  if (values.recipient !== undefined) {
    return { kind: 'rsa', publicJwk: JSON.parse(readFileSync(values.recipient, 'utf8')) as Record<string, unknown> };
  }
  return { kind: 'passphrase', passphrase: await readNewPassphrase(values['bundle-passphrase-file'], io, 'KEYLADDER_BUNDLE_PASSPHRASE', 'Bundle passphrase') };
}

/** How a peer's Kissuer export is opened: a private RSA JWK file, or its passphrase. */
async function peerProtection(values: Values, io: CliIo): Promise<OpenProtection> {
  if (values['private-key'] !== undefined) return { kind: 'rsa', privateJwk: JSON.parse(readFileSync(values['private-key'], 'utf8')) as Record<string, unknown> };
  return { kind: 'passphrase', passphrase: await readPassphrase(values['bundle-passphrase-file'], io, 'KEYLADDER_BUNDLE_PASSPHRASE', 'Export passphrase') };
}

const deviceLine = (d: DeviceSummary): string =>
  `${d.identity}  ${d.status}  group=${d.group ?? '-'}  KCV kpw=${d.kcv.kpw}${d.kcv.kpe ? ` kpe=${d.kcv.kpe} kph=${d.kcv.kph}` : ''}  exchanges=${d.exchangeCount}${d.lastExchangeAt ? `  last=${d.lastExchangeAt} ${d.lastMechanism} gen ${d.lastGeneration}` : ''}` +
  (d.possibleClone ? `  POSSIBLE CLONE since ${d.possibleClone.since} (${d.possibleClone.events} superseded wrapdata)` : '');

const rekeyedLine = (c: RekeyCounts): string =>
  `${c.devices} devices, ${c.groups} model groups and ${c.generations} Kissuer generations resealed, ${c.auditEntries} audit entries chained again. Old key files, backups' key files excepted, and recovery keys open nothing now; print a new recovery key if you keep one, and take a new audit checkpoint.`;

const generationLine = (g: IssuerGeneration): string =>
  `gen ${g.generation}  ${g.status.padEnd(9)} ${g.format.padEnd(12)} KCV ${g.kcv ?? '------'}  exchanges=${g.exchangeCount}  created ${g.createdAt}${g.graceUntil ? `  grace until ${g.graceUntil}` : ''}${g.retiredAt ? `  retired ${g.retiredAt}` : ''}${g.destroyedAt ? `  destroyed ${g.destroyedAt}` : ''}`;

const rungLine = (r: RungReport): string =>
  `rung ${r.rung}  ${r.mechanism.padEnd(4)} gen ${r.issuedGeneration}${r.openedGeneration !== null ? ` (opened gen ${r.openedGeneration})` : ''}  ` +
  `Kwrap ${r.responder.kwrap}/${r.device.kwrap}  Kenc ${r.responder.kenc}/${r.device.kenc}  Khmac ${r.responder.khmac}/${r.device.khmac}  ${r.match ? 'match' : 'MISMATCH'}  ${(r.micros / 1000).toFixed(2)} ms`;

async function run(command: string, sub: string | undefined, rest: string[], values: Values, services: KeyLadderRuntime, io: CliIo, out: Output): Promise<number> {
  const args = sub === undefined ? rest : [sub, ...rest];
  const need = (n: number, usage: string) => {
    if (args.length < n) throw new CliUsageError(`Usage: keyladder ${usage}`);
  };
  switch (command) {
    case 'init': {
      const join = values.join === undefined ? undefined : { jwe: readFileSync(values.join, 'utf8').trim(), protection: await peerProtection(values, io) };
      const passphrase = await readNewPassphrase(values['passphrase-file'], io, 'KEYLADDER_PASSPHRASE', 'New store passphrase');
      await services.store.create(passphrase, join);
      const gens = services.issuers.list();
      out.print(`Created the store in ${services.store.status().path}\nKissuer ${gens.map(generationLine).join('\n        ')}`, { store: services.store.status(), issuer: gens[0], issuers: gens });
      return 0;
    }
    case 'status': {
      out.print(`Store: ${services.store.status().path} (${services.store.status().exists ? 'exists' : 'not created'})`, services.store.status());
      return 0;
    }
    case 'device':
      return deviceCommand(sub, rest, values, services, io, out);
    case 'group':
      return groupCommand(sub, rest, values, services, io, out);
    case 'issuer':
      return issuerCommand(sub, rest, values, services, io, out);
    case 'respond': {
      const profile = oneOf<JweProfileName>(values.profile, 'profile', ['msl', 'rfc7516']) ?? 'msl';
      await unlock(services, values, io);
      const result = services.exchanges.respond(io.readStdin(), profile);
      io.stdout(`${result.json}\n`);
      return result.ok ? 0 : 2;
    }
    case 'simulate': {
      need(1, 'simulate ID [--mechanism PSK|MGK] [--rungs N] [--profile msl|rfc7516]');
      await unlock(services, values, io);
      const report = await services.exchanges.simulate(args[0]!, {
        mechanism: oneOf(values.mechanism, 'mechanism', ['PSK', 'MGK'] as const) ?? 'PSK',
        rungs: int(values.rungs, 'rungs', 3)!,
        profile: oneOf<JweProfileName>(values.profile, 'profile', ['msl', 'rfc7516']) ?? 'msl',
      });
      out.print(`${report.rungs.map(rungLine).join('\n')}\n${report.allMatch ? 'Every KCV matches.' : 'KCVs DIFFER: the device and the responder disagree.'}`, report);
      return report.allMatch ? 0 : 1;
    }
    case 'policy': {
      if (sub !== 'clone' || rest.length > 1) throw new CliUsageError('Usage: keyladder policy clone [flag|refuse]');
      await unlock(services, values, io);
      if (rest.length === 0) {
        const policy = services.exchanges.clonePolicy();
        out.print(`clone policy: ${policy}`, { clone: policy });
        return 0;
      }
      const policy = rest[0];
      if (policy !== 'flag' && policy !== 'refuse') throw new CliUsageError('The clone policy is flag or refuse: keyladder policy clone flag|refuse');
      services.exchanges.setClonePolicy(policy);
      out.print(`clone policy: ${policy}`, { clone: policy });
      return 0;
    }
    case 'revocation':
      return revocationCommand(sub, rest, values, services, io, out);
    case 'audit': {
      await unlock(services, values, io);
      if (sub === 'verify') {
        const result = services.audit.verify();
        out.print(result.ok ? `The audit log verifies: ${result.entries} entries.` : `The audit log does NOT verify: ${result.problem}`, result);
        return result.ok ? 0 : 1;
      }
      if (sub === 'checkpoint') {
        if (values.out === undefined) throw new CliUsageError('Usage: keyladder audit checkpoint --out FILE [--force]');
        const checkpoint = services.audit.checkpoint();
        writeNewFile(values.out, `${JSON.stringify(checkpoint, null, 2)}\n`, values.force === true);
        out.print(`Wrote a checkpoint of the audit log at entry ${checkpoint.seq} to ${values.out}. Keep it away from the store; \`keyladder verify --checkpoint ${values.out}\` tells whether the store went back behind it.`, { file: values.out, seq: checkpoint.seq });
        return 0;
      }
      if (sub !== 'list') throw new CliUsageError('Usage: keyladder audit list|verify|checkpoint');
      const entries = services.audit.list({
        ...(values.action ? { action: values.action as never } : {}),
        ...(values.subject ? { subject: values.subject } : {}),
        ...(values.outcome ? { outcome: oneOf(values.outcome, 'outcome', ['ok', 'refused'] as const)! } : {}),
        limit: int(values.limit, 'limit', 100)!,
      });
      out.print(entries.map((e) => `#${e.seq}  ${e.at}  ${e.action}  ${e.outcome}  ${e.subject ?? '-'}  ${JSON.stringify(e.details)}`).join('\n') || '(no entries)', entries);
      return 0;
    }
    case 'verify': {
      await unlock(services, values, io);
      const checkpoint = values.checkpoint === undefined ? undefined : readTextFile(values.checkpoint, 'checkpoint');
      const result = services.store.verify(checkpoint);
      out.print(result.ok ? `The store verifies: every page authenticates, and ${result.audit.entries} audit entries chain.` : `The store does NOT verify:\n${result.problems.join('\n')}`, result);
      return result.ok ? 0 : 1;
    }
    case 'backup': {
      need(1, 'backup FILE');
      await unlock(services, values, io);
      const bar = progressBar(io, 'Backing up');
      await services.store.backup(args[0]!, (p) => bar.update(p.done, p.total), values.force === true);
      bar.stop();
      out.print(`Backed up to ${args[0]}. Restore it with the passphrase in force now.`, { file: args[0] });
      return 0;
    }
    case 'restore': {
      need(1, 'restore FILE');
      if (!values.yes && !io.isTty) throw new CliUsageError('restore replaces the store in place: add --yes to confirm.');
      await services.store.restore(args[0]!, await readPassphrase(values['passphrase-file'], io));
      out.print(`Restored ${args[0]} into ${services.store.status().path}.`, { file: args[0], store: services.store.status() });
      return 0;
    }
    case 'recovery-key': {
      if (!values.yes) throw new CliUsageError('recovery-key prints the raw key that decrypts the whole store. Add --yes, and keep what it prints offline.');
      const passphrase = await readPassphrase(values['passphrase-file'], io);
      await services.store.unlock(passphrase);
      const key = await services.store.recoveryKey(passphrase);
      const hex = key.toString('hex');
      key.fill(0);
      out.print(`${hex}\nOpen ${services.store.status().path} in a SQLCipher 4 tool with this raw key (see README: Recovery and forensics).`, { storeKey: hex, cipher: 'sqlcipher', compatibility: 4 });
      return 0;
    }
    case 'passphrase': {
      if (sub !== 'change') throw new CliUsageError('Usage: keyladder passphrase change');
      const current = await readPassphrase(values['passphrase-file'], io);
      await services.store.unlock(current);
      const next = await readNewPassphrase(values['new-passphrase-file'], io, 'KEYLADDER_NEW_PASSPHRASE', 'New passphrase');
      if (values.rekey === true) {
        const counts = await services.store.rekey(current, next);
        out.print(`The passphrase is changed, and the store has a new key: ${rekeyedLine(counts)}`, { changed: true, rekeyed: counts });
        return 0;
      }
      await services.store.changePassphrase(current, next);
      out.print('The passphrase is changed. The store key was re-wrapped; the database was not rewritten: old key files and recovery keys still open it (use --rekey, or keyladder rekey).', { changed: true });
      return 0;
    }
    case 'rekey': {
      const current = await readPassphrase(values['passphrase-file'], io);
      await services.store.unlock(current);
      const counts = await services.store.rekey(current);
      out.print(`The store has a new key: ${rekeyedLine(counts)}`, { rekeyed: counts });
      return 0;
    }
    case 'serve': {
      const { parseServeFlags } = await import('./server/serveSettings.js');
      const { serveCluster } = await import('./server/serveCluster.js');
      // This process only reads the passphrase and supervises; the workers unlock the store.
      const settings = parseServeFlags(values);
      return serveCluster({ storeDir: storeDirFor(values, io), passphrase: await readPassphrase(values['passphrase-file'], io), settings, io, out });
    }
    default:
      throw new CliUsageError(`Unknown command "${command}". Run \`keyladder --help\`.`);
  }
}

async function revocationCommand(sub: string | undefined, args: string[], values: Values, services: KeyLadderRuntime, io: CliIo, out: Output): Promise<number> {
  await unlock(services, values, io);
  switch (sub) {
    case 'export': {
      if (args.length !== 0 || values.out === undefined) throw new CliUsageError('Usage: keyladder revocation export --out FILE [--recipient PUBLIC_JWK_FILE] [--force]');
      const { jwe, entries } = await services.revocations.exportList(await protection(values, io));
      writeNewFile(values.out, `${jwe}\n`, values.force === true);
      out.print(`Wrote a revocation list of ${entries} ${entries === 1 ? 'device' : 'devices'} to ${values.out}. Import it on every peer responder: keyladder revocation import FILE.`, { file: values.out, entries });
      return 0;
    }
    case 'import': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder revocation import FILE [--private-key PRIVATE_JWK_FILE]');
      const result = await services.revocations.importList(readTextFile(args[0]!, 'revocation list').trim(), await peerProtection(values, io));
      out.print(`Imported the revocation list of ${result.source} (${result.entries} entries): revoked here ${result.revokedHere.length ? result.revokedHere.join(', ') : 'none'}; ${result.heard} more identities now refused on WRAP.`, result);
      return 0;
    }
    case 'peers': {
      const lists = services.revocations.peerLists();
      out.print(lists.map((l) => `${l.source}  list of ${l.listAt}  received ${l.receivedAt}  ${l.entries} entries`).join('\n') || '(no revocation list received from a peer)', lists);
      return 0;
    }
    default:
      throw new CliUsageError('Usage: keyladder revocation export|import|peers');
  }
}

async function deviceCommand(sub: string | undefined, args: string[], values: Values, services: KeyLadderRuntime, io: CliIo, out: Output): Promise<number> {
  await unlock(services, values, io);
  switch (sub) {
    case 'add': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder device add ID [--keys FILE] [--group NAME]');
      const keys = values.keys === undefined ? undefined : readKeysFile(values.keys, io);
      const device = services.devices.provision({ identity: args[0]!, group: values.group ?? null, keys: deviceKeys(keys) });
      out.print(`Provisioned ${deviceLine(device)}`, device);
      return 0;
    }
    case 'import': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder device import FILE [--format csv|json]');
      const file = args[0]!;
      const format = oneOf(values.format, 'format', ['csv', 'json'] as const) ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'csv');
      const text = file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
      const bar = progressBar(io, 'Importing');
      const report = await services.devices.import(text, format, (p) => bar.update(p.done, p.total, p.phase));
      bar.stop();
      const failures = report.failed.map((f) => `  row ${f.row}${f.identity ? ` (${f.identity})` : ''}: ${f.message} [${f.code}]`).join('\n');
      out.print(report.failed.length
        ? `Nothing was imported: ${report.failed.length} of ${report.total} rows are bad. Fix them and import the file again.\n${failures}`
        : `Imported ${report.imported} devices.`, report);
      return report.failed.length ? 1 : 0;
    }
    case 'list': {
      const page = services.devices.list({ prefix: values.prefix ?? '', offset: int(values.offset, 'offset', 0)!, limit: int(values.limit, 'limit', 100)! });
      out.print(`${page.items.map(deviceLine).join('\n') || '(no devices)'}\n${page.offset + page.items.length} of ${page.total}`, page);
      return 0;
    }
    case 'show': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder device show ID');
      const d = services.devices.get(args[0]!);
      out.print(deviceLine(d), d);
      return 0;
    }
    case 'revoke': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder device revoke ID');
      const d = services.devices.revoke(args[0]!);
      out.print(`Revoked ${d.identity}.`, d);
      return 0;
    }
    case 'clear-clone': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder device clear-clone ID');
      const d = services.devices.clearPossibleClone(args[0]!);
      out.print(`Cleared the "possible clone" mark of ${d.identity}.`, d);
      return 0;
    }
    case 'export': {
      if (args.length === 0 || values.out === undefined) throw new CliUsageError('Usage: keyladder device export ID... --out FILE [--recipient PUBLIC_JWK_FILE]');
      const jwe = await services.devices.exportBundle(args, await protection(values, io));
      writeNewFile(values.out, `${jwe}\n`, values.force === true);
      out.print(`Wrote a protected bundle of ${args.length} device(s) to ${values.out}.`, { file: values.out, devices: args.length });
      return 0;
    }
    default:
      throw new CliUsageError('Usage: keyladder device add|import|list|show|revoke|clear-clone|export');
  }
}

async function groupCommand(sub: string | undefined, args: string[], values: Values, services: KeyLadderRuntime, io: CliIo, out: Output): Promise<number> {
  await unlock(services, values, io);
  if (sub === 'add') {
    if (args.length !== 1) throw new CliUsageError('Usage: keyladder group add NAME [--keys FILE]');
    const g = services.groups.add(args[0]!, groupKeys(values.keys === undefined ? undefined : readKeysFile(values.keys, io)));
    out.print(`Added model group ${g.name}  KCV kdw=${g.kcv.kdw}${g.kcv.kde ? ` kde=${g.kcv.kde} kdh=${g.kcv.kdh}` : ''}`, g);
    return 0;
  }
  if (sub === 'list') {
    const groups = services.groups.list();
    out.print(groups.map((g) => `${g.name}  devices=${g.deviceCount}  KCV kdw=${g.kcv.kdw}`).join('\n') || '(no model groups)', groups);
    return 0;
  }
  throw new CliUsageError('Usage: keyladder group add|list');
}

async function issuerCommand(sub: string | undefined, args: string[], values: Values, services: KeyLadderRuntime, io: CliIo, out: Output): Promise<number> {
  await unlock(services, values, io);
  const generation = (): number => {
    if (args.length !== 1 || !/^\d+$/.test(args[0]!)) throw new CliUsageError(`Usage: keyladder issuer ${sub} GEN`);
    return Number(args[0]);
  };
  const graceDays = int(values['grace-days'], 'grace-days');
  switch (sub) {
    case 'list': {
      const gens = services.issuers.list();
      out.print(gens.map(generationLine).join('\n'), gens);
      return 0;
    }
    case 'rotate': {
      const format = oneOf(values.format, 'format', ['keyladder-v1', 'msl'] as const);
      const g = services.issuers.rotate(graceDays, format);
      out.print(`Rotated: ${generationLine(g)}`, g);
      return 0;
    }
    case 'retire': {
      const g = services.issuers.retire(generation());
      out.print(`Retired: ${generationLine(g)}`, g);
      return 0;
    }
    case 'destroy': {
      const gen = generation();
      if (!values.yes) throw new CliUsageError(`Destroying erases generation ${gen}'s key for good. Add --yes to confirm.`);
      const g = services.issuers.destroy(gen);
      out.print(`Destroyed: ${generationLine(g)}`, g);
      return 0;
    }
    case 'import-msl': {
      const keys = readKeysFile(values.keys, io);
      const extra = Object.keys(keys).filter((k) => k !== 'kissuer');
      if (extra.length || typeof keys['kissuer'] !== 'string') throw new CliUsageError('The keys file must be {"kissuer":"<32 hex digits>"}.');
      const g = services.issuers.importMsl(keys['kissuer'], graceDays);
      out.print(`Imported a bare-MSL Kissuer: ${generationLine(g)}`, g);
      return 0;
    }
    case 'export': {
      if (args.length === 0 || values.out === undefined || args.some((a) => !/^\d+$/.test(a))) throw new CliUsageError('Usage: keyladder issuer export GEN... --out FILE [--recipient PUBLIC_JWK_FILE]');
      const jwe = await services.issuers.exportToPeer(args.map(Number), await protection(values, io));
      writeNewFile(values.out, `${jwe}\n`, values.force === true);
      out.print(`Wrote a protected Kissuer export to ${values.out}. Hand it only to a trusted peer responder.`, { file: values.out });
      return 0;
    }
    case 'import': {
      if (args.length !== 1) throw new CliUsageError('Usage: keyladder issuer import FILE [--private-key PRIVATE_JWK_FILE]');
      const jwe = readFileSync(args[0]!, 'utf8').trim();
      const gens = await services.issuers.importFromPeer(jwe, await peerProtection(values, io));
      out.print(gens.length ? `Imported:\n${gens.map(generationLine).join('\n')}` : 'Nothing new: every generation in the export is already here.', gens);
      return 0;
    }
    default:
      throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'Usage: keyladder issuer list|rotate|retire|destroy|import-msl|export|import');
  }
}
