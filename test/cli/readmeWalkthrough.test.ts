// README.md's walkthrough and its factory snippet, run as written: a new
// operator's first session must work from the README alone. The walkthrough
// runs in bash with a bare `keyladder` on PATH (as `npm link` gives), in an
// empty HOME, with the passphrases in the environment as the README says a
// script sets them, and the store passphrase typed once on stdin for step 5's
// passphrase file. serve takes a free port (--port 0) and is waited on by its
// "Listening on" line; a leftover 8420 is still replaced, so that parallel test
// files cannot collide on it.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { childNodeArgs } from '../support/runtime.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BUNDLE_PASSPHRASE = 'factory handover passphrase 2026';

/** The fenced block of `lang` that follows the marker comment. */
function blockAfter(marker: string, lang: string): string {
  const at = README.indexOf(`<!-- ${marker} -->`);
  expect(at, `README.md has no <!-- ${marker} --> marker`).toBeGreaterThanOrEqual(0);
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(README.slice(at));
  expect(match, `no \`\`\`${lang} block after <!-- ${marker} -->`).not.toBeNull();
  return match![1]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let home: string;
let run: ReturnType<typeof spawnSync>;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'keyladder-readme-'));
  // A bare `keyladder`, as `npm link` puts it on PATH, under this run's crypto model.
  const bin = join(home, 'bin');
  mkdirSync(bin);
  const shim = join(bin, 'keyladder');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" ${childNodeArgs().map((a) => `'${a}'`).join(' ')} "${join(ROOT, 'bin', 'keyladder.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  const script = blockAfter('walkthrough', 'sh').replaceAll('8420', String(await freePort()));
  run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: home,
    encoding: 'utf8',
    input: 'walkthrough store passphrase\n',
    env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, HOME: home, KEYLADDER_PASSPHRASE: 'walkthrough store passphrase', KEYLADDER_BUNDLE_PASSPHRASE: BUNDLE_PASSPHRASE },
    timeout: 240_000,
  });
}, 300_000);

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('README walkthrough', () => {
  it('runs from init to a served exchange, a test exchange, rotation, revocation, backup and restore', () => {
    expect(run.status, `stderr:\n${String(run.stderr)}\nstdout:\n${String(run.stdout)}`).toBe(0);
    const out = String(run.stdout);
    expect(out).toMatch(/Created the store in .*keyladder-store/);
    expect(out).toContain('Imported 2 devices.');
    // The served PSK exchange answered with a key response, not an error.
    expect(out).toMatch(/\{"keyresponsedata":\{"scheme":"JWE_LADDER","keydata":\{/);
    expect(out).toContain('Every KCV matches.');
    expect(out).toMatch(/gen 1\s+destroyed/);
    expect(out).toContain('The audit log verifies');
  });

  it('serves on a free port, waits on the "Listening on URL pid N" line, and leaves no passphrase file behind', () => {
    const script = blockAfter('walkthrough', 'sh');
    expect(script).not.toMatch(/serve[^\n]*--port 8420/);
    expect(script).not.toMatch(/until curl/);
    expect(script).toMatch(/keyladder serve --port 0 --passphrase-file store\.pass/);
    expect(existsSync(join(home, 'store.pass'))).toBe(false);
    expect(existsSync(join(home, 'serve.out'))).toBe(true);
    expect(readFileSync(join(home, 'serve.out'), 'utf8')).toMatch(/^Listening on http:\/\/127\.0\.0\.1:\d+ pid \d+$/m);
  });

  it("opens both bundles with the README's jose 6 snippet, and its KCVs are the store's", () => {
    expect(run.status).toBe(0);
    writeFileSync(join(home, 'open-bundle.mjs'), blockAfter('factory-snippet', 'js'));
    symlinkSync(join(ROOT, 'node_modules'), join(home, 'node_modules'), 'dir');
    // The factory runs plain Node, not KeyLadder's runtime: no crypto model for the snippet
    // (jose's PBES2 needs Web Crypto AES-KW, which a factory's Node has).
    const open = (file: string) => spawnSync(process.execPath, ['open-bundle.mjs', file], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', BUNDLE_PASSPHRASE } });
    const devices = open('devices.jwe');
    expect(devices.status, devices.stderr).toBe(0);
    const list = spawnSync(join(home, 'bin', 'keyladder'), ['device', 'list', '--json'], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: home, KEYLADDER_STORE: join(home, 'keyladder-store'), KEYLADDER_PASSPHRASE: 'walkthrough store passphrase' } });
    expect(list.status, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as { items: { identity: string; kcv: { kpw: string } }[] }).items;
    // The bundle holds step 4's devices (ESN-…); step 10's MSL device came later.
    const esn = items.filter((d) => d.identity.startsWith('ESN-'));
    expect(devices.stdout.trim().split('\n')).toEqual([...esn.map((d) => `${d.identity} settop-2026 KCV kpw ${d.kcv.kpw}`), `Every KCV matches: ${esn.length} devices, 0 groups.`]);
    const group = open('group.jwe');
    expect(group.status, group.stderr).toBe(0);
    expect(group.stdout).toMatch(/^settop-2026 KCV kdw [0-9A-F]{6}\nEvery KCV matches: 0 devices, 1 groups\.\n$/);
    // The wrong passphrase opens nothing.
    const wrong = spawnSync(process.execPath, ['open-bundle.mjs', 'devices.jwe'], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', BUNDLE_PASSPHRASE: 'not the passphrase at all' } });
    expect(wrong.status).not.toBe(0);
  });

  it("the snippet recomputes every KCV: a bundle whose KCV or key does not match is refused, naming the key, and nothing is listed", () => {
    expect(run.status).toBe(0);
    // Reseal each real bundle with one change, as jose would (plain Node, like the factory).
    const reseal = (from: string, to: string, change: string) => {
      const script = `import { readFileSync, writeFileSync } from 'node:fs';
import { compactDecrypt, CompactEncrypt } from 'jose';
const pass = new TextEncoder().encode(process.env.BUNDLE_PASSPHRASE);
const { plaintext, protectedHeader } = await compactDecrypt(readFileSync(${JSON.stringify(from)}, 'utf8').trim(), pass, { keyManagementAlgorithms: ['PBES2-HS512+A256KW'], contentEncryptionAlgorithms: ['A256GCM'], maxPBES2Count: 600_000 });
const bundle = JSON.parse(new TextDecoder().decode(plaintext));
${change}
const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(bundle))).setProtectedHeader({ alg: protectedHeader.alg, enc: protectedHeader.enc, cty: protectedHeader.cty }).setKeyManagementParameters({ p2c: 1000 }).encrypt(pass);
writeFileSync(${JSON.stringify(to)}, jwe);`;
      writeFileSync(join(home, 'reseal.mjs'), script);
      const made = spawnSync(process.execPath, ['reseal.mjs'], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', BUNDLE_PASSPHRASE } });
      expect(made.status, made.stderr).toBe(0);
    };
    const open = (file: string) => spawnSync(process.execPath, ['open-bundle.mjs', file], { cwd: home, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', BUNDLE_PASSPHRASE } });
    // Unchanged, resealed: it opens (the reseal itself is sound).
    reseal('devices.jwe', 'same.jwe', '');
    expect(open('same.jwe').status).toBe(0);
    const cases: [string, string, string, RegExp][] = [
      ['kcv.jwe', 'devices.jwe', "bundle.payload.devices[1].kcv.kph = bundle.payload.devices[1].kcv.kph === '000000' ? '000001' : '000000';", /ESN-0002: the KCV of kph is [0-9A-F]{6}, the bundle says 00000[01]/],
      ['key.jwe', 'devices.jwe', "const d = bundle.payload.devices[2]; d.kpw = (d.kpw[0] === '0' ? '1' : '0') + d.kpw.slice(1);", /ESN-0003: the KCV of kpw is [0-9A-F]{6}, the bundle says [0-9A-F]{6}/],
      ['short.jwe', 'devices.jwe', 'bundle.payload.devices[0].kpe = bundle.payload.devices[0].kpe.slice(2);', /ESN-0001: kpe is not a 16-byte hex key/],
      ['nokpw.jwe', 'devices.jwe', 'delete bundle.payload.devices[0].kpw;', /ESN-0001: kpw is not a 16-byte hex key/],
      ['group.kdh.jwe', 'group.jwe', "const g = bundle.payload.groups[0]; g.kdh = (g.kdh[0] === 'a' ? 'b' : 'a') + g.kdh.slice(1);", /settop-2026: the KCV of kdh is [0-9A-F]{6}, the bundle says [0-9A-F]{6}/],
    ];
    for (const [file, from, change, message] of cases) {
      reseal(from, file, change);
      const opened = open(file);
      expect(opened.status, `${file}: ${opened.stdout}`).not.toBe(0);
      expect(opened.stderr).toMatch(message);
      expect(opened.stdout).toBe('');
    }
  });
});
