// Untrusted text made safe to show: a kid, an alg, a JWS payload, a peer's
// revocation list source, a member name from a file. On a terminal, C0 and C1
// controls (ESC, CSI 0x9b, BEL, CR, backspace, DEL …) forge or erase lines and
// retitle the window, and bidi overrides and other invisible format
// characters (U+202E, U+2066, U+200B …) make text read as something else. So
// each of them is written as a visible escape instead: \n, \r and \t by name,
// the others as \uXXXX (each UTF-16 unit), the form JSON uses, so the same
// escaping keeps a line of JSON valid and meaning the same.
//
// Shared by the CLI, the services and the renderer: no imports, nothing but
// the language.

/** Controls (Cc), format characters (Cf: bidi, zero-width, tags), line and paragraph separators, lone surrogates. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
/** The same, less the newline and tab that a multi-line text of our own is made of. */
const INVISIBLE_BUT_LAYOUT = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (c: string): string => {
  const named = NAMED[c];
  if (named !== undefined) return named;
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
  return out;
};

/**
 * One untrusted value as it may appear inside a line: every control and
 * invisible format character escaped, newlines and tabs included, so it can
 * neither start a line of its own nor hide what it is. `max` cuts it to that
 * many characters, before escaping (so no escape is cut in half), with an
 * ellipsis.
 */
export function visible(text: string, max?: number): string {
  const cut = max !== undefined && text.length > max;
  return `${(cut ? text.slice(0, Math.max(0, max - 1)) : text).replace(INVISIBLE, escape)}${cut ? '…' : ''}`;
}

/**
 * A whole text about to be written to a terminal (the CLI's last guard): the
 * same escapes, except the newlines and tabs the text is laid out with. What
 * is already escaped where it entered the message stays as it is.
 */
export const visibleLines = (text: string): string => text.replace(INVISIBLE_BUT_LAYOUT, escape);
