/**
 * UDP and TCP transports on one IP:port each (IPv4 or IPv6). Incoming bytes become parsed, validated
 * messages; malformed requests get 400 when a response can be routed, everything else bad is counted and
 * dropped. Nothing a peer sends can throw out of here.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { SipParseError } from '../wire/sip/errors.js';
import { SipStreamFramer } from '../wire/sip/framer.js';
import { getHeader, validateMessage } from '../wire/sip/headers.js';
import { type SipMessage, type SipRequest, parseMessage, serializeMessage } from '../wire/sip/message.js';
import { buildResponse } from '../wire/sip/response.js';
import { parseVia } from '../wire/sip/via.js';
import { TypedEmitter } from './emitter.js';
import { type Endpoint, responseDestination, stampReceived } from './transport-routing.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TransportOptions {
  udp?: ListenAddress;
  tcp?: ListenAddress;
  /** Idle TCP connections are closed after this many ms (default 120 s). */
  tcpIdleMs?: number;
  /** Most TCP connections held at once (default 1024); new inbound ones beyond it are refused. */
  maxConnections?: number;
}

export interface TransportStats {
  received: number;
  sent: number;
  /** Malformed input dropped without a response. */
  dropped: number;
  /** Malformed requests answered with 400. */
  rejected: number;
}

export type TransportEvents = {
  message: [message: SipMessage, source: Endpoint];
  /** Something bad from the network (for logging); never a thrown error. */
  malformed: [reason: string, source: Endpoint];
};

export class SipTransport extends TypedEmitter<TransportEvents> {
  readonly stats: TransportStats = { received: 0, sent: 0, dropped: 0, rejected: 0 };
  private udp?: dgram.Socket;
  private tcpServer?: net.Server;
  private readonly conns = new Map<number, net.Socket>();
  private readonly connByPeer = new Map<string, number>();
  private nextConn = 1;
  private closed = false;

  private constructor(private readonly opts: TransportOptions) {
    super();
  }

