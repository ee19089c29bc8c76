// A process that races another for the same non-replayable ids (test/services/mslTokens.test.ts):
// it unlocks the store with the compiled services, waits for the start file, then offers ids
// 1..count under one master-token serial, in order, each once the one before is taken, and prints the ids it was told 'accepted'
// as one JSON array.
//
// Usage: node mslTokenRacer.mjs '<json config>'   { build, store, passphrase, kdfLogN, serial, identity, count, start }
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const { createServices } = await import(pathToFileURL(join(config.build, 'electron', 'services', 'index.js')).href);
const services = createServices({ storeDir: config.store, kdfLogN: config.kdfLogN, batchExchangeRecords: false });
await services.store.unlock(config.passphrase);
process.stdout.write('ready\n');
while (!existsSync(config.start)) await new Promise((r) => setTimeout(r, 5));
const accepted = [];
for (let id = 1; id <= config.count; id++) {
  // Both processes offer id only once id - 1 is taken (by either), so each id is offered by both at
  // about the same moment: the store alone decides which one gets it.
  while ((services.msl.tokens.serial(config.serial).nonreplayable_id ?? 0) < id - 1) await new Promise((r) => setImmediate(r));
  if (services.msl.tokens.acceptNonReplayableId(config.serial, config.identity, id) === 'accepted') accepted.push(id);
}
services.close();
process.stdout.write(`${JSON.stringify(accepted)}\n`);
