// Every skip says why, at run time. vitest's default reporter hides skipped
// tests (and their notes); a console.warn reaches every reporter and the log of
// `npm test`, so an operator reading it sees "skipped: <why>" for each one.
// README's "Tests that skip, and why" lists them; test/architecture/skipReasons
// keeps every skip in test/ going through these helpers.
import type { TestContext } from 'vitest';

const say = (reason: string): void => console.warn(`skipped: ${reason}`);

/** Skips the running test, saying why (in the log, and as the skip's note). */
export function skipWithReason(ctx: TestContext, reason: string): never {
  say(reason);
  return ctx.skip(reason);
}

/** The condition of a `describe.skipIf`/`it.skipIf`: when it holds, says why once, at collection. */
export function skipsHere(skip: boolean, reason: string): boolean {
  if (skip) say(reason);
  return skip;
}

/** The condition of a `describe.runIf`/`it.runIf`: when it does not hold, says why once, at collection. */
export function runsHere(run: boolean, reasonIfNot: string): boolean {
  if (!run) say(reasonIfNot);
  return run;
}

/** Why a test of the Electron crypto model does not run in the node project. */
export const ELECTRON_MODEL_ONLY = "electron-crypto project only: it tests the model of Electron's BoringSSL crypto, which the node project does not load";
/** Why a test where jose plays the other side does not run under the model. */
export const JOSE_NEEDS_AES_KW = "node project only: jose needs Web Crypto AES-KW (or OpenSSL's id-aes*-wrap), which Electron's BoringSSL lacks; the node project runs it";
/** Why the Ctrl-C and background-job tests need script(1). */
export const NO_PTY = 'script(1) (util-linux) or bash is not installed: there is no pseudo-terminal to type Ctrl-C at or to stop a background job on';
