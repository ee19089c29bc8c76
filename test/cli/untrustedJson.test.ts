// Issue 19 items 15 and 18: untrusted JSON is read strictly everywhere.
// - 300,000 nested arrays or objects in a JOSE header, a JSON serialization,
//   a JWS payload, a key file, a --keys file, an import file or a request are
//   refused with JSON_TOO_DEEP before anything walks them (the inspector's
//   printer overflowed the stack: INTERNAL_ERROR), or, for a payload that is
//   only described, withheld unread.
// - --keys files, key files and JSON import files that name a member twice
//   are refused (DUPLICATE_MEMBER, naming the member, its line and column), as
//   requests are, instead of keeping the last one; and nothing is written.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../support/cli.js';
import { tempDir } from '../support/services.js';

const dir = tempDir('keyladder-untrusted-json-');
const S = ['--store', join(dir, 'store')];
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (args: string[], stdin?: string) => cli([...S, ...args], stdin === undefined ? {} : { stdin });
const errorOf = async (args: string[], stdin?: string) => {
  const r = await run([...args, '--json'], stdin);
  expect(r.code, r.stdout).not.toBe(0);
  return JSON.parse(r.stdout).error as { code: string; reason?: string; message: string };
};

const DEPTH = 300_000;
const deepArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const deepObject = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;
/** JOSE objects are at most 1 MiB of text: 300,000 objects do not fit in one, 100,000 (base64url in a header) do. */
const deepJoseObject = `${'{"":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const KPW = '00112233445566778899aabbccddeeff';

beforeAll(async () => {
  expect((await run(['init', '--kdf-log-n', '10'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('JSON nested 300,000 deep is JSON_TOO_DEEP, never INTERNAL_ERROR', () => {
  it.each([['arrays', deepArray], ['objects', deepJoseObject]])('jose inspect, a compact JWS header of %s (the real binary)', (_, deep) => {
    const jws = file('deep-header.jws', `${b64(`{"alg":"ES256","x":${deep}}`)}.${b64('hi')}.${b64('sig')}`);
    const r = cliProcess([...S, 'jose', 'inspect', jws]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nests objects and arrays more than 64 levels deep\. \[JSON_TOO_DEEP\] \(reason: json-too-deep\)/);
    expect(r.stderr).not.toContain('INTERNAL_ERROR');
  });

  it.each([['arrays', deepArray], ['objects', deepJoseObject]])('jose inspect and decrypt, a JSON serialization of %s', async (_, deep) => {
    const jwe = file('deep.json', `{"ciphertext":"AA","iv":"AA","tag":"AA","recipients":[{"header":{"alg":"A128KW","x":${deep}}}]}`);
    expect((await errorOf(['jose', 'inspect', jwe])).code).toBe('JSON_TOO_DEEP');
    expect((await errorOf(['jose', 'decrypt', jwe])).code).toBe('JSON_TOO_DEEP');
    const mslJwe = file('deep-msl.json', `{"initialization_vector":"AA","x":${deep}}`);
    expect((await errorOf(['jose', 'inspect', mslJwe])).code).toBe('JSON_TOO_DEEP');
  });

  it.each([['arrays', deepArray], ['objects', deepJoseObject]])('a JWS payload of %s is withheld unread, not shown and not a crash', async (_, deep) => {
    const jws = file('deep-payload.jws', `${b64('{"alg":"ES256"}')}.${b64(`{"kpw":"${KPW}","x":${deep}}`)}.${b64('sig')}`);
    const r = await run(['jose', 'inspect', jws]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('not shown: it nests too deep to read');
    expect(r.stdout).not.toContain(KPW);
  });

  it.each([['arrays', deepArray], ['objects', deepObject]])('key files, --keys files and import files of %s', async (_, deep) => {
    const keyFile = file('deep.jwk', `{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA","x":${deep}}`);
    expect((await errorOf(['jose', 'decrypt', '-', '--key-file', keyFile], 'a.b.c.d.e')).code).toBe('JSON_TOO_DEEP');
    expect((await errorOf(['recipient', 'add', keyFile, '--kid', 'deep'])).code).toBe('JSON_TOO_DEEP');
    const keys = file('deep-keys.json', `{"kpw":"${KPW}","x":${deep}}`);
    expect((await errorOf(['device', 'add', 'ESN-DEEP', '--keys', keys])).code).toBe('JSON_TOO_DEEP');
    const rows = file('deep-import.json', `[{"identity":"ESN-DEEP2","x":${deep}}]`);
    expect((await errorOf(['device', 'import', rows, '--format', 'json'])).code).toBe('JSON_TOO_DEEP');
    expect((await run(['device', 'list'])).stdout).not.toContain('ESN-DEEP');
  });

  it('a request of 300,000 nested objects to respond is MSL_PARSE_ERROR / JSON_TOO_DEEP', async () => {
    const e = await errorOf(['respond'], `{"identity":"A","keyrequestdata":${deepObject}}`);
    expect([e.code, e.reason]).toEqual(['MSL_PARSE_ERROR', 'JSON_TOO_DEEP']);
  });

  it('64 levels are still read', async () => {
    const jws = file('64.jws', `${b64(`{"alg":"ES256","x":${'['.repeat(63)}${']'.repeat(63)}}`)}.${b64('hi')}.${b64('sig')}`);
    expect((await run(['jose', 'inspect', jws])).code).toBe(0);
  });
});

