// audit archive killed with SIGKILL (issue 19, item 8): exactly at each of its
// steps (the child stops there and waits for the kill: after the file is in
// place, after its record commits, inside the trim's open transaction), and
// at random points of a loop of archives. Every kill must leave a store that
// verifies, and every archive file it records must verify against it.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type KeyLadderRuntime } from '../../electron/services/index.js';
import { Child, prepareBuild, sleep } from '../support/crashHarness.js';
import { PASSPHRASE, TEST_KDF_LOG_N, tempDir } from '../support/services.js';

let build: { dir: string; cleanup(): void };
const dirs: string[] = [];
beforeAll(() => {
  build = prepareBuild();
});
afterAll(() => {
  build?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function newStore(): Promise<{ store: string; out: string }> {
  const store = tempDir('keyladder-archive-crash-');
  const out = tempDir('keyladder-archive-files-');
  dirs.push(store, out);
  const s = createServices({ storeDir: store, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
  await s.store.create(PASSPHRASE);
  s.close();
  return { store, out };
}

/** Opens the store after a kill: the log verifies, and every archive file left verifies against it. */
async function afterKill(store: string, out: string, context: string): Promise<{ s: KeyLadderRuntime; files: string[]; archivedThrough: number }> {
  const s = createServices({ storeDir: store, kdfLogN: TEST_KDF_LOG_N, batchExchangeRecords: false });
  await s.store.unlock(PASSPHRASE);
  const chain = s.audit.verify();
  expect(chain, context).toMatchObject({ ok: true });
  expect(s.store.verify(), context).toMatchObject({ ok: true });
  const files = readdirSync(out);
  // No half-written file is ever at an archive's name (only its temporary may stay).
  for (const f of files.filter((name) => name.endsWith('.jsonl'))) expect(s.audit.verifyArchive(join(out, f)), `${context}: ${f}`).toMatchObject({ ok: true, macsChecked: true });
  return { s, files, archivedThrough: chain.archivedThrough ?? 0 };
}

describe('audit archive killed', () => {
  for (const stage of ['written', 'recorded', 'trimming'] as const) {
    it(`at "${stage}": the store verifies with nothing trimmed, and a second archive goes on`, async () => {
      const { store, out } = await newStore();
      const child = new Child({ build: build.dir, store, mode: 'archive', passphrase: PASSPHRASE, prefix: 'ESN-K', kdfLogN: TEST_KDF_LOG_N, out, stopAt: stage });
      await child.waitFor((line) => line === `S ${stage}`);
      await child.kill();
      const { s, files, archivedThrough } = await afterKill(store, out, stage);
      try {
        expect(archivedThrough).toBe(0);
        expect(files).toContain('a-1.jsonl');
        expect(s.audit.verifyArchive(join(out, 'a-1.jsonl'))).toMatchObject({ recorded: stage !== 'written', continuesInStore: false });
        const again = s.audit.archive('2099-01-01', join(out, 'again.jsonl'));
        expect(s.audit.verify()).toMatchObject({ ok: true, archivedThrough: again.to });
        expect(s.audit.verifyArchive(join(out, 'again.jsonl'))).toMatchObject({ ok: true, continuesInStore: true });
      } finally {
        s.close();
      }
    });
  }

  it('at random points of a loop of archives, 8 kills: each leaves a store that verifies and archives that prove themselves', async () => {
    const { store, out } = await newStore();
    let archives = 0;
    let lastThrough = 0;
    for (let k = 0; k < 8; k++) {
      const child = new Child({ build: build.dir, store, mode: 'archive', passphrase: PASSPHRASE, prefix: `ESN-R${k}`, kdfLogN: TEST_KDF_LOG_N, out });
      await child.waitFor((line) => line === 'U');
      // Wait for an archive or two, then kill somewhere in the next one.
      await child.waitFor((line) => line.startsWith('A '));
      await sleep(5 + ((k * 37) % 60));
      await child.kill();
      archives += child.count('A ');
      const { s, archivedThrough } = await afterKill(store, out, `kill ${k}`);
      // The cut only moves forward.
      expect(archivedThrough, `kill ${k}`).toBeGreaterThanOrEqual(lastThrough);
      lastThrough = archivedThrough;
      s.close();
      // Each run names its files a-1, a-2…: move them aside so the next child does not find them in the way.
      for (const f of readdirSync(out)) if (f.startsWith('a-')) rmSync(join(out, f));
    }
    expect(archives).toBeGreaterThanOrEqual(8);
  });
});
