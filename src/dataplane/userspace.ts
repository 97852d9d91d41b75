/**
 * The userspace dataplane: owns the media sockets. The engine asks it for RTP/RTCP leg pairs on a local
 * address and releases them; packets then flow between legs without the engine's involvement.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { literalLookup } from '../util/literal-lookup.js';
import { PortPools } from './port-pool.js';
import { DgramRelayLeg, type RelayLeg } from './relay-leg.js';

export interface LegPair {
  rtp: RelayLeg;
  rtcp: RelayLeg;
}

/** What the engine needs of a dataplane: RTP/RTCP leg pairs on a local address, and their release. */
export interface Dataplane {
  /** Binds an RTP port and the next one for RTCP; throws {@link OutOfPortsError} when none is free. */
  openPair(address: string): Promise<LegPair>;
  /** Closes both legs and frees their ports. Closing a closed pair does nothing. */
  closePair(pair: LegPair): void;
  /** Pairs currently open, over all addresses. */
  readonly openPairs: number;
  /**
   * Sets the TOS byte of the packets both legs send (a call's ng `TOS`); false when this dataplane cannot
   * (node:dgram has no IP_TOS).
   */
  setTos(pair: LegPair, tos: number): boolean;
}

export class OutOfPortsError extends Error {
  constructor(address: string) {
    super(`Ran out of ports on ${address}`);
    this.name = 'OutOfPortsError';
  }
}

/** Kernel socket buffers sized for bursts of a few hundred packets per leg. */
const SOCKET_BUFFER = 256 * 1024;

function bindSocket(address: string, port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = createSocket({
      type: isIPv6(address) ? 'udp6' : 'udp4',
      ipv6Only: isIPv6(address),
      lookup: literalLookup,
    });
    const onError = () => {
      s.close();
      resolve(null);
    };
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      // A send error (e.g. ICMP unreachable surfacing as ECONNREFUSED) must not kill the process.
      s.on('error', () => {});
      try {
        s.setRecvBufferSize(SOCKET_BUFFER);
        s.setSendBufferSize(SOCKET_BUFFER);
      } catch {}
      resolve(s);
    });
  });
}

export class UserspaceDataplane implements Dataplane {
  private readonly pools: PortPools;
  private open = 0;

  constructor(portMin: number, portMax: number) {
    this.pools = new PortPools(portMin, portMax);
  }

  /** Pairs currently open, over all addresses. */
  get openPairs(): number {
    return this.open;
  }

  setTos(): boolean {
    return false;
  }

  async openPair(address: string): Promise<LegPair> {
    const pool = this.pools.for(address);
    const family = isIPv6(address) ? 6 : 4;
    for (const port of pool.candidates()) {
      pool.take(port);
      const rtpSock = await bindSocket(address, port);
      if (rtpSock) {
        const rtcpSock = await bindSocket(address, port + 1);
        if (rtcpSock) {
          this.open++;
          return {
            rtp: new DgramRelayLeg(rtpSock, address, port, family, false),
            rtcp: new DgramRelayLeg(rtcpSock, address, port + 1, family, true),
          };
        }
        rtpSock.close();
      }
      pool.release(port);
    }
    throw new OutOfPortsError(address);
  }

  closePair(pair: LegPair): void {
    if (pair.rtp.closed) return;
    pair.rtp.close();
    pair.rtcp.close();
    this.pools.peek(pair.rtp.localAddress)?.release(pair.rtp.localPort);
    this.open--;
  }
}
