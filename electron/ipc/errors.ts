// How a failure becomes the `error` of a reply: a stable code and a message
// written for the operator. Never a stack, never the request's values (they may
// be passphrases or keys), never an unexpected error's own text (a SQLite or
// Node message may quote data): those become INTERNAL.

import type { z } from 'zod';
import { StoreError } from '../../db/errors.js';
import { LadderError } from '../ladder/errors.js';
import { ServiceError } from '../services/errors.js';
import type { ReplyError } from './contract.js';

export const IpcErrorCode = {
  UNTRUSTED_SENDER: 'UNTRUSTED_SENDER',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INTERNAL: 'INTERNAL_ERROR',
} as const;

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_MESSAGE = 400;

function clean(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 1)}…` : flat;
}

/**
 * An error the app's own main-side services (the in-app responder) raise on
 * purpose: a stable code and a message written for the operator.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The errors raised on purpose, each with a stable code: ServiceError (services), StoreError (db), LadderError (protocol), AppError (the app's own). */

function isExpected(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !CODE.test(code)) return false;
  return error instanceof ServiceError || error instanceof StoreError || error instanceof LadderError || error instanceof AppError;
}

/** The reply error for a thrown value, or undefined when the failure was not expected (a bug). */
export function expectedError(error: unknown): ReplyError | undefined {
  if (!isExpected(error)) return undefined;
  // A ServiceError's finer reason (which check refused an imported key, say) goes along when it is a stable name.
  // (A service's only: a ladder error's reason is MSL's internal detail, kept for the logs.)
  const reason = error instanceof ServiceError ? error.reason : undefined;
  const withReason = typeof reason === 'string' && CODE.test(reason) ? { reason } : {};
  return { code: error.code, ...withReason, message: clean(error.message) || error.code };
}

export const internalError = (): ReplyError => ({
  code: IpcErrorCode.INTERNAL,
  message: 'Something went wrong inside KeyLadder. Nothing was changed by this request; see the app log, and report it if it happens again.',
});

export const untrustedSender = (): ReplyError => ({
  code: IpcErrorCode.UNTRUSTED_SENDER,
  message: 'This request came from a page that is not KeyLadder itself, and was refused.',
});

/** Names what is wrong and where, from zod's issues; zod's messages do not quote the values. */
export function invalidArgument(issues: readonly z.core.$ZodIssue[] | string): ReplyError {
  const text =
    typeof issues === 'string'
      ? issues
      : issues
          .slice(0, 3)
          .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'request'}: ${issue.message}`)
          .join('; ') + (issues.length > 3 ? ` (and ${issues.length - 3} more)` : '');
  return { code: IpcErrorCode.INVALID_ARGUMENT, message: clean(`The request is not valid. ${text}`) };
}
