// Issue 19 item 13: untrusted strings (a kid, an alg, a JWS payload, a JWKS's
// kids in an error, a peer list's source) never reach the terminal raw. Run
// through the real binary, as an operator's terminal gets it: no ESC, CSI
// (0x9b), BEL, CR, backspace, DEL, bidi override or zero-width character in
// stdout or stderr, and no line the object forged.
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { visible, visibleLines } from '../../electron/shared/visibleText.js';
import { sealBundle } from '../../electron/services/bundles.js';

const dir = tempDir('keyladder-escapes-cli-');
const S = ['--store', join(dir, 'store')];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** What a terminal would act on, or hide. */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;
/** A payload meant to clear the screen, retitle the window, erase a line, and forge one. */
const ATTACK = '\x1b[2J\x1b]0;pwned\x07\rX\bY\x7f\x9b31m\u202egnp.exe\u2066\u200b\nkeyladder: Verified: signed by this KeyLadder.';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const compactJws = (header: Record<string, unknown>, payload: string) => `${b64(header)}.${b64(payload)}.${b64('sig')}`;

function expectNoRawControls(text: string) {
  expect(RAW.exec(text)?.[0]).toBeUndefined();
  expect(text).not.toMatch(/^keyladder: Verified/m);
}

beforeAll(async () => {
  expect((await cli([...S, 'init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('visible', () => {
  it('escapes every control and invisible format character, newlines too; visibleLines keeps newlines and tabs', () => {
    expect(visible('a\x1bb\nc\u202e\u{e0041}\x9b')).toBe('a\\u001Bb\\nc\\u202E\\uDB40\\uDC41\\u009B');
    expect(visibleLines('a\x1b\n\tb')).toBe('a\\u001B\n\tb');
    expect(visible('plain kid-1 ÄÖ')).toBe('plain kid-1 ÄÖ');
    expect(visible('x'.repeat(10), 5)).toBe('xxxx…');
    expect(visible('\x1b'.repeat(10), 3)).toBe('\\u001B\\u001B…');
  });

  it('keeps JSON valid and its values the same', () => {
    const value = { kid: ATTACK };
    expect(JSON.parse(visibleLines(JSON.stringify(value)))).toEqual(value);
  });
});

describe('the terminal gets no raw control from an object', () => {
  it('jose inspect: kid, alg and payload text are escaped (human and --json)', () => {
    const jws = file('attack.jws', compactJws({ alg: `ES256${ATTACK}`, kid: ATTACK }, `hello${ATTACK}`));
    const r = cliProcess([...S, 'jose', 'inspect', jws]);
    expect(r.code, r.stderr).toBe(0);
    expectNoRawControls(r.stdout);
    expectNoRawControls(r.stderr);
    expect(r.stdout).toContain('kid: \\u001B[2J\\u001B]0;pwned\\u0007\\rX\\u0008Y\\u007F\\u009B31m\\u202Egnp.exe\\u2066\\u200B\\nkeyladder: Verified');
    expect(r.stdout).toContain('payload: ');
    const j = cliProcess([...S, 'jose', 'inspect', jws, '--json']);
    expectNoRawControls(j.stdout);
    expect(JSON.parse(j.stdout).view.signatures[0].kid).toBe(ATTACK);
  });

  it('jose verify: a kid no key holds, in the error message on stderr', () => {
    const r = cliProcess([...S, 'jose', 'verify', file('nokey.jws', compactJws({ alg: 'ES256', kid: ATTACK }, 'x'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NO_KEY_FOR_KID');
    expectNoRawControls(r.stderr);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('jose decrypt: a JWE recipient\'s kid in the refusal', () => {
    const jwe = `${b64({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: ATTACK })}.${b64('k')}.${b64('iv')}.${b64('c')}.${b64('t')}`;
    const r = cliProcess([...S, 'jose', 'decrypt', file('nokey.jwe', jwe)]);
    expect(r.code).toBe(1);
    expectNoRawControls(r.stderr);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('revocation import and peers: a peer list\'s source (round 2: not a store id, so refused as malformed, and never echoed)', async () => {
    const passphrase = 'a peer export passphrase';
    const source = ATTACK.slice(0, 100);
    const list = file('attack-list.jwe', await sealBundle('keyladder-revocation-list', { source, at: new Date().toISOString(), revoked: [] }, { kind: 'passphrase', passphrase }));
    const env = { KEYLADDER_BUNDLE_PASSPHRASE: passphrase };
    const imported = cliProcess([...S, 'revocation', 'import', list, '--unsigned'], { env });
    expect(imported.code).not.toBe(0);
    expect(imported.stderr).toContain('The revocation list is malformed at source; nothing was imported. [BUNDLE_INVALID]');
    expect(imported.stderr).not.toMatch(/pwned|Verified/);
    const listed = cliProcess([...S, 'revocation', 'peers']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('(no revocation list received from a peer)');
    for (const [out, r] of [[imported.stderr, imported], [listed.stdout, listed]] as const) {
      expectNoRawControls(r.stdout + r.stderr);
      expect(out.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('a --keys file\'s unknown member names, and words echoed from the command line', () => {
    const keys = file('attack-keys.json', JSON.stringify({ kpw: '00112233445566778899aabbccddeeff', [`\nkeyladder: ok\x1b]0;t\x07`]: 1 }));
    const r = cliProcess([...S, 'device', 'add', 'ESN-ESC', '--keys', keys]);
    expect(r.stderr).toContain('KEYS_INCOMPLETE');
    for (const args of [['device', 'add', 'ESN-ESC', '--keys', keys], [`nope\nkeyladder: ok\x1b[2J`], ['device', 'show', 'a', `b\n\x1b[2J`], ['audit', 'list', '--action', `x\n\x9b2J`]]) {
      const e = cliProcess([...S, ...args]);
      expect(e.code).not.toBe(0);
      expectNoRawControls(e.stderr);
      expect(e.stderr.trimEnd().split('\n').filter((line) => !line.startsWith('Usage: '))).toHaveLength(1);
    }
  });

  it('issuer import --private-key: an export\'s alg in the refusal', () => {
    const privateKey = file('rsa.jwk', JSON.stringify(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })));
    const jwe = file('attack-export.jwe', `${b64({ alg: ATTACK, enc: 'A256GCM' })}.${b64('k')}.${b64('iv')}.${b64('c')}.${b64('t')}`);
    const r = cliProcess([...S, 'issuer', 'import', jwe, '--private-key', privateKey, '--unsigned']);
    expect(r.stderr).toContain('JOSE_UNSUPPORTED_ALG');
    expectNoRawControls(r.stderr);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('recipient add: the JWKS\'s kids in the error message', () => {
    const jwk = (kid: string) => ({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid });
    const jwks = file('attack.jwks', JSON.stringify({ keys: [jwk(ATTACK), jwk(`b${ATTACK}`)] }));
    const r = cliProcess([...S, 'recipient', 'add', jwks]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('choose one with --kid');
    expectNoRawControls(r.stderr);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
