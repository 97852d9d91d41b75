/**
 * ng over UDP: one datagram per message. Lost datagrams are retransmitted unchanged (same cookie), so a
 * proxy with a cookie cache executes the request once and replays its reply.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BDict } from '../wire/bencode.js';
import { parseNgMessage } from '../wire/ng-message.js';
import { NgTimeoutError, NgTransportError } from './errors.js';
import { backoffMs, type NgSendOptions, type NgTransport } from './transport.js';

/** Retransmission settings. */
export interface UdpRetransmitOptions {
  /** Wait before the first retransmission (ms, default 500). 0 disables retransmission. */
  retransmitMs?: number;
  /** Cap on the doubling interval between retransmissions (ms, default 2000). */
  maxRetransmitMs?: number;
  /** Cap on retransmissions per request (default 10). */
  maxRetransmits?: number;
}

interface Pending {
  resolve: (body: BDict) => void;
  reject: (e: Error) => void;
  deadline: NodeJS.Timeout;
  retransmit?: NodeJS.Timeout;
}

/** UDP transport with retransmission and cookie matching. */
export class UdpTransport implements NgTransport {
  readonly uri: string;
  private socket?: Promise<Socket>;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private lastError?: Error;
  /** Replies dropped because their cookie matched nothing pending (late duplicates, strays). */
  strayReplies = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: UdpRetransmitOptions = {},
  ) {
    this.uri = `udp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  }

  send(cookie: string, message: Buffer, opts: NgSendOptions): Promise<BDict> {
    if (this.closed) return Promise.reject(new NgTransportError(`ng client for ${this.uri} is closed`));
    if (this.pending.has(cookie)) return Promise.reject(new NgTransportError(`duplicate cookie ${cookie}`));
    return new Promise<BDict>((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        deadline: setTimeout(() => {
          this.finish(cookie);
          reject(new NgTimeoutError(opts.command, this.uri, opts.timeoutMs, this.lastError));
        }, opts.timeoutMs),
      };
      this.pending.set(cookie, p);
      this.open().then(
        (sock) => this.transmit(sock, cookie, message, 0),
        (e: Error) => {
          this.finish(cookie);
          reject(new NgTransportError(`cannot reach ${this.uri}: ${e.message}`));
        },
      );
    });
  }

  private transmit(sock: Socket, cookie: string, message: Buffer, attempt: number): void {
    const p = this.pending.get(cookie);
    if (!p) return;
    sock.send(message, (err) => {
      if (err) this.lastError = err;
    });
    const first = this.opts.retransmitMs ?? 500;
    if (first <= 0 || attempt >= (this.opts.maxRetransmits ?? 10)) return;
    const wait = backoffMs(attempt, first, this.opts.maxRetransmitMs ?? 2000);
    p.retransmit = setTimeout(() => this.transmit(sock, cookie, message, attempt + 1), wait);
  }

  private finish(cookie: string): Pending | undefined {
    const p = this.pending.get(cookie);
    if (!p) return undefined;
    this.pending.delete(cookie);
    clearTimeout(p.deadline);
    if (p.retransmit) clearTimeout(p.retransmit);
    return p;
  }

  private open(): Promise<Socket> {
    this.socket ??= this.resolveHost().then(
      ({ address, family }) =>
        new Promise<Socket>((resolve, reject) => {
          const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
          // A connected socket only hears from the proxy; ICMP errors surface as send errors.
          sock.on('message', (msg) => this.onMessage(msg));
          sock.on('error', (e) => {
            this.lastError = e;
          });
          sock.once('connect', () => {
            sock.unref();
            resolve(sock);
          });
          try {
            sock.connect(this.port, address);
          } catch (e) {
            reject(e as Error);
          }
        }),
    );
    // A failed lookup may succeed later: forget it.
    this.socket.catch(() => {
      this.socket = undefined;
    });
    return this.socket;
  }

  private async resolveHost(): Promise<{ address: string; family: number }> {
    const v = isIP(this.host);
    if (v) return { address: this.host, family: v };
    return lookup(this.host);
  }

  private onMessage(msg: Buffer): void {
    let cookie: string;
    let body: BDict;
    try {
      ({ cookie, body } = parseNgMessage(msg));
    } catch {
      this.strayReplies++;
      return;
    }
    const p = this.finish(cookie);
    if (!p) {
      this.strayReplies++;
      return;
    }
    p.resolve(body);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cookie of [...this.pending.keys()]) {
      this.finish(cookie)?.reject(new NgTransportError(`ng client for ${this.uri} closed`));
    }
    this.socket?.then(
      (s) => s.close(),
      () => {},
    );
  }
}