describe('a member named twice in a file is DUPLICATE_MEMBER, with where, and nothing is written', () => {
  it('device add --keys', async () => {
    const keys = file('dup-keys.json', `{\n  "kpw": "${KPW}",\n  "kpw": "ffeeddccbbaa99887766554433221100"\n}`);
    const e = await errorOf(['device', 'add', 'ESN-DUP', '--keys', keys]);
    expect(e.code).toBe('DUPLICATE_MEMBER');
    expect(e.message).toContain('names the member "kpw" twice (again at line 3, column 3)');
    expect(e.message).not.toContain(KPW);
    expect((await run(['device', 'list'])).stdout).not.toContain('ESN-DUP');
  });

  it('group add --keys, a name written with an escape', async () => {
    const keys = file('dup-group.json', `{"kdw":"${KPW}","\\u006bdw":"${KPW}"}`);
    const e = await errorOf(['group', 'add', 'dup-group', '--keys', keys]);
    expect(e.code).toBe('DUPLICATE_MEMBER');
    expect(e.message).toContain('"kdw" twice (again at line 1, column 43)');
    expect((await run(['group', 'list'])).stdout).not.toContain('dup-group');
  });

  it('issuer import-msl --keys', async () => {
    const keys = file('dup-issuer.json', `{"kissuer":"${KPW}${KPW}","kissuer":"${KPW}${KPW}"}`);
    expect((await errorOf(['issuer', 'import-msl', '--keys', keys])).code).toBe('DUPLICATE_MEMBER');
  });

  it('jose --key-file, and a recipient key file', async () => {
    const key = file('dup.jwk', '{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA","k":"AQEBAQEBAQEBAQEBAQEBAQ"}');
    expect((await errorOf(['jose', 'decrypt', '-', '--key-file', key], 'a.b.c.d.e')).code).toBe('DUPLICATE_MEMBER');
    const e = await errorOf(['recipient', 'add', file('dup-ec.jwk', '{"kty":"EC","kty":"EC","crv":"P-256"}'), '--kid', 'dup']);
    expect(e.code).toBe('RECIPIENT_KEY_INVALID');
    expect(e.message).toContain('"kty" twice');
  });

  it('device import (JSON): a row that names identity twice', async () => {
    const rows = file('dup-import.json', `[\n{"identity":"ESN-ROW1"},\n{"identity":"ESN-ROW2","identity":"ESN-ROW3"}\n]`);
    const e = await errorOf(['device', 'import', rows, '--format', 'json']);
    expect(e.code).toBe('DUPLICATE_MEMBER');
    expect(e.message).toContain('names the member "identity" twice (again at line 3, column 24)');
    expect((await run(['device', 'list'])).stdout).not.toMatch(/ESN-ROW/);
  });

  it('a member name with terminal escapes is shown escaped', async () => {
    const keys = file('dup-escape.json', '{"\\u001b[2J":1,"\\u001b[2J":2}');
    const r = await run(['device', 'add', 'ESN-ESC', '--keys', keys]);
    expect(r.stderr).toContain('"\\u001B[2J" twice');
    expect(r.stderr).not.toContain('\x1b');
  });
});
