// A child process for the crash-safety tests (test/services/crash.test.ts). It
// unlocks a store with the compiled services and repeats one kind of work
// until its parent kills it with SIGKILL:
//
//   import      bulk imports of ROWS devices (CSV, generated keys), one after another
//   rotate      Kissuer rotations, with retirements and destructions mixed in
//   passphrase  passphrase changes, alternating between two passphrases
//   archive     a device provisioned, then audit archive of the whole log to OUT/a-<n>.jsonl; with
//               stopAt (written|recorded|trimming) it reports "S <stage>" there and waits to be killed
//   restore     restores of the backups in `backups`, in turn
//
// It reports on stdout, one line per event, written synchronously (a pipe on
// Linux is synchronous), so the parent knows where it is when it kills:
//   U                 unlocked, work starts
//   C                 an import's rows are all checked: its write transaction starts now
//   I <ms> <writeMs>  an import committed
//   R <n> / P <n>     a rotation (or retire/destroy) / passphrase change committed
//   A <n>             an archive and its trim committed
//   O <n>             a restore finished (its record written)
//
// Usage: node crashChild.mjs '<json config>'
//   { build, store, mode, passphrase, other?, rows?, prefix, kdfLogN }
// `build` is a folder holding the compiled db/ and electron/ (see crash.test.ts).

import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const say = (line) => writeSync(1, `${line}\n`);

const { createServices } = await import(pathToFileURL(join(config.build, 'electron', 'services', 'index.js')).href);
const services = createServices({ storeDir: config.store, kdfLogN: config.kdfLogN, batchExchangeRecords: false });
await services.store.unlock(config.passphrase);
say('U');

if (config.mode === 'import') {
  for (let batch = 0; ; batch++) {
    const lines = ['identity,group'];
    for (let i = 0; i < config.rows; i++) lines.push(`${config.prefix}-${batch}-${String(i).padStart(5, '0')},${i % 10 === 0 ? 'model-a' : ''}`);
    const started = performance.now();
    let checked = 0;
    const report = await services.devices.import(lines.join('\n'), 'csv', (p) => {
      if (p.phase === 'checking' && p.done === p.total && checked === 0) {
        checked = performance.now();
        say('C');
      }
    });
    if (report.imported !== config.rows) throw new Error(`import refused: ${JSON.stringify(report.failed.slice(0, 3))}`);
    const done = performance.now();
    say(`I ${Math.round(done - started)} ${Math.round(done - checked)}`);
  }
} else if (config.mode === 'rotate') {
  for (let n = 1; ; n++) {
    services.issuers.rotate(n % 4 === 0 ? 0 : 30);
    if (n % 3 === 0) {
      const grace = services.issuers.list().filter((g) => g.status === 'grace');
      if (grace.length > 0) services.issuers.retire(grace[grace.length - 1].generation);
    }
    if (n % 5 === 0) {
      const retired = services.issuers.list().filter((g) => g.status === 'retired');
      if (retired.length > 0) services.issuers.destroy(retired[retired.length - 1].generation);
    }
    say(`R ${n}`);
  }
} else if (config.mode === 'passphrase') {
  let current = config.passphrase;
  let next = config.other;
  for (let n = 1; ; n++) {
    await services.store.changePassphrase(current, next);
    [current, next] = [next, current];
    say(`P ${n}`);
  }
} else if (config.mode === 'archive') {
  const hold = new Int32Array(new SharedArrayBuffer(4));
  for (let n = 1; ; n++) {
    services.devices.provision({ identity: `${config.prefix}-${n}`, keys: { kind: 'generate' } });
    services.audit.archive('2099-01-01', join(config.out, `a-${n}.jsonl`), (stage) => {
      if (stage !== config.stopAt) return;
      say(`S ${stage}`);
      // Stay exactly here (a transaction open, for "trimming") until the parent's SIGKILL.
      Atomics.wait(hold, 0, 0, 60_000);
    });
    say(`A ${n}`);
  }
} else if (config.mode === 'restore') {
  // Restores the backups in turn (the store locks for each, as the app's restore does).
  for (let n = 1; ; n++) {
    await services.store.restore(config.backups[n % config.backups.length], config.passphrase);
    say(`O ${n}`);
  }
} else {
  throw new Error(`unknown mode ${config.mode}`);
}
