// No page may go anywhere: the console is one page, so every navigation,
// redirect and window.open is refused, and <webview> is never attached. Applied
// to every webContents the app ever creates.

import type { App, WebContents } from 'electron';

export function blockNavigation(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export function blockNavigationEverywhere(app: App): void {
  app.on('web-contents-created', (_event, contents) => blockNavigation(contents));
}
