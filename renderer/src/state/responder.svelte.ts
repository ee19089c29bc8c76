// The in-app HTTP responder as the renderer sees it: its last known status
// (polled every second while the Responder screen shows) and the operator's
// address fields, kept here so they survive a trip to another screen.
//
// Polling rather than a push event: one passive channel (responder.status,
// which main does not count as activity, so it never holds off the idle
// lock), no new event on the preload's surface, and nothing to miss.

import type { ResponderStatus } from '../../../electron/ipc/contract';
import { RESPONDER_DEFAULT_HOST, RESPONDER_DEFAULT_PORT } from '../../../electron/shared/responderHost';
import { asApiError, bridge, call, type ApiError } from '../api/client';

const POLL_MS = 1_000;

export class ResponderState {
  status = $state.raw<ResponderStatus | null>(null);
  pollError = $state.raw<ApiError | null>(null);

  // The operator's choices for the next start.
  host = $state(RESPONDER_DEFAULT_HOST);
  port = $state<number | null>(RESPONDER_DEFAULT_PORT);
  profile = $state<'msl' | 'rfc7516'>('msl');
  tls = $state(false);
  /** Client authentication: a bearer token from a file, client certificates (mutual TLS). */
  token = $state(false);
  clientCa = $state(false);

  running = $derived(this.status?.state === 'listening' || this.status?.state === 'draining');

  #asking = false;

  async refresh(): Promise<void> {
    if (this.#asking) return;
    this.#asking = true;
    try {
      this.status = await call(bridge().responder.status());
      this.pollError = null;
    } catch (error) {
      this.pollError = asApiError(error);
    } finally {
      this.#asking = false;
    }
  }

  /** Asks for the status now and every second while the window is visible; returns the function that stops asking. */
  watch(): () => void {
    const tick = () => {
      if (document.visibilityState === 'visible') void this.refresh();
    };
    tick();
    const timer = setInterval(tick, POLL_MS);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }

  /** The store locked, and main stopped the responder with it: forget what we knew until the next status. */
  forget(): void {
    this.status = null;
  }
}

export const responder = new ResponderState();
