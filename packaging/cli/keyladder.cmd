@echo off
rem keyladder.cmd: the KeyLadder CLI, run on the installed app's own runtime.
rem Installed as resources\bin\keyladder.cmd (electron-builder.yml, extraResources);
rem put that folder on PATH (docs/packaging.md). The app's runAsNode fuse is off,
rem so the app's entry recognises --keyladder-cli and runs the CLI bundled in
rem app.asar instead of the window (electron/cliDispatch.ts); the CLI's own
rem arguments follow --, where Chromium stops reading switches. A batch file
rem waits for the app and returns its exit status.
setlocal
"%~dp0..\..\KeyLadder.exe" --keyladder-cli -- %*
exit /b %ERRORLEVEL%
