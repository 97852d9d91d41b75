/**
 * ng transports: UDP (one message per datagram, with the cookie cache for retransmissions) and TCP (the same
 * framing, messages back to back). Both hand dictionaries to the dispatcher and send its replies back.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '../util/log.js';
import {
  NgFramingError,
  formatNgMessage,
  parseNgMessage,
  takeNgStreamMessage,
  type NgMessage,
} from '../wire/ng-message.js';
import { CookieCache, PENDING } from './cookie-cache.js';
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
  private sweeper: NodeJS.Timeout;
  /** Datagrams that could not be answered at all (no cookie). */
  dropped = 0;

  constructor(
    private readonly dispatcher: NgDispatcher,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.cache.sweep(), 1000);
    this.sweeper.unref();
  }

  listenUdp(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
      s.once('error', reject);
      s.on('message', (msg, rinfo) => this.onDatagram(s, msg, rinfo.address, rinfo.port));
      s.bind(port, host, () => {
        s.off('error', reject);
        s.on('error', (e) => this.log.warn(`ng udp: ${e.message}`));
        this.udp.push(s);
        this.log.info(`ng listening on udp ${host}:${port}`);
        resolve();
      });
    });
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
    const key = `${address}|${port}|${m.cookie}`;
    const cached = this.cache.get(key);
    if (cached === PENDING) return;
    if (cached) {
      s.send(cached, port, address);
      return;
    }
    this.cache.set(key, PENDING);
    void this.dispatcher.handle(m.body).then((body) => {
      const reply = formatNgMessage(m.cookie, body, m.json);
      this.cache.set(key, reply);
      s.send(reply, port, address);
    });
  }

  listenTcp(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = createServer((c) => this.onConnection(c));
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        this.tcp.push(srv);
        this.log.info(`ng listening on tcp ${host}:${port}`);
        resolve();
      });
    });
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
    clearInterval(this.sweeper);
    for (const s of this.udp) s.close();
    for (const s of this.tcp) s.close();
    for (const c of this.conns) c.destroy();
  }
}
