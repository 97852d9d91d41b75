/**
 * One local UDP socket facing one party of a call: the party sends to it, and we send to the party from it
 * (symmetric RTP). {@link RelayLeg} is what the engine, the control front ends and kernel offload see of a
 * leg; {@link DgramRelayLeg} is the JavaScript dataplane's leg (node:dgram), the native dataplane has its own
 * (src/dataplane/native). The JS fast path: per packet endpoint learning, a few counter increments and one
 * send, with no allocation beyond what node:dgram does itself.
 */
import type { RemoteInfo, Socket } from 'node:dgram';

export interface Endpoint {
  address: string;
  port: number;
}

/** How the destination of a leg follows the source of the packets it receives. */
export type Learning = 'latch' | 'off' | 'handover';

/** Packet, byte and error counts of one direction and kind (RTP or RTCP) of a leg. */
export interface Counters {
  packets: number;
  bytes: number;
  errors: number;
}

export class PacketCounters implements Counters {
  packets = 0;
  bytes = 0;
  errors = 0;
}

/**
 * Per-packet duties that need userspace (playback bookkeeping, DTMF blocking, recording...). A tap returns
 * false to drop the packet, true to pass it on, or a buffer that replaces it for the taps after it and the
 * forwarding (SRTP decryption). Legs without taps skip the call entirely.
 */
export type PacketTap = (msg: Buffer, leg: RelayLeg, isRtcp: boolean) => boolean | Buffer;

/** Turns what is sent to a leg's party into what goes on the wire (SRTP encryption); null drops it. */
export type PacketProtect = (msg: Buffer) => Buffer | null;

/** A payload conversion of forwarded RTP (codec transcode; see engine/transcode). */
export interface PayloadConversion {
  fromPt: number;
  toPt: number;
  /** Byte table from the sender's G.711 law to the receiver's. */
  table: Uint8Array | undefined;
  /** G.722 (its lower band) to or from a G.711 law: `encode` G.711 to G.722, else G.722 to G.711. */
  g722: { encode: boolean; law: 'PCMU' | 'PCMA' } | undefined;
  /** telephone-event payload types to map: [sender's, receiver's]. */
  events: [number, number] | undefined;
}

/** A leg as the rest of the proxy sees it, whichever dataplane moves its packets. */
export interface RelayLeg {
  /** Where packets to this party go: from the SDP first, then learned from the packets it sends. */
  endpoint: Endpoint | null;
  /** The party's address as its SDP gave it. */
  advertised: Endpoint | null;
  /** The endpoint was learned from a packet (rtpengine's "confirmed"). */
  confirmed: boolean;
  learning: Learning;
  /** Drop packets from anyone but the learned (or, without learning, the advertised) endpoint. */
  strict: boolean;
  /** The other party's leg: packets received here are sent out through it to its endpoint. */
  sink: RelayLeg | null;
  /** For an RTP leg: where RTCP that arrives multiplexed on it goes (the other party's RTCP or RTP leg). */
  rtcpSink: RelayLeg | null;
  /** Media blocked: packets are counted and dropped. */
  blocked: boolean;
  /** Per-packet duties; assign a new array to change them (dataplanes watch the assignment). */
  taps: PacketTap[];
  /** Applied to every packet sent to this leg's party, forwarded or generated (SRTP towards it). */
  protect: PacketProtect | null;
  /**
   * Packets that are not RTP (first byte 0-63: STUN, DTLS; RFC 7983) go here instead of being dropped (a
   * WebRTC party's leg), from any source: ICE checks come from each of the party's candidates, and the
   * handler decides what moves the endpoint. They are counted but go through no tap and are not forwarded.
   */
  onOther: ((msg: Buffer, leg: RelayLeg, from: Endpoint) => void) | null;
  readonly rtp: Counters;
  readonly rtcp: Counters;
  /** Packets dropped: no destination yet, strict source, blocked, malformed. */
  dropped: number;
  /** Last packet received, ms since the epoch (0: never). */
  lastPacket: number;
  readonly closed: boolean;
  /** The kernel forwards this leg's packets from its learned endpoint (set by the kernel offload manager). */
  kernelized: boolean;
  /**
   * Called when the endpoint is learned from a packet or handed over, when the taps change, and on close:
   * kernel offload re-keys, removes or re-installs the leg's entry at once.
   */
  onChange: ((leg: RelayLeg) => void) | null;
  readonly localAddress: string;
  readonly localPort: number;
  readonly family: 4 | 6;
  /** This leg is the RTCP port of a pair. */
  readonly isRtcp: boolean;
  /**
   * Has the dataplane convert this leg's forwarded RTP itself, without a tap (undefined: stop). False when
   * it cannot: the caller converts in a tap then. Dataplanes without it leave this out.
   */
  convert?(c: PayloadConversion | undefined): boolean;
  /** The dataplane converts this leg's packets (kernel offload leaves such a leg in userspace). */
  readonly converting?: boolean;
  /**
   * Has the dataplane do SRTP on this leg itself: decrypt what the party sends with `rx`, encrypt what is sent
   * to it with `tx` (session key material, media/srtp `sessionMaterial`; null: none). False when it cannot: the
   * caller uses taps and `protect` then. Dataplanes without it leave this out.
   */
  setSrtp?(rx: Buffer | null, tx: Buffer | null, tagBytes: number): boolean;
  /** The dataplane does SRTP on this leg (setSrtp): kernel offload must leave it and its peer alone. */
  readonly srtp?: boolean;
  /** Sends a packet we generated (playback, DTMF) to this leg's party; `raw`: not through `protect` (STUN, DTLS). */
  sendToParty(msg: Buffer, raw?: boolean): boolean;
  /** Sends a packet as it is to `to` out of this leg's socket (a STUN answer goes where its check came from). */
  sendTo(msg: Buffer, to: Endpoint): boolean;
  close(): void;
}

