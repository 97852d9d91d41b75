/**
 * One local RTP socket of a SIP endpoint (the media server's side of a call): bound on an even port from a
 * {@link PortPool}, sending to the remote address from the SDP and latching onto the address the peer
 * actually sends from (symmetric RTP, so calls behind NAT work). Separate from the proxy's RelayLeg: an
 * endpoint terminates media instead of forwarding it.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { PortPool } from './port-pool.js';

export interface RtpAddress {
  address: string;
  port: number;
}

export interface RtpEndpointOptions {
  /** Local address to bind (IPv4 or IPv6 literal). */
  address: string;
  pool: PortPool;
}

/** Receives every datagram of the endpoint's socket. */
export type RtpPacketHandler = (packet: Buffer, from: RemoteInfo) => void;

/** Open endpoints in this process (tests check that calls free theirs). */
let openCount = 0;

export function openRtpEndpoints(): number {
  return openCount;
}

function bindOn(socket: Socket, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(true);
    });
  });
}

export class RtpEndpoint {
  /** Where packets go: from the SDP, then latched onto the peer's real source. */
  remote: RtpAddress | null = null;
  /** Follow the source address of received packets (symmetric RTP). */
  latch = true;
  /** The remote was learned from a packet. */
  latched = false;
  onPacket: RtpPacketHandler | null = null;
  received = 0;
  sent = 0;
  /** Send failures and packets received while closed. */
  errors = 0;
  closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly pool: PortPool,
  ) {
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // Errors after bind (ICMP-triggered on some systems) are counted, never thrown.
    socket.on('error', () => {
      this.errors++;
    });
    openCount++;
  }

  /** Binds the first free even port of the pool on `address`. Throws when the range is exhausted. */
  static async open(opts: RtpEndpointOptions): Promise<RtpEndpoint> {
    const family = isIP(opts.address);
    if (family === 0) throw new Error(`RTP address ${opts.address} is not an IP literal`);
    for (const port of opts.pool.candidates()) {
      const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      if (await bindOn(socket, port, opts.address)) {
        opts.pool.take(port);
        return new RtpEndpoint(socket, opts.address, port, opts.pool);
      }
      socket.close();
    }
    throw new Error(`no free RTP port in ${opts.pool.first}-${opts.pool.last}`);
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    this.received++;
    if (this.latch && !this.latched) {
      this.remote = { address: rinfo.address, port: rinfo.port };
      this.latched = true;
    }
    this.onPacket?.(msg, rinfo);
  }

  /** Sends to the remote; false when there is none yet or the endpoint is closed. */
  send(packet: Buffer): boolean {
    const r = this.remote;
    if (this.closed || r === null || r.port === 0) return false;
    this.socket.send(packet, r.port, r.address, (err) => {
      if (err) this.errors++;
    });
    this.sent++;
    return true;
  }

  /** Closes the socket and returns the port to the pool (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onPacket = null;
    openCount--;
    this.pool.release(this.localPort);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
