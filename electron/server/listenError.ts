// What went wrong opening the listening socket, in the operator's words, for
// both doors that listen: the app's responder and `keyladder serve`'s workers.

export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(readonly code: 'ADDRESS_IN_USE' | 'ADDRESS_NOT_AVAILABLE' | 'PORT_NOT_PERMITTED', message: string) {
    super(message);
  }
}

/** The error to show for a failed listen; an unknown failure is returned as it is (unexpected: INTERNAL_ERROR). */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError('ADDRESS_IN_USE', `Port ${port} on ${host} is already in use by another program. Choose another port, or 0 for any free port.`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAFNOSUPPORT':
      return new ListenError('ADDRESS_NOT_AVAILABLE', `This machine has no address ${host} to listen on. Use 127.0.0.1, or one of this machine's own addresses.`);
    case 'EACCES':
    case 'EPERM':
      return new ListenError('PORT_NOT_PERMITTED', `Listening on port ${port} needs privileges KeyLadder does not have. Choose a port from 1024 up.`);
    default:
      return error;
  }
}
