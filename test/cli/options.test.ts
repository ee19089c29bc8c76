// The command line's parser around parseArgs: dash-led values and positionals
// (kids are base64url thumbprints, and one in 64 starts with "-").
import { describe, expect, it } from 'vitest';
import { parseCommandLine, wordsOf } from '../../electron/cli/options.js';
import { CliError } from '../../electron/cli/errors.js';

const codeOf = (argv: string[]): string => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    return (e as CliError).code;
  }
  return 'parsed';
};

describe('parseCommandLine', () => {
  it('a string option takes a dash-led next word as its value', () => {
    const p = parseCommandLine(['jose', 'encrypt', '--to', '-U9a', 'note.txt']);
    expect(p.values.to).toBe('-U9a');
    expect(p.positionals).toEqual(['jose', 'encrypt', 'note.txt']);
    expect(p.given).toEqual(['to']);
    expect(parseCommandLine(['issuer', 'rotate', '--grace-days', '-1']).values['grace-days']).toBe('-1');
    expect(parseCommandLine(['x', '--kid', '--U9a']).values.kid).toBe('--U9a');
  });

  it('never takes one of our options as a value', () => {
    expect(codeOf(['device', 'export', 'D', '--out', '--force'])).toBe('USAGE_MISSING_ARGUMENT');
    expect(codeOf(['device', 'export', 'D', '--out', '--store=x'])).toBe('USAGE_MISSING_ARGUMENT');
    expect(codeOf(['device', 'export', 'D', '--out'])).toBe('USAGE_MISSING_ARGUMENT');
  });

  it('keeps a dash-led positional in its place, and "-" and "--" as parseArgs has them', () => {
    const p = parseCommandLine(['recipient', 'show', '-U9a', '--json']);
    expect(p.positionals).toEqual(['recipient', 'show', '-U9a']);
    expect(p.values.json).toBe(true);
    expect(parseCommandLine(['a', '-xY', 'b', '-y9']).positionals).toEqual(['a', '-xY', 'b', '-y9']);
    expect(parseCommandLine(['jose', 'inspect', '-']).positionals).toEqual(['jose', 'inspect', '-']);
    expect(parseCommandLine(['recipient', 'show', '--', '--U9a']).positionals).toEqual(['recipient', 'show', '--U9a']);
    expect(wordsOf(['recipient', 'show', '-U9a', '--nope'])).toEqual(['recipient', 'show', '-U9a']);
  });

  it('an option typed with one dash is refused, saying so, not taken as a kid', () => {
    expect(codeOf(['device', 'export', 'D', '-force'])).toBe('USAGE_UNKNOWN_OPTION');
    expect(codeOf(['device', 'list', '-x'])).toBe('USAGE_UNKNOWN_OPTION');
    expect(() => parseCommandLine(['device', 'export', 'D', '-out', 'f'])).toThrow('Unknown option -out: options take two dashes (--out).');
    expect(() => parseCommandLine(['device', 'list', '-x'])).toThrow('keyladder has no one-letter options but -h (--help)');
    expect(wordsOf(['device', 'export', 'D', '-force'])).toEqual(['device', 'export', 'D']);
  });

  it('an unknown long option and a value for a flag stay errors', () => {
    expect(codeOf(['device', 'list', '--frce'])).toBe('USAGE_UNKNOWN_OPTION');
    expect(codeOf(['device', 'list', '--json=yes'])).toBe('USAGE_BAD_VALUE');
  });
});
