// The systemd unit for `keyladder serve` (packaging/systemd/, issue 23, item 2): it keeps the
// sandbox the README promises, names the credential serve reads, takes the example config serve
// accepts, and `systemd-analyze verify` finds nothing to say about it (a warning is a failure:
// verify exits 0 on a misspelled key and only prints it).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVE_CREDENTIAL } from '../../electron/cli/commands/serve.js';
import { readServeConfig } from '../../electron/cli/serveConfig.js';
import { parseServeFlags } from '../../electron/server/serveSettings.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/services.js';
import { runsHere } from '../support/skips.js';

const DIR = join(ROOT, 'packaging', 'systemd');
const UNIT = readFileSync(join(DIR, 'keyladder.service'), 'utf8');
/** The directives of one section, in order (comments and blank lines left out). */
const section = (name: string): Array<[string, string]> => {
  const body = UNIT.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';
  return body.split('\n').slice(1).filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
};
const service = section('Service');
const value = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);
const INSTALLED_AT = '/usr/local/bin/keyladder';

describe('packaging/systemd/keyladder.service', () => {
  it('runs serve as its own user, sandboxed, restarted on failure, with the config file', () => {
    expect(value('User')).toEqual(['keyladder']);
    expect(value('ProtectSystem')).toEqual(['strict']);
    expect(value('NoNewPrivileges')).toEqual(['yes']);
    expect(value('Restart')).toEqual(['on-failure']);
    // serve does not speak sd_notify: notify would leave the unit "activating" until the start timeout.
    expect(value('Type')).toEqual(['simple']);
    expect(value('ExecStart')).toEqual([`${INSTALLED_AT} serve --config /etc/keyladder/serve.toml`]);
    // serve takes SIGHUP as "reload the TLS files" (tlsReload.test.ts).
    expect(value('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    // The only writable place is the store's, and nothing may raise privileges back.
    expect(value('StateDirectory')).toEqual(['keyladder']);
    expect(value('Environment')).toContain('KEYLADDER_STORE=/var/lib/keyladder/store');
    expect(value('CapabilityBoundingSet')).toEqual(['']);
    // Never the passphrase in the environment: only as a credential.
    expect(service.map(([k, v]) => `${k}=${v}`).join('\n')).not.toMatch(/KEYLADDER_PASSPHRASE|--passphrase-file/);
  });

  it('loads the passphrase as the credential serve reads from $CREDENTIALS_DIRECTORY', () => {
    expect(value('LoadCredential')).toEqual([`${SERVE_CREDENTIAL}:/etc/keyladder/passphrase`]);
  });

  it('the example serve.toml is one serve accepts, and the sysusers line makes the unit\'s user', () => {
    const settings = parseServeFlags(readServeConfig(join(DIR, 'serve.toml')));
    expect(settings).toMatchObject({ host: '127.0.0.1', port: 8420, workers: 2, logFormat: 'json' });
    expect(readFileSync(join(DIR, 'keyladder.sysusers.conf'), 'utf8')).toMatch(/^u keyladder - "[^"]+" \/var\/lib\/keyladder /m);
  });

  const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.runIf(runsHere(hasAnalyze, 'systemd-analyze is not installed (Debian: apt-get install systemd): the unit is checked by its directives only'))('systemd-analyze verify reports nothing, and does report a misspelled directive', () => {
    const dir = tempDir('keyladder-unit-');
    // verify checks that ExecStart's program exists: here it is the checkout's CLI, not yet installed.
    expect(UNIT).toContain(`ExecStart=${INSTALLED_AT} `);
    const here = UNIT.replace(`ExecStart=${INSTALLED_AT} `, `ExecStart=${join(ROOT, 'bin', 'keyladder.js')} `);
    const verify = (text: string, name: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8' });
      return { status: r.status, said: `${r.stdout}${r.stderr}`.trim() };
    };
    expect(verify(here, 'keyladder.service')).toEqual({ status: 0, said: '' });
    // The check can fail: verify's warnings are what it says about a typo.
    const typo = verify(here.replace('ProtectSystem=strict', 'ProtectSystm=strict'), 'typo.service');
    expect(typo.said).toContain("Unknown key 'ProtectSystm'");
  });
});
