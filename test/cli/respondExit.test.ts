// `respond`'s exit status, as a script sees it from the real binary (issue 23, item 2): 0 for an
// answer, 3 for a refused exchange (its JSON error on stdout), 2 for a mistake in the command
// line only. Before, a refusal and a usage error both exited 2.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_EXIT } from '../../electron/cli/errors.js';
import { cliProcess } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { deriveVector } from '../support/vectors.js';

const store = ['--store', join(tempDir('keyladder-respond-exit-'), 'store')];
const v = deriveVector();
const request = (identity: string) => JSON.stringify({ identity, keyrequestdata: { scheme: 'JWE_LADDER', keydata: { mechanism: 'PSK' } } });

beforeAll(() => {
  expect(cliProcess([...store, 'init', '--kdf-log-n', '10']).code).toBe(0);
  expect(cliProcess([...store, 'device', 'add', v.identity]).code).toBe(0);
});

describe('respond exit status', () => {
  it('0 for an answer', () => {
    const r = cliProcess([...store, 'respond'], { stdin: request(v.identity) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('keyresponsedata');
  });

  it('3 for a refusal (an unknown device, a request that does not parse), apart from usage errors', () => {
    expect(REFUSED_EXIT).toBe(3);
    const unknown = cliProcess([...store, 'respond'], { stdin: request('NOT-PROVISIONED') });
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout).error.code).toBe('ENTITY_NOT_FOUND');
    const malformed = cliProcess([...store, 'respond'], { stdin: '{not json' });
    expect(malformed.code).toBe(3);
    expect(JSON.parse(malformed.stdout).error.code).toBe('MSL_PARSE_ERROR');
  });

  it('2 for a usage error, which answers nothing', () => {
    const r = cliProcess([...store, 'respond', '--profile', 'jose'], { stdin: request(v.identity) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[USAGE_BAD_VALUE]');
    expect(r.stdout).toBe('');
    expect(cliProcess([...store, 'respond', 'extra'], { stdin: request(v.identity) }).code).toBe(2);
  });
});
