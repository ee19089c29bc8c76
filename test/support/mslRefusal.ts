// What an electron/msl call refused with: it must throw an MslError, whose
// stable code (and detail) the tests compare.
import { expect } from 'vitest';
import { MslError } from '../../electron/msl/errors.js';

export function mslRefusal(f: () => unknown): { code: string; detail?: string } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MslError);
    return { code: (e as MslError).code, detail: (e as MslError).detail };
  }
  throw new Error('accepted');
}