/** The JavaScript dataplane's leg: a node:dgram socket and the forwarding fast path in {@link receive}. */
export class DgramRelayLeg implements RelayLeg {
  /** Where packets to this party go: from the SDP first, then learned from the packets it sends. */
  endpoint: Endpoint | null = null;
  /** The party's address as its SDP gave it. */
  advertised: Endpoint | null = null;
  /** The endpoint was learned from a packet (rtpengine's "confirmed"). */
  confirmed = false;
  learning: Learning = 'latch';
  /** Drop packets from anyone but the learned (or, without learning, the advertised) endpoint. */
  strict = false;
  /** The other party's leg: packets received here are sent out through it to its endpoint. */
  sink: DgramRelayLeg | null = null;
  /** For an RTP leg: where RTCP that arrives multiplexed on it goes (the other party's RTCP or RTP leg). */
  rtcpSink: DgramRelayLeg | null = null;
  /** Media blocked: packets are counted and dropped. */
  blocked = false;
  taps: PacketTap[] = [];
  protect: PacketProtect | null = null;
  onOther: ((msg: Buffer, leg: RelayLeg, from: Endpoint) => void) | null = null;
  readonly rtp = new PacketCounters();
  readonly rtcp = new PacketCounters();
  /** Packets dropped: no destination yet, strict source, blocked. */
  dropped = 0;
  /** Last packet received, ms since the epoch (0: never). */
  lastPacket = 0;
  closed = false;
  /** The kernel forwards this leg's packets from its learned endpoint (set by the kernel offload manager). */
  kernelized = false;
  /** Called when the endpoint is learned from a packet or handed over (kernel offload re-keys its entry). */
  onChange: ((leg: RelayLeg) => void) | null = null;

  constructor(
    readonly socket: Socket,
    readonly localAddress: string,
    readonly localPort: number,
    readonly family: 4 | 6,
    /** This leg is the RTCP port of a pair. */
    readonly isRtcp: boolean,
  ) {
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
  }

  receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.onOther && msg.length > 0 && msg[0]! < 64) {
      // STUN or DTLS from any source (see onOther): counted, never learned from here.
      this.lastPacket = Date.now();
      this.rtp.packets++;
      this.rtp.bytes += msg.length;
      this.onOther(msg, this, { address: rinfo.address, port: rinfo.port });
      return;
    }
    const ep = this.endpoint;
    if (!this.confirmed || ep === null) {
      if (this.learning !== 'off') {
        this.endpoint = { address: rinfo.address, port: rinfo.port };
        this.confirmed = true;
        this.onChange?.(this);
      } else if (this.strict && (ep === null || ep.port !== rinfo.port || ep.address !== rinfo.address)) {
        this.dropped++;
        return;
      }
    } else if (ep.port !== rinfo.port || ep.address !== rinfo.address) {
      if (this.strict) {
        this.dropped++;
        return;
      }
      if (this.learning === 'handover') {
        this.endpoint = { address: rinfo.address, port: rinfo.port };
        this.onChange?.(this);
      }
    }
    this.lastPacket = Date.now();
    // RFC 5761: on an RTP port, payload types 64-95 with the marker bit (second byte 192-223) are RTCP.
    const b1 = msg[1];
    const isRtcp = this.isRtcp || (b1 !== undefined && b1 >= 192 && b1 <= 223);
    const c = isRtcp ? this.rtcp : this.rtp;
    c.packets++;
    c.bytes += msg.length;
    if (msg.length < 4 || (msg[0]! & 0xc0) !== 0x80) {
      c.errors++;
      this.dropped++;
      return;
    }
    if (this.blocked) {
      this.dropped++;
      return;
    }
    let data = msg;
    if (this.taps.length !== 0) {
      for (const tap of this.taps) {
        const r = tap(data, this, isRtcp);
        if (r === false) {
          this.dropped++;
          return;
        }
        if (r !== true) data = r;
      }
    }
    const out = isRtcp && !this.isRtcp ? this.rtcpSink : this.sink;
    const dest = out?.endpoint;
    if (!out || !dest || out.closed) {
      this.dropped++;
      return;
    }
    const wire = out.protect ? out.protect(data) : data;
    if (!wire) {
      this.dropped++;
      return;
    }
    out.socket.send(wire, dest.port, dest.address);
  }

  /**
   * Has the dataplane convert this leg's forwarded RTP itself, without a tap (undefined: stop). False when
   * it cannot: the caller converts in a tap then. Dataplanes without it leave this out.
   */
  convert?(c: PayloadConversion | undefined): boolean;
  /** The dataplane converts this leg's packets (kernel offload leaves such a leg in userspace). */
  readonly converting?: boolean;
  /** Sends a packet we generated (playback, DTMF) to this leg's party. */
  sendToParty(msg: Buffer, raw = false): boolean {
    const dest = this.endpoint;
    if (!dest || this.closed) return false;
    const wire = this.protect && !raw ? this.protect(msg) : msg;
    if (!wire) return false;
    this.socket.send(wire, dest.port, dest.address);
    return true;
  }

  sendTo(msg: Buffer, to: Endpoint): boolean {
    if (this.closed) return false;
    this.socket.send(msg, to.port, to.address);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.onChange?.(this);
  }
}
