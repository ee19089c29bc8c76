// `keyladder serve`'s flags: what is refused before anything listens.
import { describe, expect, it } from 'vitest';
import { CliUsageError } from '../../electron/cli/output.js';
import { parseServeFlags } from '../../electron/server/serveSettings.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../electron/server/httpResponder.js';

describe('parseServeFlags', () => {
  it('defaults to the loopback address and the default port', () => {
    expect(parseServeFlags({})).toMatchObject({ host: DEFAULT_HOST, port: DEFAULT_PORT, workers: 1, profile: 'msl' });
  });

  it('refuses an empty --host (it would listen on every interface) and an empty or malformed --port', () => {
    for (const host of ['', ' ']) expect(() => parseServeFlags({ host })).toThrow(/--host needs an address/);
    for (const port of ['', ' ', '0x10', '1e3', '-1', '65536', '8420.5']) expect(() => parseServeFlags({ port }), `--port=${port}`).toThrow('--port is 0 to 65535.');
    expect(() => parseServeFlags({ host: '' })).toThrow(CliUsageError);
    expect(parseServeFlags({ port: '0' }).port).toBe(0);
    expect(parseServeFlags({ host: '::1', port: '8421' })).toMatchObject({ host: '::1', port: 8421 });
  });
});
