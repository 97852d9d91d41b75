/**
 * RTCP (RFC 3550 section 6): parse a compound packet into typed packets (SR, RR, SDES, BYE, APP; other
 * types kept raw), and serialize SR, RR and BYE. Padding is honoured only where RFC 3550 allows it.
 */

/** Malformed RTCP bytes. */
export class RtcpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtcpError';
  }
}

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;

/** A reception report block (24 bytes). `fractionLost` is the raw 8-bit fixed-point value. */
export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  /** Cumulative lost, signed 24-bit. */
  packetsLost: number;
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export interface SenderInfo {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtcpSr {
  type: 'sr';
  ssrc: number;
  senderInfo: SenderInfo;
  reports: ReportBlock[];
  /** Profile-specific extension after the report blocks. */
  extension: Buffer;
}
export interface RtcpRr {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
  extension: Buffer;
}
export interface SdesItem {
  type: number;
  value: Buffer;
}
export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}
export interface RtcpSdes {
  type: 'sdes';
  chunks: SdesChunk[];
}
export interface RtcpBye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}
export interface RtcpApp {
  type: 'app';
  subtype: number;
  ssrc: number;
  name: string;
  data: Buffer;
}
/** Any other packet type (RTPFB, PSFB, XR...), kept as bytes including its header. */
export interface RtcpRaw {
  type: 'raw';
  packetType: number;
  count: number;
  bytes: Buffer;
}
export type RtcpPacket = RtcpSr | RtcpRr | RtcpSdes | RtcpBye | RtcpApp | RtcpRaw;

export const SDES_CNAME = 1;

/** Bound on the packets in one compound (a 1500-byte datagram holds at most 375 4-byte packets). */
const MAX_PACKETS = 512;

/** Parse a compound RTCP packet. Throws {@link RtcpError} on anything malformed; never anything else. */
export function parseRtcp(buf: Buffer): RtcpPacket[] {
  if (buf.length < 4) throw new RtcpError(`too short for RTCP: ${buf.length} bytes`);
  const out: RtcpPacket[] = [];
  let o = 0;
  while (o < buf.length) {
    if (out.length >= MAX_PACKETS) throw new RtcpError('too many packets in compound');
    if (buf.length - o < 4) throw new RtcpError(`trailing ${buf.length - o} bytes`);
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) throw new RtcpError(`RTCP version ${b0 >> 6}, expected 2`);
    const count = b0 & 0x1f;
    const pt = buf[o + 1]!;
    const len = (buf.readUInt16BE(o + 2) + 1) * 4;
    if (o + len > buf.length) throw new RtcpError(`packet type ${pt} longer than compound`);
    let end = o + len;
    if (b0 & 0x20) {
      const pad = buf[end - 1]!;
      if (pad === 0 || pad > len - 4) throw new RtcpError(`bad padding length ${pad}`);
      end -= pad;
    }
    out.push(parseOne(buf.subarray(o, end), pt, count));
    o += len;
  }
  return out;
}

function parseOne(p: Buffer, pt: number, count: number): RtcpPacket {
  switch (pt) {
    case RTCP_SR: {
      const need = 28 + count * 24;
      if (p.length < need) throw new RtcpError('truncated SR');
      return {
        type: 'sr',
        ssrc: p.readUInt32BE(4),
        senderInfo: {
          ntpSec: p.readUInt32BE(8),
          ntpFrac: p.readUInt32BE(12),
          rtpTimestamp: p.readUInt32BE(16),
          packetCount: p.readUInt32BE(20),
          octetCount: p.readUInt32BE(24),
        },
        reports: parseReports(p, 28, count),
        extension: p.subarray(need),
      };
    }
    case RTCP_RR: {
      const need = 8 + count * 24;
      if (p.length < need) throw new RtcpError('truncated RR');
      return {
        type: 'rr',
        ssrc: p.readUInt32BE(4),
        reports: parseReports(p, 8, count),
        extension: p.subarray(need),
      };
    }
    case RTCP_SDES:
      return { type: 'sdes', chunks: parseSdes(p, count) };
    case RTCP_BYE: {
      if (p.length < 4 + count * 4) throw new RtcpError('truncated BYE');
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(p.readUInt32BE(4 + i * 4));
      const bye: RtcpBye = { type: 'bye', ssrcs };
      const r = 4 + count * 4;
      if (p.length > r) {
        const n = p[r]!;
        if (r + 1 + n > p.length) throw new RtcpError('BYE reason longer than packet');
        bye.reason = p.toString('utf8', r + 1, r + 1 + n);
      }
      return bye;
    }
    case RTCP_APP:
      if (p.length < 12) throw new RtcpError('truncated APP');
      return {
        type: 'app',
        subtype: count,
        ssrc: p.readUInt32BE(4),
        name: p.toString('latin1', 8, 12),
        data: p.subarray(12),
      };
    default:
      return { type: 'raw', packetType: pt, count, bytes: p };
  }
}

