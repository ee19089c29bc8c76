// Counts in words, one helper for every door: the CLI, the servers' log lines
// and the renderer (which imports it, so it stays free of Node: no node:
// imports, no Buffer, nothing but the language).

/** "device" or "devices" for `n`; `many` for nouns that do not take an s. */
export const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);

/** "1 device", "2 devices", "10,000 devices". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${plural(n, one, many)}`;
