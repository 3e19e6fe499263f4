/**
 * Errors that reach the user. Each has a stable code, says what happened and where,
 * and carries a hint saying what to do. The CLI prints them as one line, never a stack.
 */
export type ErrorCode =
  | 'usage'                 // bad option or argument
  | 'file-not-found'
  | 'file-is-directory'
  | 'file-empty'
  | 'file-unreadable'       // permission or I/O error
  | 'capture-not-recognized'// not pcap/pcapng (random bytes)
  | 'capture-is-text'       // looks like a text file
  | 'capture-corrupt'       // damaged before any packet could be read
  | 'capture-unsupported'   // readable, but not this way (gzip through a pipe)
  | 'frame-not-found'
  | 'live-unavailable'      // cap not built / libpcap missing
  | 'live-permission'       // no CAP_NET_RAW
  | 'live-interface'        // no such interface / bad filter
  | 'proxy-listen'          // could not bind
  | 'proxy-config'
  | 'output-unwritable'
  | 'output-exists'         // an export would replace a file (without --force)
  | 'tls-config';

export class FtpscopeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    /** Process exit code when this error ends the run. */
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'FtpscopeError';
  }

  /** The one line a user sees. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function isFtpscopeError(e: unknown): e is FtpscopeError {
  return e instanceof FtpscopeError;
}
