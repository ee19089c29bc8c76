// One update check, as the operator would have it: look at the configured feed,
// and download or install only when the operator says yes to each. Nothing is
// downloaded in the background and nothing installs on quit. The updater is
// electron-updater's (autoUpdater in the app; a test passes an AppImageUpdater
// or NsisUpdater built over a plain-Node AppAdapter), so the feed's parsing,
// version comparison and sha512 check are the library's, not ours.
import type { AppUpdater, UpdateInfo } from 'electron-updater';
import type { UpdateFeed } from './updateFeed.js';

/** The operator's two decisions. The app asks through a dialog; a test answers directly. */
export interface UpdateOperator {
  /** Asked once a newer version is found, before anything is downloaded. */
  confirmDownload(update: { version: string; currentVersion: string; releaseName: string | null }): Promise<boolean>;
  /** Asked once the installer is downloaded and its sha512 checked, before the app quits to run it. */
  confirmInstall(update: { version: string }): Promise<boolean>;
}

export type UpdateOutcome =
  /** No feed configured: the updater was not even set up. */
  | { kind: 'off' }
  /** electron-updater declined to check (an unpackaged run, or an AppImage run outside its AppImage). */
  | { kind: 'inactive' }
  | { kind: 'up-to-date'; latest: string }
  | { kind: 'declined'; version: string }
  /** Downloaded and verified, but the operator chose not to install now: it is not installed on quit either. */
  | { kind: 'downloaded'; version: string; files: string[] }
  | { kind: 'installing'; version: string };

/** The settings that keep every step in the operator's hands. */
export function configureUpdater(updater: AppUpdater, feed: UpdateFeed): void {
  updater.autoDownload = false;
  updater.autoInstallOnAppQuit = false;
  updater.allowDowngrade = false;
  updater.allowPrerelease = false;
  // A web installer would fetch a second package at install time; the release job ships full installers only.
  updater.disableWebInstaller = true;
  updater.setFeedURL({ provider: 'generic', url: feed.url });
}

function releaseName(info: UpdateInfo): string | null {
  return typeof info.releaseName === 'string' && info.releaseName !== '' ? info.releaseName : null;
}

/**
 * Checks the feed once. Errors (the feed unreachable, a bad channel file, a
 * download whose sha512 does not match) reject with electron-updater's error,
 * whose `code` says which (ERR_UPDATER_CHANNEL_FILE_NOT_FOUND, ERR_CHECKSUM_MISMATCH...).
 */
export async function checkForUpdate(updater: AppUpdater, feed: UpdateFeed | null, operator: UpdateOperator): Promise<UpdateOutcome> {
  if (feed === null) return { kind: 'off' };
  configureUpdater(updater, feed);
  const result = await updater.checkForUpdates();
  if (result === null) return { kind: 'inactive' };
  const version = result.updateInfo.version;
  if (!result.isUpdateAvailable) return { kind: 'up-to-date', latest: version };
  const go = await operator.confirmDownload({ version, currentVersion: updater.currentVersion.version, releaseName: releaseName(result.updateInfo) });
  if (!go) return { kind: 'declined', version };
  const files = await updater.downloadUpdate();
  if (!(await operator.confirmInstall({ version }))) return { kind: 'downloaded', version, files };
  // isSilent false: the installer shows itself; isForceRunAfter true: the app comes back once it is done.
  updater.quitAndInstall(false, true);
  return { kind: 'installing', version };
}