function parseReports(p: Buffer, at: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    reports.push({
      ssrc: p.readUInt32BE(o),
      fractionLost: p[o + 4]!,
      packetsLost: (p.readUIntBE(o + 5, 3) << 8) >> 8,
      highestSeq: p.readUInt32BE(o + 8),
      jitter: p.readUInt32BE(o + 12),
      lsr: p.readUInt32BE(o + 16),
      dlsr: p.readUInt32BE(o + 20),
    });
  }
  return reports;
}

function parseSdes(p: Buffer, count: number): SdesChunk[] {
  const chunks: SdesChunk[] = [];
  let o = 4;
  for (let c = 0; c < count; c++) {
    if (o + 4 > p.length) throw new RtcpError('truncated SDES chunk');
    const chunk: SdesChunk = { ssrc: p.readUInt32BE(o), items: [] };
    o += 4;
    for (;;) {
      if (o >= p.length) throw new RtcpError('SDES chunk without end item');
      const t = p[o]!;
      if (t === 0) {
        // End item, then null padding to the next 32-bit boundary.
        o = (o + 4) & ~3;
        break;
      }
      if (o + 2 > p.length) throw new RtcpError('truncated SDES item');
      const n = p[o + 1]!;
      if (o + 2 + n > p.length) throw new RtcpError('SDES item longer than packet');
      chunk.items.push({ type: t, value: p.subarray(o + 2, o + 2 + n) });
      o += 2 + n;
    }
    chunks.push(chunk);
  }
  return chunks;
}

function header(buf: Buffer, count: number, pt: number): void {
  buf[0] = 0x80 | (count & 0x1f);
  buf[1] = pt;
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
}

function writeReports(buf: Buffer, at: number, reports: readonly ReportBlock[]): void {
  reports.forEach((r, i) => {
    const o = at + i * 24;
    buf.writeUInt32BE(r.ssrc >>> 0, o);
    buf[o + 4] = r.fractionLost & 0xff;
    buf.writeUIntBE(r.packetsLost & 0xffffff, o + 5, 3);
    buf.writeUInt32BE(r.highestSeq >>> 0, o + 8);
    buf.writeUInt32BE(r.jitter >>> 0, o + 12);
    buf.writeUInt32BE(r.lsr >>> 0, o + 16);
    buf.writeUInt32BE(r.dlsr >>> 0, o + 20);
  });
}

function checkReports(reports: readonly ReportBlock[]): void {
  if (reports.length > 31) throw new RtcpError('more than 31 report blocks');
}

/** Serialize a sender report (extension omitted). */
export function serializeSr(sr: Omit<RtcpSr, 'type' | 'extension'>): Buffer {
  checkReports(sr.reports);
  const buf = Buffer.alloc(28 + sr.reports.length * 24);
  header(buf, sr.reports.length, RTCP_SR);
  buf.writeUInt32BE(sr.ssrc >>> 0, 4);
  const s = sr.senderInfo;
  buf.writeUInt32BE(s.ntpSec >>> 0, 8);
  buf.writeUInt32BE(s.ntpFrac >>> 0, 12);
  buf.writeUInt32BE(s.rtpTimestamp >>> 0, 16);
  buf.writeUInt32BE(s.packetCount >>> 0, 20);
  buf.writeUInt32BE(s.octetCount >>> 0, 24);
  writeReports(buf, 28, sr.reports);
  return buf;
}

/** Serialize a receiver report (extension omitted). */
export function serializeRr(rr: Omit<RtcpRr, 'type' | 'extension'>): Buffer {
  checkReports(rr.reports);
  const buf = Buffer.alloc(8 + rr.reports.length * 24);
  header(buf, rr.reports.length, RTCP_RR);
  buf.writeUInt32BE(rr.ssrc >>> 0, 4);
  writeReports(buf, 8, rr.reports);
  return buf;
}

/** Serialize a BYE; the reason is UTF-8, at most 255 bytes, null-padded to 32 bits. */
export function serializeBye(bye: Omit<RtcpBye, 'type'>): Buffer {
  if (bye.ssrcs.length > 31) throw new RtcpError('more than 31 SSRCs in BYE');
  const reason = bye.reason === undefined ? undefined : Buffer.from(bye.reason, 'utf8');
  if (reason && reason.length > 255) throw new RtcpError('BYE reason longer than 255 bytes');
  const body = 4 + bye.ssrcs.length * 4;
  const total = reason ? (body + 1 + reason.length + 3) & ~3 : body;
  const buf = Buffer.alloc(total);
  header(buf, bye.ssrcs.length, RTCP_BYE);
  bye.ssrcs.forEach((s, i) => {
    buf.writeUInt32BE(s >>> 0, 4 + i * 4);
  });
  if (reason) {
    buf[body] = reason.length;
    buf.set(reason, body + 1);
  }
  return buf;
}

/** Concatenate packets into a compound packet. */
export function serializeCompound(packets: readonly Buffer[]): Buffer {
  return Buffer.concat(packets);
}
