// The app's side of the update path: at start, if (and only if) the operator
// configured a feed, one check through electron-updater's autoUpdater, with
// each step put to the operator in a dialog. Kept apart from updateCheck.ts so
// that the logic there runs under plain Node in the tests.
import { dialog, type BrowserWindow } from 'electron';
import electronUpdater from 'electron-updater';
import { checkForUpdate, type UpdateOperator } from './updateCheck.js';
import { resolveUpdateFeed } from './updateFeed.js';

export async function checkForUpdatesAtStart(win: BrowserWindow, dataDir: string, log: (line: string) => void): Promise<void> {
  let feed;
  try {
    feed = resolveUpdateFeed(process.env, dataDir);
  } catch (error) {
    log(`[update] not checking: ${(error as Error).message}`);
    return;
  }
  if (feed === null) return; // off unless configured: autoUpdater is not even created
  log(`[update] checking ${feed.url} (configured in the ${feed.source})`);
  const ask = async (message: string, detail: string, yes: string): Promise<boolean> => {
    if (win.isDestroyed()) return false;
    const { response } = await dialog.showMessageBox(win, { type: 'question', title: 'KeyLadder update', message, detail, buttons: [yes, 'Not now'], defaultId: 1, cancelId: 1, noLink: true });
    return response === 0;
  };
  const operator: UpdateOperator = {
    confirmDownload: ({ version, currentVersion }) => ask(`KeyLadder ${version} is available (this is ${currentVersion}).`, 'Download it now? Nothing is installed until you say so.', 'Download'),
    confirmInstall: ({ version }) => ask(`KeyLadder ${version} is downloaded and its checksum verified.`, 'Quit KeyLadder and install it now? The store locks first.', 'Quit and install'),
  };
  const outcome = await checkForUpdate(electronUpdater.autoUpdater, feed, operator);
  log(`[update] ${outcome.kind}${'version' in outcome ? ` ${outcome.version}` : 'latest' in outcome ? ` (latest ${outcome.latest})` : ''}`);
}
