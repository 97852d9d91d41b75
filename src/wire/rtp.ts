/**
 * RTP fixed header (RFC 3550 section 5.1): a full parse/serialize for control paths and tests, and
 * zero-allocation field accessors that read/write straight in a Buffer for the relay's fast path.
 *
 *  0                   1                   2                   3
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 * |            contributing source (CSRC) identifiers  ...        |
 */

/** Malformed RTP bytes. */
export class RtpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtpError';
  }
}

/** Size of the fixed header without CSRCs or extension. */
export const RTP_HEADER_SIZE = 12;

/** RFC 3550 header extension (section 5.3.1): a 16-bit profile word and 32-bit-word data. */
export interface RtpExtension {
  profile: number;
  /** Length is a multiple of 4 bytes. */
  data: Buffer;
}

export interface RtpHeader {
  version: number;
  padding: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension?: RtpExtension;
}

export interface RtpPacket {
  header: RtpHeader;
  /** Payload without padding (a view into the parsed buffer). */
  payload: Buffer;
  /** Number of padding bytes removed from the end (0 when P is clear). */
  paddingLength: number;
  /** Offset of the payload in the parsed buffer. */
  payloadOffset: number;
}

/** Parse an RTP packet. Throws {@link RtpError} on anything malformed; never anything else. */
export function parseRtp(buf: Buffer): RtpPacket {
  if (buf.length < RTP_HEADER_SIZE) throw new RtpError(`too short for RTP: ${buf.length} bytes`);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> 6;
  if (version !== 2) throw new RtpError(`RTP version ${version}, expected 2`);
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_SIZE + cc * 4;
  if (buf.length < offset) throw new RtpError(`truncated CSRC list (${cc} CSRCs)`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(RTP_HEADER_SIZE + i * 4));
  let extension: RtpExtension | undefined;
  if (hasExtension) {
    if (buf.length < offset + 4) throw new RtpError('truncated header extension');
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + words * 4;
    if (buf.length < end) throw new RtpError('header extension longer than packet');
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let end = buf.length;
  let paddingLength = 0;
  if (padding) {
    paddingLength = buf[buf.length - 1]!;
    if (paddingLength === 0 || buf.length - paddingLength < offset) {
      throw new RtpError(`bad padding length ${paddingLength}`);
    }
    end -= paddingLength;
  }
  const header: RtpHeader = {
    version,
    padding,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
  };
  if (extension) header.extension = extension;
  return { header, payload: buf.subarray(offset, end), paddingLength, payloadOffset: offset };
}

/** Options for {@link serializeRtp}. */
export interface SerializeRtpOptions {
  /** Padding bytes to append (1-255); sets the P bit. */
  paddingLength?: number;
}

/** Serialize header and payload. The P bit is taken from `options.paddingLength`, not `header.padding`. */
export function serializeRtp(
  header: Omit<RtpHeader, 'version' | 'padding' | 'csrcs'> & { csrcs?: number[] },
  payload: Uint8Array,
  options: SerializeRtpOptions = {},
): Buffer {
  const csrcs = header.csrcs ?? [];
  if (csrcs.length > 15) throw new RtpError('more than 15 CSRCs');
  const ext = header.extension;
  if (ext && ext.data.length % 4 !== 0) throw new RtpError('extension data must be a multiple of 4 bytes');
  const pad = options.paddingLength ?? 0;
  if (pad < 0 || pad > 255) throw new RtpError('padding length out of range');
  const headerLen = RTP_HEADER_SIZE + csrcs.length * 4 + (ext ? 4 + ext.data.length : 0);
  const buf = Buffer.alloc(headerLen + payload.length + pad);
  buf[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  buf[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  buf.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(header.timestamp >>> 0, 4);
  buf.writeUInt32BE(header.ssrc >>> 0, 8);
  let o = RTP_HEADER_SIZE;
  for (const c of csrcs) {
    buf.writeUInt32BE(c >>> 0, o);
    o += 4;
  }
  if (ext) {
    buf.writeUInt16BE(ext.profile & 0xffff, o);
    buf.writeUInt16BE(ext.data.length / 4, o + 2);
    buf.set(ext.data, o + 4);
    o += 4 + ext.data.length;
  }
  buf.set(payload, o);
  if (pad > 0) buf[buf.length - 1] = pad;
  return buf;
}

/**
 * Write a plain 12-byte header (no CSRC, no extension, no padding) into `buf` at `offset`. For senders
 * that reuse one buffer per packet.
 */
export function writeRtpHeader(
  buf: Buffer,
  payloadType: number,
  marker: boolean,
  seq: number,
  timestamp: number,
  ssrc: number,
  offset = 0,
): void {
  buf[offset] = 0x80;
  buf[offset + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  buf.writeUInt16BE(seq & 0xffff, offset + 2);
  buf.writeUInt32BE(timestamp >>> 0, offset + 4);
  buf.writeUInt32BE(ssrc >>> 0, offset + 8);
}

// Fast-path accessors: the caller has checked buf.length >= 12 (isRtp/isRtcp do).

export function readSeq(buf: Buffer): number {
  return (buf[2]! << 8) | buf[3]!;
}
export function writeSeq(buf: Buffer, seq: number): void {
  buf[2] = (seq >> 8) & 0xff;
  buf[3] = seq & 0xff;
}
export function readTimestamp(buf: Buffer): number {
  return buf.readUInt32BE(4);
}
export function writeTimestamp(buf: Buffer, ts: number): void {
  buf.writeUInt32BE(ts >>> 0, 4);
}
export function readSsrc(buf: Buffer): number {
  return buf.readUInt32BE(8);
}
export function writeSsrc(buf: Buffer, ssrc: number): void {
  buf.writeUInt32BE(ssrc >>> 0, 8);
}
export function readPayloadType(buf: Buffer): number {
  return buf[1]! & 0x7f;
}
export function writePayloadType(buf: Buffer, pt: number): void {
  buf[1] = (buf[1]! & 0x80) | (pt & 0x7f);
}
export function readMarker(buf: Buffer): boolean {
  return (buf[1]! & 0x80) !== 0;
}
export function writeMarker(buf: Buffer, marker: boolean): void {
  buf[1] = marker ? buf[1]! | 0x80 : buf[1]! & 0x7f;
}

/**
 * Offset of the payload in an RTP packet, or -1 when the header is inconsistent with the length.
 * Does not strip padding (see {@link rtpPayloadEnd}).
 */
export function rtpPayloadOffset(buf: Buffer): number {
  if (buf.length < RTP_HEADER_SIZE) return -1;
  const b0 = buf[0]!;
  let o = RTP_HEADER_SIZE + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (buf.length < o + 4) return -1;
    o += 4 + buf.readUInt16BE(o + 2) * 4;
  }
  return o <= buf.length ? o : -1;
}

/** End of the payload (length minus padding), or -1 when the padding is inconsistent. */
export function rtpPayloadEnd(buf: Buffer, payloadOffset: number): number {
  if (!(buf[0]! & 0x20)) return buf.length;
  const pad = buf[buf.length - 1]!;
  const end = buf.length - pad;
  return pad > 0 && end >= payloadOffset ? end : -1;
}

/**
 * RTP/RTCP demultiplexing on one port (RFC 5761 section 4): version 2, and the second byte in 192-223
 * (RTCP packet types 200-204 and friends; RTP payload types 64-95 with marker) means RTCP.
 */
export function isRtcp(buf: Buffer): boolean {
  if (buf.length < 8 || buf[0]! >> 6 !== 2) return false;
  const b1 = buf[1]!;
  return b1 >= 192 && b1 <= 223;
}

/** Version 2, at least a fixed header, and not RTCP by the RFC 5761 rule. */
export function isRtp(buf: Buffer): boolean {
  if (buf.length < RTP_HEADER_SIZE || buf[0]! >> 6 !== 2) return false;
  const b1 = buf[1]!;
  return b1 < 192 || b1 > 223;
}

/** Signed distance a - b in 16-bit sequence space (positive when a is after b). */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** Signed distance a - b in 32-bit timestamp space. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}
