/**
 * What can go wrong with an ng request. Error replies (`result: error`) and `load limit` are `NgError`s; not
 * getting an answer at all is `NgTimeoutError`; anything wrong below the ng layer is `NgTransportError`.
 */

/** The proxy answered `result: error`; `errorReason` is its `error-reason`. */
export class NgError extends Error {
  constructor(
    /** The proxy's `error-reason` text. */
    readonly errorReason: string,
    /** The ng command that failed (e.g. `offer`). */
    readonly command: string,
  ) {
    super(`ng ${command}: ${errorReason}`);
    this.name = 'NgError';
  }
}

/**
 * The proxy answered `result: load limit`: it is over one of its limits (sessions, CPU, load, bandwidth) and
 * refused new work. The client asks for this answer with `supports: [load limit]` so a caller can tell
 * "busy, try another proxy" from a real error. It is an `NgError`, so `catch (e instanceof NgError)` still
 * catches it.
 */
export class NgLoadLimitError extends NgError {
  constructor(
    command: string,
    /** The proxy's optional `message`, e.g. "Parallel session limit reached". */
    readonly loadLimitMessage?: string,
  ) {
    super(loadLimitMessage ?? 'load limit', command);
    this.name = 'NgLoadLimitError';
  }
}

/** No reply arrived within the request's timeout (after all retransmissions, or reconnect attempts). */
export class NgTimeoutError extends Error {
  constructor(
    readonly command: string,
    /** The proxy's URI. */
    readonly uri: string,
    readonly timeoutMs: number,
    /** The last network error seen while trying (e.g. ECONNREFUSED), if any. */
    readonly lastError?: Error,
  ) {
    super(
      `ng ${command}: no reply from ${uri} within ${timeoutMs} ms` +
        (lastError ? ` (last error: ${lastError.message})` : ''),
    );
    this.name = 'NgTimeoutError';
  }
}

/** The request could not be carried: client closed, HTTP error status, or a reply that is not ng. */
export class NgTransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NgTransportError';
  }
}
