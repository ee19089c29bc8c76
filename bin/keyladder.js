#!/usr/bin/env node
// The `keyladder` command: the compiled CLI (npm's `prepare` builds it).
// The version check comes first, before anything loads the SQLite addon.
import { unsupportedNode } from './supportedNode.js';

const refusal = unsupportedNode(process.versions.node);
if (refusal) {
  console.error(`keyladder: ${refusal}`);
  process.exitCode = 1;
} else {
  import('../dist/electron/cli.js').then((cli) => cli.main(process.argv.slice(2))).then(
    (code) => { process.exitCode = code; },
    (error) => { console.error(`keyladder: ${error?.message ?? error}`); process.exitCode = 1; },
  );
}
