// The `keyladder` command's exit statuses, in one table: the commands return
// these (never a bare number but 0), and the man page's EXIT STATUS is printed
// from it; README's "Exit codes" line is checked against it
// (test/cli/exitStatus.test.ts). A script tells the cases apart by status alone.

export const EXIT = {
  OK: 0,
  /** The command ran and failed: a service's error, or a check it made found a problem. */
  FAILED: 1,
  /** A mistake in the command line or in a file it names: nothing was done. */
  USAGE: 2,
  /** `respond`: the exchange was refused, its JSON error on stdout (a verdict, not a failure). */
  REFUSED: 3,
  /** Ctrl-C at a prompt or during an import: 128 + SIGINT, as a shell reports it. */
  CANCELLED: 130,
} as const;
export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** What each status means, for the man page (and README, which says the same). */
export const EXIT_MEANINGS: readonly (readonly [status: ExitStatus, meaning: string])[] = [
  [EXIT.OK, 'done'],
  [EXIT.FAILED, 'the command failed: a service\'s error (its code in brackets), verify or audit verify finding a problem, msl inspect\'s capture not verifying, simulate\'s or msl simulate\'s checks differing, device import with a bad row, a restore declined'],
  [EXIT.USAGE, 'a usage error: a mistake in the command line or in a file it names (USAGE_*, NO_PASSPHRASE, FILE_UNREADABLE, FILE_INVALID, KEYS_INCOMPLETE, CONFIG_*, REASON_INVALID); nothing was unlocked or written'],
  [EXIT.REFUSED, 'respond refused the exchange (its JSON error on stdout)'],
  [EXIT.CANCELLED, 'cancelled by Ctrl-C (Cancelled.)'],
];