  /** Binds the requested sockets. */
  static async listen(opts: TransportOptions): Promise<SipTransport> {
    if (!opts.udp && !opts.tcp) throw new Error('SipTransport: need udp or tcp');
    const t = new SipTransport(opts);
    try {
      if (opts.udp) await t.bindUdp(opts.udp);
      if (opts.tcp) await t.bindTcp(opts.tcp);
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }

  /** Bound UDP address, if any. */
  get udpAddress(): ListenAddress | undefined {
    if (!this.udp) return undefined;
    const a = this.udp.address();
    return { host: a.address, port: a.port };
  }

  /** Bound TCP address, if any. */
  get tcpAddress(): ListenAddress | undefined {
    const a = this.tcpServer?.address();
    if (!a || typeof a === 'string') return undefined;
    return { host: a.address, port: a.port };
  }

  /** Number of open TCP connections. */
  get connectionCount(): number {
    return this.conns.size;
  }

  private bindUdp(addr: ListenAddress): Promise<void> {
    const sock = dgram.createSocket({ type: net.isIPv6(addr.host) ? 'udp6' : 'udp4' });
    this.udp = sock;
    sock.on('message', (buf, rinfo) =>
      this.onBytes(buf, { transport: 'udp', address: rinfo.address, port: rinfo.port }, false),
    );
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(addr.port, addr.host, () => {
        sock.off('error', reject);
        sock.on('error', () => {}); // send errors are reported per send
        resolve();
      });
    });
  }

  private bindTcp(addr: ListenAddress): Promise<void> {
    const server = net.createServer((s) => {
      if (this.conns.size >= (this.opts.maxConnections ?? 1024)) {
        s.destroy();
        return;
      }
      this.adopt(s);
    });
    this.tcpServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private adopt(s: net.Socket, peerKey?: string): number {
    const id = this.nextConn++;
    this.conns.set(id, s);
    const key = peerKey ?? `${s.remoteAddress}|${s.remotePort}`;
    this.connByPeer.set(key, id);
    const framer = new SipStreamFramer();
    s.setTimeout(this.opts.tcpIdleMs ?? 120_000, () => s.destroy());
    s.on('data', (chunk) => {
      const source: Endpoint = {
        transport: 'tcp',
        address: s.remoteAddress ?? '',
        port: s.remotePort ?? 0,
        connectionId: id,
      };
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch (e) {
        this.stats.dropped++;
        this.emit('malformed', e instanceof Error ? e.message : 'framing error', source);
        s.destroy();
        return;
      }
      for (const f of frames) this.onBytes(f, source, true);
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.conns.delete(id);
      if (this.connByPeer.get(key) === id) this.connByPeer.delete(key);
    });
    return id;
  }

  private onBytes(buf: Buffer, source: Endpoint, stream: boolean): void {
    if (this.closed) return;
    this.stats.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(buf, { stream });
    } catch (e) {
      const reason = e instanceof SipParseError ? e.reason : 'parse failure';
      const partial = e instanceof SipParseError ? e.partial : undefined;
      this.reject(partial, reason, source);
      return;
    }
    const problem = validateMessage(msg);
    if (problem !== undefined) {
      this.reject(msg, problem, source);
      return;
    }
    try {
      if (msg.kind === 'request') stampReceived(msg, source);
    } catch {
      this.reject(msg, 'bad Via', source);
      return;
    }
    this.emit('message', msg, source);
  }

  /** 400 for a request whose top Via is usable (never for ACK); otherwise count and drop. */
  private reject(msg: SipMessage | undefined, reason: string, source: Endpoint): void {
    this.emit('malformed', reason, source);
    if (msg?.kind !== 'request' || msg.method === 'ACK' || !this.canRespond(msg)) {
      this.stats.dropped++;
      return;
    }
    try {
      stampReceived(msg, source);
      const res = buildResponse(msg, 400, 'Bad Request');
      res.headers.push({ name: 'Warning', value: `399 sipmedia "${reason.replace(/["\\]/g, '')}"` });
      const dest = responseDestination(res, source.connectionId);
      if (!dest) throw new Error('no route');
      this.stats.rejected++;
      this.send(serializeMessage(res), dest).catch(() => {});
    } catch {
      this.stats.dropped++;
    }
  }

  private canRespond(req: SipRequest): boolean {
    const v = getHeader(req, 'Via');
    if (v === undefined) return false;
    try {
      parseVia(v);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends bytes to a peer. Over TCP the given connection is used while open, else one is found or opened. */
  send(bytes: Buffer, dest: Endpoint): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    this.stats.sent++;
    if (dest.transport === 'udp') {
      const sock = this.udp;
      if (!sock) return Promise.reject(new Error('no UDP transport'));
      return new Promise((resolve, reject) => {
        sock.send(bytes, dest.port, dest.address, (err) => (err ? reject(err) : resolve()));
      });
    }
    if (!this.tcpServer) return Promise.reject(new Error('no TCP transport'));
    let s = dest.connectionId !== undefined ? this.conns.get(dest.connectionId) : undefined;
    if (!s || s.destroyed) {
      const id = this.connByPeer.get(`${dest.address}|${dest.port}`);
      s = id !== undefined ? this.conns.get(id) : undefined;
    }
    if (!s || s.destroyed) {
      const local = this.opts.tcp?.host;
      s = net.connect({ host: dest.address, port: dest.port, ...(local ? { localAddress: local } : {}) });
      this.adopt(s, `${dest.address}|${dest.port}`);
    }
    const sock = s;
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      sock.once('error', onErr);
      sock.write(bytes, (err) => {
        sock.off('error', onErr);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Closes sockets and connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp?.close();
    this.tcpServer?.close();
    for (const s of this.conns.values()) s.destroy();
    this.conns.clear();
    this.connByPeer.clear();
  }
}
