// The single wrapper every IPC handler goes through, in this order:
//   1. the sender: its frame must be the app's own top-level page (else UNTRUSTED_SENDER);
//   2. the arguments: exactly one, parsed by the channel's zod schema (else INVALID_ARGUMENT);
//   3. activity: the idle lock starts counting again (not for the passive
//      channels the renderer polls on its own: see PASSIVE_CHANNELS);
//   4. the handler, whose result is replied as {ok:true,value}, or whose
//      failure is replied as {ok:false,error:{code,message}} (see errors.ts).
//
// It imports electron's types only, so it runs and is tested under plain Node.

import type { IpcMainInvokeEvent } from 'electron';
import type { Progress } from '../services/types.js';
import { contract, CHANNELS, EVENTS, PASSIVE_CHANNELS, type Channel, type ParsedRequestOf, type Reply, type ResultOf } from './contract.js';
import { expectedError, internalError, invalidArgument, untrustedSender } from './errors.js';
import type { SenderCheck } from '../security/trustedSender.js';

/** The part of IpcMainInvokeEvent the wrapper reads (so tests and the e2e bridge can supply one). */
export interface IpcEventLike {
  readonly senderFrame: { readonly url: string; readonly parent: unknown } | null;
  readonly sender: { send(channel: string, payload: unknown): void; isDestroyed?(): boolean };
}

export interface HandlerContext {
  /** Reports progress of a long operation to the calling window (throttled). */
  progress(p: Progress): void;
}

export type Handler<C extends Channel> = (request: ParsedRequestOf<C>, ctx: HandlerContext) => ResultOf<C> | Promise<ResultOf<C>>;
export type Handlers = { readonly [C in Channel]: Handler<C> };

export interface WrapOptions {
  readonly isTrustedSender: SenderCheck;
  /** Called for every valid call from a trusted sender (the idle lock's touch), except the passive channels. */
  readonly onActivity?: (channel: Channel) => void;
  /** Called with refusals and unexpected errors, for main's log. Never sent to the renderer. */
  readonly log?: (channel: Channel, what: 'untrusted-sender' | 'unexpected-error', detail: unknown) => void;
  /** Called with the stable code of an expected refusal (a wrong passphrase, a bad argument), for the app's log file. */
  readonly onRefused?: (channel: Channel, code: string) => void;
  /** Minimum milliseconds between two progress events (the last one is always sent). */
  readonly progressIntervalMs?: number;
}

export type WrappedHandler = (event: IpcEventLike, ...args: unknown[]) => Promise<Reply<unknown>>;

function progressReporter(channel: Channel, event: IpcEventLike, intervalMs: number): HandlerContext['progress'] {
  let last = -Infinity;
  return ({ done, total, phase }) => {
    const now = Date.now();
    if (done < total && now - last < intervalMs) return;
    last = now;
    if (event.sender.isDestroyed?.() === true) return;
    event.sender.send(EVENTS.progress, phase === undefined ? { channel, done, total } : { channel, done, total, phase });
  };
}

export function wrapHandler<C extends Channel>(channel: C, handler: Handler<C>, options: WrapOptions): WrappedHandler {
  const schema = contract[channel].request;
  return async (event, ...args) => {
    const frame = event.senderFrame;
    // A subframe is never trusted, even one on our own origin; nor is a frame that is gone.
    if (frame === null || frame.parent !== null || !options.isTrustedSender(frame.url)) {
      options.log?.(channel, 'untrusted-sender', frame?.url ?? null);
      return { ok: false, error: untrustedSender() };
    }
    if (args.length > 1) return { ok: false, error: invalidArgument('Expected one request object.') };
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) return { ok: false, error: invalidArgument(parsed.error.issues) };
    if (!PASSIVE_CHANNELS.has(channel)) options.onActivity?.(channel);
    try {
      const ctx: HandlerContext = { progress: progressReporter(channel, event, options.progressIntervalMs ?? 100) };
      const value = await handler(parsed.data as ParsedRequestOf<C>, ctx);
      return { ok: true, value: value ?? null };
    } catch (error) {
      const known = expectedError(error);
      if (known !== undefined) {
        options.onRefused?.(channel, known.code);
        return { ok: false, error: known };
      }
      options.log?.(channel, 'unexpected-error', error);
      return { ok: false, error: internalError() };
    }
  };
}

/** Every channel, wrapped; the e2e bridge calls these exactly as ipcMain would. */
export function wrapAll(handlers: Handlers, options: WrapOptions): ReadonlyMap<Channel, WrappedHandler> {
  const wrapped = new Map<Channel, WrappedHandler>();
  for (const channel of CHANNELS) wrapped.set(channel, wrapHandler(channel, handlers[channel] as Handler<typeof channel>, options));
  return wrapped;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Registers every channel with ipcMain through the wrapper; returns the function that removes them. */
export function registerIpc(ipcMain: IpcMainLike, handlers: Handlers, options: WrapOptions): () => void {
  const wrapped = wrapAll(handlers, options);
  for (const [channel, handler] of wrapped) ipcMain.handle(channel, (event, ...args) => handler(event as IpcEventLike, ...args));
  return () => {
    for (const channel of wrapped.keys()) ipcMain.removeHandler(channel);
  };
}
