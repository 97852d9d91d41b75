/**
 * ng transports: UDP (one message per datagram, with the cookie cache for retransmissions) and TCP (the same
 * framing, messages back to back). Both hand dictionaries to the dispatcher and send its replies back.
 */
import type { Socket } from 'node:dgram';
import type { Server, Socket as TcpSocket } from 'node:net';
import type { Logger } from '../util/log.js';
import { everySecond } from '../util/tick.js';
import {
  NgFramingError,
  formatNgMessage,
  parseNgMessage,
  takeNgStreamMessage,
  type NgMessage,
} from '../wire/ng-message.js';
import { CookieCache } from './cookie-cache.js';
import { answerOnce, listenControlTcp, listenControlUdp } from './listeners.js';
import type { NgDispatcher } from './ng-commands.js';

const MAX_TCP_CONNECTIONS = 256;

function framingError(e: NgFramingError): Buffer | undefined {
  if (e.cookie === undefined) return undefined;
  return formatNgMessage(e.cookie, {
    result: 'error',
    'error-reason': `Could not decode message: ${e.message}`,
  });
}

export class NgServer {
  readonly cache = new CookieCache();
  private udp: Socket[] = [];
  private tcp: Server[] = [];
  private conns = new Set<TcpSocket>();
  private readonly untick: () => void;
  /** Datagrams that could not be answered at all (no cookie). */
  dropped = 0;

  constructor(
    private readonly dispatcher: NgDispatcher,
    private readonly log: Logger,
  ) {
    this.untick = everySecond(() => this.cache.sweep());
  }

  async listenUdp(host: string, port: number): Promise<void> {
    this.udp.push(
      await listenControlUdp(host, port, 'ng', this.log, (s, m, a, p) => this.onDatagram(s, m, a, p)),
    );
  }

  private onDatagram(s: Socket, msg: Buffer, address: string, port: number): void {
    let m: NgMessage;
    try {
      m = parseNgMessage(msg);
    } catch (e) {
      if (!(e instanceof NgFramingError)) throw e;
      const reply = framingError(e);
      if (reply) s.send(reply, port, address);
      else this.dropped++;
      this.log.warn(`ng: bad message from ${address}:${port}: ${e.message}`);
      return;
    }
    answerOnce(
      this.cache,
      `${address}|${port}|${m.cookie}`,
      (reply) => s.send(reply, port, address),
      async () => formatNgMessage(m.cookie, await this.dispatcher.handle(m.body), m.json),
    );
  }

  async listenTcp(host: string, port: number): Promise<void> {
    this.tcp.push(await listenControlTcp(host, port, 'ng', this.log, (c) => this.onConnection(c)));
  }

  private onConnection(c: TcpSocket): void {
    if (this.conns.size >= MAX_TCP_CONNECTIONS) {
      c.destroy();
      return;
    }
    this.conns.add(c);
    let buf = Buffer.alloc(0);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => {});
    c.on('data', (d) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        let r: ReturnType<typeof takeNgStreamMessage>;
        try {
          r = takeNgStreamMessage(buf);
        } catch (e) {
          if (!(e instanceof NgFramingError)) throw e;
          const reply = framingError(e);
          if (reply) c.write(reply);
          c.end();
          buf = Buffer.alloc(0);
          return;
        }
        if (!r) return;
        buf = buf.subarray(r.consumed);
        const m = r.message;
        void this.dispatcher.handle(m.body).then((body) => {
          if (!c.destroyed) c.write(formatNgMessage(m.cookie, body, m.json));
        });
      }
    });
  }

  close(): void {
    this.untick();
    for (const s of this.udp) s.close();
    for (const s of this.tcp) s.close();
    for (const c of this.conns) c.destroy();
  }
}
