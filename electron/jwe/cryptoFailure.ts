// An unexpected failure of a crypto primitive: the runtime lacks a cipher, a
// native call threw, a library rejected what should have worked. It is never
// bad input and never a failed integrity check, so it must not be reported as
// one (bad wrapdata, a wrong passphrase): it is INTERNAL_ERROR, and one log
// line names the primitive and the runtime's error code. Neither the message
// nor the log line carries the inputs, so no key can reach them.

export type CryptoFailureLog = (line: string) => void;

let log: CryptoFailureLog = (line) => console.error(line);

/** Where the lines go (main's log by default: stderr). Returns the previous sink. */
export function setCryptoFailureLog(next: CryptoFailureLog): CryptoFailureLog {
  const previous = log;
  log = next;
  return previous;
}

/** The runtime's own name for what failed (ERR_CRYPTO_UNKNOWN_CIPHER, OperationError …), never its message. */
function causeName(cause: unknown): string {
  if (typeof cause === 'object' && cause !== null) {
    const { code, name } = cause as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code)) return code;
    if (typeof name === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(name)) return name;
  }
  return 'unknown';
}

export class CryptoFailure extends Error {
  override readonly name = 'CryptoFailure';
  readonly code = 'INTERNAL_ERROR';
  readonly reason = 'CRYPTO_PRIMITIVE_FAILED';

  constructor(readonly primitive: string, cause: unknown) {
    super(`KeyLadder's ${primitive} failed unexpectedly on this runtime; nothing was changed. See the application log.`);
    log(`[crypto] ${primitive} failed: ${causeName(cause)} on ${runtimeName()}`);
  }
}

function runtimeName(): string {
  const v = process.versions as NodeJS.ProcessVersions & { electron?: string; boringssl?: string };
  return v.electron !== undefined ? `Electron ${v.electron} (Node ${v.node})` : `Node ${v.node}, OpenSSL ${v.openssl ?? 'none'}`;
}
