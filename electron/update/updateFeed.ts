// Where the app looks for updates: nowhere unless the operator says so. The
// feed is an electron-builder "generic" feed (latest.yml, latest-linux.yml,
// latest-mac.yml and the installers, as the release job attaches them), at a
// URL from KEYLADDER_UPDATE_URL or from updates.json in the app's data folder.
// Only https: the feed says which installer to run, and its sha512. Plain http
// is allowed for 127.0.0.1 alone, so that a test can serve a feed locally.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const UPDATE_URL_ENV = 'KEYLADDER_UPDATE_URL';
export const UPDATE_SETTINGS_FILE = 'updates.json';

export const UpdateFeedErrorCode = {
  /** The configured feed is not a URL, not https (nor http://127.0.0.1), or carries a user name or password. */
  UPDATE_FEED_INVALID: 'UPDATE_FEED_INVALID',
  /** updates.json exists but is not JSON of the form {"feedUrl": "https://..."}. */
  UPDATE_SETTINGS_INVALID: 'UPDATE_SETTINGS_INVALID',
} as const;
export type UpdateFeedErrorCode = (typeof UpdateFeedErrorCode)[keyof typeof UpdateFeedErrorCode];

export class UpdateFeedError extends Error {
  constructor(
    readonly code: UpdateFeedErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpdateFeedError';
  }
}

export interface UpdateFeed {
  /** The generic provider's base URL, always ending in '/'. */
  readonly url: string;
  /** Where it was configured, for the log line that says updates are on. */
  readonly source: 'environment' | 'settings';
}

/** Checks a configured feed URL; never echoes it in the error (it may be mistyped with a secret in it). */
export function checkFeedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_FEED_INVALID, 'The update feed is not a URL: give the https:// address that serves latest.yml.');
  }
  const loopback = url.protocol === 'http:' && url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !loopback) {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_FEED_INVALID, 'The update feed must be https:// (plain http is accepted for 127.0.0.1 only).');
  }
  if (url.username !== '' || url.password !== '') {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_FEED_INVALID, 'The update feed URL must not carry a user name or password.');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_FEED_INVALID, 'The update feed URL must be a folder, without a query or fragment.');
  }
  // The generic provider resolves latest.yml against the URL: without the final '/', the last segment would be dropped.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/**
 * The feed the operator configured, or null: updates are off. The environment
 * wins over the settings file; an empty variable counts as unset.
 */
export function resolveUpdateFeed(env: NodeJS.ProcessEnv, dataDir: string): UpdateFeed | null {
  const fromEnv = env[UPDATE_URL_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { url: checkFeedUrl(fromEnv), source: 'environment' };
  let raw: string;
  try {
    raw = readFileSync(path.join(dataDir, UPDATE_SETTINGS_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_SETTINGS_INVALID, `${UPDATE_SETTINGS_FILE} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_SETTINGS_INVALID, `${UPDATE_SETTINGS_FILE} is not JSON: write {"feedUrl": "https://..."}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_SETTINGS_INVALID, `${UPDATE_SETTINGS_FILE} must be an object: {"feedUrl": "https://..."}.`);
  }
  const feedUrl = (parsed as { feedUrl?: unknown }).feedUrl;
  if (feedUrl === undefined || feedUrl === null || feedUrl === '') return null;
  if (typeof feedUrl !== 'string') {
    throw new UpdateFeedError(UpdateFeedErrorCode.UPDATE_SETTINGS_INVALID, `${UPDATE_SETTINGS_FILE}: feedUrl must be a string.`);
  }
  return { url: checkFeedUrl(feedUrl), source: 'settings' };
}
