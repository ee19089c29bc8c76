// The advice the simulated MSL device shows for an MSL error header (issue 21):
// the error name's own line when the app has one, else what the response code
// tells a device to do; never the catch-all for a response code MSL defines.
import { describe, expect, it } from 'vitest';
import { adviceFor, mslAdviceFor } from '../../renderer/src/api/advice.js';
import { MSL_ERRORS, ResponseCode } from '../../electron/msl/errors.js';

const FALLBACK = adviceFor('NO_SUCH_CODE_AT_ALL');

describe('mslAdviceFor', () => {
  it('uses the error name\'s own line when there is one', () => {
    expect(mslAdviceFor('ENTITY_REVOKED', 'FAIL')).toBe(adviceFor('ENTITY_REVOKED'));
    expect(mslAdviceFor('ENTITY_REVOKED', 'FAIL')).not.toBe(FALLBACK);
  });

  it('else says what the response code makes the device do, for every response code MSL defines', () => {
    for (const response of Object.keys(ResponseCode)) {
      if (response === 'USER_REAUTH' || response === 'USERDATA_REAUTH') continue; // KeyLadder has no user authentication
      expect(mslAdviceFor(undefined, response), response).not.toBe(FALLBACK);
    }
    expect(mslAdviceFor('MASTERTOKEN_UNTRUSTED', 'ENTITY_REAUTH')).toMatch(/authenticates again/);
  });

  it('gives every error of MSL\'s catalogue a line other than the catch-all', () => {
    const names = Object.entries(MSL_ERRORS).map(([name, spec]) => [name, Object.entries(ResponseCode).find(([, c]) => c === spec.responseCode)![0]] as const);
    expect(names.filter(([name, response]) => mslAdviceFor(name, response) === FALLBACK)).toEqual([]);
  });
});
