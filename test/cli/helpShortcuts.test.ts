// -h is --help everywhere, and a mistyped command or option gets the nearest
// real one suggested, only when it is close (issue 22, item 7).
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../electron/cli.js';
import { parseCommandLine } from '../../electron/cli/options.js';
import { didYouMean, editDistance, nearest, nearestWords } from '../../electron/cli/suggest.js';
import { cli } from '../support/cli.js';

describe('-h', () => {
  it('is --help: the overview, a group, every command, and after help', async () => {
    for (const words of [[], ['device'], ['msl', 'identity'], ...COMMANDS.map((c) => c.name.split(' '))]) {
      const short = await cli([...words, '-h']);
      const long = await cli([...words, '--help']);
      expect(short.code, words.join(' ')).toBe(0);
      expect(short.stdout, words.join(' ')).toBe(long.stdout);
      expect(short.stdout.length).toBeGreaterThan(0);
    }
    expect((await cli(['-h', 'device', 'add'])).stdout).toBe((await cli(['help', 'device', 'add'])).stdout);
  });

  it('is not taken as an option\'s value, and other one-letter options stay refused', () => {
    expect(() => parseCommandLine(['device', 'export', 'D', '--out', '-h'])).toThrow('--out needs a value');
    expect(parseCommandLine(['device', 'list', '-h']).values.help).toBe(true);
    expect(() => parseCommandLine(['device', 'list', '-v'])).toThrow('keyladder has no one-letter options');
    // A kid that starts with "-h" is still a kid.
    expect(parseCommandLine(['recipient', 'show', '-hU9a']).positionals).toEqual(['recipient', 'show', '-hU9a']);
  });

  it('is named in the help', async () => {
    expect((await cli(['--help'])).stdout).toContain('(also -h)');
  });
});

describe('edit distance', () => {
  it('counts inserts, deletes, replacements and a swap of neighbours as one edit each', () => {
    expect(editDistance('list', 'list')).toBe(0);
    expect(editDistance('lst', 'list')).toBe(1);
    expect(editDistance('lisst', 'list')).toBe(1);
    expect(editDistance('lest', 'list')).toBe(1);
    expect(editDistance('lsit', 'list')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ca', 'abc')).toBe(3);
  });

  it('suggests only names within a typo\'s reach: one edit for short names, two up to 8 letters, three beyond', () => {
    expect(nearest('lst', ['list', 'show'])).toEqual(['list']);
    expect(nearest('ls', ['list', 'show'])).toEqual([]);
    expect(nearest('xyz', ['list', 'show'])).toEqual([]);
    expect(nearest('improt', ['import', 'export'])).toEqual(['import']);
    expect(nearest('Device', ['device'])).toEqual(['device']);
    expect(nearest('list', ['list'])).toEqual([]);
    expect(nearest('kes', ['keys', 'kid'])).toEqual(['keys']);
    expect(didYouMean('ad', ['add', 'and'])).toBe(' Did you mean add or and?');
    expect(didYouMean('zzz', ['add'])).toBe('');
    // Each word within its own reach: the right group lends nothing to a wrong subcommand.
    expect(nearestWords(['devce', 'lst'], ['device list', 'device add'])).toEqual(['device list']);
    expect(nearestWords(['device', 'zap'], ['device list', 'device add'])).toEqual([]);
    expect(nearestWords(['device'], ['device list'])).toEqual([]);
  });
});

describe('typos on the command line', () => {
  const err = async (args: string[]) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    return r.stderr;
  };

  it('a mistyped command, group or subcommand names the nearest one', async () => {
    expect(await err(['devce', 'list'])).toContain('Did you mean device list?');
    expect(await err(['device', 'lst'])).toContain('Did you mean device list?');
    expect(await err(['device', 'lisst', '--json'])).toBe('');
    expect((await cli(['device', 'lisst', '--json'])).stdout).toContain('Did you mean device list?');
    expect(await err(['stauts'])).toContain('Did you mean status?');
    expect(await err(['msl', 'identty', 'show'])).toContain('Did you mean msl identity show?');
    expect(await err(['issuer', 'rotat'])).toContain('Did you mean issuer rotate?');
    expect(await err(['help', 'devce', 'add'])).toContain('Did you mean device add?');
  });

  it('a mistyped option names the nearest option', async () => {
    expect(await err(['device', 'list', '--jsn'])).toContain('Did you mean --json?');
    expect(await err(['backup', 'f.db', '--frce'])).toContain('Did you mean --force?');
    // Known, but not this command's: the nearest it takes.
    expect(await err(['device', 'list', '--offsets'])).toContain('Did you mean --offset?');
    expect(await err(['device', 'add', 'D', '--key', 'k.json'])).toContain('device add takes no --key. Did you mean --keys?');
  });

  it('nothing is suggested when nothing is close', async () => {
    for (const args of [['frobnicate'], ['device', 'zap'], ['device', 'list', '--zebra'], ['xy', 'zw']]) {
      const stderr = await err(args);
      expect(stderr, args.join(' ')).not.toContain('Did you mean');
      expect(stderr).toMatch(/\[USAGE_UNKNOWN_(COMMAND|OPTION)\]/);
    }
  });
});
