// The `keyladder` command refuses a Node the SQLite addon cannot run on, with
// a code and what to install, instead of the addon's segmentation fault.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JS next to the bin script, without types.
import { LOWEST_NODE_MAJOR, unsupportedNode } from '../../bin/supportedNode.js';
import { runsHere } from '../support/skips.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the Node that runs keyladder', () => {
  it('refuses Node 20 and earlier with RUNTIME_UNSUPPORTED, and accepts 22, 24 and 26', () => {
    for (const v of ['20.20.2', '18.0.0', '21.99.0', '', 'x']) {
      expect(unsupportedNode(v)).toMatch(/^\[RUNTIME_UNSUPPORTED\] KeyLadder needs Node 22 or later/);
    }
    for (const v of ['22.12.0', '24.22.3', '26.12.1']) expect(unsupportedNode(v)).toBeNull();
  });

  it("is the lowest major of package.json's engines", () => {
    const engines: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node;
    const majors = [...engines.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
    expect(Math.min(...majors)).toBe(LOWEST_NODE_MAJOR);
  });

  // The machine's own Node, when it is older than 22 (this project's build machine has Node 20).
  const systemNode = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const oldNode = systemNode.status === 0 && Number(systemNode.stdout.split('.')[0]) < LOWEST_NODE_MAJOR;
  it.runIf(runsHere(oldNode, '/usr/bin/node is missing or already Node 22 or later: no old Node to run the command on'))(
    'run by an old Node, the command exits 1 with the refusal, not a crash', () => {
      const r = spawnSync('/usr/bin/node', [path.join(ROOT, 'bin/keyladder.js'), 'status'], { encoding: 'utf8' });
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('[RUNTIME_UNSUPPORTED]');
      expect(r.stderr).toContain(`this is Node ${systemNode.stdout.trim()}`);
    });
});
