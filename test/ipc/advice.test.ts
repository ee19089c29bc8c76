// Every code a service can answer the app with has its own "what to do" line
// (renderer/src/api/advice.ts), not the catch-all: a new code without one is
// an operator left with "check the values you entered".
import { describe, expect, it } from 'vitest';
import { adviceFor } from '../../renderer/src/api/advice.js';
import { ServiceErrorCode } from '../../electron/services/errors.js';
import { StoreErrorCode } from '../../db/errors.js';

const FALLBACK = adviceFor('NO_SUCH_CODE_AT_ALL');

describe('the app\'s advice', () => {
  it('has a line of its own for every service and store code', () => {
    const codes = [...Object.values(ServiceErrorCode), ...Object.values(StoreErrorCode)];
    expect(codes.filter((code) => adviceFor(code) === FALLBACK)).toEqual([]);
  });
});
