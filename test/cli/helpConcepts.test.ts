// `keyladder help concepts`: a short glossary of the words the help uses (issue 22, item 7).
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

describe('help concepts', () => {
  it('defines each term the issue names, and the key names, exactly', async () => {
    const r = await cli(['help', 'concepts']);
    expect(r.code).toBe(0);
    const terms = r.stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/ {2,}/)[0]);
    expect(terms).toEqual(['JWE_LADDER', 'PSK', 'MGK', 'WRAP', 'Kpw, Kdw', 'Kwrap', 'Kenc, Khmac', 'Kissuer', 'wrapdata', 'KCV', 'thumbprint', 'master token']);
    // The facts, as docs/protocol.md and electron/jwe/kcv.ts have them.
    expect(r.stdout).toContain('6 hex digits, the first 3 bytes of AES-ECB(key, zero');
    expect(r.stdout).toContain('HMAC-SHA256(key, empty message)');
    expect(r.stdout).toContain('RFC 7638 SHA-256 thumbprint');
    expect(r.stdout).toContain('Kwrap wrapped under Kissuer');
    expect(r.stdout).toContain('never given to a device');
    expect(r.stdout).toMatch(/active, grace, retired, destroyed/);
    // Short: a screen, not a manual.
    expect(r.stdout.split('\n').length).toBeLessThan(40);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(120);
  });

  it('is listed in keyladder --help, and -h reaches it too', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/keyladder help concepts\s+the words: PSK, MGK, WRAP, Kissuer, wrapdata, KCV, master token/);
    expect((await cli(['-h', 'concepts'])).stdout).toBe((await cli(['help', 'concepts'])).stdout);
    // Typed as a command: where it is.
    const typed = await cli(['concepts']);
    expect(typed.code).toBe(2);
    expect(typed.stderr).toContain('concepts is a help topic: keyladder help concepts. [USAGE_UNKNOWN_COMMAND]');
  });
});
