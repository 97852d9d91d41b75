/**
 * STUN (RFC 5389) as ICE uses it on a media port: binding requests and responses with short-term credentials
 * (MESSAGE-INTEGRITY, HMAC-SHA1 keyed with the ICE password) and FINGERPRINT (CRC-32 XOR 0x5354554e).
 * Everything a peer sends is bounds-checked; anything malformed parses as undefined.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ipv6Bytes } from './pcap.js';

export const STUN_MAGIC = 0x2112a442;
export const STUN_HEADER = 20;
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

export const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

const FINGERPRINT_XOR = 0x5354554e;
const MAX_ATTRS = 64;

export interface StunAttribute {
  type: number;
  value: Buffer;
  /** Where the attribute's header starts in the message. */
  offset: number;
}

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  attrs: StunAttribute[];
}

/** RFC 7983's first-byte test (0-3) plus STUN's own: the magic cookie and a length that fits. */
export function isStun(b: Buffer): boolean {
  return (
    b.length >= STUN_HEADER &&
    b[0]! < 4 &&
    b.readUInt32BE(4) === STUN_MAGIC &&
    b.readUInt16BE(2) % 4 === 0 &&
    STUN_HEADER + b.readUInt16BE(2) === b.length
  );
}

export function parseStun(b: Buffer): StunMessage | undefined {
  if (!isStun(b)) return undefined;
  const attrs: StunAttribute[] = [];
  let off = STUN_HEADER;
  while (off < b.length) {
    if (off + 4 > b.length || attrs.length >= MAX_ATTRS) return undefined;
    const type = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    if (off + 4 + len > b.length) return undefined;
    attrs.push({ type, value: b.subarray(off + 4, off + 4 + len), offset: off });
    off += 4 + ((len + 3) & ~3);
  }
  return { type: b.readUInt16BE(0), transactionId: b.subarray(8, 20), attrs };
}

export function attribute(m: StunMessage, type: number): StunAttribute | undefined {
  return m.attrs.find((a) => a.type === type);
}

/** `b[0, end)` with the header's length set as if the message ended `trailer` bytes after `end`. */
function coveredPart(b: Buffer, end: number, trailer: number): Buffer {
  const part = Buffer.from(b.subarray(0, end));
  part.writeUInt16BE(end - STUN_HEADER + trailer, 2);
  return part;
}

/** MESSAGE-INTEGRITY checks with `key` (the ICE password); false if absent. Attributes after it are ignored. */
export function checkIntegrity(b: Buffer, m: StunMessage, key: string | Buffer): boolean {
  const mi = attribute(m, ATTR.MESSAGE_INTEGRITY);
  if (mi?.value.length !== 20) return false;
  const mac = createHmac('sha1', key)
    .update(coveredPart(b, mi.offset, 24))
    .digest();
  return timingSafeEqual(mac, mi.value);
}

/** FINGERPRINT, when present, must be the last attribute and match; true if absent. */
export function checkFingerprint(b: Buffer, m: StunMessage): boolean {
  const fp = attribute(m, ATTR.FINGERPRINT);
  if (!fp) return true;
  if (fp !== m.attrs[m.attrs.length - 1] || fp.value.length !== 4) return false;
  return (crc32(coveredPart(b, fp.offset, 8)) ^ FINGERPRINT_XOR) >>> 0 === fp.value.readUInt32BE(0);
}

/**
 * A message with the given attributes, then MESSAGE-INTEGRITY keyed with `integrityKey` (if given) and
 * FINGERPRINT. Values are padded to 4 bytes with zeros.
 */
export function buildStun(
  type: number,
  transactionId: Buffer,
  attrs: [number, Buffer][],
  integrityKey?: string | Buffer,
): Buffer {
  const parts: Buffer[] = [Buffer.alloc(STUN_HEADER)];
  for (const [t, v] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    parts.push(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  let b = Buffer.concat(parts);
  b.writeUInt16BE(type, 0);
  b.writeUInt32BE(STUN_MAGIC, 4);
  transactionId.copy(b, 8, 0, 12);
  if (integrityKey !== undefined) {
    const mac = createHmac('sha1', integrityKey)
      .update(coveredPart(b, b.length, 24))
      .digest();
    b = Buffer.concat([b, attrHeader(ATTR.MESSAGE_INTEGRITY, 20), mac]);
  }
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(coveredPart(b, b.length, 8)) ^ FINGERPRINT_XOR) >>> 0);
  b = Buffer.concat([b, attrHeader(ATTR.FINGERPRINT, 4), fp]);
  b.writeUInt16BE(b.length - STUN_HEADER, 2);
  return b;
}

function attrHeader(type: number, len: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(len, 2);
  return h;
}

/** XOR-MAPPED-ADDRESS's value for an address and port. */
export function xorMappedAddress(address: string, port: number, transactionId: Buffer): Buffer {
  const v4 = isIPv4(address);
  const addr = v4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
  const out = Buffer.alloc(4 + addr.length);
  out[1] = v4 ? 1 : 2;
  out.writeUInt16BE(port ^ (STUN_MAGIC >>> 16), 2);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  for (let i = 0; i < addr.length; i++) out[4 + i] = addr[i]! ^ mask[i]!;
  return out;
}

/** An XOR-MAPPED-ADDRESS value read back: address (dotted or full IPv6 hex groups) and port. */
export function readXorMappedAddress(
  v: Buffer,
  transactionId: Buffer,
): { address: string; port: number } | undefined {
  const len = v[1] === 1 ? 4 : v[1] === 2 ? 16 : 0;
  if (!len || v.length !== 4 + len) return undefined;
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const a = Buffer.from(v.subarray(4).map((x, i) => x ^ mask[i]!));
  const port = v.readUInt16BE(2) ^ (STUN_MAGIC >>> 16);
  if (len === 4) return { address: [...a].join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(a.readUInt16BE(i).toString(16));
  return { address: groups.join(':'), port };
}

let table: Int32Array | undefined;

/** CRC-32 (ISO-HDLC, as zlib), written out: node:zlib has crc32 only from Node 20.15. */
export function crc32(b: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
