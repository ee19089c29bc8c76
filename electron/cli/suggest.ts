// "Did you mean device list?": the nearest command, subcommand or option to a
// mistyped one (issue 22, item 7). Near means a small edit distance, counting
// a swap of two neighbouring letters as one edit ("lsit"); nothing is
// suggested when no name is close, so that a wild guess is not dressed up as
// the answer.

/** Edits (insert, delete, replace, swap of neighbours) from `a` to `b`: the optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** How many edits still count as a typo of `name`: one for a short name, two up to 8 letters, three beyond. */
const allowedEdits = (name: string): number => (name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3);

/**
 * The names nearest `typed` (at most three, equally near), or none when none
 * is within a typo's reach. Case is ignored: `Device` is a typo of `device`.
 */
export function nearest(typed: string, names: Iterable<string>): string[] {
  const word = typed.toLowerCase();
  let best = Infinity;
  let found: string[] = [];
  for (const name of new Set(names)) {
    if (name === typed) continue;
    const d = editDistance(word, name.toLowerCase());
    if (d > allowedEdits(name) || d > best) continue;
    if (d < best) {
      best = d;
      found = [];
    }
    found.push(name);
  }
  return found.slice(0, 3);
}

/**
 * The multi-word names nearest `typed` ("devce lst" for "device list"), each
 * word held to its own typo's reach, so that a right group does not lend its
 * letters to a wrong subcommand ("device zap" is not near "device add").
 */
export function nearestWords(typed: readonly string[], names: Iterable<string>): string[] {
  let best = Infinity;
  let found: string[] = [];
  for (const name of new Set(names)) {
    const words = name.split(' ');
    if (words.length !== typed.length || name === typed.join(' ')) continue;
    const edits = words.map((w, i) => editDistance(typed[i]!.toLowerCase(), w.toLowerCase()));
    if (edits.some((d, i) => d > allowedEdits(words[i]!))) continue;
    const d = edits.reduce((a, b) => a + b, 0);
    if (d > best) continue;
    if (d < best) {
      best = d;
      found = [];
    }
    found.push(name);
  }
  return found.slice(0, 3);
}

/** " Did you mean device list?", or "" when nothing is near: appended to an unknown-name error. */
export function didYouMean(typed: string, names: Iterable<string>, show: (name: string) => string = (n) => n): string {
  return sayNearest(nearest(typed, names).map(show));
}

export function sayNearest(found: readonly string[]): string {
  if (found.length === 0) return '';
  const list = found.length === 1 ? found[0]! : `${found.slice(0, -1).join(', ')} or ${found.at(-1)!}`;
  return ` Did you mean ${list}?`;
}
