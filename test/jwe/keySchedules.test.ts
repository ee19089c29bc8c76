// Issue 19, item 10: every cipher context that takes a key (RFC 3394 key wrap, both paths, and
// KCVs) is ended with final() before the call returns. Node frees a context's native memory, with
// the expanded key whose first round key is the raw key, only when final() runs or when the JS
// object is collected; an idle `serve` worker kept dozens of them, each holding a Kissuer it had
// destroyed. node:crypto is wrapped to see every context made and whether it was ended.
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const made: Array<{ name: string; ended: boolean }> = [];

vi.mock('node:crypto', async (original) => {
  const real = await original<typeof import('node:crypto')>();
  const tracked = <T extends { final: (...a: never[]) => unknown }>(name: string, context: T): T => {
    const entry = { name, ended: false };
    made.push(entry);
    const final = context.final.bind(context) as (...a: never[]) => unknown;
    context.final = ((...a: never[]) => {
      entry.ended = true;
      return final(...a);
    }) as T['final'];
    return context;
  };
  return {
    ...real,
    createCipheriv: (...a: Parameters<typeof real.createCipheriv>) => tracked(String(a[0]), real.createCipheriv(...a)),
    createDecipheriv: (...a: Parameters<typeof real.createDecipheriv>) => tracked(String(a[0]), real.createDecipheriv(...a)),
  };
});

const { opensslKeyWrap, portableKeyWrap } = await import('../../electron/jwe/aesKeyWrap.js');
const { kcv } = await import('../../electron/jwe/kcv.js');
const { underElectronCryptoModel } = await import('../support/runtime.js');

// (Loading aesKeyWrap.ts probes OpenSSL's wrap cipher with RFC 3394's public test key: not counted.)
beforeEach(() => {
  made.length = 0;
});

const unended = (): string[] => made.filter((c) => !c.ended).map((c) => c.name);

describe.each(underElectronCryptoModel() ? [portableKeyWrap] : [opensslKeyWrap, portableKeyWrap])('$name key wrap', (impl) => {
  it('ends every cipher context it made: wrap, wrapEach, an unwrap that passes and one that fails its check', () => {
    const kek = randomBytes(16);
    const wrapped = impl.wrap(kek, randomBytes(16));
    impl.wrapEach(kek, [randomBytes(16), randomBytes(16)]);
    expect(impl.unwrap(kek, wrapped)).toHaveLength(16);
    const altered = Buffer.from(wrapped);
    altered[3]! ^= 1;
    expect(impl.unwrap(kek, altered)).toBeUndefined();
    expect(made.length).toBeGreaterThanOrEqual(4);
    expect(unended()).toEqual([]);
  });
});

describe('kcv', () => {
  it('ends its AES context', () => {
    expect(kcv(randomBytes(16), 'aes')).toMatch(/^[0-9A-F]{6}$/);
    expect(made).toHaveLength(1);
    expect(unended()).toEqual([]);
  });
});
