/**
 * Classic pcap file format (microsecond timestamps) with LINKTYPE_RAW: each record is a bare IPv4 or IPv6
 * packet, so recorded RTP is wrapped in a synthetic IP + UDP header. Wireshark/tshark read it as UDP and
 * decode RTP when told the port (`-d udp.port==P,rtp`) or by heuristics.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_RAW = 101;
export const PCAP_GLOBAL_HEADER_SIZE = 24;
export const PCAP_RECORD_HEADER_SIZE = 16;

/** Unusable pcap input (bad address, oversize packet). */
export class PcapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PcapError';
  }
}

/** The 24-byte global header (little-endian, version 2.4). */
export function pcapGlobalHeader(snaplen = 65535, linktype = LINKTYPE_RAW): Buffer {
  const h = Buffer.alloc(PCAP_GLOBAL_HEADER_SIZE);
  h.writeUInt32LE(PCAP_MAGIC, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); // thiszone
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

/** A 16-byte record header followed by the packet; `timeMs` is wall-clock milliseconds since the epoch. */
export function pcapRecord(timeMs: number, packet: Uint8Array, snaplen = 65535): Buffer {
  const caplen = Math.min(packet.length, snaplen);
  const rec = Buffer.alloc(PCAP_RECORD_HEADER_SIZE + caplen);
  const usTotal = Math.round(timeMs * 1000);
  const sec = Math.floor(usTotal / 1_000_000);
  rec.writeUInt32LE(sec >>> 0, 0);
  rec.writeUInt32LE(usTotal - sec * 1_000_000, 4);
  rec.writeUInt32LE(caplen, 8);
  rec.writeUInt32LE(packet.length, 12);
  rec.set(packet.subarray(0, caplen), PCAP_RECORD_HEADER_SIZE);
  return rec;
}

export interface UdpEndpoints {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
}

const UDP_HEADER_SIZE = 8;
const IPV4_HEADER_SIZE = 20;
const IPV6_HEADER_SIZE = 40;
const PROTO_UDP = 17;

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

/** 16 bytes of an IPv6 address (handles `::` and an embedded dotted IPv4 tail). */
export function ipv6Bytes(a: string): Buffer {
  let addr = a;
  const out = Buffer.alloc(16);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (dotted?.[1]) {
    const v4 = ipv4Bytes(dotted[1]);
    addr = `${addr.slice(0, -dotted[1].length)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g as string, 16), i * 2);
  });
  return out;
}

function onesComplementSum(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) & 1) sum += buf[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * A raw IP packet carrying `payload` in UDP between the endpoints. IPv4: header checksum computed, UDP
 * checksum 0 (allowed for IPv4). IPv6: UDP checksum computed (mandatory there).
 */
export function udpPacket(ep: UdpEndpoints, payload: Uint8Array): Buffer {
  const udpLen = UDP_HEADER_SIZE + payload.length;
  if (isIPv4(ep.srcAddress) && isIPv4(ep.dstAddress)) {
    if (IPV4_HEADER_SIZE + udpLen > 0xffff) throw new PcapError('packet too large for IPv4');
    const p = Buffer.alloc(IPV4_HEADER_SIZE + udpLen);
    p[0] = 0x45;
    p.writeUInt16BE(p.length, 2);
    p.writeUInt16BE(0x4000, 6); // DF, no fragments
    p[8] = 64; // TTL
    p[9] = PROTO_UDP;
    ipv4Bytes(ep.srcAddress).copy(p, 12);
    ipv4Bytes(ep.dstAddress).copy(p, 16);
    p.writeUInt16BE(~onesComplementSum(p, 0, IPV4_HEADER_SIZE) & 0xffff, 10);
    writeUdp(p, IPV4_HEADER_SIZE, ep, payload);
    return p;
  }
  if (isIPv6(ep.srcAddress) && isIPv6(ep.dstAddress)) {
    if (udpLen > 0xffff) throw new PcapError('packet too large for UDP');
    const p = Buffer.alloc(IPV6_HEADER_SIZE + udpLen);
    p[0] = 0x60;
    p.writeUInt16BE(udpLen, 4);
    p[6] = PROTO_UDP;
    p[7] = 64; // hop limit
    ipv6Bytes(ep.srcAddress).copy(p, 8);
    ipv6Bytes(ep.dstAddress).copy(p, 24);
    writeUdp(p, IPV6_HEADER_SIZE, ep, payload);
    // Pseudo-header: addresses, UDP length, next header.
    let sum = onesComplementSum(p, 8, 40);
    sum = onesComplementSum(p, IPV6_HEADER_SIZE, p.length, sum + udpLen + PROTO_UDP);
    const ck = ~sum & 0xffff;
    p.writeUInt16BE(ck === 0 ? 0xffff : ck, IPV6_HEADER_SIZE + 6);
    return p;
  }
  throw new PcapError(`addresses must both be IPv4 or both IPv6: ${ep.srcAddress} -> ${ep.dstAddress}`);
}

function writeUdp(p: Buffer, at: number, ep: UdpEndpoints, payload: Uint8Array): void {
  p.writeUInt16BE(ep.srcPort & 0xffff, at);
  p.writeUInt16BE(ep.dstPort & 0xffff, at + 2);
  p.writeUInt16BE(UDP_HEADER_SIZE + payload.length, at + 4);
  p.set(payload, at + UDP_HEADER_SIZE);
}

/** One pcap record of a UDP datagram (e.g. an RTP packet) as seen on the wire at `timeMs`. */
export function pcapUdpRecord(timeMs: number, ep: UdpEndpoints, payload: Uint8Array): Buffer {
  return pcapRecord(timeMs, udpPacket(ep, payload));
}
