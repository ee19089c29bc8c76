// The installed app's entry decides between the window and the bundled CLI
// from its arguments alone (electron/cliDispatch.ts; docs/packaging.md, "The
// CLI"): main-process code, so it runs in both projects. The launcher and the
// CLI behind it: test/packaging/cliLauncher.test.ts.
import { describe, expect, it } from 'vitest';
import { CLI_MARKER, bundledRefusal, launchArgs, launchOf, LAUNCHER_SWITCHES, refusalText } from '../../electron/cliDispatch.js';

describe('which launch is which (electron/cliDispatch.ts)', () => {
  it('no marker: the window, whatever else is there', () => {
    expect(launchOf([])).toEqual({ kind: 'gui' });
    expect(launchOf(['--no-sandbox', 'device', 'list'])).toEqual({ kind: 'gui' });
    expect(launchOf(['--keyladder-cli-x', '--'])).toEqual({ kind: 'gui' });
  });

  it('the marker, then --, then the CLI arguments, untouched (options included)', () => {
    expect(launchOf([CLI_MARKER, '--'])).toEqual({ kind: 'cli', args: [] });
    expect(launchOf([CLI_MARKER, '--', '--store', '/s', 'device', 'list', '--json', '--', '-x'])).toEqual({ kind: 'cli', args: ['--store', '/s', 'device', 'list', '--json', '--', '-x'] });
    // The Linux launcher's switches may come first; nothing else may.
    expect(launchOf([...LAUNCHER_SWITCHES, CLI_MARKER, '--', 'help'])).toEqual({ kind: 'cli', args: ['help'] });
  });

  it('the marker in any other form starts neither the window nor the CLI', () => {
    for (const args of [
      [CLI_MARKER],
      [CLI_MARKER, 'device', 'list'],
      ['--user-data-dir=/tmp/x', CLI_MARKER, '--', 'device', 'list'],
      ['--ozone-platform=x11', CLI_MARKER, '--'],
      ['--', CLI_MARKER, '--'],
      ['device', CLI_MARKER, '--'],
    ]) {
      const launch = launchOf(args);
      expect(launch.kind, args.join(' ')).toBe('refused');
      expect(launch).toMatchObject({ code: 'CLI_MARKER_MISUSE' });
    }
  });

  it('skips the app path of an unpackaged `electron <app>`', () => {
    expect(launchArgs(['/opt/KeyLadder/keyladder-app', CLI_MARKER, '--', 'help'], false)).toEqual([CLI_MARKER, '--', 'help']);
    expect(launchArgs(['electron', 'dist/electron/entry.js', CLI_MARKER, '--', 'help'], true)).toEqual([CLI_MARKER, '--', 'help']);
  });

  it('refuses serve (its workers are forks the runAsNode fuse forbids), nothing else', () => {
    expect(bundledRefusal(['serve'])?.code).toBe('BUNDLED_CLI_NO_SERVE');
    for (const words of [[], ['device', 'list'], ['help', 'serve'], ['init']]) expect(bundledRefusal(words), words.join(' ')).toBeUndefined();
    expect(refusalText(['--json'], 'X', 'm')).toEqual({ stream: 'stdout', text: '{"error":{"code":"X","message":"m"}}\n' });
    expect(refusalText([], 'X', 'm')).toEqual({ stream: 'stderr', text: 'keyladder: m [X]\n' });
  });
});
