// A lingering close for answers sent before the request's body was read (413).
//
// Node's http server ends a `Connection: close` answer with socket.destroySoon():
// FIN, then a full close as soon as the answer is written. The client is still
// sending its body; those bytes reach a closed socket (or sit unread in its
// buffer when it closes), the kernel answers with a reset, and the client
// loses the answer it had not read yet (EPIPE/ECONNRESET instead of the 413):
// a device would never learn why it was refused. So, on a socket marked here,
// the server half-closes instead (the answer, then FIN), keeps reading what the
// client still sends (Node's parser discards it; nothing is kept) until the
// client closes its side, and closes the socket itself after LINGER_MS or
// LINGER_MAX_BYTES more bytes, whichever comes first. That bound is also the
// most a lingering socket adds to a shutdown's drain.

import type { Socket } from 'node:net';

/** The longest a refused client's socket is read after its answer. */
export const LINGER_MS = 2_000;
/** The most bytes read (and discarded) from it after its answer. */
export const LINGER_MAX_BYTES = 4 * 1024 * 1024;
const CHECK_EVERY_MS = 100;
const lingering = new WeakSet<Socket>();

/**
 * Whether `socket` carries a refused request: Node's parser keeps reading it,
 * so a request the client pipelined after the refused body still reaches the
 * handler, which must do no work for it (its answer could never be sent).
 */
export const isLingering = (socket: Socket): boolean => lingering.has(socket);

/**
 * Marks `socket` so that the close node:http does after the answer in
 * progress lingers (above). Call it before sending a `Connection: close` answer.
 */
export function lingerAfterAnswer(socket: Socket, lingerMs = LINGER_MS, maxBytes = LINGER_MAX_BYTES): void {
  if (socket.destroyed) return;
  lingering.add(socket);
  // node:http calls destroySoon() on a socket it closes after an answer (and
  // falls back to end() for a stream without one); this socket's own method
  // shadows net.Socket's for that one call. Its linger is bounded below.
  socket.destroySoon = () => {
    const readBefore = socket.bytesRead;
    const began = performance.now();
    socket.end();
    const check = setInterval(() => {
      if (performance.now() - began >= lingerMs || socket.bytesRead - readBefore > maxBytes) socket.destroy();
    }, CHECK_EVERY_MS);
    check.unref();
    // When the client closes its side too, the socket closes itself (a half-open socket whose both sides ended).
    socket.once('close', () => clearInterval(check));
  };
}
