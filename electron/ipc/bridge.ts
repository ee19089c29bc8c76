// What the preload exposes as window.keyladder: one named method per contract
// channel (window.keyladder.devices.list(request)) and named event
// subscriptions. No raw ipcRenderer, no generic invoke(channel).
//
// The builder takes the transport as arguments, so the real preload (over
// ipcRenderer) and the e2e test bridge (over a Playwright binding) expose the
// very same object. It imports nothing at run time but the channel names, so
// the preload bundle stays small and free of zod.

import type { Channel, Reply, RequestOf, ResultOf } from './contract.js';
import { CHANNELS, EVENTS, type LockedEvent, type ProgressEvent } from './channels.js';

type Namespace<C extends string> = C extends `${infer N}.${string}` ? N : never;
type MethodOf<C extends string, N extends string> = C extends `${N}.${infer M}` ? M : never;

/** A method whose request may be left out when every field of it is optional. */
type Method<C extends Channel> = undefined extends RequestOf<C>
  ? (request?: RequestOf<C>) => Promise<Reply<ResultOf<C>>>
  : (request: RequestOf<C>) => Promise<Reply<ResultOf<C>>>;

export type KeyLadderApi = {
  readonly [N in Namespace<Channel>]: { readonly [M in MethodOf<Channel, N>]: Method<`${N}.${M}` & Channel> };
};

export interface KeyLadderEvents {
  /** Progress of a long operation (bulk import, export); returns the unsubscribe function. */
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  /** Main locked the store on its own (idle timeout). */
  onLocked(listener: (event: LockedEvent) => void): () => void;
}

export type KeyLadderBridge = KeyLadderApi & { readonly events: KeyLadderEvents };

export interface BridgeTransport {
  invoke(channel: Channel, request: unknown): Promise<unknown>;
  /** Subscribes to one of EVENTS' channels; returns the unsubscribe function. */
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
}

export function buildBridge(transport: BridgeTransport): KeyLadderBridge {
  const api: Record<string, Record<string, (request?: unknown) => Promise<unknown>>> = {};
  for (const channel of CHANNELS) {
    const [namespace, method] = channel.split('.') as [string, string];
    api[namespace] ??= {};
    // Copy only the request, so nothing but plain data crosses (no getters, no prototypes).
    api[namespace][method] = (request?: unknown) => transport.invoke(channel, request);
  }
  const events: KeyLadderEvents = {
    onProgress: (listener) => transport.subscribe(EVENTS.progress, (payload) => listener(payload as ProgressEvent)),
    onLocked: (listener) => transport.subscribe(EVENTS.locked, (payload) => listener(payload as LockedEvent)),
  };
  return { ...(api as unknown as KeyLadderApi), events };
}
