/**
 * Shared logic of the connection-based transports (TCP, WebSocket): one connection reused by all requests,
 * opened on demand, reopened after it drops. Requests in flight when it drops are sent again on the new
 * connection with the same cookie (the proxy's cookie cache keeps them from running twice).
 */
import type { BDict } from '../wire/bencode.js';
import { NgTimeoutError, NgTransportError } from './errors.js';
import { backoffMs, type NgSendOptions, type NgTransport } from './transport.js';

/** An open connection as the base class sees it. */
export interface NgConnection {
  write(message: Buffer): void;
  close(): void;
}

/** What a subclass reports back from its connection. */
export interface NgConnectionEvents {
  message(cookie: string, body: BDict): void;
  /** The connection is gone (closed by either side, or failed). */
  closed(error?: Error): void;
}

interface Pending {
  message: Buffer;
  resolve: (body: BDict) => void;
  reject: (e: Error) => void;
  deadline: NodeJS.Timeout;
  /** Written on the current connection. */
  sent: boolean;
}

export abstract class ConnectionTransport implements NgTransport {
  abstract readonly uri: string;
  private conn?: NgConnection;
  private connecting = false;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private lastError?: Error;
  /** Replies whose cookie matched nothing pending. */
  strayReplies = 0;

  /** Opens one connection; resolves once it can carry messages. */
  protected abstract connect(events: NgConnectionEvents): Promise<NgConnection>;

  send(cookie: string, message: Buffer, opts: NgSendOptions): Promise<BDict> {
    if (this.closed) return Promise.reject(new NgTransportError(`ng client for ${this.uri} is closed`));
    if (this.pending.has(cookie)) return Promise.reject(new NgTransportError(`duplicate cookie ${cookie}`));
    return new Promise<BDict>((resolve, reject) => {
      this.pending.set(cookie, {
        message,
        resolve,
        reject,
        sent: false,
        deadline: setTimeout(() => {
          this.finish(cookie);
          reject(new NgTimeoutError(opts.command, this.uri, opts.timeoutMs, this.lastError));
        }, opts.timeoutMs),
      });
      this.flush();
    });
  }

  private finish(cookie: string): Pending | undefined {
    const p = this.pending.get(cookie);
    if (!p) return undefined;
    this.pending.delete(cookie);
    clearTimeout(p.deadline);
    if (this.pending.size === 0 && this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    return p;
  }

  /** Writes unsent requests, opening a connection first if needed. */
  private flush(): void {
    if (this.closed || this.pending.size === 0) return;
    const conn = this.conn;
    if (conn) {
      for (const p of this.pending.values()) {
        if (!p.sent) {
          p.sent = true;
          conn.write(p.message);
        }
      }
      return;
    }
    if (this.connecting || this.retryTimer) return;
    this.connecting = true;
    let opened: NgConnection | undefined;
    const events: NgConnectionEvents = {
      message: (cookie, body) => {
        const p = this.finish(cookie);
        if (p) p.resolve(body);
        else this.strayReplies++;
      },
      closed: (error) => {
        if (error) this.lastError = error;
        if (opened && this.conn === opened) {
          this.conn = undefined;
          for (const p of this.pending.values()) p.sent = false;
          this.scheduleRetry();
        }
      },
    };
    this.connect(events).then(
      (c) => {
        this.connecting = false;
        if (this.closed) {
          c.close();
          return;
        }
        opened = c;
        this.conn = c;
        this.failures = 0;
        this.flush();
      },
      (e: Error) => {
        this.connecting = false;
        this.lastError = e;
        this.failures++;
        this.scheduleRetry();
      },
    );
  }

  /** Reconnects after a doubling delay, only while requests wait (their deadlines bound the loop). */
  private scheduleRetry(): void {
    if (this.closed || this.pending.size === 0 || this.retryTimer) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.flush();
      },
      this.failures === 0 ? 0 : backoffMs(this.failures - 1, 50, 1000),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const cookie of [...this.pending.keys()]) {
      this.finish(cookie)?.reject(new NgTransportError(`ng client for ${this.uri} closed`));
    }
    this.conn?.close();
    this.conn = undefined;
  }
}
