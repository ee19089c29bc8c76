// A list of device identities, one a line (`--ids-from FILE|-`): the way to
// name 200,000 devices without an argument list the shell cannot pass.
//
// A list that is not exactly what it seems is refused whole, before anything
// is done: a blank line (a line dropped by a script, say), an identity named
// twice, or one that is not an identity. Each problem is reported by its line
// (the first line is 1), at most MAX_REPORTED of them. Whether each identity
// is provisioned is the selection's check (DeviceService.select).

import { ServiceError, ServiceErrorCode } from './errors.js';
import { checkIdentity } from './keyInput.js';

/** The most problems one refusal lists; the count says how many there were in all. */
export const MAX_REPORTED = 10;

export interface IdentityLineProblem {
  readonly line: number;
  readonly problem: 'blank' | 'duplicate' | 'invalid';
  readonly message: string;
}

/** The identities of `text` (one a line, "\n" or "\r\n"; a final newline is not a blank line), or IDENTITY_LIST_INVALID listing the bad lines. */
export function parseIdentityLines(text: string): string[] {
  if (typeof text !== 'string') throw new ServiceError(ServiceErrorCode.INVALID_ARGUMENT, 'The identity list is text, one identity a line.');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const problems: IdentityLineProblem[] = [];
  let problemCount = 0;
  const report = (p: IdentityLineProblem) => {
    problemCount++;
    if (problems.length < MAX_REPORTED) problems.push(p);
  };
  const firstLine = new Map<string, number>();
  const identities: string[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return report({ line, problem: 'blank', message: `line ${line} is blank` });
    let identity: string;
    try {
      identity = checkIdentity(raw);
    } catch {
      return report({ line, problem: 'invalid', message: `line ${line} is not an identity (1 to 256 printable ASCII characters, without spaces)` });
    }
    const first = firstLine.get(identity);
    if (first !== undefined) return report({ line, problem: 'duplicate', message: `line ${line} names "${identity}" again (first on line ${first})` });
    firstLine.set(identity, line);
    identities.push(identity);
  });
  if (problemCount > 0) {
    const more = problemCount > problems.length ? `; and ${problemCount - problems.length} more` : '';
    throw new ServiceError(ServiceErrorCode.IDENTITY_LIST_INVALID,
      `Nothing was done: the identity list has ${problemCount === 1 ? 'a bad line' : `${problemCount} bad lines`}: ${problems.map((p) => p.message).join('; ')}${more}. Give one identity a line, each once, with no blank line.`,
      { problems, count: problemCount });
  }
  if (identities.length === 0) throw new ServiceError(ServiceErrorCode.IDENTITY_LIST_INVALID, 'Nothing was done: the identity list is empty.');
  return identities;
}
