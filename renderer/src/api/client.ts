// The renderer's only door to main: window.keyladder, as the preload exposes it.
// Replies are {ok,value} | {ok:false,error}; `call` turns them into a value or
// an ApiError, so screens can `await` and show what went wrong.

import type { KeyLadderBridge } from '../../../electron/ipc/bridge';
import type { Reply, ReplyError } from '../../../electron/ipc/contract';
import { adviceFor } from './advice';

declare global {
  interface Window {
    readonly keyladder?: KeyLadderBridge;
  }
}

export class ApiError extends Error {
  readonly code: string;
  /** The finer reason beside the code, when main gave one. */
  readonly reason: string | undefined;
  constructor(error: ReplyError) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
    this.reason = error.reason;
  }
  /** What the operator can do about it. */
  get advice(): string {
    return adviceFor(this.code, this.reason);
  }
}

const missingBridge = (): never => {
  throw new ApiError({
    code: 'NO_BRIDGE',
    message: 'This page is not running inside the KeyLadder app, so it cannot reach the store.',
  });
};

/** The bridge; throws an ApiError when the page runs outside the app. */
export function bridge(): KeyLadderBridge {
  return window.keyladder ?? missingBridge();
}

let storeLocked: () => void = () => {};

/** Who to tell when main answers STORE_LOCKED (the store locked without the renderer seeing it). */
export function whenStoreLocked(handler: () => void): void {
  storeLocked = handler;
}

export async function call<T>(reply: Promise<Reply<T>>): Promise<T> {
  let answer: Reply<T>;
  try {
    answer = await reply;
  } catch {
    throw new ApiError({ code: 'IPC_FAILED', message: 'The request did not reach the KeyLadder main process.' });
  }
  if (answer.ok) return answer.value;
  if (answer.error.code === 'STORE_LOCKED' || answer.error.code === 'STORE_REPLACED') storeLocked();
  throw new ApiError(answer.error);
}

/** Any thrown value as an ApiError (a bug in the renderer still shows something useful). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError({ code: 'RENDERER_ERROR', message: error instanceof Error ? error.message : String(error) });
}
