// JSON.parse that refuses an object naming the same member twice.
//
// JSON.parse keeps the last of two equal names, so `{"identity":"A",
// "identity":"B"}` would be B to us and A to a proxy or logger that keeps the
// first. MSL's own parser (org.json's JSONObject) throws on a duplicate key,
// and RFC 7515/7516 let a JOSE recipient refuse duplicate header names, so we
// refuse them too, wherever a message or a header is parsed.
//
// The check scans text that JSON.parse has already accepted, so it only has
// to tell member names from values: a string is a name exactly when it opens
// an object or follows a comma inside one. Names are compared decoded ("\u0061"
// is "a"), as org.json compares them. A JSON AST parser (momoa) does the same
// in about 18 µs per exchange request here, ten times JSON.parse; this scan
// costs about as much as JSON.parse. Runs in Node and in a browser.
//
// Depth is bounded too, before anything is parsed: JSON.parse itself reads
// 300,000 nested arrays, but every recursive walk after it (JSON.stringify,
// the inspector's printer, the key-member scans) overflows the stack on them,
// which surfaced as INTERNAL_ERROR. A plain scan of the text (iterative,
// strings skipped) refuses such text up front as 'too-deep', so nothing
// recursive ever meets it.

export type StrictJsonResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'malformed' | 'too-deep' }
  /** `offset`: where the second naming of `member` starts in the text (its opening quote). */
  | { readonly ok: false; readonly problem: 'duplicate'; readonly member: string; readonly offset: number };

/**
 * How deeply an untrusted JSON text may nest objects and arrays. KeyLadder's
 * own JSON needs a handful of levels (a JWE header's epk is 2, an import file
 * 3); 64 leaves room for any honest producer.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `text` nests objects and arrays deeper than `max`: one pass, no
 * recursion, brackets inside strings not counted. Safe on any text, JSON or
 * not (an unterminated string ends the scan).
 */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Text with no more than `max` brackets cannot nest deeper (every request): counted by indexOf,
  // at native speed, so the full scan below runs only on text that might.
  let brackets = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1 && brackets <= max; i = text.indexOf(bracket, i + 1)) brackets++;
  }
  if (brackets <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, COMMA = 0x2c;

/** The first member name that an object of `text` (valid JSON) repeats, if any. */
export const duplicateMember = (text: string): string | undefined => firstDuplicate(text)?.member;

/** The first member name that an object of `text` (valid JSON) repeats, and where its second naming starts. */
export function firstDuplicate(text: string): { member: string; offset: number } | undefined {
  // One Set of names per open object; null for an open array.
  const open: Array<Set<string> | null> = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== QUOTE; d = text.charCodeAt(end)) {
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
        } else end += 1;
      }
      if (nameNext) {
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        const names = open[open.length - 1]!;
        if (names.has(name)) return { member: name, offset: i };
        names.add(name);
        nameNext = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      nameNext = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      nameNext = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      nameNext = false;
    } else if (c === COMMA) {
      nameNext = open[open.length - 1] != null;
    }
  }
  return undefined;
}

/** Parses JSON text, refusing malformed text, text nested deeper than MAX_JSON_DEPTH, and duplicate member names. */
export function parseStrictJson(text: string): StrictJsonResult {
  if (nestsDeeperThan(text)) return { ok: false, problem: 'too-deep' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const duplicate = firstDuplicate(text);
  return duplicate === undefined ? { ok: true, value } : { ok: false, problem: 'duplicate', ...duplicate };
}
