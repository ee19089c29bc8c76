// `serve --config FILE`: serve's options in a file (JSON, or TOML), for a
// supervisor's unit to name one path instead of a dozen flags (issue 23, item 2).
// The file's keys are the flags' names (`rate-limit = 100`, `allow-host = ["lab.example"]`);
// flags given on the command line override it. Every key is checked here, by
// the same rules as its flag (parseServeFlags), and named when it is wrong, before
// any passphrase is read or the store opened.

import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { visible } from '../shared/visibleText.js';
import { didYouMean } from './suggest.js';
import { parseServeFlags, ServeSettingsError, type ServeFlags } from '../server/serveSettings.js';

/** What each key holds: a whole number is a TOML integer or a JSON number, never a string of digits. */
const CONFIG_KEYS = {
  host: 'string',
  port: 'integer',
  profile: 'string',
  'tls-cert': 'path',
  'tls-key': 'path',
  'tls-client-ca': 'path',
  'token-file': 'path',
  'allow-host': 'strings',
  'allow-origin': 'strings',
  'uniform-refusals': 'boolean',
  'rate-limit': 'integer',
  workers: 'integer',
  'msl-renewal-window': 'integer',
  'msl-expiration': 'integer',
  'msl-max-body': 'integer',
  'metrics-listen': 'string',
  'log-format': 'string',
} as const satisfies Record<keyof ServeFlags, 'string' | 'path' | 'integer' | 'boolean' | 'strings'>;
type ConfigKey = keyof typeof CONFIG_KEYS;

/** The keys a config file may hold, for README and help. */
export const SERVE_CONFIG_KEYS = Object.keys(CONFIG_KEYS) as readonly ConfigKey[];

const TYPE_NAMES = { string: 'a string', path: 'a string (a file path)', integer: 'a whole number (not quoted)', boolean: 'true or false', strings: 'a list of strings' } as const;

/** A config file is a few hundred bytes; more is not one. */
const MAX_CONFIG_BYTES = 64 * 1024;

function readConfigText(path: string): string {
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new ServeSettingsError('FILE_INVALID', `The config file '${path}' is over ${MAX_CONFIG_BYTES / 1024} KiB: it is not a serve config.`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ServeSettingsError) throw e;
    throw new ServeSettingsError('FILE_UNREADABLE', `Cannot read the config file '${path}'.`);
  }
}

/** The file's top-level table; its format is chosen by its extension, never guessed from its text. */
function parseConfigText(path: string, text: string): Record<string, unknown> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.toml') throw new ServeSettingsError('FILE_INVALID', `The config file '${path}' must end in .json or .toml (its format).`);
  let parsed: unknown;
  try {
    parsed = ext === '.json' ? JSON.parse(text) : parseToml(text);
  } catch {
    // Not the parser's message: it quotes the file's text.
    throw new ServeSettingsError('FILE_INVALID', `The config file '${path}' is not valid ${ext === '.json' ? 'JSON' : 'TOML'}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ServeSettingsError('FILE_INVALID', `The config file '${path}' must hold an object of serve's options.`);
  return parsed as Record<string, unknown>;
}

const isKey = (key: string): key is ConfigKey => Object.hasOwn(CONFIG_KEYS, key);

/** Keys that would carry a secret inline (the passphrase, its file's twin, the bearer token itself). */
const SECRET_KEY = /passphrase|password|secret|^token$/i;

/** One key's value as its flag would carry it, or CONFIG_WRONG_TYPE naming the key. */
function asFlag(path: string, key: ConfigKey, value: unknown, baseDir: string): string | boolean | string[] {
  const kind = CONFIG_KEYS[key];
  const wrongType = () => new ServeSettingsError('CONFIG_WRONG_TYPE', `In the config file '${path}', ${key} must be ${TYPE_NAMES[kind]}.`);
  switch (kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrongType();
      return String(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType();
      return value;
    case 'strings':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrongType();
      return value as string[];
    case 'path':
      if (typeof value !== 'string') throw wrongType();
      if (value.trim() === '') throw new ServeSettingsError('CONFIG_BAD_VALUE', `In the config file '${path}', ${key} must name a file.`);
      // Relative to the file, as a unit's config is read from wherever its service starts.
      return resolve(baseDir, value);
    case 'string':
      if (typeof value !== 'string') throw wrongType();
      return value;
  }
}

/** Keys whose value parseServeFlags can check alone: the TLS files need their partners, checked once merged. */
const CHECKED_ALONE = (key: ConfigKey): boolean => CONFIG_KEYS[key] !== 'path';

/**
 * The flags FILE holds, each checked as its flag is. Refused with FILE_UNREADABLE,
 * FILE_INVALID (not JSON or TOML, or not an object), CONFIG_UNKNOWN_KEY,
 * CONFIG_WRONG_TYPE or CONFIG_BAD_VALUE, the last three naming the key.
 */
export function readServeConfig(path: string): ServeFlags {
  const table = parseConfigText(path, readConfigText(path));
  const baseDir = dirname(resolve(path));
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    // A secret never sits in a config file, which units and backups copy around: said plainly, its value never quoted.
    if (SECRET_KEY.test(key)) {
      throw new ServeSettingsError('CONFIG_UNKNOWN_KEY', `The config file '${path}' may not hold a secret (key "${visible(key, 40)}"): give the store passphrase by systemd's LoadCredential=passphrase:FILE, --passphrase-file F or KEYLADDER_PASSPHRASE, and the bearer token by token-file.`);
    }
    if (!isKey(key)) {
      throw new ServeSettingsError('CONFIG_UNKNOWN_KEY', `The config file '${path}' has an unknown key "${visible(key, 40)}".${didYouMean(key, SERVE_CONFIG_KEYS, (k) => k)} Its keys are serve's options: ${SERVE_CONFIG_KEYS.join(', ')}.`);
    }
    const flag = asFlag(path, key, value, baseDir);
    if (CHECKED_ALONE(key)) {
      try {
        parseServeFlags({ [key]: flag });
      } catch (e) {
        if (!(e instanceof ServeSettingsError)) throw e;
        throw new ServeSettingsError('CONFIG_BAD_VALUE', `In the config file '${path}', ${key}: ${e.message}`);
      }
    }
    flags[key] = flag;
  }
  return flags as ServeFlags;
}

/** The config file's flags overridden by those given on the command line (a list flag replaces the file's whole list). */
export function withConfig(configFlags: ServeFlags, given: ServeFlags): ServeFlags {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...configFlags, ...defined };
}
