// The app's entry point (package.json "main"): the window (main.ts) or, when
// the installed `keyladder` launcher started it, the CLI on the app's own
// runtime (bundledCli.ts). The choice is made from the arguments alone
// (cliDispatch.ts) before either is loaded, so the CLI never creates a window,
// takes the single-instance lock or touches the renderer's protocol.

import { launchArgs, launchOf, MARKER_MISUSE_EXIT, refusalText } from './cliDispatch.js';

const launch = launchOf(launchArgs(process.argv, (process as { defaultApp?: boolean }).defaultApp === true));

if (launch.kind === 'gui') {
  await import('./main.js');
} else {
  const { app } = await import('electron');
  // macOS: no Dock icon for a terminal command.
  app.dock?.hide();
  if (launch.kind === 'refused') {
    const { stream, text } = refusalText([], launch.code, launch.message);
    process[stream].write(text);
    app.exit(MARKER_MISUSE_EXIT);
  } else {
    const { runBundledCli } = await import('./bundledCli.js');
    await runBundledCli(launch.args, { exit: (code) => app.exit(code) });
  }
}
