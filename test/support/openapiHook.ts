// A setup file of both vitest projects: in the test files that talk to the HTTP
// responder (IN_SCOPE), every answer that `fetch` brings back is checked against
// docs/openapi.json (openapiResponses.ts), and a test during which one broke
// the document fails, listing what broke. Other files keep the plain fetch.
//
// Only fetch is watched: the tests that speak raw bytes over a socket (lingering
// close, pipelining, TLS handshakes) see answers the document does not model
// byte for byte.

import { relative } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { OpenApiResponses } from './openapiResponses.js';

/** Test files whose fetches are the responder's answers. */
const IN_SCOPE = [/^test\/server\//, /^test\/cli\//, /^test\/msl\//, /^test\/ipc\/(responder|mslMessages)\.test\.ts$/];

export const inScope = (file: string): boolean => IN_SCOPE.some((re) => re.test(relative(process.cwd(), file).split('\\').join('/')));

const requestOf = (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): { method: string; url: URL } => {
  if (input instanceof Request) return { method: (init?.method ?? input.method).toUpperCase(), url: new URL(input.url) };
  return { method: (init?.method ?? 'GET').toUpperCase(), url: new URL(String(input)) };
};

/**
 * A fetch that checks each answer it returns, and puts what is wrong in `violations`.
 * The caller gets the answer untouched (its body is read from a clone).
 */
export function checkedFetch(inner: typeof fetch, document: () => OpenApiResponses, violations: string[]): typeof fetch {
  return async (input, init) => {
    const { method, url } = requestOf(input, init);
    const res = await inner(input, init);
    const body = new Uint8Array(await res.clone().arrayBuffer());
    const headers = new Map<string, string>();
    res.headers.forEach((value, name) => headers.set(name.toLowerCase(), value));
    violations.push(...document().problems({ method, path: url.pathname, status: res.status, headers, body }));
    return res;
  };
}

const violations: string[] = [];
let responses: OpenApiResponses | undefined;
/** fetch as it was before this hook: for a test of the hook itself, whose bad answers are meant. */
export const plainFetch = globalThis.fetch;

// eslint-disable-next-line no-empty-pattern -- vitest wants the context destructured; the suite (here the file) is the second argument
beforeAll(({}, suite) => {
  if (!inScope(suite.file.filepath)) return;
  globalThis.fetch = checkedFetch(plainFetch, () => (responses ??= new OpenApiResponses()), violations);
});

const failOnViolations = (): void => {
  if (violations.length === 0) return;
  const found = violations.splice(0);
  throw new Error(`An answer of the responder breaks docs/openapi.json:\n  ${found.join('\n  ')}`);
};

afterEach(failOnViolations);
afterAll(() => {
  globalThis.fetch = plainFetch;
  failOnViolations();
});
