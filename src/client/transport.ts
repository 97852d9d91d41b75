/** The contract between NgClient and a transport: carry one framed request, return the matching reply. */
import type { BDict } from '../wire/bencode.js';

/** Per-request settings a transport honours. */
export interface NgSendOptions {
  /** Overall deadline for a reply, in milliseconds. */
  timeoutMs: number;
  /** The command name, for error messages. */
  command: string;
}

/** One way of reaching an ng proxy. Implementations match replies to requests by cookie. */
export interface NgTransport {
  /** The proxy's URI, for messages. */
  readonly uri: string;
  /**
   * Sends `message` (already framed as `cookie dict`) and resolves with the body of the reply carrying the
   * same `cookie`. Rejects with NgTimeoutError when no reply arrives in time, NgTransportError otherwise.
   */
  send(cookie: string, message: Buffer, opts: NgSendOptions): Promise<BDict>;
  /** Releases sockets; pending requests reject with NgTransportError. */
  close(): void;
}

/** Doubling backoff with a cap: the delay before attempt `n` (0-based) of something retried. */
export function backoffMs(n: number, firstMs: number, capMs: number): number {
  return Math.min(capMs, firstMs * 2 ** Math.min(n, 16));
}
