#!/usr/bin/env node
// The `keyladder` command: the compiled CLI (npm's `prepare` builds it).
import('../dist/electron/cli.js').then((cli) => cli.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(`keyladder: ${error?.message ?? error}`); process.exitCode = 1; },
);
