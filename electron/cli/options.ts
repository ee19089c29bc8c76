// Every option of the `keyladder` command, with the line `help` shows for it,
// and the checks of their values. Each command names the options it takes
// (commands/*.ts); the few global ones are taken everywhere.

import { parseArgs } from 'node:util';
import { SIGNER_ROLES } from '../../db/repositories/keyring.js';
import { CliError, CliErrorCode } from './errors.js';
import { visible } from '../shared/visibleText.js';
import { didYouMean } from './suggest.js';

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: true;
  /** The value's placeholder in usage lines ("FILE"); booleans have none, and options with choices show them. */
  readonly value?: string;
  /**
   * The values it takes, where they are a fixed list: the command's check (oneOf) reads them from
   * here, usage shows them (--mechanism PSK|MGK), and shell completion offers them. `list`: a
   * comma-separated list of them (--role).
   */
  readonly choices?: readonly string[];
  readonly list?: true;
  /** The value names a file or a folder: shell completion offers paths. */
  readonly path?: 'file' | 'dir';
  readonly help: string;
}

export const OPTIONS = {
  store: { type: 'string', path: 'dir', value: 'DIR', help: 'the store folder (else $KEYLADDER_STORE, else the app\'s data folder)' },
  'passphrase-file': { type: 'string', path: 'file', value: 'F', help: 'the store passphrase, first line of F ("-": stdin; else $KEYLADDER_PASSPHRASE, else a prompt on a terminal, never in the background)' },
  json: { type: 'boolean', help: 'machine-readable output: one line of JSON; errors as {"error":{"code","message"}}' },
  help: { type: 'boolean', help: 'this command\'s help (also -h)' },
  version: { type: 'boolean', help: 'the version of keyladder' },
  'new-passphrase-file': { type: 'string', path: 'file', value: 'F', help: 'the new passphrase (else $KEYLADDER_NEW_PASSPHRASE, else asked twice on a terminal)' },
  'bundle-passphrase-file': { type: 'string', path: 'file', value: 'F', help: 'the export\'s passphrase (else $KEYLADDER_BUNDLE_PASSPHRASE, else a prompt)' },
  keys: { type: 'string', path: 'file', value: 'FILE', help: 'key material as JSON with hex values; - reads stdin (never an argument: other users can read those)' },
  group: { type: 'string', value: 'NAME', help: 'a model group' },
  out: { type: 'string', path: 'file', value: 'FILE', help: 'the file to write; it must not exist yet (see --force)' },
  recipient: { type: 'string', path: 'file', value: 'PUBLIC_KEY', help: 'encrypt to this public RSA key file (JWK or PEM, checked as recipient add checks it; RSA-OAEP-256, unsigned) instead of a passphrase' },
  to: { type: 'string', value: 'KID', help: 'where it goes: a keyring recipient KID, or the last entry' },
  unsigned: { type: 'boolean', help: 'accept an import that is not signed (a passphrase or RSA key export): the audit log records it' },
  kid: { type: 'string', value: 'KID', help: 'the key\'s kid: names a key that has none, or chooses one from a JWKS' },
  label: { type: 'string', value: 'TEXT', help: 'a note for people: whose key it is' },
  use: { type: 'string', choices: ['enc', 'sig'], help: 'what the key is for: enc (exports are encrypted to it) or sig (imports it signed are accepted)' },
  role: { type: 'string', choices: SIGNER_ROLES, list: true, value: 'ROLES', help: 'what a sig key may sign, comma-separated: revocations (the default), issuer-export (Kissuer exports)' },
  source: { type: 'string', value: 'STORE_ID', help: 'recipient add --use sig: the peer store id whose revocation lists this key speaks for (revocation export prints it)' },
  'bind-source': { type: 'boolean', help: 'revocation import: vouch that the list\'s signer speaks for its source, seen before with no signer bound (audited)' },
  'show-payload': { type: 'boolean', help: 'msl inspect: print the application data as text, only when it is UTF-8, at most 64 KiB and holds no key members (else its size and why)' },
  from: { type: 'string', value: 'SEQ', help: 'the first entry (default 1)' },
  'private-key': { type: 'string', path: 'file', value: 'PRIVATE_JWK', help: 'open the export with this private RSA JWK file instead of a passphrase' },
  format: { type: 'string', value: 'FORMAT', help: 'the file or key format' },
  prefix: { type: 'string', value: 'P', help: 'only identities that start with P' },
  'ids-from': { type: 'string', path: 'file', value: 'FILE', help: 'the devices named in FILE, one identity a line (- reads stdin); a blank line, a repeat or an unknown identity refuses the whole list' },
  after: { type: 'string', value: 'ID', help: 'device list: the page after identity ID (the "next" of the page before)' },
  'reuse-identity': { type: 'boolean', help: 'provision identities of deleted devices again (their old wrapdata stays refused)' },
  offset: { type: 'string', value: 'N', help: 'skip the first N' },
  limit: { type: 'string', value: 'N', help: 'at most N (default 100)' },
  'grace-days': { type: 'string', value: 'N', help: 'days the generation before keeps answering returning wrapdata' },
  profile: { type: 'string', choices: ['msl', 'rfc7516'], help: 'the JWE profile (default msl)' },
  mechanism: { type: 'string', choices: ['PSK', 'MGK'], help: 'the first rung\'s mechanism (default PSK)' },
  rungs: { type: 'string', value: 'N', help: 'rungs to climb, 1 to 100 (default 3)' },
  url: { type: 'string', value: 'URL', help: 'msl simulate: a running responder\'s POST /msl (http://127.0.0.1:PORT/msl); this store\'s responder in process when absent' },
  wrapdata: { type: 'string', path: 'file', value: 'FILE', help: 'start from this base64 wrapdata (a file, or - for stdin): the first rung is a WRAP' },
  action: { type: 'string', value: 'A', help: 'only entries of action A' },
  subject: { type: 'string', value: 'S', help: 'only entries about S (a device, group or generation)' },
  actor: { type: 'string', value: 'WHO', help: 'only entries by WHO, exactly as listed (user@host for the CLI, the operator name for the app, serve:user@host)' },
  reason: { type: 'string', value: 'TEXT', help: 'why: recorded in the audit entry (at most 1,000 characters, one line)' },
  outcome: { type: 'string', choices: ['ok', 'refused'], help: 'only entries with this outcome' },
  'include-unlocks': { type: 'boolean', help: 'also the CLI\'s own unlocks (one per command run; left out by default)' },
  'kdf-log-n': { type: 'string', value: 'N', help: 'scrypt cost as log2(N) for the new key file (default 17, at least 17)' },
  join: { type: 'string', path: 'file', value: 'EXPORT', help: 'start from a peer\'s Kissuer export (a responder network)' },
  yes: { type: 'boolean', help: 'confirm: the command destroys or reveals something' },
  'other-store': { type: 'boolean', help: 'restore: the backup may be of another store than the one it replaces' },
  force: { type: 'boolean', help: 'replace an existing output file (never a symbolic link)' },
  checkpoint: { type: 'string', path: 'file', value: 'F', help: 'also check that the store did not go back behind checkpoint F' },
  before: { type: 'string', value: 'DATE', help: 'audit archive: the entries older than DATE (ISO 8601, UTC: 2026-12-01 or 2026-12-01T00:00:00Z)' },
  archive: { type: 'string', path: 'file', value: 'FILE', help: 'audit verify: check the archive FILE (audit archive wrote it) instead of the log' },
  exchanges: { type: 'string', choices: ['full', 'summary'], help: 'audit policy: a row per answered exchange (full), or one per device per hour (summary)' },
  rekey: { type: 'boolean', help: 'and give the store a new key, as rekey does' },
  host: { type: 'string', value: 'H', help: 'the address to listen on (default 127.0.0.1)' },
  port: { type: 'string', value: 'P', help: 'the port, 0 to 65535 (default 8420; 0: any free port)' },
  'tls-cert': { type: 'string', path: 'file', value: 'F', help: 'TLS: the certificate (PEM); needs --tls-key' },
  'tls-key': { type: 'string', path: 'file', value: 'F', help: 'TLS: the private key (PEM); needs --tls-cert' },
  'tls-client-ca': { type: 'string', path: 'file', value: 'F', help: 'mutual TLS: only clients with a certificate F issued' },
  'token-file': { type: 'string', path: 'file', value: 'F', help: 'every request needs Authorization: Bearer <first line of F>' },
  'allow-host': { type: 'string', multiple: true, value: 'NAME', help: 'a Host name to answer for, besides IP literals and loopback names (repeatable)' },
  'allow-origin': { type: 'string', multiple: true, value: 'ORIGIN', help: 'a browser origin to answer, with CORS (repeatable)' },
  'uniform-refusals': { type: 'boolean', help: 'answer unknown, revoked and group-less identities, and refused wrapdata, with a decoy (200, random keys)' },
  'rate-limit': { type: 'string', value: 'N', help: 'requests a second per client and worker, bursts of 2N (default 1000; 0: off)' },
  'key-file': { type: 'string', path: 'file', value: 'JWK', help: 'the key to open or verify with: a JWK file (- reads stdin)' },
  device: { type: 'string', value: 'ID', help: 'open an MSL ladder answer with this device\'s Kpw' },
  name: { type: 'string', value: 'NAME', help: 'msl identity: the MSL server\'s entity identity (default keyladder; rotate keeps the current one)' },
  key: { type: 'string', path: 'file', value: 'FILE', help: 'msl identity import: the server\'s RSA private key, PEM (PKCS #1 or #8) or the Base64 DER of msl.rsa.priv.N; - reads stdin' },
  pem: { type: 'boolean', help: 'msl identity show: the public key as PEM' },
  jwk: { type: 'boolean', help: 'msl identity show: the public key as a JWK' },
  all: { type: 'boolean', help: 'every one, not a selection' },
  'grace-seconds': { type: 'string', value: 'S', help: 'seconds the master-token keys before still verify tokens (default: the master-token expiration)' },
  'renewal-window': { type: 'string', value: 'S', help: 'MSL master tokens: seconds from issue until a client may renew (default 3600)' },
  expiration: { type: 'string', value: 'S', help: 'MSL master tokens: seconds from issue until they expire, at least the renewal window (default 86400)' },
  workers: { type: 'string', value: 'N', help: 'responder processes sharing the port and the store, 1 to 32 (default 1)' },
  'msl-renewal-window': { type: 'string', value: 'S', help: 'POST /msl: renew master tokens S seconds after issue (this run; overrides the store\'s setting)' },
  'msl-expiration': { type: 'string', value: 'S', help: 'POST /msl: master tokens expire S seconds after issue (this run; overrides the store\'s setting)' },
  'msl-max-body': { type: 'string', value: 'BYTES', help: 'POST /msl: the largest MSL message taken (default 1048576; 413 beyond)' },
  'log-format': { type: 'string', choices: ['text', 'json'], help: 'the access log on stderr: text lines (default) or JSON lines with a level and a request id' },
  config: { type: 'string', path: 'file', value: 'FILE', help: 'serve: its options from FILE, JSON or TOML by its extension (keys: the options\' names); flags given override it' },
  'metrics-listen': { type: 'string', value: 'HOST:PORT', help: 'serve GET /metrics on this address alone, without the token (default: on the serve port, only with --token-file)' },
  'public-key': { type: 'string', path: 'file', value: 'FILE', help: 'msl identity import: the public key the clients pin (PEM, or msl.rsa.pub.N); refused unless it is the private key\'s own' },
  'non-replayable-window': { type: 'string', value: 'N', help: 'MSL master tokens: how far past the largest non-replayable id accepted the next may be (default 65536)' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Taken by every command. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['store', 'passphrase-file', 'json', 'help'];

const NAMES = Object.keys(OPTIONS) as OptionName[];

/** What to type for one option in a usage line: "--out FILE", "--force". */
export const optionUsage = (name: OptionName, value?: string): string => {
  const spec: OptionSpec = OPTIONS[name];
  const placeholder = value ?? spec.value ?? spec.choices?.join('|');
  return placeholder ? `--${name} ${placeholder}` : `--${name}`;
};

export interface ParsedArgs {
  readonly values: Values;
  readonly positionals: string[];
  /** The options given, by name, in order: to refuse those a command does not take. */
  readonly given: OptionName[];
}

/**
 * node:util's parseArgs, with its errors turned into coded ones in our own
 * words (its messages suggest `-- "--x"` with unbalanced quotes, and quote values).
 */
const PARSE_OPTIONS = Object.fromEntries(NAMES.map((n) => [n, { type: OPTIONS[n].type, ...('multiple' in OPTIONS[n] ? { multiple: true } : {}) }]));

/**
 * parseArgs reads any word that starts with "-" as an option. Kids are RFC 7638
 * thumbprints, base64url, and one in 64 starts with "-": an operator pasting
 * one from `recipient list` into `--to -U9a…` or `recipient show -U9a…` must
 * not have to know parseArgs' rules. We have one short option, -h (--help), so:
 * - a string option takes the next word as its value unless that word names
 *   one of our options (`--out --force` stays a missing value);
 * - any other word with a single leading "-" is a positional, hidden from
 *   parseArgs behind a placeholder no argument can hold (a NUL byte),
 *   unless it reads as an option typed with one dash (`-force`, `-x`).
 * "-" alone (stdin) and everything after "--" are parseArgs' own cases.
 */
function shieldDashWords(argv: readonly string[]): { args: string[]; positional: (word: string) => string } {
  const args: string[] = [];
  const hidden: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = /^--([^=]+)$/.exec(word)?.[1];
    const takesValue = name !== undefined && Object.hasOwn(OPTIONS, name) && OPTIONS[name as OptionName].type === 'string';
    if (takesValue && next !== undefined && dashLed(next) && next !== '--' && !namesAnOption(next)) {
      args.push(`${word}=${next}`);
      i++;
    } else if (word === '-h') {
      // The one short option: -h is --help everywhere --help works (issue 22, item 7), as most tools have it.
      args.push('--help');
    } else if (dashLed(word) && !word.startsWith('--')) {
      // `-force` or `-x` is an option typed with one dash, not a kid: say so rather than take it as one.
      const name = word.slice(1);
      if (Object.hasOwn(OPTIONS, name)) throw new CliError(CliErrorCode.USAGE_UNKNOWN_OPTION, `Unknown option ${word}: options take two dashes (--${name}).`);
      if (/^[A-Za-z]$/.test(name)) throw new CliError(CliErrorCode.USAGE_UNKNOWN_OPTION, `Unknown option ${word}: keyladder has no one-letter options but -h (--help).`);
      args.push(`\0${hidden.push(word) - 1}`);
    } else {
      args.push(word);
    }
  }
  return { args, positional: (word) => (word.startsWith('\0') ? hidden[Number(word.slice(1))]! : word) };
}
const dashLed = (word: string): boolean => word.length > 1 && word.startsWith('-');
/** `--to`, `--out=x` or `-h`: a word that names one of our options. */
const namesAnOption = (word: string): boolean => {
  if (word === '-h') return true;
  const m = /^--([^=]+)/.exec(word);
  return m !== null && Object.hasOwn(OPTIONS, m[1]!);
};

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const { args, positional } = shieldDashWords(argv);
  let parsed;
  try {
    parsed = parseArgs({ args, options: PARSE_OPTIONS as never, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw parseError(e as Error & { code?: string }, argv);
  }
  const given = parsed.tokens.flatMap((t) => (t.kind === 'option' ? [t.name as OptionName] : []));
  return { values: parsed.values as Values, positionals: parsed.positionals.map(positional), given };
}

/** The positional words of a command line that does not parse, to name the command its usage error is about. */
export function wordsOf(argv: readonly string[]): string[] {
  try {
    const { args, positional } = shieldDashWords(argv);
    return parseArgs({ args, options: PARSE_OPTIONS as never, strict: false, allowPositionals: true }).positionals.map(positional);
  } catch {
    // A word shieldDashWords refuses (`-force`): the plain words still name the command.
    return argv.filter((word) => !word.startsWith('-'));
  }
}

function parseError(e: Error & { code?: string }, argv: readonly string[]): CliError {
  const named = /'(--?[A-Za-z0-9-]+)/.exec(e.message)?.[1] ?? argv.find((a) => a.startsWith('-')) ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new CliError(CliErrorCode.USAGE_UNKNOWN_OPTION, `Unknown option ${visible(named, 40)}.${named.startsWith('--') ? didYouMean(named.slice(2), NAMES, (o) => `--${o}`) : ''}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = named.replace(/^-+/, '') as OptionName;
      const spec: OptionSpec | undefined = OPTIONS[name];
      if (spec?.type === 'boolean') return new CliError(CliErrorCode.USAGE_BAD_VALUE, `--${name} takes no value.`);
      // shieldDashWords took every other dash-led word as a value: what is left is an option where the value should be.
      return new CliError(CliErrorCode.USAGE_MISSING_ARGUMENT, `--${name} needs a value: ${optionUsage(name)}.`);
    }
    default:
      return new CliError(CliErrorCode.USAGE_BAD_VALUE, 'The options cannot be read.');
  }
}

export function int(value: string | undefined, name: OptionName, fallback?: number, range: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return fallback;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `--${name} takes a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` from ${min}` : ' (0 or more)'}, not "${visible(value, 20)}".`);
  }
  return n;
}

export function oneOf<T extends string>(value: string | undefined, name: OptionName, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(CliErrorCode.USAGE_BAD_VALUE, `--${name} is one of: ${allowed.join(', ')} (not "${visible(value, 40)}").`);
  return value as T;
}
