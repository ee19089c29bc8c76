// Where a JSON text stops being JSON, for an import file's error message.
// JSON.parse says where only in some engines and some messages, and its
// messages quote the text (which may hold a key), so we find the place
// ourselves: a validator of the JSON grammar (RFC 8259), run only once
// JSON.parse has refused the text.

/**
 * The offset of the first character that cannot continue valid JSON
 * (text.length if it ends too early); undefined if the text nests too deep
 * to follow.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const fail = (): never => { throw i; };
  const literal = (word: string) => { for (const c of word) { if (text[i] !== c) fail(); i++; } };
  const digits = (min: number) => { const s = i; while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++; if (i - s < min) fail(); };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        if ('"\\/bfnrt'.includes(text[i] ?? '\0')) i++;
        else if (text[i] === 'u') { i++; for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail(); }
        else fail();
      } else i++;
    }
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++; else digits(1);
    if (text[i] === '.') { i++; digits(1); }
    if (text[i] === 'e' || text[i] === 'E') { i++; if (text[i] === '+' || text[i] === '-') i++; digits(1); }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws(); if (text[i] !== '"') fail(); string();
        ws(); if (text[i] !== ':') fail(); i++;
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail();
      }
    } else if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail();
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i++;
    value(); ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : undefined;
  }
}

/** "line 3, column 14" of an offset in `text` (lines and columns from 1). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    start = k + 1;
  }
  return { line, column: offset - start + 1 };
}
