// Untrusted JSON files (--keys files, device import files, key files) read
// as requests are: strictly (electron/encoding/strictJson.ts). A member named
// twice is refused, not resolved to the last one as JSON.parse would, and
// the message says which member and where; JSON nested deeper than
// MAX_JSON_DEPTH is refused before anything walks it.

import { MAX_JSON_DEPTH, parseStrictJson } from '../encoding/strictJson.js';
import { visible } from '../shared/visibleText.js';
import { ServiceError, ServiceErrorCode } from './errors.js';
import { lineAndColumn } from './jsonPosition.js';

export const tooDeep = (what: string): ServiceError =>
  new ServiceError(ServiceErrorCode.JSON_TOO_DEEP, `The ${what} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; nothing was read from it.`);

/**
 * The value of `text`, read strictly. `what` names the file in messages
 * ("keys file 'k.json'"); `malformed` is the caller's own error for text that
 * is not JSON at all (the import file says where, the CLI names the file).
 */
export function readStrictJson(text: string, what: string, malformed: () => Error): unknown {
  const parsed = parseStrictJson(text);
  if (parsed.ok) return parsed.value;
  if (parsed.problem === 'too-deep') throw tooDeep(what);
  if (parsed.problem === 'duplicate') {
    const { line, column } = lineAndColumn(text, parsed.offset);
    throw new ServiceError(ServiceErrorCode.DUPLICATE_MEMBER, `The ${what} names the member "${visible(parsed.member, 80)}" twice (again at line ${line}, column ${column}); KeyLadder reads JSON strictly and does not choose one.`, { member: parsed.member, line, column });
  }
  throw malformed();
}
