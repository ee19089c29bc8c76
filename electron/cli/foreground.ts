// Whether this process may ask on its terminal. A prompt needs stdin to be a
// terminal AND this process to be in that terminal's foreground process group:
// a job started with `&` at a shell shares the terminal but is in the
// background, and its first read of the terminal stops it (SIGTTIN), so a
// script's `until curl …` loop waits forever (issue 22, item 5).
//
// Node has no tcgetpgrp()/getpgrp(). On Linux, /proc/self/stat gives both: its
// 5th field is this process's group, its 8th the terminal's foreground group
// (tpgid, -1 with no terminal). Elsewhere only the isTTY test is possible, and a
// background job there is still stopped on its prompt, as any program's is.

import { readFileSync } from 'node:fs';

/**
 * From the text of /proc/<pid>/stat: true in the foreground, false in the
 * background, undefined when it cannot be told. The command name (field 2)
 * may hold spaces and parentheses, so the fields are counted after its last ')'.
 */
export function foregroundFromStat(stat: string): boolean | undefined {
  const end = stat.lastIndexOf(')');
  if (end < 0) return undefined;
  // After ") ": state ppid pgrp session tty_nr tpgid …
  const fields = stat.slice(end + 2).split(' ');
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  if (!Number.isInteger(pgrp) || !Number.isInteger(tpgid)) return undefined;
  return tpgid === pgrp;
}

/** This process is in its terminal's foreground group, as far as can be told (true when it cannot). */
export function inForeground(readStat: () => string = () => readFileSync('/proc/self/stat', 'utf8')): boolean {
  try {
    return foregroundFromStat(readStat()) ?? true;
  } catch {
    return true; // no /proc (macOS, Windows): stdin.isTTY is the only test there
  }
}
